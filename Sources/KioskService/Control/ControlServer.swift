// kioskd's control socket (architecture.md, "Control API"): JSON lines over a Unix stream socket, roles from the
// peer's credentials, and caps on everything a client controls (line length, request rate, requests in flight,
// connections, unread output). Nothing a client sends may crash or wedge the daemon.
//
// Threads: one accept thread; per connection one reader thread (blocking read(2), splits lines, answers `hello`
// and `subscribe` itself, starts a `Task` per other request) and one writer thread (the only one that writes the
// fd, so lines never interleave; a client that stops reading costs a bounded queue and is dropped after
// `writeTimeoutSeconds`). Broadcasts and replies only queue, so no daemon code ever blocks on a slow client.
//
// SIGPIPE: every write uses MSG_NOSIGNAL, and `start()` sets SIGPIPE to SIG_IGN for the process, so a client
// that vanishes mid-write gives EPIPE instead of killing kioskd. (Child processes get the default back:
// KioskDevices' ChildProcess resets it at spawn.)
#if canImport(Glibc)
@preconcurrency import Glibc
#elseif canImport(Musl)
@preconcurrency import Musl
#endif
import Foundation
import KioskCore
import KioskDevices
import Synchronization

/// The caps the control server puts on each client.
public struct ControlLimits: Sendable {
    /// Longest request line from a resident connection (the UI).
    public var maxLineBytes = 1 << 20
    /// Longest request line from staff and admin connections (a staff submit carries base64 attachments). Also the
    /// longest reply line the server sends: a larger result is replaced by a `result_too_large` error.
    public var maxPrivilegedLineBytes = 64 << 20
    /// Token bucket per connection: refill rate and size. Beyond it a request gets `rate_limited`; a client that
    /// keeps going at more than ten times that (a bucket 10× as fast and as deep) is disconnected.
    public var requestsPerSecond = 20.0
    public var burst = 60.0
    public var maxConnections = 32
    /// Requests of one connection handled at once; one more gets `busy`.
    public var maxInFlightPerConnection = 8
    /// Close a connection that sends nothing for this long; nil keeps it open.
    public var idleSeconds: Double? = nil
    /// A write that makes no progress for this long means the client stopped reading: it is disconnected.
    public var writeTimeoutSeconds = 10.0
    /// Output queued for one connection beyond which it is disconnected (one reply of any size may queue alone).
    public var maxPendingOutputBytes = 64 << 20
    /// Bounds on a request's JSON shape, checked before decoding: decoding a `JSONValue` costs about 10–60 µs per
    /// value and grows faster than linearly with nesting, so a line of a million tiny values would hold a core for
    /// a minute. Deeper or larger lines get `malformed`. Staff and admin get the larger count (a base64 attachment
    /// is a single value).
    public var maxNesting = 32
    public var maxValuesPerLine = 10_000
    public var maxPrivilegedValuesPerLine = 200_000

    public init() {}
}

/// What kioskd does with the requests the server does not answer itself.
public protocol ControlHandler: Sendable {
    /// Called for every request other than `hello` and `subscribe`, after the role check passed.
    func handle(_ request: ControlRequest, from connection: ControlConnection) async -> Result<JSONValue, ControlError>
    /// Called when a connection closes (e.g. the UI crashed: kioskd drops that session's held scans).
    func connectionClosed(_ connection: ControlConnection) async
}

/// One accepted client.
public final class ControlConnection: Sendable {
    /// Unique per server.
    public let id: Int
    public let peer: ControlPeer
    let fd: Int32
    /// The longest request line this connection may send.
    let lineCap: Int
    /// The most JSON values one of its lines may hold.
    let valueCap: Int
    let limits: ControlLimits
    let output: ConnectionOutput
    private let subscriptions = Mutex<Set<String>>([])
    private let inFlight = Mutex(0)
    private let elevation = Mutex<StaffElevation?>(nil)

    /// A staff PIN unlock on this connection: who, until when (renewed by every request), and whether it lapsed.
    struct StaffElevation: Sendable {
        var staff: StaffIdentity
        var timeout: Double
        var lastRequest: Date
        var lapsed = false
    }

    init(id: Int, peer: ControlPeer, fd: Int32, limits: ControlLimits) {
        self.id = id
        self.peer = peer
        self.fd = fd
        self.limits = limits
        self.lineCap = peer.role == .resident ? limits.maxLineBytes : limits.maxPrivilegedLineBytes
        self.valueCap = peer.role == .resident ? limits.maxValuesPerLine : limits.maxPrivilegedValuesPerLine
        self.output = ConnectionOutput(fd: fd, maxPending: limits.maxPendingOutputBytes)
    }

    /// Raises this connection to `staff`'s role (petugas → staff, teknisi → technician) until `lockStaff()`, the
    /// connection's close, or `timeout` seconds without a request.
    public func elevate(_ staff: StaffIdentity, timeout: Double, now: Date = Date()) {
        self.elevation.withLock { $0 = StaffElevation(staff: staff, timeout: timeout, lastRequest: now) }
    }

