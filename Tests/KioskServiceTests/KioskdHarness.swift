#if canImport(Glibc)
import Glibc
#endif
import Foundation
import KioskCore
import KioskSecurity
import KioskService
import KioskTestSupport
import Synchronization

/// A datagram socket standing in for systemd's notify socket: collects every message kioskd sends.
final class NotifyListener: Sendable {
    let path: String
    private let fd: Int32
    private let messages = Mutex<[(at: Date, text: String)]>([])
    private let closed = Atomic<Bool>(false)

    init(dir: String) throws {
        self.path = "\(dir)/notify.sock"
        self.fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(self.path.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        let rc = withUnsafePointer(to: &address) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(self.fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard rc == 0 else { throw NSError(domain: "bind notify socket: errno \(errno)", code: 1) }
        var tv = timeval(tv_sec: 0, tv_usec: 200_000)
        setsockopt(self.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let thread = Thread { [self] in
            var buffer = [UInt8](repeating: 0, count: 4096)
            while !self.closed.load(ordering: .relaxed) {
                let n = buffer.withUnsafeMutableBytes { recv(self.fd, $0.baseAddress, 4096, 0) }
                if n > 0 {
                    let text = String(decoding: buffer[0..<n], as: UTF8.self)
                    self.messages.withLock { $0.append((Date(), text)) }
                }
            }
            close(self.fd)
        }
        thread.start()
    }

    deinit { self.closed.store(true, ordering: .relaxed) }

    var all: [(at: Date, text: String)] { self.messages.withLock { $0 } }

    func count(_ line: String, since: Date = .distantPast) -> Int {
        self.all.filter { $0.at >= since && $0.text.split(separator: "\n").contains(Substring(line)) }.count
    }

    func wait(for line: String, within seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if self.count(line) > 0 { return true }
            usleep(20_000)
        }
        return false
    }
}

/// A real kioskd process on a temporary data directory, with its config file, and the Dinas reference endpoint
/// when given one.
final class KioskdProcess: @unchecked Sendable {
    // @unchecked: the process handle is used by the owning test only.
    let dir: String
    let dataDir: String
    let socket: String
    let configPath: String
    let logPath: String
    var process = Process()
    let kioskID = "desa-oebobo-01"

    init(dinas: DinasServer?, dir: String? = nil, extra: [String: Any] = [:], devices: [String: Any]? = nil) throws {
        self.dir = try dir ?? makeTempDir()
        chmod(self.dir, 0o755)
        self.dataDir = "\(self.dir)/data"
        self.socket = "\(self.dir)/kioskd.sock"
        self.configPath = "\(self.dir)/kioskd.json"
        self.logPath = "\(self.dir)/kioskd.log"
        var dinasSection: [String: Any] = ["url": NSNull(), "trusted_keys": [String](), "poll_seconds": 5, "heartbeat_seconds": 10]
        if let dinas {
            let tokenPath = "\(self.dir)/dinas.token"
            try Data(dinas.token.utf8).write(to: URL(fileURLWithPath: tokenPath))
            chmod(tokenPath, 0o600)
            let keyPath = "\(self.dir)/dinas.pub.pem"
            try Data(try dinas.key.publicKey.pem().utf8).write(to: URL(fileURLWithPath: keyPath))
            dinasSection = ["url": dinas.url.absoluteString, "token_file": tokenPath, "trusted_keys": [keyPath],
                            "poll_seconds": 5, "heartbeat_seconds": 10]
        }
        var config: [String: Any] = [
            "data_dir": self.dataDir, "socket": self.socket, "kiosk_id": self.kioskID, "log_level": "debug",
            "control": ["group": "root"], "dinas": dinasSection, "profile": "kota-kupang",
            "profiles_dir": packageRoot.appendingPathComponent("Kiosk/profiles").path,
            "devices": devices ?? ["printer": "simulated", "scanner": "simulated", "card_reader": "simulated"],
            "store": ["min_free_bytes": 0],
        ]
        for (k, v) in extra { config[k] = v }
        try JSONSerialization.data(withJSONObject: config, options: [.sortedKeys, .prettyPrinted])
            .write(to: URL(fileURLWithPath: self.configPath))
    }

    deinit {
        if self.process.isRunning { self.kill9() }
        try? FileManager.default.removeItem(atPath: self.dir)
    }

    /// Starts kioskd; `notify` gets its sd_notify messages, `watchdogUSec` sets WATCHDOG_USEC, `environment` adds to
    /// (or replaces in) the test process's environment (CUPS_SERVER, ...).
    func start(notify: NotifyListener? = nil, watchdogUSec: Int? = nil, environment: [String: String] = [:]) throws {
        self.process = Process()
        self.process.executableURL = URL(fileURLWithPath: builtProduct("kioskd"))
        self.process.arguments = ["--config", self.configPath]
        var env = ProcessInfo.processInfo.environment
        env["no_proxy"] = "127.0.0.1,localhost"
        env["NO_PROXY"] = "127.0.0.1,localhost"
        env.removeValue(forKey: "NOTIFY_SOCKET")
        env.removeValue(forKey: "WATCHDOG_USEC")
        if let notify { env["NOTIFY_SOCKET"] = notify.path }
        if let watchdogUSec { env["WATCHDOG_USEC"] = String(watchdogUSec) }
        for (k, v) in environment { env[k] = v }
        self.process.environment = env
        if !FileManager.default.fileExists(atPath: self.logPath) { FileManager.default.createFile(atPath: self.logPath, contents: nil) }
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: self.logPath))
        log.seekToEndOfFile()
        self.process.standardError = log
        self.process.standardOutput = log
        try self.process.run()
    }

