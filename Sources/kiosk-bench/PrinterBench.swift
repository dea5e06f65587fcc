import Foundation
import KioskCore
import KioskDevices

/// Runs a script to completion, its output to `log`.
func runScript(_ args: [String], log: String) throws -> Int32 {
    try ChildProcess.spawn(args, stdout: .file(log), stderr: .toStdout).wait()
}

/// The source tree kiosk-bench runs in: the nearest ancestor of the working directory holding `relative`.
func sourceRoot(containing relative: String) throws -> String {
    var root = FileManager.default.currentDirectoryPath
    while !FileManager.default.fileExists(atPath: "\(root)/\(relative)") {
        guard root != "/" else { throw NSError(domain: "run kiosk-bench from the source tree", code: 1) }
        root = (root as NSString).deletingLastPathComponent
    }
    return root
}

/// Receipt render time, and time from a document ready on disk to the job accepted by CUPS (and completed), on a
/// private cupsd + ippeveprinter (started here unless CUPS_SERVER and KIOSK_TEST_PRINTER_DIR name one).
func benchPrinter() async throws {
    var g = SystemRandomNumberGenerator()
    let content = ReceiptContent(
        dinasName: "Dinas Kependudukan dan Pencatatan Sipil Kota Kupang", kioskName: "Kelurahan Oebobo",
        serviceName: "Akta Kelahiran", trackingCode: TrackingCode(using: &g), submittedAt: Date(),
        utcOffset: UTCOffset("+08:00")!, timeZoneName: "WITA",
        requirements: ["Surat keterangan kelahiran", "KK orang tua", "Buku nikah/akta perkawinan orang tua"],
        expected: [("Kutipan Akta Kelahiran", "2026-11-24"), ("KK baru", "2026-11-24")],
        complaintChannels: ["Telepon: (0380) 123456", "WhatsApp: 0812 0000 0000", "SP4N-LAPOR!: lapor.go.id"],
        feeIDR: 0, qrText: "https://dukcapil.example/status/ABCD-EFGH")
    var renders: [Double] = []
    var bytes = 0
    for _ in 0..<5 { bytes = ReceiptRenderer.render(content, language: .id).count }
    for _ in 0..<200 {
        let t0 = monotonicSeconds()
        bytes = ReceiptRenderer.render(content, language: .id).count
        renders.append(monotonicSeconds() - t0)
    }
    renders.sort()
    print(String(format: "printer: receipt render median %.2f ms, p99 %.2f ms (%d bytes, QR included; 200 renders)",
                 percentile(renders, 50) * 1000, percentile(renders, 99) * 1000, bytes))

    let env = ProcessInfo.processInfo.environment
    var server = env["CUPS_SERVER"]
    var queue = env["KIOSK_TEST_PRINTER_QUEUE"]
    var startedDir: String?
    if env["KIOSK_TEST_PRINTER_DIR"] == nil || server == nil {
        let root = try sourceRoot(containing: "Hardware/printer/start-test-printer.sh")
        let dir = NSTemporaryDirectory() + "kiosk-bench-printer-\(getpid())"
        guard try runScript(["bash", "\(root)/Hardware/printer/start-test-printer.sh", dir], log: dir + ".log") == 0 else {
            print("printer: could not start the test printer (see \(dir).log)")
            return
        }
        startedDir = dir
        server = "\(dir)/run/cups.sock"
        queue = "kiosk"
    }
    defer {
        if let dir = startedDir {
            let root = try? sourceRoot(containing: "Hardware/printer/stop-test-printer.sh")
            _ = try? runScript(["bash", "\(root ?? ".")/Hardware/printer/stop-test-printer.sh", dir], log: "/dev/null")
            try? FileManager.default.removeItem(atPath: dir)
        }
    }
    let printer = try await CUPSPrinter(queue: queue, server: server)
    let path = NSTemporaryDirectory() + "kiosk-bench-receipt-\(getpid()).pdf"
    defer { unlink(path) }
    var accepted: [Double] = []
    var completed: [Double] = []
    for i in 0..<10 {
        let t0 = monotonicSeconds()
        // Document ready: rendered and on disk, then the status check the kiosk does before it sends a job.
        try ReceiptRenderer.render(content, language: .id).write(to: URL(fileURLWithPath: path))
        let status = try await printer.status()
        guard status.problem == nil else { print("printer: \(status.problem!.bilingual)"); return }
        let id = try await printer.submit(path: path, title: "bench \(i)", copies: 1)
        accepted.append(monotonicSeconds() - t0)
        while true {
            let j = try await printer.job(id)
            if ["completed", "canceled", "aborted", "stopped"].contains(j.state) { break }
            try await Task.sleep(nanoseconds: 20_000_000)
        }
        completed.append(monotonicSeconds() - t0)
    }
    accepted.sort()
    completed.sort()
    print(String(format: "printer: document ready → job accepted by CUPS: median %.1f ms, max %.1f ms (10 receipts)",
                 percentile(accepted, 50) * 1000, accepted.last! * 1000))
    print(String(format: "printer: document ready → job completed on ippeveprinter: median %.2f s, max %.2f s (polled every 20 ms)",
                 percentile(completed, 50), completed.last!))
}
