import Foundation
import KioskCore
import Testing
@testable import KioskUI

/// Drives a `KioskApp` the way the terminal does: bytes in (SGR touches, keys), frames out.
@MainActor
final class AppHarness {
    let services: FakeServices
    let clock = TestClock()
    let terminal = RecordingTerminal()
    let app: KioskApp

    init(width: Int = 80, height: Int = 24) async throws {
        self.services = try FakeServices(profile: try loadProfile("kota-kupang"))
        let clock = self.clock
        self.app = KioskApp(services: self.services, info: await self.services.info(), output: self.terminal,
                            width: width, height: height, clock: { clock.now },
                            today: { CivilDate(iso: "2026-11-22")! })
        self.app.draw()
        let app = self.app
        Task { await app.followCards() }
    }

    var text: String { self.app.screenLines.joined(separator: "\n") }
    /// How often a tap had to page down (▼) to find its button.
    var pagedDown = 0
    /// The labels that needed it.
    var pagedFor: [String] = []
    /// After every touch or typed text: the screen on show and the screen whose script was spoken last.
    var visits: [(screen: String?, spoken: String?)] = []

    func visited() { self.visits.append((self.app.screenKey, self.app.spokenKey)) }

    /// Touches the button showing `label` (pressing ▼ to find it on a later page).
    func tap(_ label: String, sourceLocation: SourceLocation = #_sourceLocation) {
        for _ in 0..<6 {
            if let t = self.target(label) {
                let x = t.rect.x + t.rect.width / 2 + 1, y = t.rect.y + t.rect.height / 2 + 1
                self.app.input(Array("\u{1B}[<0;\(x);\(y)M\u{1B}[<0;\(x);\(y)m".utf8))
                self.visited()
                return
            }
            guard let down = self.target("▼"), self.app.targets.first(where: { $0.rect == down.rect })?.enabled == true
            else { break }
            let x = down.rect.x + 2, y = down.rect.y + down.rect.height / 2 + 1
            self.pagedDown += 1
            self.pagedFor.append(label)
            self.app.input(Array("\u{1B}[<0;\(x);\(y)M\u{1B}[<0;\(x);\(y)m".utf8))
        }
        Issue.record("no button \"\(label)\" on:\n\(self.text)", sourceLocation: sourceLocation)
    }

    func target(_ label: String) -> Target? {
        let lines = self.app.screenLines
        return self.app.targets.first { t in
            guard t.rect.y + t.rect.height / 2 < lines.count else { return false }
            let row = Array(lines[t.rect.y + t.rect.height / 2])
            let inner = String(row[(t.rect.x + 1)..<min(row.count, t.rect.x + t.rect.width - 1)])
            let shown = inner.trimmingCharacters(in: .whitespaces)
            // Long labels are cut with "…" on narrow screens.
            return shown == label || (shown.hasSuffix("…") && label.hasPrefix(shown.dropLast())) || label.hasPrefix(shown + " (")
        }
    }

    func type(_ s: String) {
        self.app.input(Array(s.utf8))
        self.visited()
    }

    /// Lets service calls finish (they run as tasks) until `condition` holds.
    func settle(until condition: () -> Bool, sourceLocation: SourceLocation = #_sourceLocation) async {
        for _ in 0..<400 {
            if condition() { return }
            try? await Task.sleep(nanoseconds: 5_000_000)
        }
        Issue.record("condition not reached; screen:\n\(self.text)", sourceLocation: sourceLocation)
    }

