import Foundation
import KioskCore
import KioskDevices
import KioskService
import KioskSecurity
import KioskTestSupport
import Testing

/// A terminal in a private tmux server, driven like the touchscreen: SGR mouse presses and releases on the buttons
/// it draws, and real keys. Waits are `Task.sleep`, never `usleep` (a blocked cooperative thread, 2 on the CI
/// machine, would starve other suites' watchdogs).
final class TouchScreen: @unchecked Sendable {
    // @unchecked: used by the owning test only.
    let server = "kiosk-e2e-\(getpid())-\(UUID().uuidString.prefix(6))"
    let errorLog: String

    init(width: Int, height: Int, command: String, errorLog: String) throws {
        self.errorLog = errorLog
        try self.tmux(["new-session", "-d", "-s", "k", "-x", "\(width)", "-y", "\(height)", command])
    }

    deinit { _ = try? ChildProcess.run(["tmux", "-L", self.server, "kill-server"]) }

    @discardableResult
    func tmux(_ args: [String]) throws -> String {
        let r = try ChildProcess.run(["tmux", "-L", self.server] + args)
        guard r.status == 0 else { throw E2EError("tmux \(args.first ?? ""): \(r.output)") }
        return r.output
    }

    var screen: [String] { ((try? self.tmux(["capture-pane", "-p", "-t", "k"])) ?? "").components(separatedBy: "\n") }
    var text: String { self.screen.joined(separator: "\n") }

    @discardableResult
    func waitFor(_ text: String, timeout: Double = 15) async throws -> [String] {
        let end = Date().addingTimeInterval(timeout)
        while Date() < end {
            let s = self.screen
            if s.contains(where: { $0.contains(text) }) { return s }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        let log = (try? String(contentsOfFile: self.errorLog, encoding: .utf8)) ?? ""
        throw E2EError("\"\(text)\" did not appear within \(timeout) s; screen:\n\(self.text)\nkiosk-ui stderr:\n\(log)")
    }

    /// The centre of the box whose label is `label` (or its "…" cut on narrow screens).
    func button(_ label: String, in lines: [String]) -> (x: Int, y: Int)? {
        for (y, line) in lines.enumerated() {
            let chars = Array(line)
            var x = 0
            while let start = chars[x...].firstIndex(of: "│") {
                x = start
                guard let end = chars[(x + 1)...].firstIndex(of: "│") else { break }
                let shown = String(chars[(x + 1)..<end]).trimmingCharacters(in: .whitespaces)
                if !shown.isEmpty, shown == label || (shown.hasSuffix("…") && label.hasPrefix(shown.dropLast()))
                    || label.hasPrefix(shown + " (") {
                    return ((x + end) / 2, y)
                }
                x = end + 1
                if x >= chars.count { break }
            }
        }
        return nil
    }

    /// Touches the button (press, then release: a tap), paging down with ▼ when it is on a later page.
    func tap(_ label: String, timeout: Double = 10) async throws {
        let end = Date().addingTimeInterval(timeout)
        var lines = self.screen
        while Date() < end {
            if let (x, y) = self.button(label, in: lines) {
                try await self.click(x, y)
                // A touch that changed nothing (the same screen, the button still there) was lost on a loaded
                // machine, as a resident's can be: tap again, at most twice.
                for _ in 0..<2 {
                    var after = self.screen
                    let settle = Date().addingTimeInterval(3)
                    while after == lines && Date() < settle {
                        try await Task.sleep(nanoseconds: 100_000_000)
                        after = self.screen
                    }
                    guard after == lines, let again = self.button(label, in: after), again == (x, y) else { return }
                    try await self.click(x, y)
                }
                return
            }
            if let (x, y) = self.button("▼", in: lines) {
                try await self.click(x, y)
            } else {
                try await Task.sleep(nanoseconds: 100_000_000)
            }
            lines = self.screen
        }
        throw E2EError("no button \"\(label)\" within \(timeout) s on:\n\(self.text)")
    }

    /// Taps each digit on the on-screen keypad.
    func tapDigits(_ digits: String) async throws {
        for d in digits {
            let before = self.text
            try await self.tap(String(d))
            // The entry line changes with every digit; wait for it so two taps never merge.
            let end = Date().addingTimeInterval(3)
            while self.text == before, Date() < end { try await Task.sleep(nanoseconds: 50_000_000) }
        }
    }

    func click(_ x: Int, _ y: Int) async throws {
        try self.tmux(["send-keys", "-t", "k", "-l", "\u{1B}[<0;\(x + 1);\(y + 1)M"])
        try self.tmux(["send-keys", "-t", "k", "-l", "\u{1B}[<0;\(x + 1);\(y + 1)m"])
        try await Task.sleep(nanoseconds: 150_000_000)
    }

    func keys(_ keys: String...) async throws {
        try self.tmux(["send-keys", "-t", "k"] + keys)
        try await Task.sleep(nanoseconds: 150_000_000)
    }

    func type(_ text: String) async throws {
        try self.tmux(["send-keys", "-t", "k", "-l", text])
        try await Task.sleep(nanoseconds: 150_000_000)
    }
}

extension TouchScreen {
    /// Ajukan → a Kota Kupang birth a month ago, the NIK typed on the keypad, WNI: up to the first scan.
    func beginBirthApplication(nik: String, fromHome: Bool = true) async throws {
        if fromHome { try await self.tap("Ajukan Permohonan") }
        try await self.tap("Pencatatan Sipil (kelahiran, kematian, perkawinan, ...)")
        try await self.tap("Akta Kelahiran")
        try await self.waitFor("NIK: ")
        try await self.tapDigits(nik)
        try await self.tap("Lanjut ▶")
        try await self.waitFor("Tanggal peristiwa")
        #expect(!self.text.contains(nik), "the NIK is masked on screen")
        try await self.tap("−Bln")
        try await self.tap("Lanjut ▶")
        try await self.tap("Warga negara Indonesia (WNI)")
        try await self.waitFor("tepat waktu")
        try await self.tap("Lanjut ▶")
        try await self.fillForm(service: "birth", facts: ["citizenship": .string("wni")], nik: nik)
    }

