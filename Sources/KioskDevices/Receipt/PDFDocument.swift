import Foundation

/// A minimal PDF writer: A4 pages, the standard Helvetica fonts (WinAnsi), text, lines and filled rectangles.
/// Enough for receipts and test pages without any external renderer.
public struct PDFDocument: Sendable {
    public static let a4 = (width: 595.0, height: 842.0)
    private var pages: [String] = []
    private var current = ""

    public init() {}

    /// Text converted to what WinAnsi Helvetica can show: Latin-1 kept, common symbols transliterated.
    static func escape(_ text: String) -> [UInt8] {
        var out: [UInt8] = []
        for ch in text {
            let replacement: String? = ["–": "-", "—": "-", "→": "->", "≤": "<=", "≥": ">=", "“": "\"", "”": "\"",
                                        "‘": "'", "’": "'", "…": "...", "•": "-"][ch]
            for scalar in (replacement ?? String(ch)).unicodeScalars {
                let v = scalar.value
                let b: UInt8 = v < 32 ? 32 : (v <= 255 ? UInt8(v) : UInt8(ascii: "?"))
                if b == UInt8(ascii: "(") || b == UInt8(ascii: ")") || b == UInt8(ascii: "\\") { out.append(UInt8(ascii: "\\")) }
                out.append(b)
            }
        }
        return out
    }

    public mutating func text(_ s: String, x: Double, y: Double, size: Double = 11, bold: Bool = false) {
        self.current += "BT /\(bold ? "F2" : "F1") \(fmt(size)) Tf \(fmt(x)) \(fmt(y)) Td ("
        self.raw(PDFDocument.escape(s))
        self.current += ") Tj ET\n"
    }

    private var rawBytes: [Int: [UInt8]] = [:]

    private mutating func raw(_ bytes: [UInt8]) {
        // Bytes > 127 are kept exact by storing a placeholder resolved at serialisation time.
        let key = self.rawBytes.count
        self.rawBytes[key] = bytes
        self.current += "\u{1}\(key)\u{2}"
    }

    public mutating func rect(x: Double, y: Double, width: Double, height: Double) {
        self.current += "\(fmt(x)) \(fmt(y)) \(fmt(width)) \(fmt(height)) re f\n"
    }

    public mutating func line(x1: Double, y1: Double, x2: Double, y2: Double, width: Double = 0.8) {
        self.current += "\(fmt(width)) w \(fmt(x1)) \(fmt(y1)) m \(fmt(x2)) \(fmt(y2)) l S\n"
    }

    /// Draws a QR code with its quiet zone, `side` points wide, lower-left corner at (x, y).
    public mutating func qr(_ code: QRCode, x: Double, y: Double, side: Double) {
        let module = side / Double(code.size + 8)
        for row in 0..<code.size {
            for col in 0..<code.size where code.isDark(x: col, y: row) {
                self.rect(x: x + Double(col + 4) * module, y: y + side - Double(row + 5) * module, width: module, height: module)
            }
        }
    }

    public mutating func newPage() {
        self.pages.append(self.current)
        self.current = ""
    }

    private func resolve(_ content: String) -> [UInt8] {
        var out: [UInt8] = []
        var scalars = Array(content.unicodeScalars)[...]
        while let s = scalars.first {
            scalars = scalars.dropFirst()
            if s == "\u{1}" {
                var digits = ""
                while let d = scalars.first, d != "\u{2}" { digits.unicodeScalars.append(d); scalars = scalars.dropFirst() }
                scalars = scalars.dropFirst()
                out += self.rawBytes[Int(digits)!] ?? []
            } else {
                out += Array(String(s).utf8)
            }
        }
        return out
    }

    /// The finished PDF bytes.
    public func data() -> Data {
        let pageContents = (self.pages + (self.current.isEmpty && !self.pages.isEmpty ? [] : [self.current])).map(self.resolve)
        var objects: [[UInt8]] = []
        let pageCount = pageContents.count
        let fontF1 = 3 + pageCount * 2, fontF2 = fontF1 + 1
        objects.append(Array("<< /Type /Catalog /Pages 2 0 R >>".utf8))
        let kids = (0..<pageCount).map { "\(3 + $0 * 2) 0 R" }.joined(separator: " ")
        objects.append(Array("<< /Type /Pages /Kids [\(kids)] /Count \(pageCount) >>".utf8))
        for (i, content) in pageContents.enumerated() {
            objects.append(Array("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents \(4 + i * 2) 0 R /Resources << /Font << /F1 \(fontF1) 0 R /F2 \(fontF2) 0 R >> >> >>".utf8))
            objects.append(Array("<< /Length \(content.count) >>\nstream\n".utf8) + content + Array("\nendstream".utf8))
        }
        objects.append(Array("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>".utf8))
        objects.append(Array("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>".utf8))
        var out = Array("%PDF-1.4\n%\u{e2}\u{e3}\n".utf8)
        var offsets: [Int] = []
        for (i, o) in objects.enumerated() {
            offsets.append(out.count)
            out += Array("\(i + 1) 0 obj\n".utf8) + o + Array("\nendobj\n".utf8)
        }
        let xref = out.count
        out += Array("xref\n0 \(objects.count + 1)\n0000000000 65535 f \n".utf8)
        for o in offsets { out += Array(String(format: "%010d 00000 n \n", o).utf8) }
        out += Array("trailer\n<< /Size \(objects.count + 1) /Root 1 0 R >>\nstartxref\n\(xref)\n%%EOF\n".utf8)
        return Data(out)
    }
}

private func fmt(_ v: Double) -> String { String(format: "%.2f", v) }