    /// Walks a birth application from Beranda to the receipt.
    func applyForBirth(fromHome: Bool = true) async {
        if fromHome { self.tap("Ajukan Permohonan") }
        self.tap("Pencatatan Sipil (kelahiran, kematian, perkawinan, ...)")
        self.tap("Akta Kelahiran")
        self.type("5371011708950003")
        self.tap("Lanjut ▶")
        await self.settle { self.text.contains("Tanggal peristiwa") }
        self.tap("−Bln")
        self.tap("Lanjut ▶")
        self.tap("Warga negara Indonesia (WNI)")
        #expect(self.text.contains("tepat waktu"))
        self.tap("Lanjut ▶")
        await self.fillForm()
        for _ in 0..<4 {
            self.tap("Pindai")
            await self.settle { self.text.contains("Terpindai") }
            self.tap("Lanjut ▶")
        }
        self.tap("Lewati")
        self.type("081234567890\r")
        self.tap("WhatsApp")
        self.tap("Saya setuju")
        self.tap("Kirim ▶")
        await self.settle { self.text.contains("Permohonan tersimpan") }
    }
}

extension AppHarness {
    /// Answers the electronic form by touch: the first choice, the date as it stands, typed answers.
    func fillForm() async {
        var guardSteps = 0
        while self.text.contains("Formulir "), guardSteps < 40 {
            guardSteps += 1
            let before = self.text
            if self.text.contains("▸ ") {
                // A typed answer: a NIK, a name, a number or a time.
                let line = self.app.screenLines.first { $0.contains("▸ ") } ?? ""
                if line.contains("____") && line.count > 16 && self.target("A") == nil {
                    self.type(self.text.contains(":__") || line.contains("__:__") ? "0930" : "5371011708950003")
                } else if self.target("A") != nil {
                    self.type("MARIA NDUN")
                } else {
                    self.type("1")
                }
                self.tap("Lanjut ▶")
            } else if self.target("+Tgl") != nil {
                self.tap("Lanjut ▶")
            } else if let choice = self.app.targets.first(where: { t in
                let row = Array(self.app.screenLines[t.rect.y + t.rect.height / 2])
                let shown = String(row[(t.rect.x + 1)..<min(row.count, t.rect.x + t.rect.width - 1)]).trimmingCharacters(in: .whitespaces)
                return t.rect.y < self.app.height - Layout.bandHeight(self.app.height) - 2 && !shown.isEmpty
            }) {
                let x = choice.rect.x + choice.rect.width / 2 + 1, y = choice.rect.y + choice.rect.height / 2 + 1
                self.app.input(Array("\u{1B}[<0;\(x);\(y)M\u{1B}[<0;\(x);\(y)m".utf8))
            }
            await self.settle { self.text != before }
        }
    }
}

@MainActor
@Suite struct KioskAppTests {
    @Test(arguments: [(80, 24), (40, 12), (160, 50)])
    func birthApplicationByTouchAtEverySize(size: (Int, Int)) async throws {
        let h = try await AppHarness(width: size.0, height: size.1)
        await h.applyForBirth()
        #expect(h.text.contains(h.services.code.formatted))
        let drafts = h.services.state.withLock { $0.submitted }
        #expect(drafts.count == 1)
        #expect(drafts.first?.scans.count == 4)
        #expect(drafts.first?.contact == "081234567890")
        // The full NIK never reached the terminal; only its mask did.
        let written = h.terminal.written.joined()
        #expect(!written.contains("5371011708950003"))
        #expect(written.contains("************0003"))
        // Touch targets are 3 rows high from 20 rows up, and never touch each other.
        #expect(h.app.targets.allSatisfy { $0.rect.height >= Layout.bandHeight(size.1) })
        for a in h.app.targets {
            for b in h.app.targets where a.rect != b.rect && a.rect.y == b.rect.y {
                #expect(a.rect.x + a.rect.width < b.rect.x || b.rect.x + b.rect.width < a.rect.x, "buttons touch")
            }
        }
        // At the smallest size too, every step's "Lanjut" was reachable without paging.
        #expect(h.pagedDown == 0, "only reachable after ▼: \(h.pagedFor)")
    }

