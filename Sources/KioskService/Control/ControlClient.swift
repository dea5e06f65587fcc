// The client side of kioskd's control socket (architecture.md, "Control API"), for kioskctl and the resident UI.
// A reader thread of its own hands replies to their waiters by id and events to `events()`, so the blocking calls
// never depend on Swift's thread pool (kioskctl is synchronous; see KioskCLI's BlockingExecutor).
#if canImport(Glibc)
@preconcurrency import Glibc
#elseif canImport(Musl)
@preconcurrency import Musl
#endif
import Foundation
import KioskCore
import Synchronization

/// A connection to kioskd, after the `hello` exchange.
public final class ControlClient: Sendable {
    /// Longest line accepted from the server, so a bad server cannot exhaust the client.
    public static let maxLineBytes = 64 << 20

    /// The role kioskd gave this connection.
    public let role: ControlRole
    public let serverVersion: String
    private let core: ClientCore

    private init(core: ClientCore, role: ControlRole, serverVersion: String) {
        self.core = core
        self.role = role
        self.serverVersion = serverVersion
    }

    deinit { self.core.close() }

    /// Connects and does the `hello` exchange.
    ///
    /// - Throws: `ControlError` with code `not_running` (no socket, or nobody listens), `permission_denied` (the
    ///   message names the groups that give access), `not_permitted` (kioskd gave this user no role),
    ///   `protocol_mismatch`, `timeout` or `connect_failed`; all with bilingual messages.
    public static func connect(path: String, timeout: Double = 5) throws(ControlError) -> ControlClient {
        let address = try UnixAddress(path: path)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ControlError.connectFailed(path, errno) }
        // On Linux a blocking AF_UNIX connect(2) waits for room in a full listen backlog for up to SO_SNDTIMEO.
        var connectTimeout = ClientCore.makeTimeval(seconds: timeout)
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &connectTimeout, socklen_t(MemoryLayout<timeval>.size))
        var rc: Int32
        repeat { rc = address.withSockaddr { connectDescriptor(fd, $0, $1) } } while rc != 0 && errno == EINTR
        if rc != 0 {
            let code = errno
            closeDescriptor(fd)
            switch code {
            case ENOENT, ENOTDIR, ECONNREFUSED: throw ControlError.notRunning(path)
            case EACCES, EPERM: throw ControlError.permissionDenied(path)
            case EAGAIN, ETIMEDOUT: throw ControlError.timeout(timeout)
            default: throw ControlError.connectFailed(path, code)
            }
        }
        // Sends that make no progress for a minute mean kioskd is wedged; the call then fails instead of hanging.
        var sendTimeout = ClientCore.makeTimeval(seconds: max(timeout, 60))
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &sendTimeout, socklen_t(MemoryLayout<timeval>.size))

        let core = ClientCore(fd: fd)
        core.startReader()
        let hello: JSONValue
        do {
            hello = try core.callBlocking("hello", .object(["protocol": .string(ControlProtocol.name)]), timeout: timeout).get()
        } catch {
            core.close()
            throw error
        }
        guard let role = hello["role"]?.stringValue.flatMap(ControlRole.init(rawValue:)),
              hello["protocol"]?.stringValue == ControlProtocol.name
        else {
            core.close()
            throw ControlError("protocol_mismatch", id: "Jawaban hello kioskd tidak dikenali.",
                               en: "kioskd's hello reply is not understood.")
        }
        return ControlClient(core: core, role: role, serverVersion: hello["version"]?.stringValue ?? "?")
    }

    /// Whether a kioskd answers on `path`: true when a connect succeeds, and also when it is refused with EACCES
    /// or a full backlog (something listens there; `connect` then reports why it cannot be used).
    public static func isListening(path: String) -> Bool {
        let code = UnixAddress.probe(path: path)
        return code == 0 || code == EACCES || code == EPERM || code == EAGAIN
    }

    /// Calls `method` and returns its result.
    ///
    /// - Throws: the server's `ControlError`, or `timeout`, `disconnected`, `cancelled` (the task was cancelled).
    public func call(_ method: String, _ params: JSONValue? = nil, timeout: Double = 120) async throws(ControlError) -> JSONValue {
        try await self.core.call(method, params, timeout: timeout).get()
    }

    /// `call` for synchronous code (kioskctl): blocks the calling thread, which never has to run anything else.
    public func callBlocking(_ method: String, _ params: JSONValue? = nil, timeout: Double = 120) throws(ControlError) -> JSONValue {
        try self.core.callBlocking(method, params, timeout: timeout).get()
    }

    /// Subscribes to event streams (`card`, `device`, `config`, `print`); their events arrive on `events()`.
    public func subscribe(_ streams: [String]) async throws(ControlError) {
        _ = try await self.call("subscribe", .object(["streams": .array(streams.map { .string($0) })]), timeout: 30)
    }

    /// Events pushed by kioskd. Events that arrive before the first call are kept (the newest 1024) and delivered
    /// to the first stream. Each call gives a new stream that gets every later event; all finish on disconnect.
    public func events() -> AsyncStream<ControlReply> {
        self.core.events()
    }

    /// Closes the connection; pending calls get `disconnected`. Idempotent.
    public func close() {
        self.core.close()
    }
}

