#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where frames go: the real terminal, or a recording in tests.
public protocol TerminalOutput: AnyObject {
    func write(_ s: String)
}

/// Writes to a file descriptor, retrying short writes and EINTR/EAGAIN.
public final class FileTerminal: TerminalOutput {
    public let fd: Int32
    /// Bytes written since start (for the benchmark and tests).
    public private(set) var bytesWritten = 0

    public init(fd: Int32) { self.fd = fd }

    public func write(_ s: String) {
        var bytes = Array(s.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeMutableBytes { buf in
                Glibc.write(self.fd, buf.baseAddress! + offset, buf.count - offset)
            }
            if n < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                return
            }
            offset += n
        }
        self.bytesWritten += bytes.count
        bytes.removeAll()
    }
}

/// Keeps what was written, for tests.
public final class RecordingTerminal: TerminalOutput {
    public private(set) var written: [String] = []

    public init() {}

    public func write(_ s: String) { self.written.append(s) }
    public var last: String { self.written.last ?? "" }
}

/// The terminal's raw mode: saved on enable, restored on every exit path (quit, SIGTERM, SIGINT, SIGHUP, atexit).
public enum RawMode {
    nonisolated(unsafe) private static var saved: termios?
    nonisolated(unsafe) private static var savedFD: Int32 = 0
    nonisolated(unsafe) private static var restoreOutput: Int32 = -1

    /// Puts `fd` in raw mode and takes the screen (alternate screen, no cursor, touch reporting).
    public static func enable(input fd: Int32, output: Int32) -> Bool {
        var t = termios()
        guard tcgetattr(fd, &t) == 0 else { return false }
        self.saved = t
        self.savedFD = fd
        self.restoreOutput = output
        cfmakeraw(&t)
        t.c_oflag |= tcflag_t(OPOST | ONLCR)
        guard tcsetattr(fd, TCSAFLUSH, &t) == 0 else { return false }
        atexit { RawMode.restore() }
        let enter = EscapeSequence.enter
        _ = enter.withCString { Glibc.write(output, $0, strlen($0)) }
        return true
    }

    /// Gives the terminal back as it was. Safe to call more than once.
    public static func restore() {
        guard var t = self.saved else { return }
        self.saved = nil
        let leave = EscapeSequence.leave
        if self.restoreOutput >= 0 { _ = leave.withCString { Glibc.write(self.restoreOutput, $0, strlen($0)) } }
        _ = tcsetattr(self.savedFD, TCSAFLUSH, &t)
    }

    /// Columns and rows of the terminal on `fd`.
    public static func size(of fd: Int32) -> (width: Int, height: Int)? {
        var ws = winsize()
        guard ioctl(fd, UInt(TIOCGWINSZ), &ws) == 0, ws.ws_col > 0, ws.ws_row > 0 else { return nil }
        return (Int(ws.ws_col), Int(ws.ws_row))
    }
}