    /// Ends the staff elevation (`resident.staff.lock`).
    public func lockStaff() {
        self.elevation.withLock { $0 = nil }
    }

    /// The staff member who unlocked this connection, while the elevation holds.
    public var staff: StaffIdentity? {
        self.elevation.withLock { e in e.flatMap { $0.lapsed ? nil : $0.staff } }
    }

    /// The role requests on this connection have now: the peer's, or the unlocked staff member's when higher. A
    /// request renews the elevation; one after `timeout` seconds of silence ends it (`staffLapsed` says so).
    func effectiveRole(renewing now: Date = Date()) -> ControlRole {
        let staffRole = self.elevation.withLock { e -> ControlRole? in
            guard var current = e, !current.lapsed else { return nil }
            if now.timeIntervalSince(current.lastRequest) > current.timeout {
                current.lapsed = true
                e = current
                return nil
            }
            current.lastRequest = now
            e = current
            return ControlRole(current.staff.role)
        }
        return max(self.peer.role, staffRole ?? self.peer.role)
    }

    /// A staff elevation on this connection ended by its timeout (not by `resident.staff.lock`).
    var staffLapsed: Bool { self.elevation.withLock { $0?.lapsed ?? false } }

    /// Queues a server event line `{"event": …, "data": …}`; ignored once the connection is closed.
    public func push(_ event: String, _ data: JSONValue) {
        self.send(.event(event, data))
    }

    /// Whether the client subscribed to `stream` (`card`, `device`, `config`, `print`).
    public func isSubscribed(_ stream: String) -> Bool {
        self.subscriptions.withLock { $0.contains(stream) }
    }

    func subscribe(_ streams: [String]) -> [String] {
        self.subscriptions.withLock { set in
            set.formUnion(streams)
            return set.sorted()
        }
    }

    func reply(_ id: Int?, _ outcome: Result<JSONValue, ControlError>) {
        switch outcome {
        case .success(let value): self.send(ControlReply(id: id, result: value))
        case .failure(let error): self.send(ControlReply(id: id, error: error))
        }
    }

    func send(_ reply: ControlReply) {
        guard var line = WireLine.encode(reply) else {
            // Only a result the encoder refuses (a NaN, say) gets here: the client still gets an answer.
            if reply.event == nil, let fallback = WireLine.encode(ControlReply(id: reply.id, error: .unencodable)) {
                _ = self.output.enqueue(fallback)
            }
            return
        }
        if line.count > self.limits.maxPrivilegedLineBytes {
            // Clients refuse longer lines: an event that large is dropped, a result becomes an error.
            guard reply.event == nil,
                  let error = WireLine.encode(ControlReply(id: reply.id, error: .resultTooLarge(self.limits.maxPrivilegedLineBytes)))
            else { return }
            line = error
        }
        _ = self.output.enqueue(line)
    }

    /// Takes an in-flight slot; false when all `maxInFlightPerConnection` are taken.
    func beginRequest() -> Bool {
        self.inFlight.withLock { n in
            guard n < self.limits.maxInFlightPerConnection else { return false }
            n += 1
            return true
        }
    }

    func endRequest() {
        self.inFlight.withLock { $0 = max(0, $0 - 1) }
    }
}

/// A connection's outgoing lines and the fd's life: only the writer thread writes, only the last of the reader and
/// writer threads to finish closes the fd, and anyone may shut it down (which wakes both) while it is open.
// @unchecked: every stored property is read and written only with `condition` locked.
final class ConnectionOutput: @unchecked Sendable {
    private let condition = NSCondition()
    private let fd: Int32
    private let maxPending: Int
    private var queue: [Data] = []
    private var head = 0
    private var pendingBytes = 0
    /// No more lines are accepted; the writer drains what is queued, then stops.
    private var finishing = false
    /// The connection is being torn down: queued lines are dropped.
    private var aborted = false
    private var readerDone = false
    private var writerDone = false
    private var fdClosed = false

    init(fd: Int32, maxPending: Int) {
        self.fd = fd
        self.maxPending = maxPending
    }

    /// Queues one line; false when the connection is closing or the client stopped reading (then it is aborted).
    func enqueue(_ line: Data) -> Bool {
        self.condition.lock()
        defer { self.condition.unlock() }
        guard !self.finishing, !self.aborted else { return false }
        if self.pendingBytes > 0, self.pendingBytes + line.count > self.maxPending {
            self.abortLocked()
            return false
        }
        self.queue.append(line)
        self.pendingBytes += line.count
        self.condition.signal()
        return true
    }

    /// The next line to write, waiting for one; nil when the writer should stop.
    func next() -> Data? {
        self.condition.lock()
        defer { self.condition.unlock() }
        while self.head == self.queue.count, !self.finishing, !self.aborted { self.condition.wait() }
        guard !self.aborted, self.head < self.queue.count else { return nil }
        let line = self.queue[self.head]
        self.head += 1
        self.pendingBytes -= line.count
        if self.head == self.queue.count {
            self.queue.removeAll(keepingCapacity: self.queue.count < 64)
            self.head = 0
        }
        return line
    }