/// The connection state shared by the client object, its reader thread and its timers.
final class ClientCore: Sendable {
    enum Waiter: Sendable {
        case async(CheckedContinuation<Result<JSONValue, ControlError>, Never>)
        case blocking(BlockingSlot)

        func resume(_ outcome: Result<JSONValue, ControlError>) {
            switch self {
            case .async(let continuation): continuation.resume(returning: outcome)
            case .blocking(let slot): slot.resolve(outcome)
            }
        }
    }

    final class BlockingSlot: Sendable {
        let semaphore = DispatchSemaphore(value: 0)
        let outcome = Mutex<Result<JSONValue, ControlError>?>(nil)

        func resolve(_ outcome: Result<JSONValue, ControlError>) {
            self.outcome.withLock { $0 = outcome }
            self.semaphore.signal()
        }
    }

    private struct State {
        var nextID = 1
        var waiters: [Int: Waiter] = [:]
        /// The connection ended (or close() was called): no new calls.
        var closed = false
        var fdClosed = false
        /// The last id-less error from the server (`not_permitted`, `line_too_long`…): why it is about to hang up.
        var serverError: ControlError?
        var streams: [Int: AsyncStream<ControlReply>.Continuation] = [:]
        var nextStream = 0
        var hadStream = false
        var early: [ControlReply] = []
    }

    let fd: Int32
    private let state = Mutex(State())
    /// Held for a whole line, so concurrent calls never interleave their bytes; also guards closing the fd.
    private let writeLock = Mutex(())

    init(fd: Int32) {
        self.fd = fd
    }

    static func makeTimeval(seconds: Double) -> timeval {
        let s = seconds.isFinite ? min(max(seconds, 0.001), 1e6) : 1e6
        return timeval(tv_sec: Int(s), tv_usec: Int((s - s.rounded(.down)) * 1e6))
    }

    func startReader() {
        let thread = Thread { [self] in
            self.readLoop()
        }
        thread.name = "kioskctl-control-reader"
        thread.start()
    }

    // MARK: calls

    /// A new request id, or the reason there is no connection.
    private func nextID() -> Result<Int, ControlError> {
        self.state.withLock { s in
            guard !s.closed else { return .failure(s.serverError ?? .disconnected) }
            let id = s.nextID
            s.nextID += 1
            return .success(id)
        }
    }

    private func register(_ id: Int, _ waiter: Waiter) -> ControlError? {
        self.state.withLock { s in
            guard !s.closed else { return s.serverError ?? .disconnected }
            s.waiters[id] = waiter
            return nil
        }
    }

    /// Hands `outcome` to the waiter of `id`, if it still waits.
    private func resolve(_ id: Int, _ outcome: Result<JSONValue, ControlError>) {
        let waiter = self.state.withLock { $0.waiters.removeValue(forKey: id) }
        waiter?.resume(outcome)
    }

    private func requestLine(_ id: Int, _ method: String, _ params: JSONValue?) -> Result<Data, ControlError> {
        guard var line = try? KioskJSON.encode(ControlRequest(id: id, method: method, params: params)) else {
            return .failure(.badParams("the parameters cannot be encoded as JSON"))
        }
        line.append(0x0A)
        return .success(line)
    }

