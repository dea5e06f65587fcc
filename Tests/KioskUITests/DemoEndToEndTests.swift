import Foundation
import KioskDevices
import Testing

/// `kioskd --demo` in a private tmux server, driven like a touchscreen: SGR mouse presses and releases on the
/// buttons it draws, and real keys. The printer is real (a private cupsd with ippeveprinter), the scanner is
/// real (`scanimage -d test`), the card is the demo's simulated reader (F2). Waits are `Task.sleep`, never
/// `usleep`: a blocked cooperative thread (2 on the CI machine) would starve other suites' watchdogs.
final class DemoKiosk {
    let socket = "kiosk-e2e-\(getpid())-\(UUID().uuidString.prefix(6))"
    let printerDir: String
    let errorLog: String

    init(width: Int, height: Int, idle: Int = 10, arguments: String = "") async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kiosk-e2e-\(UUID().uuidString)").path
        let start = try ChildProcess.run(["bash", packageRoot.appendingPathComponent("Hardware/printer/start-test-printer.sh").path, dir])
        guard start.status == 0 else { throw E2EError("start-test-printer: \(start.output)") }
        self.printerDir = dir
        self.errorLog = "\(dir)/kioskd.err"
        let kioskd = builtProduct("kioskd")
        let command = "env CUPS_SERVER=\(dir)/run/cups.sock SANE_CONFIG_DIR=\(packageRoot.path)/Hardware/scanner/sane.d "
            + "\(kioskd) --demo --printer kiosk --scanner test --card-reader simulated "
            + "--review-seconds 1 --idle \(idle) \(arguments) 2>>\(self.errorLog)"
        try self.tmux(["new-session", "-d", "-s", "k", "-x", "\(width)", "-y", "\(height)", command])
        try await self.waitFor("Ajukan Permohonan")
    }

    deinit {
        _ = try? ChildProcess.run(["tmux", "-L", self.socket, "kill-server"])
        _ = try? ChildProcess.run(["bash", packageRoot.appendingPathComponent("Hardware/printer/stop-test-printer.sh").path, self.printerDir])
        try? FileManager.default.removeItem(atPath: self.printerDir)
    }

    @discardableResult
    func tmux(_ args: [String]) throws -> String {
        let r = try ChildProcess.run(["tmux", "-L", self.socket] + args)
        guard r.status == 0 else { throw E2EError("tmux \(args.first ?? ""): \(r.output)") }
        return r.output
    }

    var screen: [String] { ((try? self.tmux(["capture-pane", "-p", "-t", "k"])) ?? "").components(separatedBy: "\n") }
    var text: String { self.screen.joined(separator: "\n") }

    /// Files ippeveprinter received (each printed job leaves one).
    var printedJobs: Int { ((try? FileManager.default.contentsOfDirectory(atPath: "\(self.printerDir)/ipp/out")) ?? []).count }

    @discardableResult
    func waitFor(_ text: String, timeout: Double = 15) async throws -> [String] {
        let end = Date().addingTimeInterval(timeout)
        while Date() < end {
            let s = self.screen
            if s.contains(where: { $0.contains(text) }) { return s }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        let log = (try? String(contentsOfFile: self.errorLog, encoding: .utf8)) ?? ""
        throw E2EError("\"\(text)\" did not appear; screen:\n\(self.text)\nkioskd stderr:\n\(log)")
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
                if !shown.isEmpty, shown == label || (shown.hasSuffix("…") && label.hasPrefix(shown.dropLast())) {
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
                // A touch that changed nothing (the screen is exactly as before, the button still there) was lost
                // on a loaded machine, as a resident's can be: tap again, at most twice. A tap that did anything
                // changes the screen, so this never taps twice on a screen that moved on.
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
        throw E2EError("no button \"\(label)\" on:\n\(self.text)")
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

struct E2EError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { self.description = d }
}

func builtProduct(_ name: String) -> String {
    if let dir = ProcessInfo.processInfo.environment["KIOSK_BIN_DIR"] { return "\(dir)/\(name)" }
    return packageRoot.appendingPathComponent(".build/debug/\(name)").path
}

@Suite(.serialized) struct DemoEndToEndTests {
    @Test(arguments: [(80, 24), (40, 12)])
    func applyCheckStatusCollectAndIdleWipe(size: (Int, Int)) async throws {
        let k = try await DemoKiosk(width: size.0, height: size.1)
        // Ajukan: a birth a month ago, by touch; the test card identifies the resident.
        try await k.tap("Ajukan Permohonan")
        try await k.tap("Pencatatan Sipil (kelahiran, kematian, perkawinan, ...)")
        try await k.tap("Akta Kelahiran")
        try await k.waitFor("NIK: ")
        try await k.keys("F2")
        try await k.waitFor("Tanggal peristiwa")
        #expect(!k.text.contains("5371011708950003"))
        try await k.tap("−Bln")
        try await k.tap("Lanjut ▶")
        try await k.tap("WNI")
        try await k.waitFor("tepat waktu")
        try await k.tap("Lanjut ▶")
        for _ in 0..<4 {
            try await k.tap("Pindai")
            try await k.waitFor("Terpindai")
            try await k.tap("Lanjut ▶")
        }
        try await k.tap("Lewati")
        try await k.waitFor("Nomor")
        try await k.type("081234567890")
        try await k.keys("Enter")
        try await k.tap("Saya setuju")
        try await k.tap("Kirim permohonan")
        let done = try await k.waitFor("Kode pelacakan: ")
        let code = try #require(done.first { $0.contains("Kode pelacakan: ") }?.components(separatedBy: ": ").last)
            .trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "-", with: "")
        #expect(code.count == 8)
        // The receipt went to the real printer.
        let receiptEnd = Date().addingTimeInterval(10)
        while k.printedJobs < 1, Date() < receiptEnd { try await Task.sleep(nanoseconds: 100_000_000) }
        #expect(k.printedJobs == 1)
        try await k.tap("Selesai")

        // Cek Status: the embedded Dinas makes the application ready after a second.
        try await k.tap("Cek Status")
        try await k.type(code.lowercased())
        try await k.keys("Enter")
        try await k.waitFor("Riwayat")
        if !k.text.contains("dokumen siap dicetak") {
            try await k.tap("Kembali")
            try await Task.sleep(nanoseconds: 2_000_000_000)
            try await k.type(code)
            try await k.keys("Enter")
        }
        try await k.waitFor("dokumen siap dicetak")
        if size.1 >= 24 { try await k.waitFor("diterima Dinas") }  // the history is on a later page at 40×12
        try await k.tap("Beranda")

        // Ambil Dokumen: card + code → print on the real printer → "take your document".
        try await k.tap("Ambil Dokumen")
        try await k.keys("F2")
        try await k.waitFor("Ketik kode pelacakan")
        try await k.type(code)
        try await k.keys("Enter")
        try await k.waitFor("Dokumen siap dicetak")
        try await k.tap("Cetak Surat Keterangan Kelahiran")
        try await k.waitFor("Silakan ambil dokumen Anda", timeout: 30)
        #expect(k.printedJobs == 2)
        try await k.tap("Selesai")

        // Idle: a half-typed code is wiped from the screen after the countdown.
        try await k.tap("Cek Status")
        try await k.type("ABC")
        try await k.waitFor("Kode: ABC")
        try await k.waitFor("Masih di sana?", timeout: 15)
        try await k.waitFor("Ajukan Permohonan", timeout: 10)
        #expect(!k.text.contains("ABC"))
    }

    @Test func printerOutOfPaperShowsABannerAndApplyingStillWorks() async throws {
        let k = try await DemoKiosk(width: 80, height: 24, idle: 60)
        // Paper out before anything is submitted: the home screen says so, and applying still works.
        let ctl = packageRoot.appendingPathComponent("Hardware/printer/printer-ctl.sh").path
        #expect(try ChildProcess.run(["bash", ctl, k.printerDir, "media-empty"]).status == 0)
        try await k.waitFor("Printer tidak dapat dipakai", timeout: 10)
        #expect(k.text.contains("tetap dapat mengajukan"))
        try await k.tap("Ajukan Permohonan")
        try await k.waitFor("Pilih jenis layanan")
    }

    @Test func sigtermRestoresTheTerminal() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kiosk-e2e-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let socket = "kiosk-e2e-term-\(getpid())"
        defer { _ = try? ChildProcess.run(["tmux", "-L", socket, "kill-server"]) }
        let script = "stty -a > \(dir)/before; \(builtProduct("kioskd")) --demo --printer simulated --scanner simulated "
            + "--card-reader simulated; stty -a > \(dir)/after; sleep 30"
        _ = try ChildProcess.run(["tmux", "-L", socket, "new-session", "-d", "-s", "k", "-x", "80", "-y", "24", "bash", "-c", script])
        let end = Date().addingTimeInterval(15)
        var screen = ""
        while Date() < end, !screen.contains("Ajukan Permohonan") {
            try await Task.sleep(nanoseconds: 100_000_000)
            screen = (try? ChildProcess.run(["tmux", "-L", socket, "capture-pane", "-p", "-t", "k"]).output) ?? ""
        }
        #expect(screen.contains("Ajukan Permohonan"))
        let shell = try ChildProcess.run(["tmux", "-L", socket, "list-panes", "-t", "k", "-F", "#{pane_pid}"]).output
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let child = try ChildProcess.run(["pgrep", "-P", shell, "kioskd"]).output
        let pid = try #require(Int32(child.trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(kill(pid, SIGTERM) == 0)
        while Date() < end, !FileManager.default.fileExists(atPath: "\(dir)/after") { try await Task.sleep(nanoseconds: 100_000_000) }
        let before = try String(contentsOfFile: "\(dir)/before", encoding: .utf8)
        let after = try String(contentsOfFile: "\(dir)/after", encoding: .utf8)
        // Canonical mode and echo are back exactly as they were.
        #expect(after.contains(" icanon") && after.contains(" echo "))
        #expect(before.split(separator: "\n").dropFirst() == after.split(separator: "\n").dropFirst())
        screen = (try? ChildProcess.run(["tmux", "-L", socket, "capture-pane", "-p", "-t", "k"]).output) ?? ""
        #expect(!screen.contains("Ajukan Permohonan"))  // the alternate screen is gone too
    }
}

