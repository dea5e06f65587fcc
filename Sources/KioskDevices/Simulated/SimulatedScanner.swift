import Foundation
import Synchronization

/// A scanner for the demo and flow tests: draws a page with a frame, lines of "text" and the page number, runs it
/// through the same checks and encoding as a real scan, and can be told to fail like SANE does.
public final class SimulatedScanner: Scanner {
    public let settings: ScanSettings
    private let state = Mutex<(failure: ScanError?, blank: Bool, feederPages: Int)>((nil, false, 3))

    public init(settings: ScanSettings = ScanSettings()) {
        self.settings = settings
    }

    /// The next scans fail with `error` (nil: succeed again).
    public func fail(with error: ScanError?) { self.state.withLock { $0.failure = error } }
    /// The next scans produce blank pages (a document placed face up).
    public func produceBlankPages(_ blank: Bool) { self.state.withLock { $0.blank = blank } }
    /// How many sheets the simulated feeder holds.
    public func loadFeeder(pages: Int) { self.state.withLock { $0.feederPages = pages } }

    public func devices() async throws(ScanError) -> [ScannerDevice] {
        [ScannerDevice(name: "simulated:0", vendor: "Kiosk", model: "Simulated scanner", type: "virtual device")]
    }

    public func scan(_ request: ScanRequest, into directory: String, events: @escaping @Sendable (ScanEvent) -> Void)
        async throws(ScanError) -> [ScannedPage]
    {
        let (failure, blank, feeder) = self.state.withLock { ($0.failure, $0.blank, $0.feederPages) }
        if let failure { throw failure }
        let count = request.source == .feeder ? feeder : max(1, request.expectedPages ?? 1)
        if count == 0 { throw .device(.noDocuments, detail: "simulated feeder empty") }
        let staging = try ScanStaging(directory: directory)
        var pages: [ScannedPage] = []
        do throws(ScanError) {
            for n in 1...count {
                if Task.isCancelled { throw .cancelled }
                events(.started(page: n))
                let image = Self.page(n, blank: blank)
                for percent in stride(from: 25.0, through: 100, by: 25) { events(.progress(page: n, percent: percent)) }
                let encoded = try PageProcessor.process(image, page: n, settings: self.settings)
                let path = try staging.stage(n, encoded.data, ext: self.settings.fileExtension)
                pages.append(ScannedPage(number: n, path: path, bytes: encoded.data.count, width: encoded.width,
                                         height: encoded.height, checks: encoded.checks, thumbnail: encoded.thumbnail))
                events(.pageDone(page: n))
            }
            if let expected = request.expectedPages, expected != pages.count {
                throw .pageCount(expected: expected, scanned: pages.count)
            }
            return try staging.commit(pages, ext: self.settings.fileExtension)
        } catch {
            staging.discard()
            throw error
        }
    }

    /// A 100-dpi A5-ish gray page: white, a dark frame, text-like bars, a block per page number.
    static func page(_ n: Int, blank: Bool) -> RasterImage {
        let w = 580, h = 820
        var px = [UInt8](repeating: 245, count: w * h)
        if !blank {
            func fill(_ x0: Int, _ y0: Int, _ x1: Int, _ y1: Int, _ v: UInt8) {
                for y in max(0, y0)..<min(h, y1) { for x in max(0, x0)..<min(w, x1) { px[y * w + x] = v } }
            }
            fill(40, 40, w - 40, 44, 30); fill(40, h - 44, w - 40, h - 40, 30)
            fill(40, 40, 44, h - 40, 30); fill(w - 44, 40, w - 40, h - 40, 30)
            var y = 100
            var seed = UInt32(n * 7919)
            while y < h - 100 {
                seed = seed &* 1_103_515_245 &+ 12345
                fill(70, y, 70 + 200 + Int(seed % 260), y + 10, 50)
                y += 28
            }
            for i in 0..<n { fill(70 + i * 30, 60, 90 + i * 30, 80, 0) }
        }
        return RasterImage(width: w, height: h, channels: 1, pixels: px)
    }
}