    func call(_ method: String, _ params: JSONValue?, timeout: Double) async -> Result<JSONValue, ControlError> {
        let id: Int
        let line: Data
        switch self.nextID() {
        case .failure(let error): return .failure(error)
        case .success(let n): id = n
        }
        switch self.requestLine(id, method, params) {
        case .failure(let error): return .failure(error)
        case .success(let data): line = data
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Result<JSONValue, ControlError>, Never>) in
                if let error = self.register(id, .async(continuation)) {
                    continuation.resume(returning: .failure(error))
                    return
                }
                if Task.isCancelled {
                    self.resolve(id, .failure(.cancelled))
                    return
                }
                self.scheduleTimeout(id, timeout)
                if let error = self.sendLine(line) { self.resolve(id, .failure(error)) }
            }
        } onCancel: {
            self.resolve(id, .failure(.cancelled))
        }
    }

    func callBlocking(_ method: String, _ params: JSONValue?, timeout: Double) -> Result<JSONValue, ControlError> {
        let id: Int
        switch self.nextID() {
        case .failure(let error): return .failure(error)
        case .success(let n): id = n
        }
        let line: Data
        switch self.requestLine(id, method, params) {
        case .failure(let error): return .failure(error)
        case .success(let data): line = data
        }
        let slot = BlockingSlot()
        if let error = self.register(id, .blocking(slot)) { return .failure(error) }
        if let error = self.sendLine(line) { self.resolve(id, .failure(error)) }
        let seconds = timeout.isFinite ? min(max(timeout, 0), 1e6) : 1e6
        if slot.semaphore.wait(timeout: .now() + seconds) == .timedOut {
            let stillWaiting = self.state.withLock { $0.waiters.removeValue(forKey: id) } != nil
            if stillWaiting { return .failure(.timeout(timeout)) }
            // Resolved just as the wait timed out: its signal is on the way.
            slot.semaphore.wait()
        }
        return slot.outcome.withLock { $0 } ?? .failure(.disconnected)
    }

    private func scheduleTimeout(_ id: Int, _ timeout: Double) {
        guard timeout.isFinite, timeout > 0 else { return }
        DispatchQueue.global().asyncAfter(deadline: .now() + min(timeout, 1e6)) { [weak self] in
            self?.resolve(id, .failure(.timeout(timeout)))
        }
    }

    /// Writes one whole line; on failure the connection is shut down (a partial line would corrupt the stream).
    /// Returns an error only for a send timeout; other failures are reported to the waiters by the reader.
    private func sendLine(_ line: Data) -> ControlError? {
        let failure: Int32? = self.writeLock.withLock { _ in
            guard !self.state.withLock({ $0.fdClosed }) else { return EPIPE }
            return line.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> Int32? in
                guard let base = raw.baseAddress else { return nil }
                var offset = 0
                while offset < raw.count {
                    let n = send(self.fd, base + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
                    if n > 0 {
                        offset += n
                    } else if n < 0 && errno == EINTR {
                        continue
                    } else {
                        return n < 0 ? errno : EIO
                    }
                }
                return nil
            }
        }
        guard let failure else { return nil }
        self.shutdownSocket()
        // A send that timed out fails its own call. Otherwise the server hung up: the reader, once it has read what
        // the server said last (`not_permitted`, say), fails every waiter with that reason.
        return failure == EAGAIN || failure == EWOULDBLOCK ? .timeout(60) : nil
    }

    // MARK: events and closing

    func events() -> AsyncStream<ControlReply> {
        let (stream, continuation) = AsyncStream.makeStream(of: ControlReply.self, bufferingPolicy: .bufferingNewest(1024))
        let key: Int? = self.state.withLock { s in
            s.hadStream = true
            guard !s.closed || !s.early.isEmpty else { return nil }
            // Yielding under the lock keeps early events ahead of the reader's next ones; yield never calls back.
            for event in s.early { continuation.yield(event) }
            s.early = []
            guard !s.closed else { return nil }
            let key = s.nextStream
            s.nextStream += 1
            s.streams[key] = continuation
            return key
        }
        guard let key else {
            continuation.finish()
            return stream
        }
        continuation.onTermination = { [weak self] _ in
            self?.state.withLock { _ = $0.streams.removeValue(forKey: key) }
        }
        return stream
    }

    /// Shuts the socket down (the reader then finishes everything). Idempotent.
    func close() {
        self.shutdownSocket()
    }

    private func shutdownSocket() {
        self.state.withLock { s in
            if !s.fdClosed { _ = shutdown(self.fd, Int32(SHUT_RDWR)) }
        }
    }

    // MARK: reading

    private func readLoop() {
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        var line: [UInt8] = []
        reading: while true {
            let count = chunk.withUnsafeMutableBytes { read(self.fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { break }
            var start = 0
            while start < count {
                let end = chunk[start..<count].firstIndex(of: 0x0A)
                let segment = chunk[start..<(end ?? count)]
                guard line.count + segment.count <= ControlClient.maxLineBytes else {
                    self.state.withLock { $0.serverError = .serverLineTooLong(ControlClient.maxLineBytes) }
                    break reading
                }
                line.append(contentsOf: segment)
                guard let end else { break }
                start = end + 1
                self.handleLine(line)
                if line.count > 1 << 20 { line = [] } else { line.removeAll(keepingCapacity: true) }
            }
        }
        self.finishConnection()
    }

    private func handleLine(_ bytes: [UInt8]) {
        var bytes = bytes[...]
        if bytes.last == 0x0D { bytes = bytes.dropLast() }
        guard !bytes.isEmpty, let reply = try? KioskJSON.decode(ControlReply.self, from: Data(bytes)) else { return }
        if reply.event != nil {
            let streams = self.state.withLock { s -> [AsyncStream<ControlReply>.Continuation] in
                if !s.hadStream {
                    if s.early.count >= 1024 { s.early.removeFirst() }
                    s.early.append(reply)
                }
                return Array(s.streams.values)
            }
            for stream in streams { stream.yield(reply) }
        } else if let id = reply.id {
            self.resolve(id, reply.error.map { .failure($0) } ?? .success(reply.result ?? .null))
        } else if let error = reply.error {
            self.state.withLock { $0.serverError = error }
        }
    }

    private func finishConnection() {
        self.shutdownSocket()
        let (waiters, streams, reason) = self.writeLock.withLock { _ in
            self.state.withLock { s in
                s.closed = true
                s.fdClosed = true
                closeDescriptor(self.fd)
                let waiters = Array(s.waiters.values)
                let streams = Array(s.streams.values)
                s.waiters = [:]
                s.streams = [:]
                return (waiters, streams, s.serverError ?? ControlError.disconnected)
            }
        }
        for waiter in waiters { waiter.resume(.failure(reason)) }
        for stream in streams { stream.finish() }
    }
}

/// close(2), under a name the client's own `close()` does not shadow.
private func closeDescriptor(_ fd: Int32) {
    _ = close(fd)
}

/// connect(2), under a name `ControlClient.connect` does not shadow.
private func connectDescriptor(_ fd: Int32, _ address: UnsafePointer<sockaddr>, _ length: socklen_t) -> Int32 {
    connect(fd, address, length)
}

extension ControlError {
    static func notRunning(_ path: String) -> ControlError {
        ControlError("not_running", id: "kioskd tidak berjalan (tidak ada yang melayani \(SafeText.visible(path))).",
                     en: "kioskd is not running (nothing serves \(SafeText.visible(path))).")
    }

    /// EACCES on the socket: names its group (when it can be read) and the groups that give a role.
    static func permissionDenied(_ path: String) -> ControlError {
        var st = stat()
        let socketGroup = lstat(path, &st) == 0 ? SystemAccounts.groupName(gid: st.st_gid) : nil
        let group = socketGroup ?? "kiosk-ui"
        let shown = SafeText.visible(path)
        return ControlError(
            "permission_denied",
            id: "Akses ke \(shown) ditolak: masuk grup \(group) (UI kios; petugas juga grup kiosk-staff) atau jalankan sebagai root.",
            en: "Permission denied on \(shown): join group \(group) (the kiosk UI; staff also kiosk-staff) or run as root.")
    }

    static func connectFailed(_ path: String, _ code: Int32) -> ControlError {
        let reason = String(cString: strerror(code))
        return ControlError("connect_failed", id: "Tidak dapat terhubung ke \(SafeText.visible(path)): \(reason).",
                            en: "Cannot connect to \(SafeText.visible(path)): \(reason).")
    }

    static func timeout(_ seconds: Double) -> ControlError {
        let shown = seconds.isFinite ? String(format: "%g", seconds) : "∞"
        return ControlError("timeout", id: "kioskd tidak menjawab dalam \(shown) detik.",
                            en: "kioskd did not answer within \(shown) seconds.")
    }

    static let disconnected = ControlError(
        "disconnected", id: "Koneksi ke kioskd terputus.", en: "The connection to kioskd was lost.")

    static let cancelled = ControlError("cancelled", id: "Permintaan dibatalkan.", en: "The request was cancelled.")

    static func serverLineTooLong(_ limit: Int) -> ControlError {
        ControlError("line_too_long", id: "kioskd mengirim baris lebih dari \(limit) bita; koneksi ditutup.",
                     en: "kioskd sent a line longer than \(limit) bytes; connection closed.")
    }
}