    /// Write what is queued, then stop.
    func finish() {
        self.condition.lock()
        self.finishing = true
        self.condition.signal()
        self.condition.unlock()
    }

    /// Drop what is queued and shut the socket down now: the reader's read(2) returns 0, a blocked write fails.
    func abort() {
        self.condition.lock()
        self.abortLocked()
        self.condition.unlock()
    }

    private func abortLocked() {
        self.aborted = true
        self.finishing = true
        self.queue.removeAll()
        self.head = 0
        self.pendingBytes = 0
        if !self.fdClosed { _ = shutdown(self.fd, Int32(SHUT_RDWR)) }
        self.condition.signal()
    }

    /// Records that the reader or the writer thread finished; the last one closes the fd and gets true.
    func threadFinished(reader: Bool) -> Bool {
        self.condition.lock()
        defer { self.condition.unlock() }
        if reader { self.readerDone = true } else { self.writerDone = true }
        guard self.readerDone, self.writerDone, !self.fdClosed else { return false }
        self.fdClosed = true
        close(self.fd)
        return true
    }
}

/// The control socket server of kioskd.
public final class ControlServer: Sendable {
    /// The event streams a client may subscribe to.
    public static let streams = ["card", "device", "config", "print", "queue"]

    private enum Phase { case idle, running, stopped }

    private struct State {
        var phase = Phase.idle
        var roles: ControlRoles
        var connections: [Int: ControlConnection] = [:]
        var nextID = 1
        var wakeWrite: Int32 = -1
        /// st_dev and st_ino of the socket file this server bound, so stop() never unlinks a successor's socket.
        var socketFile: (dev: UInt64, ino: UInt64)?
    }

    public let path: String
    private let group: String?
    private let limits: ControlLimits
    private let handler: any ControlHandler
    private let version: String
    private let log: @Sendable (String) -> Void
    private let state: Mutex<State>
    private let acceptFinished = DispatchSemaphore(value: 0)
    private let connectionThreads = DispatchGroup()

    /// - Parameters:
    ///   - path: the socket file, e.g. `/run/kiosk/kioskd.sock`; its directory must exist.
    ///   - group: the socket file's group (mode 0660, so its members and root may connect); nil keeps the daemon's.
    ///   - roles: how peers' credentials map to roles.
    ///   - version: kioskd's version, reported by `hello`.
    ///   - log: one line per notable event (refused peers, dropped connections); client text is made safe first.
    public init(path: String, group: String?, roles: ControlRoles, limits: ControlLimits = .init(), handler: any ControlHandler,
                version: String, log: @escaping @Sendable (String) -> Void = { _ in }) {
        self.path = path
        self.group = group
        self.limits = limits
        self.handler = handler
        self.version = version
        self.log = log
        self.state = Mutex(State(roles: roles))
    }

    public var connectionCount: Int {
        self.state.withLock { $0.connections.count }
    }

    // MARK: start and stop

    /// Binds and listens, then accepts on a thread of its own.
    ///
    /// The socket file never exists with a mode wider than 0660: a stale socket is removed (only if it is a socket
    /// and nobody answers a connect), the new one is bound with its inode mode preset to 0660 and under a umask of
    /// 0o117, its group set to `group`, chmod 0660, checked, and only then listened on. The parent directory must
    /// exist (systemd's `RuntimeDirectory=`) and be writable by root only. Also sets SIGPIPE to SIG_IGN.
    ///
    /// - Throws: `ControlError` with codes `already_started`, `bad_socket_path`, `no_socket_dir`, `unknown_group`,
    ///   `already_running` (another server answers on `path`), `socket_path_taken` (not a socket) or `socket_failed`.
    public func start() throws(ControlError) {
        // MSG_NOSIGNAL covers this server's send(2)s; this covers any other write to a broken pipe in kioskd.
        signal(SIGPIPE, SIG_IGN)
        let fresh = self.state.withLock { s -> Bool in
            guard s.phase == .idle else { return false }
            s.roles = s.roles.resolved()
            return true
        }
        guard fresh else {
            throw ControlError("already_started", id: "Server kontrol sudah dijalankan.", en: "The control server was already started.")
        }
        let address = try UnixAddress(path: self.path)
        try self.checkParentDirectory()
        var gid: UInt32?
        if let group = self.group {
            guard let id = SystemAccounts.groupID(group) else {
                let shown = SafeText.visible(group)
                throw ControlError("unknown_group", id: "Grup \(shown) untuk soket kontrol tidak ada.",
                                   en: "The control socket's group \(shown) does not exist.", field: "group")
            }
            gid = id
        }
        try self.removeStaleSocket()

        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ControlError.socketFailed("socket", self.path, errno) }
        var bound = false
        func fail(_ call: String, _ code: Int32) -> ControlError {
            if bound { unlink(self.path) }
            close(fd)
            return ControlError.socketFailed(call, self.path, code)
        }
        // Linux gives a bound socket file the socket inode's mode minus the umask: preset 0660 there, and bind under
        // umask 0o117 too, so the file never has more than rw for owner and group, whatever the process umask.
        // (umask is process-wide: the window is this one bind call, at daemon start.)
        _ = fchmod(fd, 0o660)
        let oldMask = umask(0o117)
        let rc = address.withSockaddr { bind(fd, $0, $1) }
        let bindErrno = errno
        umask(oldMask)
        guard rc == 0 else { throw fail("bind", bindErrno) }
        bound = true
        if let gid {
            // The owner stays the daemon's euid (root in production); lchown never follows a planted symlink.
            guard lchown(self.path, uid_t.max, gid) == 0 else { throw fail("chown", errno) }
        }
        // chmod follows symlinks; the directory is root's alone, and the lstat below checks what the path is.
        guard chmod(self.path, 0o660) == 0 else { throw fail("chmod", errno) }
        var st = stat()
        guard lstat(self.path, &st) == 0 else { throw fail("stat", errno) }
        guard st.st_mode & S_IFMT == S_IFSOCK, st.st_mode & 0o7777 == 0o660, gid == nil || st.st_gid == gid else {
            let found = "mode \(String(st.st_mode & 0o7777, radix: 8)) gid \(st.st_gid)"
            _ = fail("verify", EPERM)
            throw ControlError("socket_failed", id: "Soket kontrol \(self.path) tidak aman (\(found)); tidak dipakai.",
                               en: "Control socket \(self.path) is not private (\(found)); not used.")
        }
        guard listen(fd, 64) == 0 else { throw fail("listen", errno) }
        var wake: [Int32] = [-1, -1]
        guard CloseOnExec.pipe(&wake) == 0 else { throw fail("pipe", errno) }

