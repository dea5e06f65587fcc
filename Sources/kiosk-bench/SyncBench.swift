import Foundation
import KioskCore
import KioskSecurity
import KioskStore
import KioskSync
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Starts `python3 script args` with its stdout on a pipe and returns the first line it prints (where it says
/// which loopback port it bound).
func startPython(_ process: Process, _ script: String, _ args: [String]) throws -> String {
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", script] + args
    let out = Pipe()
    process.standardOutput = out
    try process.run()
    var line = Data()
    while !line.contains(10) {
        let d = out.fileHandleForReading.availableData
        guard !d.isEmpty else { throw NSError(domain: "\(script) exited", code: 2) }
        line.append(d)
    }
    return String(decoding: line, as: UTF8.self)
}

/// Starts Tests/DinasReference/server.py on a free loopback port.
final class ReferenceDinas {
    let process = Process()
    let port: Int
    let token = "bench-token"
    let key: Ed25519PrivateKey

    init(dir: String, faults: [String]) throws {
        self.key = try Ed25519PrivateKey.generate()
        try Data(try self.key.pem().utf8).write(to: URL(fileURLWithPath: "\(dir)/dinas.pem"))
        let root = try sourceRoot(containing: "Tests/DinasReference/server.py")
        let text = try startPython(self.process, "\(root)/Tests/DinasReference/server.py",
                                   ["--port", "0", "--data", "\(dir)/dinas", "--token", self.token,
                                    "--signing-key", "\(dir)/dinas.pem"] + faults)
        guard let port = text.split(separator: ":").last?.split(separator: " ").first.flatMap({ Int($0) }) else {
            throw NSError(domain: "reference server: \(text)", code: 2)
        }
        self.port = port
    }

    func setDropMode(_ mode: String) throws {
        _ = try self.admin("/admin/faults", body: Data("{\"drop_mode\": \"\(mode)\"}".utf8))
    }

    func stats() throws -> [String: Any] { try self.admin("/admin/stats", body: nil) }

    private func admin(_ path: String, body: Data?) throws -> [String: Any] {
        var req = URLRequest(url: URL(string: "http://127.0.0.1:\(self.port)\(path)")!)
        if let body {
            req.httpMethod = "POST"
            req.httpBody = body
        }
        req.setValue("Bearer \(self.token)", forHTTPHeaderField: "Authorization")
        req.setValue("close", forHTTPHeaderField: "Connection")
        let sem = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var body = Data()
        URLSession.shared.dataTask(with: req) { d, _, _ in
            body = d ?? Data()
            sem.signal()
        }.resume()
        sem.wait()
        return (try JSONSerialization.jsonObject(with: body) as? [String: Any]) ?? [:]
    }

    deinit { kill(self.process.processIdentifier, SIGKILL) }
}

/// Tests/DinasReference/flaky_proxy.py: a real TCP hop between the kiosk and the Dinas that resets connections
/// after N bytes (or at random) and can limit the bandwidth. What it reads from the kiosk crossed the wire.
final class FlakyProxy {
    let process = Process()
    let port: Int
    let statsPath: String

    init(dir: String, upstream: Int, args: [String]) throws {
        let root = try sourceRoot(containing: "Tests/DinasReference/flaky_proxy.py")
        self.statsPath = "\(dir)/proxy-stats.json"
        let text = try startPython(self.process, "\(root)/Tests/DinasReference/flaky_proxy.py",
                                   ["--upstream-port", String(upstream), "--stats", self.statsPath, "--max-seconds", "170"] + args)
        guard let port = text.split(separator: ":").last.flatMap({ Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }) else {
            throw NSError(domain: "flaky proxy: \(text)", code: 2)
        }
        self.port = port
    }

    func stats() -> [String: Int] {
        guard let d = FileManager.default.contents(atPath: self.statsPath),
              let o = try? JSONSerialization.jsonObject(with: d) as? [String: Any] else { return [:] }
        return o.compactMapValues { ($0 as? NSNumber)?.intValue }
    }

    deinit { kill(self.process.processIdentifier, SIGKILL) }
}

func benchSync() async throws {
    let base = ProcessInfo.processInfo.environment["KIOSK_BENCH_DIR"] ?? NSTemporaryDirectory()
    let nik = try NIK("5371011708950003", today: CivilDate(year: 2026, month: 11, day: 22)!)
    struct Run {
        var seconds: Double
        var payload: Int
        var dinas: [String: Any]
        var proxy: [String: Int]
        var delivered: Int
        var apps: Int
    }
    /// `apps` applications of `files` × `fileSize` random bytes, drained through the proxy (when `proxy` is set).
    func run(label: String, proxy: [String]?, apps: Int, files: Int, fileSize: Int) async throws -> Run {
        let dir = "\(base)/kiosk-bench-sync-\(getpid())-\(label)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let dinas = try ReferenceDinas(dir: dir, faults: ["--seed", "1"])
        let link = try proxy.map { try FlakyProxy(dir: dir, upstream: dinas.port, args: $0) }
        let store = try KioskStore.open(directory: "\(dir)/kiosk", configuration: StoreConfiguration(minFreeBytes: 0)).0
        var payload = 0
        var g = SystemRandomNumberGenerator()
        for _ in 0..<apps {
            let atts = (1...files).map { i in
                NewAttachment(requirement: "r\(i)", data: Data((0..<(fileSize / 8)).flatMap { _ in withUnsafeBytes(of: g.next()) { Array($0) } }),
                              fileExtension: "jpg")
            }
            payload += files * fileSize
            _ = try store.submit(NewApplication(service: "birth", profile: "kota-kupang", applicant: nik,
                                                eventDate: CivilDate(year: 2024, month: 3, day: 10)!, contact: "0812", attachments: atts))
        }
        var options = SyncOptions()
        options.backoff = Backoff(base: 0.05, cap: 0.5)
        options.quickRetryDelay = 0.01
        let port = link?.port ?? dinas.port
        let engine = SyncEngine(
            store: store, client: DinasClient(endpoint: DinasEndpoint(baseURL: URL(string: "http://127.0.0.1:\(port)")!,
                                                                      kioskID: "bench", token: dinas.token)),
            trustedKeys: [dinas.key.publicKey], configStore: nil, options: options)
        let t0 = monotonicSeconds()
        let r = await engine.run(untilIdle: true, deadline: Date().addingTimeInterval(150))
        let elapsed = monotonicSeconds() - t0
        try? await Task.sleep(nanoseconds: 200_000_000)  // the proxy writes its counts after each connection
        return Run(seconds: elapsed, payload: payload, dinas: try dinas.stats(), proxy: link?.stats() ?? [:],
                   delivered: r.delivered, apps: apps)
    }
    func report(_ title: String, _ r: Run) {
        let wire = Double(r.proxy["bytes_from_kiosk"] ?? 0), uploads = Double(r.dinas["upload_bytes_received"] as? Int ?? 0)
        print("sync: \(title): \(r.delivered)/\(r.apps) applications delivered in \(String(format: "%.1f", r.seconds)) s, \(r.proxy["connections"] ?? 0) connections, \(r.proxy["resets"] ?? 0) resets")
        print(String(format: "sync:   wire / payload = %.4f  [goal <= 1.05]  (every byte the kiosk sent into the link: headers, manifests, HEADs, heartbeats, bytes lost with a reset); upload bodies at the Dinas / payload = %.4f",
                     wire / Double(r.payload), uploads / Double(r.payload)))
    }

    // Issue 13's link: one connection per request, reset after 256 KiB of upload; 8 applications of 2 x 400 KB.
    let slow = try await run(label: "reset256k-2mbit", proxy: ["--reset-after", "262144", "--rate-bps", "2000000"], apps: 8, files: 2, fileSize: 400_000)
    report("reset after every 256 KiB at 2 Mbit/s, 8 applications of 2 x 400 KB", slow)
    let fast = try await run(label: "reset256k-loopback", proxy: ["--reset-after", "262144"], apps: 8, files: 2, fileSize: 400_000)
    report("reset after every 256 KiB on loopback, 8 applications of 2 x 400 KB", fast)
    let random = try await run(label: "random-1mib", proxy: ["--drop-mean", "1048576", "--seed", "7", "--rate-bps", "2000000"], apps: 8, files: 2, fileSize: 400_000)
    report("random resets averaging one per MiB at 2 Mbit/s, 8 applications of 2 x 400 KB", random)
    let clean = try await run(label: "clean", proxy: nil, apps: 20, files: 5, fileSize: 300_000)
    print(String(format: "sync: drain %d applications of 5 x 300 KB (%.1f MB) over loopback, no proxy: %.2f s (%.1f MB/s), request bytes / payload %.4f",
                 clean.delivered, Double(clean.payload) / 1e6, clean.seconds, Double(clean.payload) / 1e6 / clean.seconds,
                 Double(clean.dinas["bytes_received"] as? Int ?? 0) / Double(clean.payload)))
}