    @Test func configAndDinasTextIsSanitized() async throws {
        let h = try await AppHarness()
        let written = h.terminal.written.joined()
        #expect(written.contains("Desa [31mUji"))
        #expect(!written.contains("\u{1B}[31mUji"))
        #expect(!written.contains("\u{1B}[2J penting"))
        h.services.state.withLock {
            $0.status = ApplicationStatus(trackingCode: h.services.code, serviceName: LocalizedText("Akta", "Cert"),
                                          state: .returnedForCorrection, history: [], expected: [],
                                          reason: "Foto buram\u{1B}]52;c;aGk=\u{07}\u{1B}[8m")
        }
        h.tap("Cek Status")
        h.type(h.services.code.raw.lowercased() + "\r")
        await h.settle { h.text.contains("Alasan Dinas") }
        #expect(h.text.contains("Foto buram]52;c;aGk=[8m"))
        #expect(!h.terminal.written.joined().contains("\u{1B}]52"))
    }

    @Test func printerFaultKeepsTheDocumentAndRetryPrints() async throws {
        let h = try await AppHarness()
        h.services.state.withLock { $0.printFailure = LocalizedText("Kertas habis.", "Out of paper.") }
        h.tap("Ambil Dokumen")
        h.app.input(Array("\u{1B}OQ".utf8))  // F2: the test card
        await h.settle { h.text.contains("Ketik kode pelacakan") }
        h.type(h.services.code.raw + "\r")
        await h.settle { h.text.contains("Dokumen siap dicetak") }
        h.tap("Cetak Kutipan Akta Kelahiran")
        await h.settle { h.text.contains("Belum tercetak") }
        #expect(h.text.contains("Kertas habis."))
        #expect(h.text.contains("tetap tersimpan"))
        h.services.state.withLock { $0.printFailure = nil }
        h.tap("Coba lagi")
        h.tap("Cetak Kutipan Akta Kelahiran")
        await h.settle { h.text.contains("Silakan ambil dokumen Anda") }
        #expect(h.services.state.withLock { $0.printed } == ["doc-1"])
    }

    @Test func degradedDeviceBannerOnHome() async throws {
        let h = try await AppHarness()
        h.services.state.withLock {
            $0.notices = [DeviceNotice(device: "printer", message: LocalizedText(
                "Printer tidak dapat dipakai. Anda tetap dapat mengajukan permohonan; cetak nanti.", "Printer unavailable."))]
        }
        await h.app.refreshNotices()
        #expect(h.text.contains("Printer tidak dapat dipakai"))
        #expect(h.target("Ajukan Permohonan")?.enabled == true)
    }

    @Test func idleTimeoutWarnsThenWipesScreenAndMemory() async throws {
        let h = try await AppHarness()
        h.tap("English")
        h.tap("Apply")
        h.tap("Civil registration (births, deaths, marriages, ...)")
        h.tap("Birth certificate")
        h.type("53710117")
        #expect(h.text.contains("53710117"))
        h.clock.advance(45)
        h.app.tick()
        #expect(h.text.contains("Still there?"))
        h.clock.advance(16)
        h.app.tick()
        #expect(h.app.session.screen == .home)
        #expect(h.app.session.language == .id)
        #expect(h.terminal.last.contains(EscapeSequence.clearScreen))  // the whole screen was redrawn from blank
        #expect(!h.text.contains("53710117"))
        #expect(h.text.contains("Ajukan Permohonan"))
    }

    @Test func keyboardOnlyNavigation() async throws {
        let h = try await AppHarness()
        // Tab to the second target (Ajukan Permohonan) and press Enter.
        h.type("\t\t\r")
        #expect(h.text.contains("Pilih jenis layanan"))
        h.app.input([0x1B])
        h.app.flushInput()  // too early: still pending
        h.clock.advance(0.1)
        h.app.flushInput()
        #expect(h.text.contains("Ajukan Permohonan"))  // ESC went back to Beranda
    }