    /// Starts and waits until the socket answers `hello`.
    func startAndWait(notify: NotifyListener? = nil, watchdogUSec: Int? = nil, environment: [String: String] = [:],
                      within seconds: Double = 20) throws -> ControlClient {
        try self.start(notify: notify, watchdogUSec: watchdogUSec, environment: environment)
        return try self.connect(within: seconds)
    }

    func connect(within seconds: Double = 20) throws -> ControlClient {
        let deadline = Date().addingTimeInterval(seconds)
        var last: (any Error)?
        while Date() < deadline {
            guard self.process.isRunning else { throw NSError(domain: "kioskd exited \(self.process.terminationStatus): \(self.log)", code: 1) }
            do { return try ControlClient.connect(path: self.socket) } catch { last = error }
            usleep(50_000)
        }
        throw NSError(domain: "kioskd did not answer on \(self.socket): \(String(describing: last)); log: \(self.log)", code: 2)
    }

    var log: String { (try? String(contentsOfFile: self.logPath, encoding: .utf8)) ?? "" }

    func kill9() {
        kill(self.process.processIdentifier, SIGKILL)
        self.process.waitUntilExit()
    }

    /// SIGTERM; the exit status and how long it took.
    func terminate(within seconds: Double = 15) -> (status: Int32?, seconds: Double) {
        let start = Date()
        kill(self.process.processIdentifier, SIGTERM)
        while self.process.isRunning && Date().timeIntervalSince(start) < seconds { usleep(20_000) }
        if self.process.isRunning {
            self.kill9()
            return (nil, Date().timeIntervalSince(start))
        }
        return (self.process.terminationStatus, Date().timeIntervalSince(start))
    }
}

/// Polls `body` until it returns true or `seconds` pass.
func eventually(within seconds: Double, every interval: Double = 0.1, _ body: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try body() { return true }
        usleep(UInt32(interval * 1e6))
    }
    return try body()
}

/// A staff submission with `count` attachments of `bytes` random bytes each, as kioskctl sends it over the socket.
func submissionParams(attachments count: Int = 1, bytes: Int = 2000, id: UUID = UUID()) -> JSONValue {
    let atts: [JSONValue] = (0..<count).map { _ in
        .object(["requirement": .string("surat-kelahiran"), "data_base64": .string(randomBytes(bytes).base64EncodedString()),
                 "file_extension": .string("jpg")])
    }
    return .object(["submission": .object([
        "id": .string(id.uuidString.lowercased()), "service": .string("birth"), "profile": .string("kota-kupang"),
        "applicant_nik": .string("5371011708950003"), "event_date": .string("2024-03-10"), "contact": .string("081234567890"),
        "attachments": .array(atts),
    ])])
}
