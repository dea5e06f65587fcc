import Foundation

/// Turns a scanned raster into a stored page: the blank check, then JPEG (or a one-page PDF around it) within
/// the size cap, re-encoding at lower quality and then half resolution before refusing.
public enum PageProcessor {
    public struct Encoded: Sendable {
        public var data: Data
        public var checks: PageChecks
        public var width: Int
        public var height: Int
        public var thumbnail: RasterImage
    }

    public static func process(_ image: RasterImage, page: Int, settings: ScanSettings) throws(ScanError) -> Encoded {
        let content = PageContent(image)
        var checks = PageChecks(deviation: (content.deviation * 10).rounded() / 10, inkRatio: (content.inkRatio * 10000).rounded() / 10000,
                                blank: content.isBlank, rawBytes: image.pixels.count, quality: settings.jpegQuality, downscale: 1)
        if content.isBlank { throw .blankPage(page) }
        let thumbnail = image.thumbnail(maxWidth: 160, maxHeight: 200)
        var attempts: [(quality: Int, downscale: Int)] = [(settings.jpegQuality, 1)]
        for q in [60, 45, 30] where q < settings.jpegQuality { attempts.append((q, 1)) }
        attempts.append((min(settings.jpegQuality, 60), 2))
        attempts.append((30, 2))
        var last = 0
        var half: RasterImage?
        for attempt in attempts {
            let source: RasterImage
            if attempt.downscale == 1 {
                source = image
            } else {
                if half == nil { half = image.downscaled(by: 2) }
                source = half!
            }
            let jpeg: Data
            do { jpeg = try JPEG.encode(source, quality: attempt.quality) } catch { throw .failed("JPEG: \(error)") }
            let dpi = Double(settings.resolution) / Double(attempt.downscale)
            let data = settings.format == "pdf" ? Self.pdf(jpeg: jpeg, image: source, dpi: dpi) : jpeg
            last = data.count
            if data.count <= settings.maxPageBytes {
                checks.quality = attempt.quality
                checks.downscale = attempt.downscale
                return Encoded(data: data, checks: checks, width: source.width, height: source.height, thumbnail: thumbnail)
            }
        }
        throw .pageTooLarge(page: page, bytes: last, limit: settings.maxPageBytes)
    }

    /// A one-page PDF showing the JPEG at its physical size.
    static func pdf(jpeg: Data, image: RasterImage, dpi: Double) -> Data {
        let w = Double(image.width) * 72 / dpi, h = Double(image.height) * 72 / dpi
        let content = String(format: "q %.2f 0 0 %.2f 0 0 cm /Im0 Do Q", w, h)
        let space = image.channels == 1 ? "/DeviceGray" : "/DeviceRGB"
        var objects: [Data] = [
            Data("<< /Type /Catalog /Pages 2 0 R >>".utf8),
            Data("<< /Type /Pages /Kids [3 0 R] /Count 1 >>".utf8),
            Data(String(format: "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %.2f %.2f] /Resources << /XObject << /Im0 4 0 R >> >> /Contents 5 0 R >>", w, h).utf8),
        ]
        var image = Data("<< /Type /XObject /Subtype /Image /Width \(image.width) /Height \(image.height) /ColorSpace \(space) /BitsPerComponent 8 /Filter /DCTDecode /Length \(jpeg.count) >>\nstream\n".utf8)
        image.append(jpeg)
        image.append(Data("\nendstream".utf8))
        objects.append(image)
        objects.append(Data("<< /Length \(content.utf8.count) >>\nstream\n\(content)\nendstream".utf8))
        var out = Data("%PDF-1.4\n%\u{e2}\u{e3}\n".utf8)
        var offsets: [Int] = []
        for (i, object) in objects.enumerated() {
            offsets.append(out.count)
            out.append(Data("\(i + 1) 0 obj\n".utf8))
            out.append(object)
            out.append(Data("\nendobj\n".utf8))
        }
        let xref = out.count
        out.append(Data("xref\n0 \(objects.count + 1)\n0000000000 65535 f \n".utf8))
        for o in offsets { out.append(Data(String(format: "%010d 00000 n \n", o).utf8)) }
        out.append(Data("trailer\n<< /Size \(objects.count + 1) /Root 1 0 R >>\nstartxref\n\(xref)\n%%EOF\n".utf8))
        return out
    }
}

/// Where a scan's pages wait until every one is accepted: a hidden folder inside the output directory (same file
/// system, so the final move is a rename). Nothing reaches the output directory unless the whole scan succeeded.
struct ScanStaging {
    let directory: String
    let staging: String

    init(directory: String) throws(ScanError) {
        self.directory = directory
        self.staging = "\(directory)/.scan-\(UUID().uuidString.prefix(8).lowercased())"
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
            try FileManager.default.createDirectory(atPath: self.staging, withIntermediateDirectories: false,
                                                    attributes: [.posixPermissions: 0o700])
        } catch {
            throw .failed("cannot create \(directory): \(error.localizedDescription)")
        }
    }

    func rawPath(_ page: Int) -> String { String(format: "\(self.staging)/raw-%03d.pnm", page) }

    /// Writes an encoded page into the staging folder (0600). No fsync: scanned pages are a working copy until the
    /// application is submitted, and the store's spool makes them durable then (temp file, fsync, rename).
    func stage(_ page: Int, _ data: Data, ext: String) throws(ScanError) -> String {
        let path = String(format: "\(self.staging)/page-%03d.\(ext)", page)
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .failed("cannot write \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let ok = data.withUnsafeBytes { raw -> Bool in
            var offset = 0
            while offset < raw.count {
                let n = write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 { if errno == EINTR { continue }; return false }
                offset += n
            }
            return true
        }
        guard ok else { throw .failed("cannot write \(path): \(String(cString: strerror(errno)))") }
        return path
    }

    /// Moves the staged pages into the output directory, numbered after any pages already there, and removes the
    /// staging folder; returns the pages with their final paths. On failure the staging folder is removed too.
    func commit(_ pages: [ScannedPage], ext: String) throws(ScanError) -> [ScannedPage] {
        defer { self.discard() }
        return zip(pages, try self.move(pages.map(\.path), ext: ext)).map { page, path in
            var p = page
            p.path = path
            return p
        }
    }

    private func move(_ staged: [String], ext: String) throws(ScanError) -> [String] {
        let existing = ((try? FileManager.default.contentsOfDirectory(atPath: self.directory)) ?? [])
            .compactMap { name -> Int? in
                guard name.hasPrefix("page-") else { return nil }
                return Int(name.dropFirst(5).prefix { $0.isNumber })
            }.max() ?? 0
        var final: [String] = []
        for (i, path) in staged.enumerated() {
            let target = String(format: "\(self.directory)/page-%03d.\(ext)", existing + i + 1)
            guard rename(path, target) == 0 else {
                throw .failed("cannot move a page into \(self.directory): \(String(cString: strerror(errno)))")
            }
            final.append(target)
        }
        return final
    }

    func discard() { try? FileManager.default.removeItem(atPath: self.staging) }
}
