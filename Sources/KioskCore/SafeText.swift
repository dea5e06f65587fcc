/// The one classification of characters that must never reach a terminal or a stored field unchecked:
/// C0 controls, DEL, C1 controls (which include the 8-bit CSI/OSC introducers), bidi overrides and isolates,
/// and zero-width characters. Used where text enters (residents' input, the Dinas, config bundles, devices) and
/// where it leaves for a terminal (kioskctl output, sync's stderr, the UI's `TerminalText.clean`).
public enum SafeText {
    /// True for a scalar that is never allowed in stored text or terminal output.
    public static func isUnsafe(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x1F, 0x7F...0x9F: return true
        case 0x200B...0x200F, 0x202A...0x202E, 0x2060...0x2069, 0xFEFF: return true
        default: return false
        }
    }

    /// The first unsafe scalar in `text`, if any (`allowNewlines` lets multi-line fields keep `\n`).
    public static func firstUnsafe(in text: String, allowNewlines: Bool = false) -> Unicode.Scalar? {
        text.unicodeScalars.first { self.isUnsafe($0) && !(allowNewlines && $0 == "\n") }
    }

    /// `text` with every unsafe scalar removed; tabs and line breaks become spaces unless `allowNewlines` keeps `\n`.
    public static func strip(_ text: String, allowNewlines: Bool = false) -> String {
        var out = String.UnicodeScalarView()
        for s in text.unicodeScalars {
            if allowNewlines && s == "\n" { out.append(s); continue }
            if s == "\t" || s == "\n" || s == "\r" { out.append(" "); continue }
            if self.isUnsafe(s) { continue }
            out.append(s)
        }
        return String(out)
    }

    /// For printing untrusted text on a terminal line (kioskctl, logs): unsafe scalars are shown as `\u{…}` so
    /// staff can see that something was there, and nothing is interpreted by the terminal.
    public static func visible(_ text: String) -> String {
        var out = ""
        for s in text.unicodeScalars {
            if self.isUnsafe(s) {
                out += "\\u{" + String(s.value, radix: 16, uppercase: true) + "}"
            } else {
                out.unicodeScalars.append(s)
            }
        }
        return out
    }
}