    @Test func serviceInformationShowsRequirementsFeeAndChannels() async throws {
        let h = try await AppHarness()
        h.tap("Informasi Layanan")
        h.tap("Akta Kelahiran")
        #expect(h.text.contains("Persyaratan:"))
        #expect(h.text.contains("surat kelahiran dari dokter/bidan/penolong kelahiran"))
        #expect(h.text.contains("Biaya: gratis"))
        #expect(h.text.contains("Batas lapor: 60 hari"))
        // Plain language: no legal references or internal ids on a resident screen.
        for ref in ["Pasal", "PK ", "PB ", "UU ", "(gen.)", "kiosk:"] { #expect(!h.text.contains(ref), "\(ref) on a resident screen") }
        // The complaint channels may be on the next page.
        if !h.text.contains("Pengaduan:") { h.tap("▼") }
        #expect(h.text.contains("Pengaduan:"))
        h.tap("Kembali")
        #expect(h.text.contains("Pilih layanan:"))
    }

    @Test func complaintOnTheOnScreenKeyboard() async throws {
        let h = try await AppHarness()
        h.tap("Pengaduan")
        h.tap("Kios / perangkat rusak")
        for key in ["P", "R", "I", "N", "T", "E", "R", "␣", "M", "A", "C", "E", "T", "␣", "2", "0"] { h.tap(key) }
        #expect(h.text.contains("PRINTER MACET 20_"), "digits are on the keyboard")
        h.tap("Lanjut ▶")
        h.type("0812345\r")
        #expect(h.text.contains("tidak valid"))  // a short number is refused, nothing sent
        h.type("67890\r")
        h.tap("Kirim ke Dinas")
        await h.settle { h.text.contains("PGD-TEST") }
        let sent = h.services.state.withLock { $0.complaints }
        #expect(sent == [Complaint(category: .kiosk, text: "PRINTER MACET 20", contact: "081234567890", language: .id)])
    }

    @Test func f12SwitchesTheLanguageOnAnyScreen() async throws {
        let h = try await AppHarness()
        h.tap("Cek Status")
        h.app.input(Array("\u{1B}[24~".utf8))
        #expect(h.text.contains("Check status"))
        #expect(h.text.contains("type the code"))
        h.app.input(Array("\u{1B}[24~".utf8))
        #expect(h.text.contains("Cek Status"))
    }

    @Test func scanFailureShowsTheDeviceMessage() async throws {
        let h = try await AppHarness()
        h.services.state.withLock {
            $0.scanFailure = ServiceFailure("scan_failed", LocalizedText("Kertas macet di pemindai.", "Paper jam in the scanner."))
        }
        h.tap("Ajukan Permohonan")
        h.tap("Pencatatan Sipil (kelahiran, kematian, perkawinan, ...)")
        h.tap("Akta Kelahiran")
        h.app.input(Array("\u{1B}OQ".utf8))
        await h.settle { h.text.contains("Tanggal peristiwa") }
        h.tap("Lanjut ▶")
        h.tap("Warga negara Indonesia (WNI)")
        h.tap("Lanjut ▶")
        await h.fillForm()
        h.tap("Pindai")
        await h.settle { h.text.contains("Kertas macet") }
        #expect(h.target("Pindai") != nil)  // still on the same requirement, can try again
    }
}

/// Issue 16's screens: the complaint slip and its answer, Perbaiki, Cek NIK & KK, and a problem line that never
/// moves a button.
@MainActor
@Suite struct FollowUpScreenTests {
    @Test(arguments: [(80, 24), (40, 12)])
    func aComplaintPrintsItsSlipAndItsAnswerIsFoundAtCekStatus(size: (Int, Int)) async throws {
        let h = try await AppHarness(width: size.0, height: size.1)
        h.tap("Pengaduan")
        h.tap("Kios / perangkat rusak")
        h.type("PRINTER MACET 2 HARI\r")
        h.type("\r")
        h.tap("Kirim ke Dinas")
        await h.settle { h.text.contains("Ambil bukti pengaduan") }
        #expect(h.services.state.withLock { $0.slips } == ["PGD-TEST"])
        h.tap("Selesai")
        let reference = "PGD-" + h.services.code.formatted
        h.services.state.withLock {
            $0.complaintStatus = ComplaintStatus(reference: reference, category: .kiosk, filedAt: "2026-11-22 09:00", sent: true,
                                                 answer: "Printer sudah diganti.\u{1B}[2J", answeredAt: "2026-11-23 10:00")
        }
        // Typed without "PGD": no application has this code, so it is found as a complaint.
        h.tap("Cek Status")
        h.type(h.services.code.raw + "\r")
        await h.settle { h.text.contains("Jawaban Dinas") }
        #expect(h.text.contains("Printer sudah diganti.") && !h.terminal.written.joined().contains("diganti.\u{1B}"))
        #expect(h.text.contains(reference))
    }

