// The only file that touches libqrencode.
import CQREncode

/// A QR code as a square matrix of dark (true) and light modules.
public struct QRCode: Hashable, Sendable {
    public let size: Int
    public let modules: [Bool]

    /// Encodes text at error-correction level M (8-bit mode).
    public init?(_ text: String) {
        guard let qr = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1) else { return nil }
        defer { QRcode_free(qr) }
        let w = Int(qr.pointee.width)
        let data = UnsafeBufferPointer(start: qr.pointee.data, count: w * w)
        self.size = w
        self.modules = data.map { $0 & 1 == 1 }
    }

    public func isDark(x: Int, y: Int) -> Bool { self.modules[y * self.size + x] }
}