    /// From the first scan to the receipt: every requirement scanned for real, the optional one skipped, a WhatsApp
    /// number, consent, submit. Returns the tracking code as the receipt screen shows it.
    func finishBirthApplication() async throws -> String {
        for _ in 0..<4 {
            try await self.tap("Pindai")
            try await self.waitFor("Terpindai", timeout: 60)
            try await self.tap("Lanjut ▶")
        }
        try await self.tap("Lewati")
        try await self.waitFor("Nomor")
        try await self.type("081234567890")
        try await self.keys("Enter")
        try await self.tap("WhatsApp")
        try await self.tap("Saya setuju")
        try await self.tap("Kirim ▶")
        let done = try await self.waitFor("Kode pelacakan: ", timeout: 30)
        let line = try #require(done.first { $0.contains("Kode pelacakan: ") })
        return try #require(line.components(separatedBy: ": ").last).trimmingCharacters(in: .whitespaces)
    }

    /// Answers the service's electronic form as a resident would: a choice by touch, a date as the picker shows
    /// it, NIKs on the keypad, names and numbers typed.
    func fillForm(service: String, facts: Facts, nik: String) async throws {
        let s = try #require(try FormSamples.profile("kota-kupang").service(service))
        for (i, field) in s.formFields(for: facts).enumerated() {
            try await self.waitFor("Formulir \(i + 1)/")
            let before = self.text
            switch field.kind {
            case .choice:
                try await self.tap(try #require(field.choices?.first).label.id)
            case .date:
                try await self.tap("−Tgl")
                try await self.tap("Lanjut ▶")
            case .nik:
                try await self.tapDigits(nik)
                try await self.tap("Lanjut ▶")
            default:
                try await self.type(FormSamples.answer(field, today: CivilDate(iso: "2026-01-01")!, nik: nik).filter { $0 != ":" })
                try await self.keys("Enter")
            }
            let end = Date().addingTimeInterval(5)
            while self.text == before, Date() < end { try await Task.sleep(nanoseconds: 50_000_000) }
        }
    }
}

struct E2EError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { self.description = d }
}

/// Every real part of a kiosk on this machine: a private cupsd with an ippeveprinter queue, `scanimage -d test`, the
/// Dinas reference endpoint with its automatic reviewer, kioskd, and kiosk-ui in a tmux terminal.
final class KioskRig: @unchecked Sendable {
    // @unchecked: used by the owning test only.
    let printerDir: String
    let dinas: DinasServer
    let kioskd: KioskdProcess
    let cups: [String: String]
    var ui: TouchScreen!
    let uiLog: String