        self.state.withLock { s in
            s.phase = .running
            s.wakeWrite = wake[1]
            s.socketFile = (UInt64(st.st_dev), UInt64(st.st_ino))
        }
        let wakeRead = wake[0]
        let thread = Thread { [self] in
            self.acceptLoop(listenFD: fd, wakeFD: wakeRead)
        }
        thread.name = "kioskd-control-accept"
        thread.start()
        self.log("control: listening on \(self.path) (group \(self.group ?? "-"), mode 0660)")
    }

    /// Stops accepting, closes every connection (their handlers' `connectionClosed` follows) and unlinks the
    /// socket file. Idempotent. Waits up to 5 s for the connections' threads to finish.
    public func stop() {
        let running = self.state.withLock { s -> (wake: Int32, file: (dev: UInt64, ino: UInt64)?)? in
            guard s.phase == .running else { return nil }
            s.phase = .stopped
            return (s.wakeWrite, s.socketFile)
        }
        guard let running else { return }
        var st = stat()
        if let file = running.file, lstat(self.path, &st) == 0, UInt64(st.st_dev) == file.dev, UInt64(st.st_ino) == file.ino {
            unlink(self.path)
        }
        var byte: UInt8 = 1
        while write(running.wake, &byte, 1) < 0 && errno == EINTR {}
        self.acceptFinished.wait()
        close(running.wake)
        let connections = self.state.withLock { Array($0.connections.values) }
        for connection in connections { connection.output.abort() }
        _ = self.connectionThreads.wait(timeout: .now() + 5)
        self.log("control: stopped")
    }

    /// Sends an event to every connection subscribed to `stream`.
    public func broadcast(stream: String, event: String, data: JSONValue) {
        let connections = self.state.withLock { Array($0.connections.values) }
        let targets = connections.filter { $0.isSubscribed(stream) }
        guard !targets.isEmpty, let line = WireLine.encode(.event(event, data)) else { return }
        for connection in targets { _ = connection.output.enqueue(line) }
    }

    private func checkParentDirectory() throws(ControlError) {
        let parent: String
        if let slash = self.path.lastIndex(of: "/") {
            parent = slash == self.path.startIndex ? "/" : String(self.path[..<slash])
        } else {
            parent = "."
        }
        var st = stat()
        guard stat(parent, &st) == 0, st.st_mode & S_IFMT == S_IFDIR else {
            throw ControlError("no_socket_dir", id: "Direktori soket kontrol \(parent) tidak ada.",
                               en: "The control socket's directory \(parent) does not exist.")
        }
    }

    /// Removes a socket file nobody listens on; refuses to touch anything else.
    private func removeStaleSocket() throws(ControlError) {
        var st = stat()
        guard lstat(self.path, &st) == 0 else { return }
        guard st.st_mode & S_IFMT == S_IFSOCK else {
            throw ControlError("socket_path_taken", id: "\(self.path) sudah ada dan bukan soket; tidak dihapus.",
                               en: "\(self.path) exists and is not a socket; not removing it.")
        }
        let probe = UnixAddress.probe(path: self.path)
        // Refused (nobody listens) or already gone: stale. Anything else, even EAGAIN (a full backlog), is alive.
        if probe != ECONNREFUSED && probe != ENOENT {
            throw ControlError("already_running", id: "kioskd lain sudah melayani \(self.path).",
                               en: "Another kioskd is already serving \(self.path).")
        }
        guard unlink(self.path) == 0 || errno == ENOENT else { throw ControlError.socketFailed("unlink", self.path, errno) }
    }

    // MARK: accepting

    private func acceptLoop(listenFD: Int32, wakeFD: Int32) {
        defer {
            close(listenFD)
            close(wakeFD)
            self.acceptFinished.signal()
        }
        while true {
            var fds = [pollfd(fd: listenFD, events: Int16(POLLIN), revents: 0), pollfd(fd: wakeFD, events: Int16(POLLIN), revents: 0)]
            let ready = poll(&fds, 2, -1)
            if ready < 0 {
                if errno == EINTR { continue }
                self.log("control: poll failed (\(String(cString: strerror(errno)))); no longer accepting")
                return
            }
            if fds[1].revents != 0 { return }
            guard fds[0].revents & Int16(POLLIN) != 0 else {
                if fds[0].revents & Int16(POLLERR | POLLNVAL) != 0 {
                    self.log("control: listening socket failed; no longer accepting")
                    return
                }
                continue
            }
            // accept4(2) needs _GNU_SOURCE, which the Glibc module lacks: close-on-exec is set right after instead.
            let fd = CloseOnExec.accept(listenFD)
            if fd < 0 {
                let code = errno
                switch code {
                case EINTR, EAGAIN, ECONNABORTED, EPROTO:
                    continue
                default:
                    // EMFILE, ENFILE, ENOBUFS, ENOMEM: back off instead of spinning while the kernel is short.
                    self.log("control: accept failed (\(String(cString: strerror(code))))")
                    usleep(100_000)
                    continue
                }
            }
            self.admit(fd)
        }
    }

    private func admit(_ fd: Int32) {
        guard let credentials = PeerCredentials.of(fd: fd) else {
            self.log("control: no peer credentials; connection closed")
            close(fd)
            return
        }
        let roles = self.state.withLock { $0.roles }
        guard let role = roles.role(uid: credentials.uid, gid: credentials.gid, groups: credentials.groups) else {
            self.log("control: refused pid \(credentials.pid) uid \(credentials.uid) gid \(credentials.gid): no role")
            self.refuse(fd, .notPermitted(uid: credentials.uid, roles: roles))
            return
        }
        let peer = ControlPeer(pid: credentials.pid, uid: credentials.uid, gid: credentials.gid,
                               groups: credentials.groups, role: role)
        enum Admission { case admitted(ControlConnection), full, stopping }
        let admission = self.state.withLock { s -> Admission in
            guard s.phase == .running else { return .stopping }
            guard s.connections.count < self.limits.maxConnections else { return .full }
            let connection = ControlConnection(id: s.nextID, peer: peer, fd: fd, limits: self.limits)
            s.nextID += 1
            s.connections[connection.id] = connection
            return .admitted(connection)
        }
        switch admission {
        case .stopping:
            self.refuse(fd, .unavailable)
        case .full:
            self.log("control: refused pid \(peer.pid) uid \(peer.uid): \(self.limits.maxConnections) connections open")
            self.refuse(fd, .tooManyConnections(self.limits.maxConnections))
        case .admitted(let connection):
            self.connectionThreads.enter()
            let writer = Thread { [self] in
                self.writeLoop(connection)
                self.threadFinished(connection, reader: false)
            }
            writer.name = "kioskd-control-w\(connection.id)"
            writer.start()
            let reader = Thread { [self] in
                self.readLoop(connection)
                connection.output.finish()
                self.threadFinished(connection, reader: true)
            }
            reader.name = "kioskd-control-r\(connection.id)"
            reader.start()
        }
    }

    /// One error line, best effort, then close. The socket is drained of what the client already sent first, so the
    /// kernel reports EOF to it rather than a reset.
    private func refuse(_ fd: Int32, _ error: ControlError) {
        if let line = WireLine.encode(ControlReply(id: nil, error: error)) {
            _ = line.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
        }
        _ = shutdown(fd, Int32(SHUT_WR))
        var sink = [UInt8](repeating: 0, count: 4096)
        for _ in 0..<16 {
            let n = sink.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if n <= 0 { break }
        }
        close(fd)
    }

    private func threadFinished(_ connection: ControlConnection, reader: Bool) {
        guard connection.output.threadFinished(reader: reader) else { return }
        self.state.withLock { _ = $0.connections.removeValue(forKey: connection.id) }
        let handler = self.handler
        Task { await handler.connectionClosed(connection) }
        self.connectionThreads.leave()
    }

    // MARK: writing

    private func writeLoop(_ connection: ControlConnection) {
        while let line = connection.output.next() {
            if let failure = self.writeAll(connection.fd, line) {
                self.log("control: connection \(connection.id) (uid \(connection.peer.uid)) dropped: \(failure)")
                connection.output.abort()
                return
            }
        }
    }

    /// Writes all of `data`, retrying on EINTR and waiting for room on EAGAIN; nil on success, else why it failed.
    private func writeAll(_ fd: Int32, _ data: Data) -> String? {
        let timeoutMS = Self.milliseconds(self.limits.writeTimeoutSeconds) ?? 10_000
        return data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> String? in
            guard let base = raw.baseAddress else { return nil }
            var offset = 0
            while offset < raw.count {
                let n = send(fd, base + offset, raw.count - offset, Int32(MSG_NOSIGNAL | MSG_DONTWAIT))
                if n > 0 {
                    offset += n
                    continue
                }
                let code = n < 0 ? errno : EIO
                if code == EINTR { continue }
                guard code == EAGAIN || code == EWOULDBLOCK else { return String(cString: strerror(code)) }
                var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                let ready = poll(&pfd, 1, timeoutMS)
                if ready == 0 { return "client stopped reading (no progress for \(timeoutMS) ms)" }
                if ready < 0 && errno != EINTR { return String(cString: strerror(errno)) }
            }
            return nil
        }
    }

    // MARK: reading

    private func readLoop(_ connection: ControlConnection) {
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        var line: [UInt8] = []
        var limiter = RateLimiter(limits: self.limits)
        let idleMS = self.limits.idleSeconds.flatMap { Self.milliseconds($0) }
        while true {
            if let idleMS {
                var pfd = pollfd(fd: connection.fd, events: Int16(POLLIN), revents: 0)
                let ready = poll(&pfd, 1, idleMS)
                if ready < 0 && errno == EINTR { continue }
                if ready == 0 {
                    connection.send(ControlReply(id: nil, error: .idle(self.limits.idleSeconds ?? 0)))
                    return
                }
            }
            let count = chunk.withUnsafeMutableBytes { read(connection.fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return }
            var start = 0
            while start < count {
                let end = chunk[start..<count].firstIndex(of: 0x0A)
                let segment = chunk[start..<(end ?? count)]
                guard line.count + segment.count <= connection.lineCap else {
                    // Nothing beyond the cap is kept: the line is refused and the connection closed.
                    self.log("control: connection \(connection.id) (uid \(connection.peer.uid)) sent a line over \(connection.lineCap) bytes; closed")
                    connection.send(ControlReply(id: nil, error: .lineTooLong(connection.lineCap)))
                    return
                }
                line.append(contentsOf: segment)
                guard let end else { break }
                start = end + 1
                let keepGoing = self.handleLine(line, on: connection, limiter: &limiter)
                if line.count > 1 << 20 { line = [] } else { line.removeAll(keepingCapacity: true) }
                guard keepGoing else { return }
            }
        }
    }

    /// Handles one request line; false to close the connection.
    private func handleLine(_ bytes: [UInt8], on connection: ControlConnection, limiter: inout RateLimiter) -> Bool {
        var bytes = bytes[...]
        if bytes.last == 0x0D { bytes = bytes.dropLast() }
        guard bytes.contains(where: { $0 != 0x20 && $0 != 0x09 }) else { return true }
        let verdict = limiter.take()
        let parsed = Self.parse(Data(bytes), maxNesting: self.limits.maxNesting, maxValues: connection.valueCap)
        if verdict == .flooding {
            self.log("control: connection \(connection.id) (uid \(connection.peer.uid)) floods requests; closed")
            connection.send(ControlReply(id: parsed.id, error: .rateLimited(closing: true)))
            return false
        }
        guard case .success(let request) = parsed.request else {
            if case .failure(let error) = parsed.request { connection.send(ControlReply(id: parsed.id, error: error)) }
            return true
        }
        if verdict == .limited {
            connection.send(ControlReply(id: request.id, error: .rateLimited(closing: false)))
            return true
        }
        switch request.method {
        case "hello":
            connection.reply(request.id, self.hello(request, connection))
        case "subscribe":
            connection.reply(request.id, self.subscribe(request, connection))
        default:
            guard let required = ControlRole.required(for: request.method) else {
                // Fail closed: a method outside resident./staff./admin. has no role check, so it is not served.
                connection.reply(request.id, .failure(.unknownMethod(request.method)))
                return true
            }
            let role = connection.effectiveRole()
            guard role >= required else {
                connection.reply(request.id, .failure(connection.staffLapsed && required > .resident
                        ? .staffLocked : .forbidden(request.method, role: role)))
                return true
            }
            guard connection.beginRequest() else {
                connection.reply(request.id, .failure(.busy(self.limits.maxInFlightPerConnection)))
                return true
            }
            let handler = self.handler
            Task {
                let outcome = await handler.handle(request, from: connection)
                connection.reply(request.id, outcome)
                connection.endRequest()
            }
        }
        return true
    }

    /// A request line decoded; `id` is the line's id whenever it has a usable one, even if the rest is wrong.
    static func parse(_ data: Data, maxNesting: Int, maxValues: Int) -> (id: Int?, request: Result<ControlRequest, ControlError>) {
        if let problem = JSONShape.problem(in: data, maxNesting: maxNesting, maxValues: maxValues) {
            return (nil, .failure(.malformed(problem)))
        }
        let value: JSONValue
        do {
            value = try KioskJSON.decode(JSONValue.self, from: data)
        } catch {
            return (nil, .failure(.malformed("not valid JSON / bukan JSON yang sah")))
        }
        guard case .object(let fields) = value else {
            return (nil, .failure(.malformed("a request is one JSON object per line")))
        }
        guard let id = fields["id"]?.intValue else {
            return (nil, .failure(.malformed("\"id\" must be an integer")))
        }
        guard let method = fields["method"]?.stringValue, !method.isEmpty else {
            return (id, .failure(.malformed("\"method\" must be a non-empty string")))
        }
        let params = fields["params"].flatMap { $0 == .null ? nil : $0 }
        return (id, .success(ControlRequest(id: id, method: method, params: params)))
    }

    private func hello(_ request: ControlRequest, _ connection: ControlConnection) -> Result<JSONValue, ControlError> {
        if let wanted = request.params?["protocol"], wanted != .null, wanted != .string(ControlProtocol.name) {
            let shown: String
            if case .string(let s) = wanted { shown = SafeText.visible(String(s.prefix(40))) } else { shown = "?" }
            return .failure(ControlError(
                "protocol_mismatch",
                id: "Versi protokol tidak cocok: klien \(shown), kioskd \(ControlProtocol.name).",
                en: "Protocol mismatch: client \(shown), kioskd \(ControlProtocol.name).", field: "protocol"))
        }
        return .success(.object([
            "protocol": .string(ControlProtocol.name),
            "role": .string(connection.peer.role.rawValue),
            "version": .string(self.version),
            "uid": .number(Double(connection.peer.uid)),
        ]))
    }

    private func subscribe(_ request: ControlRequest, _ connection: ControlConnection) -> Result<JSONValue, ControlError> {
        guard case .array(let items)? = request.params?["streams"] else {
            return .failure(.badParams("\"streams\" must be a list of stream names", field: "streams"))
        }
        var streams: [String] = []
        for item in items {
            guard case .string(let name) = item, Self.streams.contains(name) else {
                let shown = item.stringValue.map { SafeText.visible(String($0.prefix(40))) } ?? "?"
                return .failure(.badParams("unknown stream \(shown); streams: \(Self.streams.joined(separator: ", "))",
                                           field: "streams"))
            }
            streams.append(name)
        }
        return .success(.object(["streams": .array(connection.subscribe(streams).map { .string($0) })]))
    }

    static func milliseconds(_ seconds: Double) -> Int32? {
        guard seconds.isFinite, seconds > 0 else { return nil }
        return Int32(min(seconds * 1000, Double(Int32.max)).rounded(.up))
    }
}

