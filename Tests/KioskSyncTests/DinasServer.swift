import Foundation
import KioskCore
import KioskSecurity
import KioskStore
import KioskSync
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

func makeTempDir() throws -> String {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("kiosk-sync-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url.path
}

/// The Dinas reference endpoint (Tests/DinasReference/server.py) on a free loopback port, for one test.
final class DinasServer: @unchecked Sendable {
    // @unchecked: the process handle is only used by the owning test.
    let dir: String
    let token = "kiosk-token-\(UUID().uuidString.prefix(8))"
    let key: Ed25519PrivateKey
    let process = Process()
    let port: Int
    var url: URL { URL(string: "http://127.0.0.1:\(self.port)")! }

    init(faults: [String: Any] = [:]) throws {
        self.dir = try makeTempDir()
        self.key = try Ed25519PrivateKey.generate()
        let keyPath = "\(self.dir)/dinas.pem"
        try Data(try self.key.pem().utf8).write(to: URL(fileURLWithPath: keyPath))
        let text = try startPython(self.process, "Tests/DinasReference/server.py",
                                   ["--port", "0", "--data", "\(self.dir)/data", "--token", self.token, "--signing-key", keyPath,
                                    "--seed", "42"])
        guard let r = text.range(of: #"127\.0\.0\.1:(\d+)"#, options: .regularExpression),
              let port = Int(text[r].split(separator: ":").last!)
        else { throw NSError(domain: "dinas server: \(text)", code: 2) }
        self.port = port
        if !faults.isEmpty { try self.setFaults(faults) }
    }

    deinit {
        // SIGKILL: the test runner's threads block SIGTERM, and a child inherits that mask.
        self.kill9()
        try? FileManager.default.removeItem(atPath: self.dir)
    }

    func kill9() {
        kill(self.process.processIdentifier, SIGKILL)
        self.process.waitUntilExit()
    }

    /// Admin call over plain HTTP with a fresh connection each time.
    @discardableResult
    func admin(_ method: String, _ path: String, json: Any? = nil, body: Data? = nil) throws -> Any? {
        try adminRequest(method, self.url.appendingPathComponent(path), token: self.token, json: json, body: body,
                         timeout: 20, requireSuccess: true)
    }

    func setFaults(_ faults: [String: Any]) throws { try self.admin("POST", "/admin/faults", json: faults) }
    func applications() throws -> [[String: Any]] { (try self.admin("GET", "/admin/applications") as? [[String: Any]]) ?? [] }
    func stats() throws -> [String: Any] { (try self.admin("GET", "/admin/stats") as? [String: Any]) ?? [:] }

    func setState(_ id: UUID, _ state: String, reason: String? = nil, documents: [String]? = nil, tamper: String? = nil) throws {
        var body: [String: Any] = ["state": state]
        if let reason { body["reason"] = reason }
        if let documents { body["documents"] = documents }
        if let tamper { body["tamper"] = tamper }
        try self.admin("POST", "/admin/applications/\(id.uuidString.lowercased())/state", json: body)
    }
}

/// One admin or fault-control call to a test server over plain HTTP, on a fresh connection each time; the JSON
/// answer, or nil for an empty body. `requireSuccess` turns a non-2xx status into an error.
func adminRequest(_ method: String, _ url: URL, token: String? = nil, json: Any? = nil, body: Data? = nil,
                  timeout: Double, requireSuccess: Bool) throws -> Any? {
    var request = URLRequest(url: url)
    request.httpMethod = method
    if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
    request.setValue("close", forHTTPHeaderField: "Connection")
    if let json { request.httpBody = try JSONSerialization.data(withJSONObject: json) }
    if let body { request.httpBody = body }
    let box = ResultBox()
    let sem = DispatchSemaphore(value: 0)
    URLSession.shared.dataTask(with: request) { data, response, error in
        box.set(data, (response as? HTTPURLResponse)?.statusCode, error)
        sem.signal()
    }.resume()
    guard sem.wait(timeout: .now() + timeout) == .success else { throw NSError(domain: "admin \(url.path) timeout", code: 3) }
    let (data, status, error) = box.get()
    if let error { throw error }
    if requireSuccess, !(200..<300).contains(status ?? 0) {
        throw NSError(domain: "admin \(url.path): HTTP \(status ?? 0) \(String(decoding: data ?? Data(), as: UTF8.self))", code: 4)
    }
    guard let data, !data.isEmpty else { return nil }
    return try JSONSerialization.jsonObject(with: data)
}

final class ResultBox: @unchecked Sendable {
    // @unchecked: written once before the semaphore is signalled, read after it.
    private var value: (Data?, Int?, (any Error)?) = (nil, nil, nil)
    func set(_ d: Data?, _ s: Int?, _ e: (any Error)?) { self.value = (d, s, e) }
    func get() -> (Data?, Int?, (any Error)?) { self.value }
}

let testNIK = try! NIK("5371011708950003", today: CivilDate(year: 2026, month: 11, day: 22)!)

/// Starts `python3 script args` (script relative to the package root), its stderr discarded, and returns the first
/// line it prints on stdout (where it says which loopback ports it bound).
func startPython(_ process: Process, _ script: String, _ args: [String]) throws -> String {
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", packageRoot.appendingPathComponent(script).path] + args
    let out = Pipe()
    process.standardOutput = out
    process.standardError = FileHandle.nullDevice
    try process.run()
    var line = Data()
    while !line.contains(UInt8(ascii: "\n")) {
        let d = out.fileHandleForReading.availableData
        if d.isEmpty { throw NSError(domain: "\(script) exited", code: 1) }
        line.append(d)
    }
    return String(decoding: line, as: UTF8.self)
}

func randomBytes(_ n: Int) -> Data {
    var g = SystemRandomNumberGenerator()
    return Data((0..<n).map { _ in UInt8.random(in: 0...255, using: &g) })
}

/// A kiosk: a store with submitted applications and an engine pointed at `server`.
struct TestKiosk {
    let dir: String
    let store: KioskStore
    let engine: SyncEngine

    init(server: DinasServer, kioskID: String = "desa-oebobo-01", token: String? = nil, options: SyncOptions? = nil,
         trusted: [Ed25519PublicKey]? = nil) throws {
        self.dir = try makeTempDir()
        self.store = try KioskStore.open(directory: self.dir, configuration: StoreConfiguration(minFreeBytes: 0)).0
        var opts = options ?? SyncOptions()
        if options == nil {
            opts.backoff = Backoff(base: 0.05, cap: 0.5)
            opts.quickRetryDelay = 0.02
            opts.probeInterval = 0.2
        }
        self.engine = SyncEngine(
            store: self.store,
            client: DinasClient(endpoint: DinasEndpoint(baseURL: server.url, kioskID: kioskID, token: token ?? server.token),
                                requestTimeout: 10),
            trustedKeys: trusted ?? [server.key.publicKey], configStore: try ConfigBundleStore(dataDirectory: self.dir),
            options: opts)
    }

    @discardableResult
    func submit(sizes: [Int]) throws -> UUID {
        try self.store.submit(NewApplication(
            service: "birth", profile: "kota-kupang", applicant: testNIK, eventDate: CivilDate(year: 2024, month: 3, day: 10)!,
            contact: "081234567890",
            attachments: sizes.enumerated().map { NewAttachment(requirement: "r\($0.offset)", data: randomBytes($0.element), fileExtension: "jpg") }
        )).id
    }
}
