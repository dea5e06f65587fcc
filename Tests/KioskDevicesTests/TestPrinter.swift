import Foundation
import KioskDevices
import Testing

let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

/// Runs a command and waits for it (ChildProcess: Foundation.Process hangs after the printer scripts).
@discardableResult
func sh(_ args: [String]) throws -> (status: Int32, out: String) {
    let r = try ChildProcess.run(args)
    return (r.status, r.output)
}

/// The real printer under test: a private cupsd with an ippeveprinter queue. `.ci/run` starts one and exports
/// KIOSK_TEST_PRINTER_DIR; otherwise the first test starts its own (Hardware/printer/start-test-printer.sh).
final class TestPrinter: Sendable {
    static let shared: TestPrinter? = try? TestPrinter()

    let dir: String
    let server: String
    let queue: String
    /// The queue of the second simulated printer, which takes only PWG and Apple raster (start-test-printer.sh).
    var rasterQueue: String { self.setting("KIOSK_TEST_RASTER_QUEUE") ?? "\(self.queue)-raster" }
    var rasterURI: String? { self.setting("KIOSK_TEST_RASTER_IPP_URI") }

    /// A value start-test-printer.sh wrote to DIR/env (`export KEY="value"`), from the environment if it is set.
    func setting(_ key: String) -> String? {
        if let v = ProcessInfo.processInfo.environment[key] { return v }
        let lines = ((try? String(contentsOfFile: "\(self.dir)/env", encoding: .utf8)) ?? "").split(separator: "\n")
        guard let line = lines.first(where: { $0.hasPrefix("export \(key)=") }) else { return nil }
        return String(line.dropFirst("export \(key)=".count)).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
    }

    private init() throws {
        let env = ProcessInfo.processInfo.environment
        if let dir = env["KIOSK_TEST_PRINTER_DIR"], let server = env["CUPS_SERVER"] {
            self.dir = dir
            self.server = server
            self.queue = env["KIOSK_TEST_PRINTER_QUEUE"] ?? "kiosk"
            return
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kiosk-printer-\(getpid())").path
        let r = try sh(["bash", packageRoot.appendingPathComponent("Hardware/printer/start-test-printer.sh").path, dir])
        guard r.status == 0 else { throw NSError(domain: "start-test-printer: \(r.out)", code: Int(r.status)) }
        self.dir = dir
        self.server = "\(dir)/run/cups.sock"
        self.queue = "kiosk"
        startedPrinterDir = dir
        atexit {
            guard let dir = startedPrinterDir else { return }
            _ = try? sh(["bash", packageRoot.appendingPathComponent("Hardware/printer/stop-test-printer.sh").path, dir])
            try? FileManager.default.removeItem(atPath: dir)
        }
    }

    func ctl(_ action: String) throws {
        let r = try sh(["bash", packageRoot.appendingPathComponent("Hardware/printer/printer-ctl.sh").path, self.dir, action])
        guard r.status == 0 else { throw NSError(domain: "printer-ctl \(action): \(r.out)", code: Int(r.status)) }
    }

    func printer() async throws -> CUPSPrinter { try await CUPSPrinter(queue: self.queue, server: self.server) }

    var printedFiles: Int { ((try? FileManager.default.contentsOfDirectory(atPath: "\(self.dir)/ipp/out")) ?? []).count }

    /// What the raster-only printer received, oldest first.
    var rasterPrinted: [String] {
        let dir = "\(self.dir)/raster/out"
        return ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted().map { "\(dir)/\($0)" }
    }
}

/// Every suite that changes the one test printer's condition nests here, so they never run at the same time.
@Suite(.serialized) enum RealPrinter {}

/// The printer this process started itself, stopped at exit. nonisolated(unsafe): set once, before atexit runs.
nonisolated(unsafe) var startedPrinterDir: String?

/// A one-page PDF made by our own writer.
func samplePDF(_ text: String = "Kutipan Akta Kelahiran (contoh)") throws -> String {
    var pdf = PDFDocument()
    pdf.text(text, x: 72, y: 760, size: 14)
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("kiosk-\(UUID().uuidString).pdf").path
    try pdf.data().write(to: URL(fileURLWithPath: path))
    return path
}