    @Test func aReturnedApplicationIsCorrectedByTouch() async throws {
        let h = try await AppHarness()
        let request = CorrectionRequest(applicationID: UUID(), service: "birth", requirements: ["surat-kelahiran"], fields: [])
        h.services.state.withLock {
            $0.status = ApplicationStatus(trackingCode: h.services.code, serviceName: LocalizedText("Akta Kelahiran", "Birth"),
                                          state: .returnedForCorrection, history: [], expected: [],
                                          reason: "Surat kelahiran buram", correction: request)
        }
        h.tap("Cek Status")
        h.type(h.services.code.raw + "\r")
        await h.settle { h.text.contains("Alasan Dinas") }
        h.tap("Perbaiki ▶")
        await h.settle { h.text.contains("Perbaiki — Akta Kelahiran") }
        h.type("5371011708950003")
        h.tap("Lanjut ▶")
        h.tap("Pindai")
        await h.settle { h.text.contains("Terpindai") }
        h.tap("Lanjut ▶")
        h.tap("Saya setuju")
        #expect(h.text.contains("Yang diperbaiki") && h.text.contains("kode pelacakan yang sama"))
        h.tap("Kirim ▶")
        await h.settle { h.text.contains("Permohonan tersimpan") }
        let sent = h.services.state.withLock { $0.corrections }
        #expect(sent.count == 1 && sent.first?.id == request.applicationID && sent.first?.scans.keys.sorted() == ["surat-kelahiran"])
    }

    @Test(arguments: [(80, 24), (40, 12)])
    func nikAndKKAreCheckedOnlyWhereOfferedAndShownMasked(size: (Int, Int)) async throws {
        let off = try await AppHarness(width: size.0, height: size.1)
        #expect(off.target("Cek NIK & KK") == nil, "not offered unless the bundle says so")
        let h = try await AppHarness(width: size.0, height: size.1)
        h.services.state.withLock { $0.registryCheck = true }
        h.app.apply(.configChanged(await h.services.info()))
        h.tap("Cek NIK & KK")
        h.type("5371011708950003\r")
        await h.settle { h.text.contains("KK: ") }
        h.type("123\r")
        await h.settle { h.text.contains("16 angka") }
        for _ in 0..<3 { h.type("\u{7F}") }
        h.type("5371010101010001\r")
        await h.settle { h.text.contains("Terdaftar") }
        #expect(h.text.contains("M**** N***"))
        #expect(!h.text.contains("5371011708950003") && !h.text.contains("5371010101010001"))
    }

    @Test(arguments: [(80, 24), (40, 12)])
    func aProblemNeverMovesAButton(size: (Int, Int)) async throws {
        let h = try await AppHarness(width: size.0, height: size.1)
        h.tap("Ajukan Permohonan")
        h.tap("Pencatatan Sipil (kelahiran, kematian, perkawinan, ...)")
        h.tap("Akta Kelahiran")
        let before = h.app.targets.map(\.rect)
        h.type("123\r")
        await h.settle { h.text.contains("16") && h.text.contains("! ") }
        #expect(h.app.targets.map(\.rect) == before)
        // The keypad is the phone's 3×4 grid: 1 2 3 on one row, 0 between erase and next.
        let one = try #require(h.target("1")), three = try #require(h.target("3")), zero = try #require(h.target("0"))
        #expect(one.rect.y == three.rect.y && zero.rect.y > one.rect.y)
        #expect(h.target("4").map { $0.rect.y > one.rect.y } == true)
    }
}
