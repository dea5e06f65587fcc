import Foundation
import KioskCore

/// What a receipt (tanda terima) shows. It never carries protected personal data: no NIK, KK number or birth date.
public struct ReceiptContent: Sendable {
    public var dinasName: String
    public var kioskName: String
    public var serviceName: String
    public var trackingCode: TrackingCode
    public var submittedAt: Date
    public var utcOffset: UTCOffset
    public var timeZoneName: String
    public var requirements: [String]
    public var expected: [(product: String, due: String)]
    public var complaintChannels: [String]
    public var feeIDR: Int
    /// Encoded in the QR code: the tracking code, or a status URL containing it.
    public var qrText: String
    /// Who helped the resident (assisted mode), e.g. "Ibu Sari (Petugas desa)".
    public var assistedBy: String?

    public init(dinasName: String, kioskName: String, serviceName: String, trackingCode: TrackingCode, submittedAt: Date,
                utcOffset: UTCOffset, timeZoneName: String, requirements: [String], expected: [(product: String, due: String)],
                complaintChannels: [String], feeIDR: Int, qrText: String, assistedBy: String? = nil) {
        self.assistedBy = assistedBy
        self.dinasName = dinasName
        self.kioskName = kioskName
        self.serviceName = serviceName
        self.trackingCode = trackingCode
        self.submittedAt = submittedAt
        self.utcOffset = utcOffset
        self.timeZoneName = timeZoneName
        self.requirements = requirements
        self.expected = expected
        self.complaintChannels = complaintChannels
        self.feeIDR = feeIDR
        self.qrText = qrText
    }
}

/// Renders the tanda terima as a one-page A4 PDF in Bahasa Indonesia or English.
public enum ReceiptRenderer {
    public static func render(_ r: ReceiptContent, language: Language) -> Data {
        let en = language == .en
        var pdf = PDFDocument()
        let left = 56.0
        var y = 780.0
        func line(_ s: String, size: Double = 11, bold: Bool = false, gap: Double = 16) {
            pdf.text(s, x: left, y: y, size: size, bold: bold)
            y -= gap
        }
        line(en ? "APPLICATION RECEIPT" : "TANDA TERIMA PERMOHONAN", size: 16, bold: true, gap: 20)
        line(r.dinasName, size: 10)
        line((en ? "Kiosk: " : "Kios: ") + r.kioskName, size: 10, gap: 24)
        pdf.line(x1: left, y1: y + 12, x2: 539, y2: y + 12)
        line(en ? "Tracking code" : "Kode pelacakan", size: 10)
        line(r.trackingCode.formatted, size: 26, bold: true, gap: 30)
        line((en ? "Service: " : "Layanan: ") + r.serviceName)
        let stamp = r.utcOffset.timestamp(of: r.submittedAt)
        line((en ? "Submitted: " : "Diajukan: ") + "\(stamp) \(r.timeZoneName)")
        if let helper = r.assistedBy { line((en ? "Assisted by: " : "Dibantu oleh: ") + SafeText.visible(helper)) }
        line((en ? "Fee: Rp " : "Biaya: Rp ") + "\(r.feeIDR)" + (r.feeIDR == 0 ? (en ? " (free of charge)" : " (gratis)") : ""), gap: 22)
        line(en ? "Documents submitted:" : "Dokumen yang diserahkan:", bold: true)
        for req in r.requirements { line("  - " + req, size: 10, gap: 14) }
        y -= 8
        line(en ? "Expected completion:" : "Perkiraan selesai:", bold: true)
        if r.expected.isEmpty { line(en ? "  set by the Dinas" : "  ditetapkan oleh Dinas", size: 10, gap: 14) }
        for e in r.expected { line("  - \(e.product): \(e.due)", size: 10, gap: 14) }
        y -= 8
        line(en ? "Complaints:" : "Pengaduan:", bold: true)
        for ch in r.complaintChannels { line("  - " + ch, size: 10, gap: 14) }
        y -= 8
        line(en ? "Keep this receipt. Check the status at the kiosk with the tracking code or the QR code."
                : "Simpan tanda terima ini. Cek status di kios dengan kode pelacakan atau kode QR.", size: 9)
        if let qr = QRCode(r.qrText) { pdf.qr(qr, x: 400, y: 600, side: 140) }
        return pdf.data()
    }
}

/// What a complaint slip (bukti pengaduan) shows: the reference the resident quotes to follow it up, never the
/// complaint's text (it may name people) nor the contact number.
public struct ComplaintSlip: Sendable {
    public var dinasName: String
    public var kioskName: String
    public var reference: String
    public var category: String
    public var filedAt: Date
    public var utcOffset: UTCOffset
    public var timeZoneName: String
    public var complaintChannels: [String]

    public init(dinasName: String, kioskName: String, reference: String, category: String, filedAt: Date,
                utcOffset: UTCOffset, timeZoneName: String, complaintChannels: [String]) {
        self.dinasName = dinasName
        self.kioskName = kioskName
        self.reference = reference
        self.category = category
        self.filedAt = filedAt
        self.utcOffset = utcOffset
        self.timeZoneName = timeZoneName
        self.complaintChannels = complaintChannels
    }
}

extension ReceiptRenderer {
    /// The complaint slip as a one-page A4 PDF.
    public static func render(_ s: ComplaintSlip, language: Language) -> Data {
        let en = language == .en
        var pdf = PDFDocument()
        let left = 56.0
        var y = 780.0
        func line(_ t: String, size: Double = 11, bold: Bool = false, gap: Double = 16) {
            pdf.text(t, x: left, y: y, size: size, bold: bold)
            y -= gap
        }
        line(en ? "COMPLAINT SLIP" : "BUKTI PENGADUAN", size: 16, bold: true, gap: 20)
        line(s.dinasName, size: 10)
        line((en ? "Kiosk: " : "Kios: ") + s.kioskName, size: 10, gap: 24)
        pdf.line(x1: left, y1: y + 12, x2: 539, y2: y + 12)
        line(en ? "Complaint number" : "Nomor pengaduan", size: 10)
        line(s.reference, size: 26, bold: true, gap: 30)
        line((en ? "About: " : "Tentang: ") + s.category)
        line((en ? "Filed: " : "Diajukan: ") + "\(s.utcOffset.timestamp(of: s.filedAt)) \(s.timeZoneName)", gap: 22)
        line(en ? "The Dinas answers your complaint. To read the answer, choose Check status at the kiosk and type"
                : "Dinas akan menjawab pengaduan Anda. Untuk membaca jawabannya, pilih Cek Status di kios dan ketik", size: 10, gap: 14)
        line(en ? "the complaint number above." : "nomor pengaduan di atas.", size: 10, gap: 22)
        line(en ? "Other complaint channels:" : "Saluran pengaduan lain:", bold: true)
        for ch in s.complaintChannels { line("  - " + ch, size: 10, gap: 14) }
        if let qr = QRCode(s.reference) { pdf.qr(qr, x: 400, y: 600, side: 120) }
        return pdf.data()
    }
}
