import Foundation
import KioskDevices

/// The kiosk's time for a 10-page feeder batch (scanimage + checks + JPEG + staging) ÷ raw scanimage time for the
/// same batch with the same arguments, and stored bytes per page at the default settings. SANE's test backend.
func benchScanner() async throws {
    let root = NSTemporaryDirectory() + "kiosk-bench-scan-\(getpid())"
    defer { try? FileManager.default.removeItem(atPath: root) }
    // The test backend delivers a page in a few milliseconds, far faster than any real feeder, so the first two
    // runs show the kiosk's own per-page cost; the paced run (50 ms per read, about 0.6 s a page, a 100 ppm
    // production ADF) is what a resident's batch looks like.
    let runs: [(String, (Double, Double)?, [String], Int)] = [
        ("instant, default area 80×100 mm", nil, [], 6),
        ("instant, 200×200 mm", (200, 200), [], 6),
        ("paced 50 ms/read, 200×200 mm", (200, 200), ["--read-delay=yes", "--read-delay-duration=50000"], 3),
    ]
    for (label, area, pacing, rounds) in runs {
        var settings = ScanSettings()
        settings.device = "test"
        settings.extraOptions = ["--test-picture=Grid"] + pacing
        if let area {
            settings.widthMM = area.0
            settings.heightMM = area.1
        }
        let scanner = SANEScanner(settings: settings)
        var kiosk: [Double] = [], raw: [Double] = []
        var bytes: [Int] = []
        for round in 0..<rounds {
            // Raw: the very command the kiosk runs, pages left as PNM.
            let rawDir = "\(root)/raw-\(round)"
            try FileManager.default.createDirectory(atPath: rawDir, withIntermediateDirectories: true)
            let args = ["scanimage"] + scanner.arguments(device: "test", request: ScanRequest(source: .feeder, expectedPages: nil),
                                                         batchPattern: "\(rawDir)/raw-%03d.pnm")
            let t0 = monotonicSeconds()
            let status = try ChildProcess.spawn(args, stdout: .null, stderr: .null).wait()
            let t1 = monotonicSeconds()
            guard status == 0 else { print("scanner: raw scanimage failed (\(status))"); return }
            let t2 = monotonicSeconds()
            let pages = try await scanner.scan(ScanRequest(source: .feeder, expectedPages: 10), into: "\(root)/kiosk-\(round)") { _ in }
            let t3 = monotonicSeconds()
            if round == 0 { continue }  // warm-up
            raw.append(t1 - t0)
            kiosk.append(t3 - t2)
            bytes += pages.map(\.bytes)
        }
        raw.sort()
        kiosk.sort()
        let r = percentile(raw, 50), k = percentile(kiosk, 50)
        print(String(format: "scanner [%@]: 10-page batch kiosk %.3f s, raw scanimage %.3f s, ratio %.3f (median of %d)",
                     label, k, r, k / r, raw.count))
        print(String(format: "scanner [%@]: %d bytes per page on average (200 dpi gray JPEG q75, Grid picture)",
                     label, bytes.reduce(0, +) / max(1, bytes.count)))
    }
}
