#if canImport(Glibc)
import Glibc
#endif
import Foundation
import KioskCore

/// A credential file (the Dinas token), read the same way by kioskd and kioskctl: refused, as ssh refuses a private
/// key, when its group or others may read or write it, with the `chmod 600` to run. The mode is taken from the open
/// file itself, so the check and the read see the same file.
public enum SecretFile {
    /// The token, trimmed. `what` names the file in messages ("berkas token" / "the token file").
    public static func read(_ path: String, what: (id: String, en: String) = ("berkas token", "the token file"),
                            maxBytes: Int = 4096) throws(ControlError) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else {
            throw ControlError("no_input", id: "Tidak dapat membaca \(what.id) \(path).", en: "Cannot read \(what.en) \(path).", exit: 66)
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            throw ControlError("no_input", id: "\(what.id.capitalizedFirst) \(path) bukan berkas biasa.",
                               en: "\(what.en.capitalizedFirst) \(path) is not a regular file.", exit: 66)
        }
        let mode = Int(info.st_mode) & 0o777
        if mode & 0o077 != 0 {
            let octal = String(mode, radix: 8)
            let shown = path.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "/._-+@:".contains($0)) })
                ? path : "'" + path.replacingOccurrences(of: "'", with: "'\\''") + "'"
            throw ControlError(
                "insecure_permissions",
                id: "\(what.id.capitalizedFirst) \(path) dapat dibaca grup atau pengguna lain (mode 0\(octal)); ditolak. Jalankan: chmod 600 \(shown)",
                en: "\(what.en.capitalizedFirst) \(path) is accessible by group or others (mode 0\(octal)); refused. Run: chmod 600 \(shown)",
                exit: 77)
        }
        var buffer = [UInt8](repeating: 0, count: maxBytes + 1)
        let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, maxBytes + 1) }
        guard n >= 0, n <= maxBytes else {
            throw ControlError("no_input", id: "\(what.id.capitalizedFirst) \(path) tidak terbaca atau terlalu besar.",
                               en: "\(what.en.capitalizedFirst) \(path) is unreadable or too large.", exit: 66)
        }
        let text = String(decoding: buffer[0..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty else {
            throw ControlError("empty_token", id: "\(what.id.capitalizedFirst) \(path) kosong.", en: "\(what.en.capitalizedFirst) \(path) is empty.", exit: 65)
        }
        guard SafeText.firstUnsafe(in: text) == nil, !text.contains(where: \.isWhitespace) else {
            throw ControlError("bad_token", id: "\(what.id.capitalizedFirst) \(path) tidak berisi token yang sah.",
                               en: "\(what.en.capitalizedFirst) \(path) holds no valid token.", exit: 65)
        }
        return text
    }
}

extension String {
    fileprivate var capitalizedFirst: String { self.prefix(1).uppercased() + self.dropFirst() }
}
