import Foundation
import KioskCore
import KioskDevices
import Testing

/// A driverless printer that accepts only PWG raster and Apple raster (`ippeveprinter -f image/pwg-raster,image/urf`,
/// the second printer of Hardware/printer/start-test-printer.sh), as most cheap IPP Everywhere printers do. The
/// kiosk prints PDFs; CUPS must turn them into raster (cups-filters' pdftopdf and gstoraster, cups' rastertopwg).
/// Without those filters the job is refused with "Unsupported document-format application/pdf" and this fails.
extension RealPrinter {
@Suite(.timeLimit(.minutes(2))) struct RasterPrinterTests {
    let t: TestPrinter

    init() throws {
        self.t = try #require(TestPrinter.shared, "the test printer could not start")
    }

    @Test func aPDFPrintsOnAPrinterThatTakesOnlyRaster() async throws {
        let printer = try await CUPSPrinter(queue: t.rasterQueue, server: t.server)
        // The simulated printer really offers no PDF: the test means something only if it refuses application/pdf.
        let uri = try #require(t.rasterURI, "start-test-printer.sh wrote no KIOSK_TEST_RASTER_IPP_URI")
        let formats = try sh(["ipptool", "-tv", uri, "get-printer-attributes.test"]).out
        let supported = formats.split(separator: "\n").first { $0.contains("document-format-supported") } ?? ""
        #expect(supported.contains("image/urf") && supported.contains("image/pwg-raster"), "\(supported)")
        #expect(!supported.contains("application/pdf"), "\(supported)")

        let before = t.rasterPrinted.count
        let outcome = try await printer.print(path: try samplePDF("Uji printer raster / raster printer test"),
                                              title: "raster test", timeout: 60)
        #expect(outcome.printed, "\(outcome)")
        #expect(outcome.finalState == "completed")
        let received = t.rasterPrinted
        try #require(received.count == before + 1, "the raster printer received \(received.count - before) documents")
        // What reached the printer is raster, not the PDF: Apple raster starts "UNIRAST", PWG raster "RaS2".
        let head = try #require(FileHandle(forReadingAtPath: received.last!)).readData(ofLength: 8)
        let magic = String(decoding: head.prefix(7), as: UTF8.self)
        #expect(magic == "UNIRAST" || magic.hasPrefix("RaS2"), "the printer got \(head.map { String(format: "%02x", $0) }.joined())")
    }
}
}
