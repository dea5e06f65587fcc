import Foundation
import KioskCore
import KioskSecurity
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

public let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

public func makeTempDir() throws -> String {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("kiosk-sync-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url.path
}

/// Test support shared by the test targets that run real components.

/// The Dinas reference endpoint (Tests/DinasReference/server.py) on a free loopback port, for one test.
public final class DinasServer: @unchecked Sendable {
    // @unchecked: the process handle is only used by the owning test.
    public let dir: String
    public let token = "kiosk-token-\(UUID().uuidString.prefix(8))"
    public let key: Ed25519PrivateKey
    public let process = Process()
    public let port: Int
    public var url: URL { URL(string: "http://127.0.0.1:\(self.port)")! }

    /// - Parameter autoReview: seconds the reference endpoint's automatic reviewer takes from in_review to ready
    ///   (every printable product issued); nil: no reviewer, states move only by `setState`.
    public init(faults: [String: Any] = [:], autoReview: Double? = nil) throws {
        self.dir = try makeTempDir()
        self.key = try Ed25519PrivateKey.generate()
        let keyPath = "\(self.dir)/dinas.pem"
        try Data(try self.key.pem().utf8).write(to: URL(fileURLWithPath: keyPath))
        let text = try startPython(self.process, "Tests/DinasReference/server.py",
                                   ["--port", "0", "--data", "\(self.dir)/data", "--token", self.token, "--signing-key", keyPath,
                                    "--seed", "42"] + (autoReview.map { ["--auto-review", String($0)] } ?? []))
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

    public func kill9() {
        kill(self.process.processIdentifier, SIGKILL)
        self.process.waitUntilExit()
    }

    /// Admin call over plain HTTP with a fresh connection each time.
    @discardableResult
    public func admin(_ method: String, _ path: String, json: Any? = nil, body: Data? = nil) throws -> Any? {
        try adminRequest(method, self.url.appendingPathComponent(path), token: self.token, json: json, body: body,
                         timeout: 20, requireSuccess: true)
    }

    public func setFaults(_ faults: [String: Any]) throws { try self.admin("POST", "/admin/faults", json: faults) }
    public func applications() throws -> [[String: Any]] { (try self.admin("GET", "/admin/applications") as? [[String: Any]]) ?? [] }
    public func stats() throws -> [String: Any] { (try self.admin("GET", "/admin/stats") as? [String: Any]) ?? [:] }
    /// What the Dinas would have sent residents who consented (`GET /admin/notifications`, PROTOCOL.md §8b).
    public func notifications() throws -> [[String: Any]] { (try self.admin("GET", "/admin/notifications") as? [[String: Any]]) ?? [] }
    /// Answers a complaint by its id or reference (`POST /admin/complaints/{key}/answer`).
    public func answerComplaint(_ idOrReference: String, _ answer: String) throws {
        try self.admin("POST", "/admin/complaints/\(idOrReference)/answer", json: ["answer": answer])
    }
    /// Adds people to the LOPE CAPIL registry `POST /v1/verify` answers from.
    public func addToRegistry(nik: String, kk: String, name: String) throws {
        try self.admin("POST", "/admin/registry", json: ["entries": [["nik": nik, "kk": kk, "name": name]]])
    }

    /// - Parameter correction: for `returned_for_correction`, what to correct (`reason`, `requirements`, `fields`);
    ///   passed on to the kiosk as given.
    public func setState(_ id: UUID, _ state: String, reason: String? = nil, documents: [String]? = nil, tamper: String? = nil,
                         correction: [String: Any]? = nil) throws {
        var body: [String: Any] = ["state": state]
        if let correction { body["correction"] = correction }
        if let reason { body["reason"] = reason }
        if let documents { body["documents"] = documents }
        if let tamper { body["tamper"] = tamper }
        try self.admin("POST", "/admin/applications/\(id.uuidString.lowercased())/state", json: body)
    }
}

/// One admin or fault-control call to a test server over plain HTTP, on a fresh connection each time; the JSON
/// answer, or nil for an empty body. `requireSuccess` turns a non-2xx status into an error.
public func adminRequest(_ method: String, _ url: URL, token: String? = nil, json: Any? = nil, body: Data? = nil,
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

public let testNIK = try! NIK("5371011708950003", today: CivilDate(year: 2026, month: 11, day: 22)!)

/// Starts `python3 script args` (script relative to the package root), its stderr discarded, and returns the first
/// line it prints on stdout (where it says which loopback ports it bound).
public func startPython(_ process: Process, _ script: String, _ args: [String]) throws -> String {
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

public func randomBytes(_ n: Int) -> Data {
    var g = SystemRandomNumberGenerator()
    return Data((0..<n).map { _ in UInt8.random(in: 0...255, using: &g) })
}

