import Foundation
import KioskCore
import Testing
@testable import KioskUI

/// The UI's half of staff mode against an in-memory `StaffServices` (kioskd's half, the PIN check, the lockout and
/// the rights of the connection, is proven on real processes in StaffSocketTests and the tmux end-to-end test).
extension FakeServices: StaffServices {
    static let staffPIN = "246810"
    static let staff = StaffIdentity(staffID: "sari", name: "Ibu Sari", role: .petugas)
    static let heldID = UUID(uuidString: "6F1C2D3E-4A5B-4C6D-8E9F-0A1B2C3D4E5F")!

    func unlockStaff(pin: String) async throws(ServiceFailure) -> StaffUnlock {
        self.staffState.withLock { s in
            if s.wrongPINs >= StaffEntry.maxAttempts { return .locked(until: Date(timeIntervalSince1970: 1_796_000_000)) }
            guard pin == Self.staffPIN else {
                s.wrongPINs += 1
                return s.wrongPINs >= StaffEntry.maxAttempts ? .locked(until: Date(timeIntervalSince1970: 1_796_000_000))
                    : .wrongPIN(attemptsLeft: StaffEntry.maxAttempts - s.wrongPINs)
            }
            s.wrongPINs = 0
            s.unlocked = true
            return .unlocked(s.role == .teknisi ? StaffIdentity(staffID: "tek", name: "Pak Teknisi", role: .teknisi) : Self.staff,
                             timeoutSeconds: 90)
        }
    }

    func lockStaff() async { self.staffState.withLock { $0.unlocked = false; $0.locks += 1 } }

    func callStaff(screen: String) async throws(ServiceFailure) -> StaffCallAnswer {
        self.staffState.withLock { s in
            s.calls.append(screen)
            return StaffCallAnswer(recorded: s.calls.count == 1, bell: true)
        }
    }

    private func unlocked() throws(ServiceFailure) {
        guard self.staffState.withLock({ $0.unlocked }) else {
            throw ServiceFailure("forbidden", LocalizedText("Masuk petugas dulu.", "Sign in first."))
        }
    }

    func overview() async throws(ServiceFailure) -> StaffOverview {
        try self.unlocked()
        let sheets = self.staffState.withLock { $0.sheets }
        return StaffOverview(
            devices: [.init(kind: "printer", health: sheets == 0 ? .fault : .ok,
                            detail: sheets == 0 ? LocalizedText("Kertas habis", "Out of paper") : LocalizedText("Siap", "Ready")),
                      .init(kind: "scanner", health: .ok, detail: LocalizedText("Siap", "Ready"))],
            paperSheets: sheets, paperLow: sheets < 20, toner: ["black": 55], link: .init(configured: true, lastContact: Date()),
            queue: ["delivered": 2, "quarantined": 1], oldestUndelivered: nil, configVersion: 7, configProblem: nil,
            diskFreeBytes: 20 << 30, openCalls: self.staffState.withLock { $0.calls.count })
    }

    func restockPaper(sheets: Int) async throws(ServiceFailure) -> StaffOverview {
        try self.unlocked()
        self.staffState.withLock { $0.sheets += sheets; $0.restocks.append(sheets) }
        return try await self.overview()
    }

    func printTestPage() async throws(ServiceFailure) -> LocalizedText? {
        try self.unlocked()
        self.staffState.withLock { $0.testPages += 1 }
        return nil
    }

    func resumePrinter() async throws(ServiceFailure) { try self.unlocked() }

    func testScan() async throws(ServiceFailure) -> ScanSummary {
        try self.unlocked()
        return ScanSummary(token: "staff-test", pages: 1, preview: PagePreview(width: 4, height: 4, luma: Array(repeating: 90, count: 16)))
    }

    func redetectDevices() async throws(ServiceFailure) -> [String] {
        try self.unlocked()
        return ["printer: kiosk (CUPS)", "scanner: test:0"]
    }

    func todaysApplications() async throws(ServiceFailure) -> [StaffApplicationRow] {
        try self.unlocked()
        return [StaffApplicationRow(id: UUID(), trackingCode: "5Q75-9W9Z", service: "akta-kelahiran", state: .delivered,
                                    nikMasked: "5371********0003", submittedAt: Date(), assistedBy: "sari")]
    }

    func quarantined() async throws(ServiceFailure) -> [StaffApplicationRow] {
        try self.unlocked()
        guard !self.staffState.withLock({ $0.retried.contains(Self.heldID) }) else { return [] }
        return [StaffApplicationRow(id: Self.heldID, trackingCode: "7HJK-2MNP", service: "kk-baru", state: .quarantined,
                                    nikMasked: "5371********0011", submittedAt: Date(), reason: "Dinas menolak: berkas rusak")]
    }

