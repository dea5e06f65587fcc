import Foundation
import KioskCore
import KioskDevices
import Testing

@Suite struct ReceiptTests {
    func content(_ code: TrackingCode) -> ReceiptContent {
        ReceiptContent(
            dinasName: "Dinas Kependudukan dan Pencatatan Sipil Kota Kupang", kioskName: "Kelurahan Oebobo",
            serviceName: "Akta Kelahiran", trackingCode: code, submittedAt: Date(timeIntervalSince1970: 1_790_000_000),
            utcOffset: UTCOffset("+08:00")!, timeZoneName: "WITA",
            requirements: ["surat kelahiran dari dokter/bidan", "KK orang tua"],
            expected: [("Kutipan Akta Kelahiran", "2026-10-21")],
            complaintChannels: ["Telepon kantor: (0296) 531078"], feeIDR: 0, qrText: code.formatted)
    }

    func tool(_ name: String) -> Bool { FileManager.default.isExecutableFile(atPath: "/usr/bin/\(name)") }

    @Test func receiptIsAValidPDFWithTheCodeAndAReadableQR() throws {
        var g = SystemRandomNumberGenerator()
        let code = TrackingCode(using: &g)
        let pdf = ReceiptRenderer.render(content(code), language: .id)
        #expect(pdf.starts(with: Data("%PDF-1.4".utf8)))
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("receipt-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try pdf.write(to: URL(fileURLWithPath: "\(dir)/r.pdf"))
        try #require(tool("pdftotext") && tool("pdftoppm") && tool("zbarimg"), "poppler-utils and zbar-tools are needed")
        let text = try sh(["pdftotext", "\(dir)/r.pdf", "-"])
        #expect(text.status == 0)
        #expect(text.out.contains(code.formatted))
        #expect(text.out.contains("TANDA TERIMA PERMOHONAN"))
        #expect(text.out.contains("Biaya: Rp 0 (gratis)"))
        #expect(text.out.contains("Kutipan Akta Kelahiran: 2026-10-21"))
        #expect(try sh(["pdftoppm", "-r", "150", "-png", "\(dir)/r.pdf", "\(dir)/page"]).status == 0)
        let qr = try sh(["zbarimg", "--raw", "-q", "\(dir)/page-1.png"])
        #expect(qr.out.split(separator: "\n").contains { $0 == code.formatted }, "\(qr.out)")
        try ReceiptRenderer.render(content(code), language: .en).write(to: URL(fileURLWithPath: "\(dir)/en.pdf"))
        #expect(try sh(["pdftotext", "\(dir)/en.pdf", "-"]).out.contains("APPLICATION RECEIPT"))
    }

    @Test func qrMatrixEncodesText() throws {
        let qr = try #require(QRCode("ABCD-EFGH"))
        #expect(qr.size >= 21)
        #expect(qr.modules.count == qr.size * qr.size)
        #expect(qr.isDark(x: 0, y: 0), "finder pattern corner")
    }

    @Test func simulatedPrinterFollowsTheSameRules() async throws {
        let p = SimulatedPrinter()
        let path = try samplePDF()
        #expect(try await p.print(path: path, title: "ok", poll: 0.01).printed)
        p.set(reason: "media-empty", true)
        await #expect(throws: PrinterError.self) { try await p.print(path: path, title: "x", poll: 0.01) }
        let during = try await p.print(path: path, title: "x", poll: 0.01, precheck: false)
        #expect(!during.printed)
        p.set(reason: "media-empty", false)
        #expect(try await p.print(path: path, title: "again", poll: 0.01).printed)
        #expect(p.printed.count == 2)
    }
}
