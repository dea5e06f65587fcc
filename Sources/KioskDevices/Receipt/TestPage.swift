import Foundation
import KioskCore

/// The printer test page (`kioskctl printer test`, offline or through kioskd): a heading, the kiosk, the time and
/// a QR code, so a staff member sees text and fine detail come out.
public enum TestPage {
    public static func pdf(kiosk: String?, at date: Date = Date()) -> Data {
        var pdf = PDFDocument()
        pdf.text("HALAMAN UJI / TEST PAGE", x: 56, y: 780, size: 18, bold: true)
        pdf.text("Kios Pelayanan Adminduk Daring" + (kiosk.map { " — \($0)" } ?? ""), x: 56, y: 750)
        pdf.text("Dicetak / printed \(KioskJSON.timestamp(date))", x: 56, y: 730)
        if let qr = QRCode("kiosk test page") { pdf.qr(qr, x: 56, y: 560, side: 140) }
        return pdf.data()
    }
}
