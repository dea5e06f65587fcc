import Foundation

/// An 8-bit image in memory: gray (1 channel) or RGB (3), rows top to bottom.
public struct RasterImage: Sendable, Equatable {
    public var width: Int
    public var height: Int
    public var channels: Int
    public var pixels: [UInt8]

    public init(width: Int, height: Int, channels: Int, pixels: [UInt8]) {
        precondition(channels == 1 || channels == 3)
        precondition(pixels.count == width * height * channels)
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
    }

    /// Luminance at (x, y), 0 black … 255 white.
    @inlinable public func luma(_ x: Int, _ y: Int) -> Int {
        let i = (y * self.width + x) * self.channels
        if self.channels == 1 { return Int(self.pixels[i]) }
        return (Int(self.pixels[i]) * 299 + Int(self.pixels[i + 1]) * 587 + Int(self.pixels[i + 2]) * 114) / 1000
    }

    /// A box-filtered copy scaled down by an integer `factor` (2 halves each side).
    public func downscaled(by factor: Int) -> RasterImage {
        guard factor > 1 else { return self }
        let w = max(1, self.width / factor), h = max(1, self.height / factor)
        var out = [UInt8](repeating: 0, count: w * h * self.channels)
        let area = factor * factor
        self.pixels.withUnsafeBufferPointer { src in
            for y in 0..<h {
                for x in 0..<w {
                    for c in 0..<self.channels {
                        var sum = 0
                        for dy in 0..<factor {
                            let row = ((y * factor + dy) * self.width + x * factor) * self.channels + c
                            for dx in 0..<factor { sum += Int(src[row + dx * self.channels]) }
                        }
                        out[(y * w + x) * self.channels + c] = UInt8(sum / area)
                    }
                }
            }
        }
        return RasterImage(width: w, height: h, channels: self.channels, pixels: out)
    }

    /// A luminance thumbnail that fits in `maxWidth` × `maxHeight` (aspect kept, nearest sampling).
    public func thumbnail(maxWidth: Int, maxHeight: Int) -> RasterImage {
        let scale = min(Double(maxWidth) / Double(self.width), Double(maxHeight) / Double(self.height), 1)
        let w = max(1, Int(Double(self.width) * scale)), h = max(1, Int(Double(self.height) * scale))
        var out = [UInt8](repeating: 0, count: w * h)
        for y in 0..<h {
            let sy = min(self.height - 1, Int(Double(y) / scale))
            for x in 0..<w { out[y * w + x] = UInt8(self.luma(min(self.width - 1, Int(Double(x) / scale)), sy)) }
        }
        return RasterImage(width: w, height: h, channels: 1, pixels: out)
    }

    public enum PNMError: Error, Equatable { case notPNM, unsupported(String), truncated }

    /// Parses binary PNM as scanimage writes it: P5 (gray) or P6 (RGB), maxval 255. (P4 lineart and 16-bit depth
    /// are refused: the kiosk scans 8-bit gray or color.)
    public static func pnm(_ data: Data) throws(PNMError) -> RasterImage {
        var fields: [Int] = []
        var magic = ""
        var i = data.startIndex
        func skipSpaceAndComments() {
            while i < data.endIndex {
                if data[i] == UInt8(ascii: "#") {
                    while i < data.endIndex, data[i] != 10 { i += 1 }
                } else if data[i] == 32 || data[i] == 9 || data[i] == 10 || data[i] == 13 {
                    i += 1
                } else { return }
            }
        }
        guard data.count > 2, data[i] == UInt8(ascii: "P") else { throw .notPNM }
        magic = String(UnicodeScalar(data[i + 1]))
        i += 2
        guard magic == "5" || magic == "6" else { throw .unsupported("P\(magic)") }
        while fields.count < 3 {
            skipSpaceAndComments()
            var n = 0
            var digits = 0
            while i < data.endIndex, (48...57).contains(data[i]) {
                n = n * 10 + Int(data[i] - 48)
                digits += 1
                i += 1
                guard n < 1 << 20 else { throw .unsupported("dimension") }
            }
            guard digits > 0 else { throw .notPNM }
            fields.append(n)
        }
        guard i < data.endIndex else { throw .truncated }
        i += 1  // the single whitespace after maxval
        let (w, h, maxval) = (fields[0], fields[1], fields[2])
        guard maxval == 255 else { throw .unsupported("maxval \(maxval)") }
        guard w > 0, h > 0 else { throw .notPNM }
        let channels = magic == "5" ? 1 : 3
        let count = w * h * channels
        guard data.endIndex - i >= count else { throw .truncated }
        return RasterImage(width: w, height: h, channels: channels, pixels: [UInt8](data[i..<(i + count)]))
    }
}

/// How much is on a page: the kiosk refuses near-uniform pages (a blank sheet, a closed lid, a black frame).
public struct PageContent: Sendable, Equatable {
    /// Standard deviation of luminance over a sampled grid.
    public var deviation: Double
    /// Share of sampled cells that differ clearly (> 40 levels) from the page's median tone.
    public var inkRatio: Double

    public var isBlank: Bool { self.deviation < 6 || self.inkRatio < 0.002 }

    /// Samples about 250,000 pixels in 4×4 cells; a 5 % margin is ignored (scanner edges, shadows).
    public init(_ image: RasterImage) {
        let mx = image.width / 20, my = image.height / 20
        let x0 = mx, x1 = max(mx + 1, image.width - mx), y0 = my, y1 = max(my + 1, image.height - my)
        let step = max(1, Int((Double((x1 - x0) * (y1 - y0)) / 250_000).squareRoot()))
        var histogram = [Int](repeating: 0, count: 256)
        var n = 0, sum = 0.0, sumSquares = 0.0
        var y = y0
        while y < y1 {
            var x = x0
            while x < x1 {
                let v = image.luma(x, y)
                histogram[v] += 1
                sum += Double(v)
                sumSquares += Double(v * v)
                n += 1
                x += step
            }
            y += step
        }
        guard n > 0 else { self.deviation = 0; self.inkRatio = 0; return }
        let mean = sum / Double(n)
        self.deviation = max(0, sumSquares / Double(n) - mean * mean).squareRoot()
        var seen = 0, median = 0
        for (v, c) in histogram.enumerated() {
            seen += c
            if seen * 2 >= n { median = v; break }
        }
        var far = 0
        for (v, c) in histogram.enumerated() where abs(v - median) > 40 { far += c }
        self.inkRatio = Double(far) / Double(n)
    }
}

extension RasterImage: CustomStringConvertible {
    /// Dimensions only: test failures and logs must not dump megabytes of pixels.
    public var description: String { "RasterImage(\(self.width)×\(self.height)×\(self.channels))" }
}