    init(width: Int, height: Int, reviewSeconds: Double = 2) async throws {
        let dir = try makeTempDir()
        self.printerDir = "\(dir)/printer"
        let start = try ChildProcess.run(["bash", packageRoot.appendingPathComponent("Hardware/printer/start-test-printer.sh").path,
                                          self.printerDir])
        guard start.status == 0 else { throw E2EError("start-test-printer: \(start.output)") }
        self.cups = ["CUPS_SERVER": "\(self.printerDir)/run/cups.sock",
                     "SANE_CONFIG_DIR": packageRoot.appendingPathComponent("Hardware/scanner/sane.d").path]
        self.dinas = try DinasServer(autoReview: reviewSeconds)
        self.kioskd = try KioskdProcess(
            dinas: self.dinas, dir: dir,
            extra: ["scanner": ["extra_options": ["--test-picture=Grid"], "watchdog_seconds": 30]],
            devices: ["printer": "kiosk", "scanner": "test", "card_reader": "auto"])
        self.uiLog = "\(dir)/kiosk-ui.err"
        let client = try self.kioskd.startAndWait(environment: self.cups)
        _ = try? await client.call("staff.restock", .object(["sheets": .number(100)]))
        client.close()
        // Voice on where espeak-ng is installed, its prompts cached in the test's directory (removed with it).
        let command = "env TERM=xterm-256color \(builtProduct("kiosk-ui")) --socket \(self.kioskd.socket) --voice-cache \(dir)/voice 2>>\(self.uiLog)"
        self.ui = try TouchScreen(width: width, height: height, command: command, errorLog: self.uiLog)
    }

    deinit {
        self.ui = nil
        _ = self.kioskd.terminate()
        _ = try? ChildProcess.run(["bash", packageRoot.appendingPathComponent("Hardware/printer/stop-test-printer.sh").path, self.printerDir])
    }

    /// Files ippeveprinter received: each job CUPS completed leaves one.
    var printedFiles: Int { ((try? FileManager.default.contentsOfDirectory(atPath: "\(self.printerDir)/ipp/out")) ?? []).count }

    func staff(_ method: String, _ params: JSONValue? = nil) throws -> JSONValue {
        let client = try ControlClient.connect(path: self.kioskd.socket)
        defer { client.close() }
        return try client.callBlocking(method, params, timeout: 30)
    }

    func application(_ code: String) throws -> JSONValue {
        try #require(try self.staff("staff.application.show", .object(["key": .string(code)]))["application"])
    }
}

/// Runs one step of the end-to-end proof, printing how long it took; fails past `timeout` (its documented bound).
func step<T>(_ name: String, timeout: Double, _ body: () async throws -> T) async throws -> T {
    let start = Date()
    let value = try await body()
    let took = Date().timeIntervalSince(start)
    print("e2e step \"\(name)\": \(String(format: "%.1f", took)) s (bound \(Int(timeout)) s)")
    #expect(took <= timeout, "step \(name) took \(took) s, past its \(timeout) s bound")
    return value
}

/// Issue 15's proof: a resident applies by touch on kiosk-ui against kioskd, the reference endpoint and a real
/// printer; the Dinas gets every attachment; the reviewer makes it ready and both products print; kioskd dies and
/// comes back under the UI. At 80×24 and at 40×12.
@Suite(.serialized) struct EndToEndTests {
    static let applicant = SimulatedCardReader.testCardDigits