/// The per-connection token buckets: the request cap, and ten times it, beyond which the client is dropped.
struct RateLimiter {
    enum Verdict { case allowed, limited, flooding }

    private var normal: TokenBucket
    private var flood: TokenBucket

    init(limits: ControlLimits) {
        let rate = limits.requestsPerSecond.isFinite ? max(0, limits.requestsPerSecond) : 0
        let burst = limits.burst.isFinite ? max(1, limits.burst) : 1
        self.normal = TokenBucket(rate: rate, capacity: burst)
        self.flood = TokenBucket(rate: rate * 10, capacity: burst * 10)
    }

    mutating func take() -> Verdict {
        let now = TokenBucket.now()
        let allowed = self.normal.take(now)
        guard self.flood.take(now) else { return .flooding }
        return allowed ? .allowed : .limited
    }
}

struct TokenBucket {
    let rate: Double
    let capacity: Double
    var tokens: Double
    var last: Double

    init(rate: Double, capacity: Double) {
        self.rate = rate
        self.capacity = capacity
        self.tokens = capacity
        self.last = TokenBucket.now()
    }

    mutating func take(_ now: Double) -> Bool {
        self.tokens = min(self.capacity, self.tokens + max(0, now - self.last) * self.rate)
        self.last = now
        guard self.tokens >= 1 else { return false }
        self.tokens -= 1
        return true
    }

