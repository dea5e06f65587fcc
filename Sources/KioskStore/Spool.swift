// Attachment files on disk: temp file, fsync, rename, directory fsync (architecture.md, "Data").
#if canImport(Glibc)
@preconcurrency import Glibc
#elseif canImport(Musl)
@preconcurrency import Musl
#endif
import Foundation
import KioskSecurity

/// A file the spool wrote: its path relative to the spool root, SHA-256 and size.
struct SpooledFile: Sendable {
    var relativePath: String
    var sha256: String
    var size: Int
}

/// The attachment spool below `root`: one 0700 folder per application, files 0600, partial writes in `.tmp`.
struct Spool: Sendable {
    let root: String
    var tmp: String { self.root + "/.tmp" }

    init(root: String) throws(StoreError) {
        self.root = root
        try Spool.makeDirectory(root)
        try Spool.makeDirectory(self.tmp)
    }

    static func makeDirectory(_ path: String) throws(StoreError) {
        if mkdir(path, 0o700) != 0 {
            guard errno == EEXIST else { throw .io("mkdir \(path)", errno) }
        } else {
            Spool.syncDirectory((path as NSString).deletingLastPathComponent)
        }
        _ = chmod(path, 0o700)
    }

    static func syncDirectory(_ path: String) {
        let fd = open(path.isEmpty ? "." : path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        _ = fsync(fd)
        close(fd)
    }

    /// Copies `source` into the spool as `relativePath`, hashing as it goes; refuses more than `maxBytes`.
    func store(copying source: String, as relativePath: String, maxBytes: Int) throws(StoreError) -> SpooledFile {
        let input = open(source, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else {
            throw errno == ENOENT ? .attachmentMissing(path: source) : .attachmentUnreadable(path: source, errno: errno)
        }
        defer { close(input) }
        return try self.write(as: relativePath, maxBytes: maxBytes, label: source) { buffer in
            while true {
                let n = read(input, buffer.baseAddress, buffer.count)
                if n < 0, errno == EINTR { continue }
                if n < 0 { return -Int(errno) }
                return n
            }
        }
    }

    /// Writes in-memory bytes (e.g. a scanned page) into the spool.
    func store(data: Data, as relativePath: String, maxBytes: Int, label: String) throws(StoreError) -> SpooledFile {
        var offset = 0
        return try self.write(as: relativePath, maxBytes: maxBytes, label: label) { buffer in
            let n = min(buffer.count, data.count - offset)
            data.copyBytes(to: buffer.bindMemory(to: UInt8.self), from: offset..<(offset + n))
            offset += n
            return n
        }
    }

    /// The durable write: temp file (0600, O_EXCL) → fsync → rename into the application folder → fsync folder.
    private func write(
        as relativePath: String, maxBytes: Int, label: String,
        _ next: (UnsafeMutableRawBufferPointer) -> Int
    ) throws(StoreError) -> SpooledFile {
        let tmpPath = "\(self.tmp)/\(UUID().uuidString).part"
        let out = open(tmpPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard out >= 0 else { throw .io("create \(tmpPath)", errno) }
        var hasher = SHA256Stream()
        var size = 0
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 16)
        defer { buffer.deallocate() }
        func fail(_ error: StoreError) -> StoreError {
            close(out)
            unlink(tmpPath)
            return error
        }
        while true {
            let n = next(buffer)
            if n < 0 { throw fail(.attachmentUnreadable(path: label, errno: Int32(-n))) }
            if n == 0 { break }
            size += n
            if size > maxBytes { throw fail(.attachmentTooLarge(path: label, size: size, limit: maxBytes)) }
            hasher.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            var written = 0
            while written < n {
                let w = Glibc.write(out, buffer.baseAddress! + written, n - written)
                if w < 0, errno == EINTR { continue }
                if w < 0 { throw fail(errno == ENOSPC ? .diskFull : .io("write \(tmpPath)", errno)) }
                written += w
            }
        }
        guard fsync(out) == 0 else { throw fail(.io("fsync \(tmpPath)", errno)) }
        close(out)
        let final = "\(self.root)/\(relativePath)"
        let dir = (final as NSString).deletingLastPathComponent
        do {
            try Spool.makeDirectory(dir)
        } catch {
            unlink(tmpPath)
            throw error
        }
        guard rename(tmpPath, final) == 0 else {
            let e = errno
            unlink(tmpPath)
            throw .io("rename into \(final)", e)
        }
        Spool.syncDirectory(dir)
        return SpooledFile(relativePath: relativePath, sha256: hasher.finalize().hexString, size: size)
    }

    /// Removes an application's folder and everything in it; missing files are fine (idempotent).
    func removeApplicationFolder(_ folder: String) {
        let dir = "\(self.root)/\(folder)"
        if let names = try? FileManager.default.contentsOfDirectory(atPath: dir) {
            for name in names { unlink("\(dir)/\(name)") }
        }
        rmdir(dir)
        Spool.syncDirectory(self.root)
    }

    func remove(_ relativePath: String) {
        unlink("\(self.root)/\(relativePath)")
    }

    /// SHA-256 and size of a spooled file, or nil if it is missing.
    func measure(_ relativePath: String) -> (sha256: String, size: Int)? {
        let fd = open("\(self.root)/\(relativePath)", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var hasher = SHA256Stream()
        var size = 0
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let n = read(fd, buffer.baseAddress, buffer.count)
            if n < 0, errno == EINTR { continue }
            if n <= 0 { break }
            size += n
            hasher.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        }
        return (hasher.finalize().hexString, size)
    }

    /// Every file below the root (relative paths), excluding the temp folder.
    func allFiles() -> [String] {
        var out: [String] = []
        for folder in (try? FileManager.default.contentsOfDirectory(atPath: self.root)) ?? [] where folder != ".tmp" {
            let dir = "\(self.root)/\(folder)"
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir) else { continue }
            if !isDir.boolValue {
                out.append(folder)
                continue
            }
            for name in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] {
                out.append("\(folder)/\(name)")
            }
        }
        return out
    }

    func tempFiles() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: self.tmp)) ?? []).map { "\(self.tmp)/\($0)" }
    }

    /// Bytes available to unprivileged writers on the spool's file system (`statvfs`).
    func freeBytes() -> Int? {
        var s = statvfs()
        guard statvfs(self.root, &s) == 0 else { return nil }
        return Int(s.f_bavail) * Int(s.f_frsize)
    }
}

/// Crash-safe replacement of one file: temp file in the same folder, fsync, rename, folder fsync.
public enum DurableFile {
    public static func write(_ data: Data, to path: String, mode: mode_t = 0o600) throws(StoreError) {
        let dir = (path as NSString).deletingLastPathComponent
        let tmp = "\(dir.isEmpty ? "." : dir)/.\((path as NSString).lastPathComponent).\(getpid()).part"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard fd >= 0 else { throw .io("create \(tmp)", errno) }
        var failure: Int32 = 0
        if fchmod(fd, mode) != 0 { failure = errno }
        if failure == 0 {
            failure = data.withUnsafeBytes { raw -> Int32 in
                var off = 0
                while off < raw.count {
                    let n = Glibc.write(fd, raw.baseAddress! + off, raw.count - off)
                    if n < 0 { if errno == EINTR { continue }; return errno }
                    off += n
                }
                return fsync(fd) == 0 ? 0 : errno
            }
        }
        close(fd)
        if failure == 0, rename(tmp, path) != 0 { failure = errno }
        guard failure == 0 else {
            unlink(tmp)
            throw failure == ENOSPC ? .diskFull : .io("write \(path)", failure)
        }
        Spool.syncDirectory(dir)
    }
}
