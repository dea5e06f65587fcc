#if canImport(Glibc)
import Glibc
#endif
import Foundation
import KioskCore

/// The single-owner lock of a data directory: an exclusive `flock` on `DATA/kioskd.lock`, holding the owner's
/// PID. kioskd holds it for its whole life; an offline kioskctl command that writes holds it while it runs.
/// The kernel drops it when the holder dies (even by SIGKILL), so a stale file never blocks anyone.
public final class DataDirLock: Sendable {
    public let path: String
    private let fd: Int32

    private init(path: String, fd: Int32) {
        self.path = path
        self.fd = fd
    }

    public static func path(dataDir: String) -> String { "\(dataDir)/kioskd.lock" }

    public enum Failure: Error, Sendable, Equatable {
        /// Another process holds the lock; its PID when it wrote one.
        case held(pid: Int32?, owner: String?)
        case io(String)
    }

    /// Takes the lock at once or fails: `.held` names the holder. `owner` ("kioskd", "kioskctl") is written next
    /// to the PID so the refusal can say who holds it.
    public static func acquire(dataDir: String, owner: String) throws(Failure) -> DataDirLock {
        let path = Self.path(dataDir: dataDir)
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { throw .io("\(path): \(String(cString: strerror(errno)))") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let busy = errno == EWOULDBLOCK
            close(fd)
            if busy {
                let (pid, who) = Self.holder(path: path)
                throw .held(pid: pid, owner: who)
            }
            throw .io("\(path): \(String(cString: strerror(errno)))")
        }
        let text = Array("\(getpid()) \(owner)\n".utf8)
        _ = ftruncate(fd, 0)
        _ = text.withUnsafeBytes { pwrite(fd, $0.baseAddress, text.count, 0) }
        return DataDirLock(path: path, fd: fd)
    }

    /// Whether a live process holds the lock of `dataDir` now, and which (never takes the lock: a probe that took
    /// it, even briefly, could make a starting kioskd fail).
    public static func currentHolder(dataDir: String) -> (pid: Int32?, owner: String?)? {
        let path = Self.path(dataDir: dataDir)
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        // A shared lock is granted unless someone holds it exclusively; release it at once.
        if flock(fd, LOCK_SH | LOCK_NB) == 0 {
            flock(fd, LOCK_UN)
            return nil
        }
        return Self.holder(path: path)
    }

    private static func holder(path: String) -> (Int32?, String?) {
        guard let data = FileManager.default.contents(atPath: path), data.count < 256 else { return (nil, nil) }
        let parts = String(decoding: data, as: UTF8.self).split(whereSeparator: { $0 == " " || $0 == "\n" })
        let pid = parts.first.flatMap { Int32($0) }
        let owner = parts.dropFirst().first.map { SafeText.visible(String($0.prefix(32))) }
        return (pid, owner)
    }

    public func release() {
        flock(self.fd, LOCK_UN)
        close(self.fd)
    }
}