    /// Seconds on the monotonic clock.
    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}

/// A cheap look at a JSON text's shape before it is decoded: nesting depth and roughly how many values it holds
/// (containers plus separators, outside strings). Not a parser: anything it lets through still goes to KioskJSON.
enum JSONShape {
    static func problem(in data: Data, maxNesting: Int, maxValues: Int) -> String? {
        var depth = 0
        var values = 1
        var inString = false
        var escaped = false
        for byte in data {
            if inString {
                if escaped {
                    escaped = false
                } else if byte == 0x5C {
                    escaped = true
                } else if byte == 0x22 {
                    inString = false
                }
                continue
            }
            switch byte {
            case 0x22:
                inString = true
            case 0x5B, 0x7B:
                depth += 1
                values += 1
                if depth > maxNesting { return "nested deeper than \(maxNesting) levels" }
            case 0x5D, 0x7D:
                depth -= 1
            case 0x2C:
                values += 1
            default:
                continue
            }
            if values > maxValues { return "more than \(maxValues) values in one request" }
        }
        return nil
    }
}

/// A line on the wire, through the shared coder: a reply always carries `id` (null when the request's id is not
/// known) and either `result` or `error`; an event carries `event` and `data`.
enum WireLine {
    private struct Reply: Encodable {
        let reply: ControlReply
        enum Keys: String, CodingKey { case id, result, error, event, data }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: Keys.self)
            if let event = self.reply.event {
                try c.encode(event, forKey: .event)
                try c.encode(self.reply.data ?? .null, forKey: .data)
                return
            }
            if let id = self.reply.id { try c.encode(id, forKey: .id) } else { try c.encodeNil(forKey: .id) }
            if let error = self.reply.error {
                try c.encode(error, forKey: .error)
            } else {
                try c.encode(self.reply.result ?? .null, forKey: .result)
            }
        }
    }

    /// The line's bytes with its terminating newline; nil when the value cannot be encoded.
    static func encode(_ reply: ControlReply) -> Data? {
        guard var data = try? KioskJSON.encode(Reply(reply: reply)) else { return nil }
        data.append(0x0A)
        return data
    }
}