extension DemoEndToEndTests {
    @Test func desaNameHoursAndCatalogComeFromTheConfigPayload() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kiosk-e2e-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let made = try ChildProcess.run(["bash", "-c", "\(builtProduct("kioskctl")) config init --profile blora "
            + "--desa 'Desa Tempellemahbang' --profiles-dir \(packageRoot.path)/Kiosk/profiles > \(dir)/payload.json"])
        #expect(made.status == 0, "\(made.output)")
        let k = try await DemoKiosk(width: 80, height: 24, idle: 60, arguments: "--config-payload \(dir)/payload.json")
        try await k.waitFor("Desa Tempellemahbang — Kios Layanan Adminduk")
        #expect(k.text.contains("Jam layanan: Senin–Jumat 08:00–15:00"))
        try await k.tap("Informasi Layanan")
        try await k.waitFor("Pilih layanan:")
        // Blora's catalog (its birth service is the WA Paket I), not the default Kota Kupang one.
        #expect(k.text.contains("Akta Kelahiran (WA Paket I)"))
    }

    @Test func liveResizeRelaysTheScreen() async throws {
        let k = try await DemoKiosk(width: 80, height: 24, idle: 60)
        try await k.tap("Ajukan Permohonan")
        try await k.waitFor("Pilih jenis layanan")
        try k.tmux(["resize-window", "-t", "k", "-x", "40", "-y", "12"])
        try await k.waitFor("Pencatatan Sipil (kelahiran, kematian…")
        #expect(k.screen.allSatisfy { $0.count <= 40 })
        try k.tmux(["resize-window", "-t", "k", "-x", "160", "-y", "50"])
        try await k.waitFor("Pencatatan Sipil (kelahiran, kematian, perkawinan, ...)")
        // The flow survived both resizes: Kembali still leads back to Beranda.
        try await k.tap("Kembali")
        try await k.waitFor("Ambil Dokumen")
    }
}
