// Attachment files on disk: temp file, fsync, rename, directory fsync (architecture.md, "Data").
#if canImport(Glibc)
@preconcurrency import Glibc
#elseif canImport(Musl)
@preconcurrency import Musl
#endif
import Foundation
import KioskSecurity

/// An attachment source opened and checked by `Spool.openSource`; closed when released.
final class SourceFile {
    let fd: Int32
    let path: String
    let size: Int

    init(fd: Int32, path: String, size: Int) {
        self.fd = fd
        self.path = path
        self.size = size
    }

    deinit { close(self.fd) }
}

extension FileKind {
    /// The kind of a non-regular file from its `st_mode`; nil for a regular file.
    init?(mode: mode_t) {
        switch mode & S_IFMT {
        case S_IFREG: return nil
        case S_IFLNK: self = .symlink
        case S_IFDIR: self = .directory
        case S_IFIFO: self = .fifo
        case S_IFCHR, S_IFBLK: self = .device
        case S_IFSOCK: self = .socket
        default: self = .other
        }
    }
}

/// `DATA/spool.lock`: every writer holds it shared from its first spool file until its rows are committed (or
/// its files removed); the open-time sweep holds it exclusively, so it never sees a file a live writer may still
/// commit. Each hold opens its own descriptor: flock(2) locks belong to the open file description, so two holds
/// in one process must not share one.
struct SpoolLock: Sendable {
    let path: String

    private func descriptor() throws(StoreError) -> Int32 {
        let fd = open(self.path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .io("open \(self.path)", errno) }
        return fd
    }

    /// Runs `body` holding the lock shared (waits for a running sweep).
    func withShared<T>(_ body: () throws(StoreError) -> T) throws(StoreError) -> T {
        let fd = try self.descriptor()
        defer { close(fd) }
        while flock(fd, LOCK_SH) != 0 {
            guard errno == EINTR else { throw .io("flock \(self.path)", errno) }
        }
        return try body()
    }

