import Foundation
import KioskCore
import KioskSecurity
import KioskStore
import KioskSync
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

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
        self.process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        self.process.arguments = ["python3", "\(root)/Tests/DinasReference/server.py", "--port", "0", "--data", "\(dir)/dinas",
                                  "--token", self.token, "--signing-key", "\(dir)/dinas.pem"] + faults
        let out = Pipe()
        self.process.standardOutput = out
        try self.process.run()
        var line = Data()
        while !line.contains(10) {
            let d = out.fileHandleForReading.availableData
            guard !d.isEmpty else { throw NSError(domain: "reference server exited", code: 2) }
            line.append(d)
        }
        let text = String(decoding: line, as: UTF8.self)
        self.port = Int(text.split(separator: ":").last!.split(separator: " ").first!)!
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

func benchSync() async throws {
    let base = ProcessInfo.processInfo.environment["KIOSK_BENCH_DIR"] ?? NSTemporaryDirectory()
    let nik = try NIK("5371011708950003", today: CivilDate(year: 2026, month: 11, day: 22)!)
    /// `reset`: the link dies at the drop point, so what the kiosk had not yet transmitted never reaches the wire.
    func run(label: String, faults: [String], dropMode: String? = nil, apps: Int) async throws -> (Double, Int, [String: Any], Int) {
        let dir = "\(base)/kiosk-bench-sync-\(getpid())-\(label)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let dinas = try ReferenceDinas(dir: dir, faults: faults)
        if let dropMode { try dinas.setDropMode(dropMode) }
        let store = try KioskStore.open(directory: "\(dir)/kiosk", configuration: StoreConfiguration(minFreeBytes: 0)).0
        var payload = 0
        for _ in 0..<apps {
            var g = SystemRandomNumberGenerator()
            let atts = (1...5).map { i in
                NewAttachment(requirement: "r\(i)", data: Data((0..<37_500).flatMap { _ in withUnsafeBytes(of: g.next()) { Array($0) } }),
                              fileExtension: "jpg")
            }
            payload += 5 * 300_000
            _ = try store.submit(NewApplication(service: "birth", profile: "kota-kupang", applicant: nik,
                                                eventDate: CivilDate(year: 2024, month: 3, day: 10)!, contact: "0812", attachments: atts))
        }
        var options = SyncOptions()
        options.backoff = Backoff(base: 0.05, cap: 0.5)
        options.quickRetryDelay = 0.01
        options.maxQuickRetries = 50
        let engine = SyncEngine(
            store: store, client: DinasClient(endpoint: DinasEndpoint(baseURL: URL(string: "http://127.0.0.1:\(dinas.port)")!,
                                                                      kioskID: "bench", token: dinas.token)),
            trustedKeys: [dinas.key.publicKey], configStore: nil, options: options)
        let t0 = monotonicSeconds()
        let r = await engine.run(untilIdle: true, deadline: Date().addingTimeInterval(600))
        let elapsed = monotonicSeconds() - t0
        return (elapsed, payload, try dinas.stats(), r.delivered)
    }

    let (t1, payload1, s1, d1) = try await run(label: "drops", faults: ["--drop-after-bytes", "262144", "--seed", "1"], dropMode: "reset", apps: 10)
    // upload_bytes_received: PATCH bodies as read by the Dinas; bytes_received: every request line, header and body.
    let uploads = Double(s1["upload_bytes_received"] as? Int ?? 0), all = Double(s1["bytes_received"] as? Int ?? 0)
    print("sync: connection drop every 256 KiB, \(d1) applications of 5 x 300 KB (\(payload1) payload bytes), \(s1["drops"] ?? 0) drops, \(s1["requests"] ?? 0) requests")
    print(String(format: "sync: bytes on the wire / payload = %.4f (all request bytes incl. headers, manifests, HEADs, heartbeats); upload bodies / payload = %.4f  [goal <= 1.05]",
                 all / Double(payload1), uploads / Double(payload1)))
    print(String(format: "sync: drained in %.2f s with drops", t1))
    let (_, payload3, s3, _) = try await run(label: "drain", faults: ["--drop-after-bytes", "262144", "--seed", "1"], dropMode: "drain", apps: 10)
    print(String(format: "sync: pessimistic model (the rest of each dropped request still crosses the wire and is lost): bytes on the wire / payload = %.4f",
                 Double(s3["bytes_received"] as? Int ?? 0) / Double(payload3)))
    let (t2, payload2, s2, d2) = try await run(label: "clean", faults: [], apps: 50)
    print(String(format: "sync: drain %d applications of 5 x 300 KB (%.1f MB) over loopback: %.2f s (%.1f MB/s), wire/payload %.4f",
                 d2, Double(payload2) / 1e6, t2, Double(payload2) / 1e6 / t2, Double(s2["bytes_received"] as? Int ?? 0) / Double(payload2)))
}
