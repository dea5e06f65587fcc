import KioskCore

/// Makes text from configuration, the Dinas or devices safe for the terminal: no control or escape characters
/// (C0, DEL, C1, ESC sequences lose their ESC), no bidi overrides or zero-width tricks, and one column per
/// character (wide and combining characters are replaced or dropped) so layout cannot be pushed around.
public enum TerminalText {
    public static func clean(_ s: String) -> String {
        var out = ""
        out.unicodeScalars.reserveCapacity(s.unicodeScalars.count)
        for ch in s {
            guard let scalar = ch.unicodeScalars.first else { continue }
            let v = scalar.value
            switch v {
            case 0x09, 0x0A, 0x0D: out.append(" ")
            default:
                if SafeText.isUnsafe(scalar) { continue }
                if scalar.properties.generalCategory == .nonspacingMark || scalar.properties.generalCategory == .enclosingMark {
                    continue
                }
                out.unicodeScalars.append(isWide(v) ? "?" : scalar)
            }
        }
        return out
    }

    static func isWide(_ v: UInt32) -> Bool {
        (0x1100...0x115F).contains(v) || (0x2E80...0xA4CF).contains(v) || (0xAC00...0xD7A3).contains(v)
            || (0xF900...0xFAFF).contains(v) || (0xFE30...0xFE4F).contains(v) || (0xFF00...0xFF60).contains(v)
            || (0xFFE0...0xFFE6).contains(v) || (0x1F000...0x1FAFF).contains(v) || v >= 0x20000
    }

    /// Word-wraps cleaned text to `width` columns; words longer than a line are cut.
    public static func wrap(_ s: String, width: Int) -> [String] {
        guard width > 0 else { return [] }
        var lines: [String] = []
        var line = ""
        for word in s.split(separator: " ", omittingEmptySubsequences: true) {
            var w = Substring(word)
            if line.isEmpty {
                while w.count > width {
                    lines.append(String(w.prefix(width)))
                    w = w.dropFirst(width)
                }
                line = String(w)
            } else if line.count + 1 + w.count <= width {
                line += " " + w
            } else {
                lines.append(line)
                line = ""
                while w.count > width {
                    lines.append(String(w.prefix(width)))
                    w = w.dropFirst(width)
                }
                line = String(w)
            }
        }
        if !line.isEmpty || lines.isEmpty { lines.append(line) }
        return lines
    }
}
