import Foundation

/// A child process started with posix_spawn and reaped with waitpid.
///
/// Not Foundation.Process: its waitUntilExit was seen to hang on Linux after a script that leaves daemons behind
/// had exited, and a hung scanner backend must be killable with everything it started. So the child gets its own
/// process group (a kill reaches its children too), a clean signal mask and default dispositions (a parent that
/// blocks SIGTERM must not hand that on), and stdin from /dev/null.
public final class ChildProcess: Sendable {
    public enum Output: Sendable {
        /// Inherit the parent's descriptor.
        case inherit
        case null
        /// Write to a file (created 0600, truncated).
        case file(String)
        /// A pipe whose read end is `stdoutPipe` / `stderrPipe`.
        case pipe
        /// stderr only: the same place as stdout.
        case toStdout
    }

    public struct SpawnError: Error, CustomStringConvertible {
        public let command: String
        public let errno: Int32
        public var description: String { "cannot start \(self.command): \(String(cString: strerror(self.errno)))" }
    }

    public let pid: pid_t
    /// Read ends of piped output (the caller reads and closes them).
    public let stdoutPipe: Int32?
    public let stderrPipe: Int32?

    private init(pid: pid_t, stdoutPipe: Int32?, stderrPipe: Int32?) {
        self.pid = pid
        self.stdoutPipe = stdoutPipe
        self.stderrPipe = stderrPipe
    }

    /// Starts `arguments[0]` (looked up in PATH) with `arguments`.
    public static func spawn(_ arguments: [String], environment: [String: String]? = nil, stdout: Output = .inherit,
                             stderr: Output = .inherit) throws(SpawnError) -> ChildProcess
    {
        let command = arguments.first ?? ""
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        var parentEnds: [Int32] = []
        var childEnds: [Int32] = []
        func plan(_ output: Output, fd: Int32) throws(SpawnError) -> Int32? {
            switch output {
            case .inherit: return nil
            case .null: posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", O_WRONLY, 0)
            case .file(let path): posix_spawn_file_actions_addopen(&actions, fd, path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
            case .toStdout: posix_spawn_file_actions_adddup2(&actions, 1, fd)
            case .pipe:
                var fds: [Int32] = [0, 0]
                // Close-on-exec on both ends, atomically (pipe2): a child another thread spawns between pipe() and
                // fcntl() would inherit the write end and hold the pipe open, so this scan would never see EOF and
                // its watchdog would fire. Our child gets its end only through the dup2 below.
                guard CloseOnExec.pipe(&fds) == 0 else { throw SpawnError(command: command, errno: errno) }
                posix_spawn_file_actions_adddup2(&actions, fds[1], fd)
                parentEnds.append(fds[0])
                childEnds.append(fds[1])
                return fds[0]
            }
            return nil
        }
        let out = try plan(stdout, fd: 1)
        let err = try plan(stderr, fd: 2)

        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attr, &empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for sig in [SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGCHLD, SIGQUIT, SIGUSR1, SIGUSR2] { sigaddset(&defaults, sig) }
        posix_spawnattr_setsigdefault(&attr, &defaults)
        posix_spawnattr_setpgroup(&attr, 0)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP))

        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let envStrings = environment.map { $0.map { "\($0.key)=\($0.value)" } }
        let envp: [UnsafeMutablePointer<CChar>?]? = envStrings.map { $0.map { strdup($0) } + [nil] }
        defer { envp?.forEach { free($0) } }
        var pid: pid_t = 0
        let rc: Int32 = if let envp {
            posix_spawnp(&pid, command, &actions, &attr, argv, envp)
        } else {
            posix_spawnp(&pid, command, &actions, &attr, argv, environ)
        }
        childEnds.forEach { close($0) }
        guard rc == 0 else {
            parentEnds.forEach { close($0) }
            throw SpawnError(command: command, errno: rc)
        }
        return ChildProcess(pid: pid, stdoutPipe: out, stderrPipe: err)
    }

    /// Blocks until the child exits; its exit status, or 128 + the signal that ended it.
    @discardableResult
    public func wait() -> Int32 {
        var status: Int32 = 0
        while waitpid(self.pid, &status, 0) < 0 {
            if errno != EINTR { return -1 }
        }
        return Self.exitCode(status)
    }

    /// The exit status if the child has ended (reaping it), nil while it runs.
    public func poll() -> Int32? {
        var status: Int32 = 0
        let r = waitpid(self.pid, &status, WNOHANG)
        return r == self.pid ? Self.exitCode(status) : nil
    }

    /// Sends `signal` to the child's whole process group.
    public func kill(_ signal: Int32 = SIGTERM) {
        _ = Glibc.kill(-self.pid, signal)
    }

    static func exitCode(_ status: Int32) -> Int32 {
        (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }

    /// Runs a command to its end with stdout and stderr captured together (through a file, so daemons the command
    /// leaves behind cannot hold the output open).
    public static func run(_ arguments: [String], environment: [String: String]? = nil) throws(SpawnError)
        -> (status: Int32, output: String)
    {
        let path = NSTemporaryDirectory() + "kiosk-child-\(UUID().uuidString).out"
        defer { unlink(path) }
        let child = try spawn(arguments, environment: environment, stdout: .file(path), stderr: .toStdout)
        let status = child.wait()
        return (status, (try? String(contentsOfFile: path, encoding: .utf8)) ?? "")
    }
}

/// Descriptors created close-on-exec atomically. Another thread may spawn a child at any moment; a descriptor
/// created first and marked with fcntl() later can leak into that child (a pipe's write end held open there means
/// no EOF here). Glibc declares pipe2() and accept4() only under _GNU_SOURCE, which Swift's Glibc module does not
/// set, so they are looked up once at run time; both exist in every glibc since 2.10.
public enum CloseOnExec {
    private typealias Pipe2 = @convention(c) (UnsafeMutablePointer<Int32>, Int32) -> Int32
    private typealias Accept4 = @convention(c) (Int32, UnsafeMutablePointer<sockaddr>?, UnsafeMutablePointer<socklen_t>?, Int32) -> Int32
    nonisolated(unsafe) private static let pipe2: Pipe2? = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "pipe2").map { unsafeBitCast($0, to: Pipe2.self) }
    nonisolated(unsafe) private static let accept4: Accept4? = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "accept4").map { unsafeBitCast($0, to: Accept4.self) }

    /// pipe2(fds, O_CLOEXEC); pipe() and fcntl() where pipe2 is missing.
    public static func pipe(_ fds: inout [Int32]) -> Int32 {
        precondition(fds.count >= 2)
        if let pipe2 { return fds.withUnsafeMutableBufferPointer { pipe2($0.baseAddress!, O_CLOEXEC) } }
        guard Glibc.pipe(&fds) == 0 else { return -1 }
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        return 0
    }

    /// accept4(fd, nil, nil, SOCK_CLOEXEC); accept() and fcntl() where accept4 is missing.
    public static func accept(_ fd: Int32) -> Int32 {
        if let accept4 { return accept4(fd, nil, nil, Int32(SOCK_CLOEXEC.rawValue)) }
        let client = Glibc.accept(fd, nil, nil)
        if client >= 0 { _ = fcntl(client, F_SETFD, FD_CLOEXEC) }
        return client
    }
}