/// A `sockaddr_un` for a path.
struct UnixAddress {
    private var address = sockaddr_un()

    init(path: String) throws(ControlError) {
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: self.address.sun_path)
        guard !bytes.isEmpty, bytes.count < capacity, !bytes.contains(0) else {
            throw ControlError("bad_socket_path", id: "Jalur soket tidak sah (1–\(capacity - 1) bita): \(SafeText.visible(path))",
                               en: "Invalid socket path (1–\(capacity - 1) bytes): \(SafeText.visible(path))")
        }
        self.address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &self.address.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
        }
    }

    func withSockaddr<T>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> T) -> T {
        withUnsafePointer(to: self.address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
    }

    /// Connects to `path` and hangs up: 0 when something accepted, else the errno (ENOENT, ECONNREFUSED, EACCES…).
    static func probe(path: String) -> Int32 {
        guard let address = try? UnixAddress(path: path) else { return EINVAL }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return errno }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        while true {
            if address.withSockaddr({ connect(fd, $0, $1) }) == 0 { return 0 }
            if errno != EINTR { return errno }
        }
    }
}

extension ControlError {
    static func socketFailed(_ call: String, _ path: String, _ code: Int32) -> ControlError {
        let reason = String(cString: strerror(code))
        return ControlError("socket_failed", id: "Soket kontrol \(path): \(call) gagal (\(reason)).",
                            en: "Control socket \(path): \(call) failed (\(reason)).")
    }