    @Test(arguments: [(80, 24), (40, 12)])
    func applyDeliverCollectAndSurviveAKioskdRestart(size: (Int, Int)) async throws {
        let rig = try await KioskRig(width: size.0, height: size.1)
        let k = rig.ui!
        try await step("home screen", timeout: 20) { try await k.waitFor("Ajukan Permohonan", timeout: 20) }

        // 1. A Kota Kupang birth a month ago, by touch: the NIK on the keypad, each requirement scanned for real.
        let code: String = try await step("apply by touch", timeout: 150) {
            try await k.beginBirthApplication(nik: Self.applicant)
            return try await k.finishBirthApplication().replacingOccurrences(of: "-", with: "")
        }
        #expect(code.count == 8)
        try await step("receipt printed", timeout: 30) {
            let end = Date().addingTimeInterval(30)
            while rig.printedFiles < 1, Date() < end { try await Task.sleep(nanoseconds: 100_000_000) }
            #expect(rig.printedFiles == 1, "the receipt's job completed and ippeveprinter has its file")
            // kioskd records the receipt once CUPS reports the job completed (after ippeveprinter wrote its file).
            var events: [AuditEntryView] = []
            while !events.contains(where: { $0.event == "receipt_printed" }), Date() < end {
                let history = try rig.staff("staff.application.show", .object(["key": .string(code)]))["history"]
                events = try #require(try history?.decode([AuditEntryView].self))
                try await Task.sleep(nanoseconds: 100_000_000)
            }
            #expect(events.contains { $0.event == "receipt_printed" }, "the receipt's job completed: \(events.map(\.event))")
            #expect(!k.text.contains("Tanda terima belum tercetak"))
        }
        try await k.tap("Selesai")

        // 2. The Dinas has the application with every attachment, each file's hash the kiosk's.
        let app = try rig.application(code)
        let id = try #require(app["id"]?.stringValue)
        let attachments = try #require(try app["attachments"]?.decode([AttachmentView].self))
        #expect(attachments.count >= 4)
        try await step("delivered to the Dinas", timeout: 60) {
            let end = Date().addingTimeInterval(60)
            var complete = false
            while !complete, Date() < end {
                let remote = try rig.dinas.applications().first { ($0["id"] as? String) == id }
                let atts = (remote?["attachments"] as? [[String: Any]]) ?? []
                complete = atts.count == attachments.count && atts.allSatisfy { ($0["complete"] as? Bool) == true }
                if !complete { try await Task.sleep(nanoseconds: 200_000_000) }
            }
            #expect(complete)
            // The electronic form and the notification consent travelled with it.
            let remote = try rig.dinas.applications().first { ($0["id"] as? String) == id }
            let form = (remote?["form"] as? [String: String]) ?? [:]
            let birth = try #require(try FormSamples.profile("kota-kupang").service("birth"))
            #expect(Set(form.keys) == Set(birth.formFields(for: ["citizenship": .string("wni")]).map(\.key)), "every form answer arrived")
            #expect(form.values.contains(Self.applicant), "the parents' NIKs as typed")
            #expect(remote?["notify"] as? String == "whatsapp")
            for a in attachments {
                let path = "\(rig.dinas.dir)/data/applications/\(id)/\(a.seq).bin"
                let data = try Data(contentsOf: URL(fileURLWithPath: path))
                #expect(SHA256.hex(data) == a.sha256, "attachment \(a.seq) arrived whole")
            }
        }

        // 3. The reviewer makes it ready; a new session collects it and both products print.
        try await step("ready at the kiosk", timeout: 60) {
            let end = Date().addingTimeInterval(60)
            while try rig.application(code)["state"]?.stringValue != "ready", Date() < end {
                try await Task.sleep(nanoseconds: 200_000_000)
            }
            #expect(try rig.application(code)["state"]?.stringValue == "ready")
            // The Dinas would have told the resident by WhatsApp on each change of state (consent given).
            let sent = (try rig.dinas.admin("GET", "/admin/notifications") as? [[String: Any]]) ?? []
            let mine = sent.filter { ($0["application_id"] as? String) == id }
            #expect(mine.contains { ($0["state"] as? String) == "ready" && ($0["channel"] as? String) == "whatsapp"
                && ($0["to"] as? String) == "081234567890" }, "notifications: \(mine)")
        }
        try await step("collect both documents", timeout: 120) {
            try await k.tap("Ambil Dokumen")
            try await k.waitFor("NIK: ")
            try await k.tapDigits(Self.applicant)
            try await k.tap("Lanjut ▶")
            try await k.waitFor("Ketik kode pelacakan")
            try await k.type(code)
            try await k.keys("Enter")
            try await k.waitFor("Dokumen siap dicetak")
            try await k.tap("Cetak Surat Keterangan Kelahiran")
            try await k.waitFor("Silakan ambil dokumen Anda", timeout: 45)
            try await k.tap("Dokumen lain")
            try await k.tap("Cetak Kutipan Akta Kelahiran (gratis)")
            try await k.waitFor("Silakan ambil dokumen Anda", timeout: 45)
            try await k.tap("Selesai")
            try await k.waitFor("Ajukan Permohonan")
        }
        #expect(rig.printedFiles == 3, "the receipt and both products")
        #expect(try rig.application(code)["state"]?.stringValue == "printed")