    func retry(_ id: UUID) async throws(ServiceFailure) {
        try self.unlocked()
        self.staffState.withLock { $0.retried.append(id) }
    }

    func syncNow() async throws(ServiceFailure) { try self.unlocked() }

    func todaysComplaints() async throws(ServiceFailure) -> [StaffComplaintRow] {
        try self.unlocked()
        return [StaffComplaintRow(reference: "PGD-ABCD-2345", filedAt: Date(), summary: "Antrean \u{1B}[2Jlama", answered: false)]
    }

    func todaysCalls() async throws(ServiceFailure) -> [StaffCallRow] {
        try self.unlocked()
        return self.staffState.withLock { $0.calls.map { StaffCallRow(at: Date(), screen: $0) } }
    }

    func documents(trackingCode: String) async throws(ServiceFailure) -> [StaffDocumentRow] {
        try self.unlocked()
        guard trackingCode == self.code.raw else { throw ServiceFailure("not_found", LocalizedText("Tidak ditemukan.", "Not found.")) }
        return [StaffDocumentRow(id: "doc-1", title: "Kutipan Akta Kelahiran", prints: 2)]
    }

    func reprint(documentID: String, reason: String) async throws(ServiceFailure) -> PrintReport {
        try self.unlocked()
        self.staffState.withLock { $0.reprints.append("\(documentID): \(reason)") }
        return PrintReport(printed: true, sheets: 1, problem: nil)
    }

    func rollbackConfig() async throws(ServiceFailure) -> Int {
        try self.unlocked()
        return 6
    }
}

@MainActor
extension AppHarness {
    /// The hidden gesture: a long press on the title's left corner.
    func longPressCorner(seconds: Double = 2.5) {
        self.app.input(Array("\u{1B}[<0;1;1M".utf8))
        self.clock.advance(seconds)
        self.app.input(Array("\u{1B}[<0;1;1m".utf8))
    }

    func signIn(_ pin: String = FakeServices.staffPIN) async {
        self.longPressCorner()
        await self.settle { self.text.contains("PIN petugas") }
        self.type(pin)
        self.tap("Masuk")
        await self.settle {
            self.text.contains("Petugas:") ? !self.text.contains("Memuat status")
                : !self.text.contains("Mohon tunggu…") && (self.text.contains("PIN salah") || self.text.contains("dikunci"))
        }
    }
}

@MainActor
@Suite struct StaffScreenTests {
    nonisolated static let sizes = [(80, 24), (40, 12)]

    @Test(arguments: sizes)
    func theGestureOpensThePINPadOnlyFromHome(size: (Int, Int)) async throws {
        let h = try await AppHarness(width: size.0, height: size.1)
        h.longPressCorner(seconds: 0.5)
        #expect(!h.text.contains("PIN petugas"), "a short press is no gesture")
        h.tap("Ajukan Permohonan")
        h.longPressCorner()
        h.app.input(Array("\u{1B}[20~".utf8))  // F9
        #expect(!h.text.contains("PIN petugas"), "no staff entry during a resident session")
        h.tap("Beranda")
        h.longPressCorner()
        #expect(h.text.contains("PIN petugas"))
        #expect(h.app.targets.allSatisfy { $0.rect.height >= Layout.bandHeight(size.1) })
        h.tap("Batal")
        #expect(h.text.contains("Ajukan Permohonan"))
    }

    @Test(arguments: sizes)
    func aWrongPINCountsDownThenLocksAndThePINIsNeverShown(size: (Int, Int)) async throws {
        let h = try await AppHarness(width: size.0, height: size.1)
        await h.signIn("1111")
        #expect(h.text.contains("PIN salah. Sisa 4"))
        #expect(!h.text.contains("1111"))
        h.type("12")
        #expect(h.text.contains("● ●"))
        h.tap("Masuk")
        #expect(h.text.contains("4–12 angka") || h.text.contains("4–12"))
        for _ in 0..<4 {
            h.type("9999")
            h.tap("Masuk")
            await h.settle { !h.text.contains("Mohon tunggu…") }
        }
        #expect(h.text.contains("dikunci sampai pukul"))
        #expect(h.services.staffState.withLock { $0.unlocked } == false)
    }

    @Test(arguments: sizes)
    func staffSeeWhatNeedsActionRestockAndPrintATestPage(size: (Int, Int)) async throws {
        let h = try await AppHarness(width: size.0, height: size.1)
        await h.signIn()
        #expect(h.text.contains("Petugas: Ibu Sari"))
        #expect(h.text.contains("Printer: Kertas habis"))
        h.tap("Kertas & printer")
        await h.settle { h.text.contains("Kertas dimuat") && !h.text.contains("Mohon tunggu…") }
        h.type("500")
        h.tap("Catat")
        await h.settle { h.text.contains("Tercatat: 500 lembar") }
        #expect(h.services.staffState.withLock { $0.restocks } == [500])
        await h.settle { h.text.contains("sekitar 500 lembar") }
        h.tap("Cetak halaman uji")
        await h.settle { h.text.contains("Halaman uji tercetak") }
        #expect(h.services.staffState.withLock { $0.testPages } == 1)
        h.tap("Kembali")
        await h.settle { h.text.contains("Semua baik") || h.text.contains("tertahan") }
        #expect(!h.text.contains("Kertas habis"))
        #expect(h.app.targets.allSatisfy { $0.rect.height >= Layout.bandHeight(size.1) && $0.rect.x + $0.rect.width <= size.0 })
    }

