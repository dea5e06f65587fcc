#if canImport(Glibc)
import Glibc
#endif
import Foundation
import KioskCore

/// A credential file (the Dinas token): refused, as ssh refuses a private key, when its group or others may read
/// or write it. The mode is taken from the open file itself, so the check and the read see the same file.
public enum SecretFile {
    public static func read(_ path: String, maxBytes: Int = 4096) throws(ControlError) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else {
            throw ControlError("no_input", id: "Tidak dapat membaca \(path).", en: "Cannot read \(path).", exit: 66)
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            throw ControlError("no_input", id: "\(path) bukan berkas biasa.", en: "\(path) is not a regular file.", exit: 66)
        }
        let mode = Int(info.st_mode) & 0o777
        guard mode & 0o077 == 0 else {
            let octal = String(mode, radix: 8)
            throw ControlError("insecure_permissions",
                               id: "\(path) dapat dibaca grup atau pengguna lain (mode 0\(octal)); ditolak. Jalankan: chmod 600 \(path)",
                               en: "\(path) is accessible by group or others (mode 0\(octal)); refused. Run: chmod 600 \(path)", exit: 77)
        }
        var buffer = [UInt8](repeating: 0, count: maxBytes + 1)
        let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, maxBytes + 1) }
        guard n >= 0, n <= maxBytes else {
            throw ControlError("no_input", id: "\(path) tidak terbaca atau terlalu besar.", en: "\(path) is unreadable or too large.", exit: 66)
        }
        let text = String(decoding: buffer[0..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty, SafeText.firstUnsafe(in: text) == nil, !text.contains(" ") else {
            throw ControlError("bad_token", id: "\(path) tidak berisi token yang sah.", en: "\(path) holds no valid token.", exit: 78)
        }
        return text
    }
}