        // 4. kioskd dies under the home screen: the wait screen; it comes back and so does the UI.
        try await step("wait screen after kill -9", timeout: 15) {
            #expect(!k.text.contains("Mohon tunggu"))
            rig.kioskd.kill9()
            try await k.waitFor("Mohon tunggu", timeout: 15)
        }
        try await step("UI back after restart", timeout: 30) {
            try rig.kioskd.start(environment: rig.cups)
            try await k.waitFor("Ajukan Permohonan", timeout: 30)
        }
        try await step("status by tracking code", timeout: 30) {
            try await k.tap("Cek Status")
            try await k.type(code)
            try await k.keys("Enter")
            try await k.waitFor("Riwayat", timeout: 20)
        }
        #expect(!k.text.contains(Self.applicant))
    }
}

extension EndToEndTests {
    /// A configuration applied while a resident is mid-application takes effect when the session ends; a kiosk-ui
    /// killed mid-application leaves kioskd running, and kioskd deletes that session's held scans.
    @Test func configWaitsForTheHomeScreenAndAKilledUILeavesNoScans() async throws {
        let rig = try await KioskRig(width: 80, height: 24)
        let k = rig.ui!
        try await k.waitFor("desa-oebobo-01 — Kios Layanan Adminduk", timeout: 20)
        try await k.beginBirthApplication(nik: Self.applicant)
        try await k.tap("Pindai")
        try await k.waitFor("Terpindai", timeout: 60)
        let work = "\(rig.kioskd.dataDir)/scans-work"
        func held() -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: work)) ?? []).filter { !$0.hasPrefix("receipt") } }
        #expect(held().count == 1, "kioskd holds the scan for this session")

        // Mid-application: a signed bundle with a new desa name is applied; the resident's session is not disturbed.
        let bundle = try signedBundle(rig.dinas.key, version: 7, desa: "Desa Sesudah Sesi", kiosk: rig.kioskd.kioskID)
        let applied = try rig.staff("technician.config.apply", .object(["bundle": .string(String(decoding: bundle, as: UTF8.self))]))
        #expect(applied["live"]?.boolValue == false, "deferred while a resident is mid-application")
        try await Task.sleep(nanoseconds: 1_000_000_000)
        #expect(k.text.contains("Terpindai"))
        try await k.tap("Beranda")
        try await k.waitFor("Desa Sesudah Sesi — Kios Layanan Adminduk", timeout: 15)
        #expect(held().isEmpty, "going home dropped the scan")

        // A second resident scans, then kiosk-ui dies: kioskd stays up and deletes the held scan.
        try await k.beginBirthApplication(nik: Self.applicant)
        try await k.tap("Pindai")
        try await k.waitFor("Terpindai", timeout: 60)
        #expect(held().count == 1)
        let pane = try k.tmux(["list-panes", "-t", "k", "-F", "#{pane_pid}"]).trimmingCharacters(in: .whitespacesAndNewlines)
        let ui = try #require(Int32(try ChildProcess.run(["pgrep", "-P", pane, "kiosk-ui"]).output
            .trimmingCharacters(in: .whitespacesAndNewlines)) ?? Int32(pane))
        #expect(kill(ui, SIGKILL) == 0)
        let end = Date().addingTimeInterval(10)
        while !held().isEmpty, Date() < end { try await Task.sleep(nanoseconds: 100_000_000) }
        #expect(held().isEmpty, "kioskd dropped the crashed session's scan")
        #expect(rig.kioskd.process.isRunning)
        #expect(try rig.staff("staff.status")["health"]?.stringValue == "ok")
    }
}