    @Test(arguments: sizes)
    func aHeldApplicationIsRetriedAndTheListsShowMaskedNIKs(size: (Int, Int)) async throws {
        let h = try await AppHarness(width: size.0, height: size.1)
        await h.signIn()
        h.tap("Antrean permohonan")
        await h.settle { h.text.contains("7HJK-2MNP") }
        #expect(h.text.contains("berkas rusak"))
        h.tap("Coba kirim lagi 7HJK-2MNP")
        await h.settle { h.text.contains("Dimasukkan lagi") }
        #expect(h.services.staffState.withLock { $0.retried } == [FakeServices.heldID])
        await h.settle { !h.text.contains("Coba kirim lagi") }
        h.tap("Kembali")
        h.tap("Panggilan & pengaduan")
        await h.settle { h.text.contains("PGD-ABCD-2345") }
        #expect(!h.text.contains("\u{1B}[2J"))
    }

    @Test func theScannerTestShowsAPreviewAndDevicesAreDetectedAgain() async throws {
        let h = try await AppHarness(width: 80, height: 24)
        await h.signIn()
        h.tap("Pemindai & perangkat")
        h.tap("Pindai uji")
        await h.settle { h.text.contains("Hasil pindai uji: 1 halaman") }
        h.tap("Deteksi ulang perangkat")
        await h.settle { h.text.contains("scanner: test:0") }
    }

    @Test func aReprintBeyondTheLimitAsksWhy() async throws {
        let h = try await AppHarness(width: 80, height: 24)
        await h.signIn()
        h.tap("Cetak ulang dokumen")
        h.type(h.services.code.raw)
        h.tap("Lanjut ▶")
        await h.settle { h.text.contains("Kutipan Akta Kelahiran (2×)") }
        h.tap("Kutipan Akta Kelahiran (2×)")
        h.tap("Kertas macet")
        await h.settle { h.text.contains("dicetak ulang") }
        #expect(h.services.staffState.withLock { $0.reprints } == ["doc-1: Kertas macet"])
    }

    @Test(arguments: sizes)
    func anAssistedApplicationNamesTheStaffMember(size: (Int, Int)) async throws {
        let h = try await AppHarness(width: size.0, height: size.1)
        await h.signIn()
        h.tap("Bantu warga mengajukan")
        #expect(h.text.contains("Dibantu oleh Ibu Sari"))
        await h.applyForBirth(fromHome: false)
        #expect(h.services.state.withLock { $0.submitted.last?.assistedBy } == "sari")
        h.tap("Selesai")
        await h.settle { h.services.staffState.withLock { $0.locks } == 1 }
        #expect(h.text.contains("Ajukan Permohonan"))
    }

    @Test func staffModeTimesOutToHomeAndEndsAtKioskd() async throws {
        let h = try await AppHarness(width: 80, height: 24)
        await h.signIn()
        h.clock.advance(80)
        h.app.tick()
        #expect(h.text.contains("Masih di sana?"))
        h.clock.advance(11)
        h.app.tick()
        #expect(h.text.contains("Ajukan Permohonan"))
        await h.settle { h.services.staffState.withLock { $0.locks } == 1 }
        // Keluar ends it at once.
        await h.signIn()
        h.tap("Keluar")
        #expect(h.text.contains("Ajukan Permohonan"))
        await h.settle { h.services.staffState.withLock { $0.locks } == 2 }
    }

    @Test(arguments: sizes)
    func callStaffIsOnEveryResidentScreenAndRings(size: (Int, Int)) async throws {
        let h = try await AppHarness(width: size.0, height: size.1)
        let label = size.0 >= 60 ? "Panggil petugas" : "Petugas"
        #expect(h.target(label) != nil)
        h.tap("Ajukan Permohonan")
        #expect(h.target(label) != nil)
        h.tap(label)
        await h.settle { h.text.contains("Petugas sudah dipanggil") }
        #expect(h.terminal.written.contains { $0.contains("\u{07}") })
        #expect(h.target(label)?.rect.height == Layout.bandHeight(size.1))
        h.tap(label)
        await h.settle { h.text.contains("dipanggil tadi") }
        #expect(h.services.staffState.withLock { $0.calls }.count == 2)
    }
}