    /// Runs `body` holding the lock exclusively, or returns nil if writers kept it for all `attempts` (a few
    /// tries 10 ms apart: shared holders come and go, and a waiting exclusive lock could starve).
    func withExclusive<T>(attempts: Int = 5, _ body: () throws(StoreError) -> T) throws(StoreError) -> T? {
        let fd = try self.descriptor()
        defer { close(fd) }
        var tries = 0
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR else { throw .io("flock \(self.path)", errno) }
            tries += 1
            if tries >= attempts { return nil }
            usleep(10_000)
        }
        return try body()
    }
}

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

    /// `mkdir -p` with every created folder 0700.
    static func makeDirectories(_ path: String) throws(StoreError) {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue { return }
        let parent = (path as NSString).deletingLastPathComponent
        if !parent.isEmpty && parent != path { try Spool.makeDirectories(parent) }
        try Spool.makeDirectory(path)
    }

    static func syncDirectory(_ path: String) {
        let fd = open(path.isEmpty ? "." : path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        _ = fsync(fd)
        close(fd)
    }

    /// Opens an attachment for copying: `O_NOFOLLOW`, a regular file on a real file system, not empty. The
    /// descriptor is kept until the copy, so what was checked is what is copied.
    static func openSource(_ path: String) throws(StoreError) -> SourceFile {
        var lst = stat()
        guard lstat(path, &lst) == 0 else {
            let e = errno
            throw e == ENOENT || e == ENOTDIR ? .attachmentMissing(path: path) : .attachmentUnreadable(path: path, errno: e)
        }
        if let kind = FileKind(mode: lst.st_mode) { throw .attachmentNotRegular(path: path, kind: kind) }
        // O_NONBLOCK: a FIFO swapped in after lstat must not block the store; O_NOCTTY: never adopt a terminal.
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)
        guard fd >= 0 else {
            let e = errno
            switch e {
            case ELOOP: throw .attachmentNotRegular(path: path, kind: .symlink)
            case ENXIO: throw .attachmentNotRegular(path: path, kind: .socket)
            case ENOENT: throw .attachmentMissing(path: path)
            default: throw .attachmentUnreadable(path: path, errno: e)
            }
        }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let e = errno
            close(fd)
            throw .attachmentUnreadable(path: path, errno: e)
        }
        if let kind = FileKind(mode: st.st_mode) {
            close(fd)
            throw .attachmentNotRegular(path: path, kind: kind)
        }
        if let type = Spool.fileSystemType(fd), Spool.pseudoFileSystems.contains(type) {
            close(fd)
            throw .attachmentNotRegular(path: path, kind: .pseudoFile)
        }
        guard st.st_size > 0 else {
            close(fd)
            throw .attachmentEmpty(path: path)
        }
        return SourceFile(fd: fd, path: path, size: Int(st.st_size))
    }

    /// `f_type` of fstatfs(2). Glibc's Swift module does not export <sys/vfs.h>, so the function is looked up
    /// with dlsym; `f_type` is the first member of `struct statfs` (a `long` on 64-bit Linux).
    static func fileSystemType(_ fd: Int32) -> Int? {
        typealias FStatFS = @convention(c) (Int32, UnsafeMutableRawPointer) -> Int32
        guard MemoryLayout<Int>.size == 8, let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "fstatfs") else {
            return nil
        }
        let fstatfs = unsafeBitCast(symbol, to: FStatFS.self)
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: 512, alignment: 16)
        defer { buffer.deallocate() }
        guard fstatfs(fd, buffer) == 0 else { return nil }
        return buffer.load(as: Int.self)
    }

    /// Kernel file systems whose "regular files" are generated on read (proc, sysfs, debugfs, securityfs, cgroup,
    /// cgroup2, tracefs, configfs, bpf, efivarfs; statfs(2) magic numbers).
    static let pseudoFileSystems: Set<Int> = [
        0x9fa0, 0x6265_6572, 0x6462_6720, 0x7363_6673, 0x27e0eb, 0x6367_7270, 0x7472_6163, 0x6265_6570,
        0xcafe_4a11, 0xde5e_81e4,
    ]

    /// Copies an opened source into the spool as `relativePath`, hashing as it goes; refuses more than `maxBytes`
    /// and never replaces an existing file.
    func store(copying source: SourceFile, as relativePath: String, maxBytes: Int) throws(StoreError) -> SpooledFile {
        let file = try self.write(as: relativePath, maxBytes: maxBytes, label: source.path, replace: false) { buffer in
            while true {
                let n = read(source.fd, buffer.baseAddress, buffer.count)
                if n < 0, errno == EINTR { continue }
                if n < 0 { return -Int(errno) }
                return n
            }
        }
        if file.size == 0 {
            self.remove(file.relativePath)
            throw .attachmentEmpty(path: source.path)
        }
        return file
    }

    /// Writes in-memory bytes (e.g. a scanned page) into the spool.
    func store(data: Data, as relativePath: String, maxBytes: Int, label: String, replace: Bool = true)
        throws(StoreError) -> SpooledFile
    {
        var offset = 0
        return try self.write(as: relativePath, maxBytes: maxBytes, label: label, replace: replace) { buffer in
            let n = min(buffer.count, data.count - offset)
            data.copyBytes(to: buffer.bindMemory(to: UInt8.self), from: offset..<(offset + n))
            offset += n
            return n
        }
    }

    /// The durable write: temp file (0600 whatever the umask, O_EXCL, named after this process) → fsync → rename
    /// (or, with `replace: false`, link + unlink, which never replaces a file) into the folder → fsync folder.
    private func write(
        as relativePath: String, maxBytes: Int, label: String, replace: Bool,
        _ next: (UnsafeMutableRawBufferPointer) -> Int
    ) throws(StoreError) -> SpooledFile {
        let tmpPath = "\(self.tmp)/\(getpid())-\(UUID().uuidString.lowercased()).part"
        let out = open(tmpPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard out >= 0 else { throw .io("create \(tmpPath)", errno) }
        guard fchmod(out, 0o600) == 0 else {
            let e = errno
            close(out)
            unlink(tmpPath)
            throw .io("chmod \(tmpPath)", e)
        }
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
        if replace {
            guard rename(tmpPath, final) == 0 else {
                let e = errno
                unlink(tmpPath)
                throw .io("rename into \(final)", e)
            }
        } else {
            guard link(tmpPath, final) == 0 else {
                let e = errno
                unlink(tmpPath)
                throw .io("link into \(final)", e)
            }
            unlink(tmpPath)
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

    /// Names in the temp folder (partial writes `*.part`, in-flight markers `*.intent`).
    func tempNames() -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: self.tmp)) ?? []
    }

    /// Entries below the root other than the temp folder: what a store with a new database must not have.
    func entryCount() -> Int {
        ((try? FileManager.default.contentsOfDirectory(atPath: self.root)) ?? []).filter { $0 != ".tmp" }.count
    }

    /// Marks `folder` as being written by a live submission (`.tmp/<folder>.intent`, O_EXCL): the sweep may then
    /// prove that files in a folder no row references are the store's own, left by a crash before the commit.
    func beginFolder(_ folder: String) throws(StoreError) {
        let marker = "\(self.tmp)/\(folder).intent"
        let fd = open(marker, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            if errno == EEXIST { throw .alreadySubmitted(folder) }
            throw .io("create \(marker)", errno)
        }
        // The writer's pid, so a later submit of the same id can tell a crashed writer's marker from a live one.
        let pid = Array("\(getpid())\n".utf8)
        _ = pid.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        close(fd)
        // Not fsynced: a marker lost to a power cut only means the sweep quarantines instead of removing.
        if mkdir("\(self.root)/\(folder)", 0o700) != 0 {
            let e = errno
            unlink(marker)
            throw e == EEXIST ? .alreadySubmitted(folder) : .io("mkdir \(self.root)/\(folder)", e)
        }
        _ = chmod("\(self.root)/\(folder)", 0o700)
        Spool.syncDirectory(self.root)
    }

    /// Marks an existing application folder as being written (a resubmission): the same `.intent` marker as
    /// `beginFolder`, without creating the folder. A marker left by a writer that died is taken over.
    func beginExistingFolder(_ folder: String) throws(StoreError) {
        let marker = "\(self.tmp)/\(folder).intent"
        for _ in 0..<2 {
            let fd = open(marker, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            if fd >= 0 {
                let pid = Array("\(getpid())\n".utf8)
                _ = pid.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
                close(fd)
                return
            }
            guard errno == EEXIST else { throw .io("create \(marker)", errno) }
            guard self.markerOwnerIsDead(folder) else { throw .alreadySubmitted(folder) }
            unlink(marker)
        }
        throw .alreadySubmitted(folder)
    }

    /// True when `folder`'s intent marker names a process that no longer exists: a writer that crashed between
    /// its first file and its commit. Only the caller, knowing that no application row exists, may then clear it.
    func markerOwnerIsDead(_ folder: String) -> Bool {
        guard let text = try? String(contentsOfFile: "\(self.tmp)/\(folder).intent", encoding: .utf8),
              let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 0
        else { return false }
        return kill(pid, 0) != 0 && errno == ESRCH
    }

    func endFolder(_ folder: String) {
        unlink("\(self.tmp)/\(folder).intent")
    }

    /// Moves `relativePath` (a file or folder below the root, or `.tmp/...`) to `destination/relativePath`,
    /// creating 0700 folders on the way. Returns false if it was already gone.
    @discardableResult
    func quarantine(_ relativePath: String, to destination: String) throws(StoreError) -> Bool {
        let target = "\(destination)/\(relativePath)"
        try Spool.makeDirectories((target as NSString).deletingLastPathComponent)
        guard rename("\(self.root)/\(relativePath)", target) == 0 else {
            if errno == ENOENT { return false }
            throw .io("move \(relativePath) to quarantine", errno)
        }
        Spool.syncDirectory((target as NSString).deletingLastPathComponent)
        return true
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