/// kiosk-ui as a terminal program: resize, device banners, and the terminal given back on SIGTERM.
@Suite(.serialized) struct KioskUITerminalTests {
    @Test func paperOutShowsABannerAndApplyingStillWorks() async throws {
        let rig = try await KioskRig(width: 80, height: 24)
        let k = rig.ui!
        try await k.waitFor("Ajukan Permohonan", timeout: 20)
        let ctl = packageRoot.appendingPathComponent("Hardware/printer/printer-ctl.sh").path
        #expect(try ChildProcess.run(["bash", ctl, rig.printerDir, "media-empty"]).status == 0)
        // kioskd's printer watcher sees it and pushes device.changed; the banner follows within seconds.
        try await k.waitFor("Printer tidak dapat dipakai", timeout: 15)
        #expect(k.text.contains("tetap dapat mengajukan"))
        try await k.tap("Ajukan Permohonan")
        try await k.waitFor("Pilih jenis layanan")
    }

    @Test func liveResizeRelaysTheScreen() async throws {
        let rig = try await KioskRig(width: 80, height: 24)
        let k = rig.ui!
        try await k.tap("Ajukan Permohonan", timeout: 20)
        try await k.waitFor("Pilih jenis layanan")
        try k.tmux(["resize-window", "-t", "k", "-x", "40", "-y", "12"])
        // Narrow: the explanation in parentheses gives way, the words stay whole.
        let end = Date().addingTimeInterval(15)
        while k.text.contains("(kelahiran") || !k.text.contains("Pencatatan Sipil"), Date() < end {
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        #expect(!k.text.contains("(kelahiran") && k.text.contains("Pencatatan Sipil") && !k.text.contains("Pencatatan Sipil (…"))
        #expect(k.screen.allSatisfy { $0.count <= 40 })
        try k.tmux(["resize-window", "-t", "k", "-x", "160", "-y", "50"])
        try await k.waitFor("Pencatatan Sipil (kelahiran, kematian, perkawinan, ...)")
        // The flow survived both resizes: Kembali still leads back to Beranda.
        try await k.tap("Kembali")
        try await k.waitFor("Ambil Dokumen")
    }

    @Test func sigtermRestoresTheTerminalAndKioskdKeepsRunning() async throws {
        let k = try KioskdProcess(dinas: nil)
        _ = try k.startAndWait()
        let script = "stty -a > \(k.dir)/before; \(builtProduct("kiosk-ui")) --socket \(k.socket) --voice-cache \(k.dir)/voice; stty -a > \(k.dir)/after; sleep 30"
        let screen = try TouchScreen(width: 80, height: 24, command: "bash -c '\(script)'", errorLog: "\(k.dir)/ui.err")
        try await screen.waitFor("Ajukan Permohonan", timeout: 20)
        let shell = try screen.tmux(["list-panes", "-t", "k", "-F", "#{pane_pid}"]).trimmingCharacters(in: .whitespacesAndNewlines)
        let child = try ChildProcess.run(["pgrep", "-P", shell, "kiosk-ui"]).output
        let pid = try #require(Int32(child.trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(kill(pid, SIGTERM) == 0)
        let end = Date().addingTimeInterval(15)
        while Date() < end, !FileManager.default.fileExists(atPath: "\(k.dir)/after") { try await Task.sleep(nanoseconds: 100_000_000) }
        let before = try String(contentsOfFile: "\(k.dir)/before", encoding: .utf8)
        let after = try String(contentsOfFile: "\(k.dir)/after", encoding: .utf8)
        // Canonical mode and echo are back exactly as they were; the alternate screen is gone.
        #expect(after.contains(" icanon") && after.contains(" echo "))
        #expect(before.split(separator: "\n").dropFirst() == after.split(separator: "\n").dropFirst())
        #expect(!screen.text.contains("Ajukan Permohonan"))
        #expect(k.process.isRunning, "kioskd does not depend on its UI")
    }
}

struct AttachmentView: Decodable {
    var seq: Int
    var sha256: String
}

struct AuditEntryView: Decodable {
    var event: String
    var actor: String
}