    static func notPermitted(uid: UInt32, roles: ControlRoles) -> ControlError {
        let groups = "\(roles.residentGroup) / \(roles.staffGroup)"
        return ControlError("not_permitted",
                            id: "Pengguna uid \(uid) tidak berhak memakai layanan kios (perlu grup \(groups)).",
                            en: "User uid \(uid) may not use the kiosk service (needs group \(groups)).")
    }

    static func tooManyConnections(_ limit: Int) -> ControlError {
        ControlError("too_many_connections", id: "Terlalu banyak koneksi ke kioskd (maks \(limit)); coba lagi nanti.",
                     en: "Too many connections to kioskd (at most \(limit)); try again later.")
    }

    static func lineTooLong(_ limit: Int) -> ControlError {
        ControlError("line_too_long", id: "Baris lebih dari \(limit) bita; koneksi ditutup.",
                     en: "Line longer than \(limit) bytes; closing the connection.")
    }

    static func rateLimited(closing: Bool) -> ControlError {
        closing
            ? ControlError("rate_limited", id: "Permintaan terlalu deras; koneksi ditutup.",
                           en: "Far too many requests; closing the connection.")
            : ControlError("rate_limited", id: "Terlalu banyak permintaan; tunggu sebentar.",
                           en: "Too many requests; slow down.")
    }

    static func busy(_ limit: Int) -> ControlError {
        ControlError("busy", id: "Sudah \(limit) permintaan berjalan pada koneksi ini; tunggu jawabannya.",
                     en: "\(limit) requests already running on this connection; wait for their replies.")
    }

    static func idle(_ seconds: Double) -> ControlError {
        ControlError("idle_timeout", id: "Koneksi diam lebih dari \(Int(seconds)) detik; ditutup.",
                     en: "Connection idle for more than \(Int(seconds)) seconds; closed.")
    }

    static func resultTooLarge(_ limit: Int) -> ControlError {
        ControlError("result_too_large", id: "Hasil lebih dari \(limit) bita.", en: "Result larger than \(limit) bytes.")
    }

    static let staffLocked = ControlError(
        "staff_locked", id: "Mode petugas sudah terkunci karena lama tidak dipakai; masukkan PIN lagi.",
        en: "Staff mode locked after a while without use; enter the PIN again.")

    static let unencodable = ControlError(
        "internal", id: "Hasil tidak dapat dikodekan sebagai JSON.", en: "The result cannot be encoded as JSON.")
}
