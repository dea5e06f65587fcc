import Foundation
import KioskCore

/// How the kiosk scans: device and settings from the local config or the hardware profile.
public struct ScanSettings: Sendable, Equatable, Codable {
    /// SANE device name (`scanimage -L`); nil means the first one found.
    public var device: String?
    public var resolution: Int = 200
    /// SANE mode: `Gray` or `Color`.
    public var mode: String = "Gray"
    /// Stored page format: `jpeg` or `pdf` (a one-page PDF wrapping the JPEG).
    public var format: String = "jpeg"
    public var jpegQuality: Int = 75
    /// Largest stored page; bigger pages are re-encoded at lower quality, then lower resolution, else refused.
    public var maxPageBytes: Int = 1_500_000
    /// Seconds without progress before a scan is killed.
    public var watchdogSeconds: Double = 20
    /// Scan area in millimetres (nil: the device's default).
    public var widthMM: Double?
    public var heightMM: Double?
    /// Extra scanimage options for this device (`--test-picture=Grid`, vendor options).
    public var extraOptions: [String] = []

    public init() {}

    /// The stored pages' file extension.
    public var fileExtension: String { self.format == "pdf" ? "pdf" : "jpg" }

    enum CodingKeys: String, CodingKey {
        case device, resolution, mode, format
        case jpegQuality = "jpeg_quality"
        case maxPageBytes = "max_page_bytes"
        case watchdogSeconds = "watchdog_seconds"
        case widthMM = "width_mm"
        case heightMM = "height_mm"
        case extraOptions = "extra_options"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        var s = ScanSettings()
        s.device = try c.decodeIfPresent(String.self, forKey: .device)
        s.resolution = try c.decodeIfPresent(Int.self, forKey: .resolution) ?? s.resolution
        s.mode = try c.decodeIfPresent(String.self, forKey: .mode) ?? s.mode
        s.format = try c.decodeIfPresent(String.self, forKey: .format) ?? s.format
        s.jpegQuality = try c.decodeIfPresent(Int.self, forKey: .jpegQuality) ?? s.jpegQuality
        s.maxPageBytes = try c.decodeIfPresent(Int.self, forKey: .maxPageBytes) ?? s.maxPageBytes
        s.watchdogSeconds = try c.decodeIfPresent(Double.self, forKey: .watchdogSeconds) ?? s.watchdogSeconds
        s.widthMM = try c.decodeIfPresent(Double.self, forKey: .widthMM)
        s.heightMM = try c.decodeIfPresent(Double.self, forKey: .heightMM)
        s.extraOptions = try c.decodeIfPresent([String].self, forKey: .extraOptions) ?? []
        do throws(ValidationError) {
            try s.validate()
        } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.description))
        }
        self = s
    }

    /// `resolution`: 50…600 dpi.
    public static let resolutionRange: ClosedRange<Int> = 50...600
    /// `mode`: SANE's mode names.
    public static let modes = ["Gray", "Color"]
    /// `format`: how pages are stored.
    public static let formats = ["jpeg", "pdf"]
    /// `jpeg_quality`: 20…95.
    public static let jpegQualityRange: ClosedRange<Int> = 20...95
    /// `max_page_bytes`: 50 000…50 000 000.
    public static let maxPageBytesRange: ClosedRange<Int> = 50_000...50_000_000
    /// `watchdog_seconds`: 1…600 in a configuration file (code may set a shorter one, e.g. tests).
    public static let watchdogSecondsRange: ClosedRange<Double> = 1...600
    /// `width_mm`, `height_mm`: 10…1000 mm when set.
    public static let scanAreaRange: ClosedRange<Double> = 10...1000
    /// `extra_options`: at most 32, each 1…255 characters starting with `-`, without control characters.
    public static let extraOptionsLimit = 32
    public static let extraOptionLength = 255

    /// Whether `option` may be passed to scanimage as one extra argument (`extra_options`).
    public static func isExtraOption(_ option: String) -> Bool {
        option.hasPrefix("-") && (1...ScanSettings.extraOptionLength).contains(option.utf8.count)
            && !option.unicodeScalars.contains { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) }
    }

    /// Checks the settings a configuration file gives against the ranges above; the field is its JSON key.
    public func validate() throws(ValidationError) {
        func fail(_ field: String, _ reason: String) -> ValidationError { ValidationError(field: field, reason: reason) }
        guard ScanSettings.resolutionRange.contains(self.resolution) else {
            throw fail("resolution", "must be 50…600 dpi, got \(self.resolution)")
        }
        guard ScanSettings.modes.contains(self.mode) else { throw fail("mode", "must be Gray or Color") }
        guard ScanSettings.formats.contains(self.format) else { throw fail("format", "must be jpeg or pdf") }
        guard ScanSettings.jpegQualityRange.contains(self.jpegQuality) else {
            throw fail("jpeg_quality", "must be 20…95, got \(self.jpegQuality)")
        }
        guard ScanSettings.maxPageBytesRange.contains(self.maxPageBytes) else {
            throw fail("max_page_bytes", "must be 50000…50000000, got \(self.maxPageBytes)")
        }
        guard ScanSettings.watchdogSecondsRange.contains(self.watchdogSeconds) else {
            throw fail("watchdog_seconds", "must be 1…600 seconds, got \(self.watchdogSeconds)")
        }
        for (field, value) in [("width_mm", self.widthMM), ("height_mm", self.heightMM)] {
            if let value, !ScanSettings.scanAreaRange.contains(value) {
                throw fail(field, "must be null or 10…1000 mm, got \(value)")
            }
        }
        guard self.extraOptions.count <= ScanSettings.extraOptionsLimit else {
            throw fail("extra_options", "at most \(ScanSettings.extraOptionsLimit) options")
        }
        for (i, option) in self.extraOptions.enumerated() where !ScanSettings.isExtraOption(option) {
            throw fail("extra_options[\(i)]", "must be 1…255 characters starting with -, without control characters")
        }
    }
}

/// One scan: a number of pages from the flatbed (one at a time) or the feeder (until it is empty).
public struct ScanRequest: Sendable, Equatable {
    public enum Source: Sendable, Equatable {
        case flatbed
        case feeder
    }

    public var source: Source
    /// Pages the resident declared; nil when unknown (a feeder batch then takes whatever is in it).
    public var expectedPages: Int?

    public init(source: Source = .flatbed, expectedPages: Int? = 1) {
        self.source = source
        self.expectedPages = expectedPages
    }
}

/// What happened to one page before it was accepted.
public struct PageChecks: Sendable, Equatable, Codable {
    public var deviation: Double
    public var inkRatio: Double
    public var blank: Bool
    public var rawBytes: Int
    public var quality: Int
    /// 1 when stored at the scanned resolution, 2 when halved to fit the size cap.
    public var downscale: Int

    enum CodingKeys: String, CodingKey {
        case deviation, blank, quality, downscale
        case inkRatio = "ink_ratio"
        case rawBytes = "raw_bytes"
    }
}

/// A page stored in the output directory.
public struct ScannedPage: Sendable, Equatable, Codable {
    public var number: Int
    public var path: String
    public var bytes: Int
    public var width: Int
    public var height: Int
    public var checks: PageChecks
    /// A small gray image for the terminal preview.
    public var thumbnail: RasterImage

    enum CodingKeys: String, CodingKey {
        case number, path, bytes, width, height, checks
    }

    public init(number: Int, path: String, bytes: Int, width: Int, height: Int, checks: PageChecks, thumbnail: RasterImage) {
        self.number = number
        self.path = path
        self.bytes = bytes
        self.width = width
        self.height = height
        self.checks = checks
        self.thumbnail = thumbnail
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.number = try c.decode(Int.self, forKey: .number)
        self.path = try c.decode(String.self, forKey: .path)
        self.bytes = try c.decode(Int.self, forKey: .bytes)
        self.width = try c.decode(Int.self, forKey: .width)
        self.height = try c.decode(Int.self, forKey: .height)
        self.checks = try c.decode(PageChecks.self, forKey: .checks)
        self.thumbnail = RasterImage(width: 1, height: 1, channels: 1, pixels: [255])
    }
}

/// Progress while scanning.
public enum ScanEvent: Sendable, Equatable {
    case started(page: Int)
    /// Percent of the current page, 0…100.
    case progress(page: Int, percent: Double)
    case pageDone(page: Int)
}

/// SANE statuses as scanimage reports them in its exit code.
public enum SANEStatus: Int32, Sendable, CaseIterable {
    case unsupported = 1, cancelled = 2, deviceBusy = 3, invalid = 4, eof = 5, jammed = 6, noDocuments = 7,
         coverOpen = 8, ioError = 9, noMemory = 10, accessDenied = 11
}

public enum ScanError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No scanner is attached (none listed).
    case noScanner
    /// The named device cannot be opened.
    case badDevice(String)
    /// The scanner reported a SANE status.
    case device(SANEStatus, detail: String)
    /// No progress for this many seconds: the scan was killed.
    case watchdog(seconds: Double)
    case cancelled
    case blankPage(Int)
    case pageTooLarge(page: Int, bytes: Int, limit: Int)
    case pageCount(expected: Int, scanned: Int)
    /// scanimage could not be started or wrote something unreadable.
    case failed(String)

    /// What the resident reads.
    public var resident: LocalizedText {
        switch self {
        case .noScanner, .badDevice:
            return LocalizedText("Pemindai tidak tersedia. Mohon minta bantuan petugas desa.",
                                 "The scanner is not available. Please ask the desa staff for help.")
        case .device(let status, _):
            switch status {
            case .jammed:
                return LocalizedText("Kertas tersangkut di pemindai. Minta petugas membukanya, lalu pindai lagi.",
                                     "Paper is jammed in the scanner. Ask staff to clear it, then scan again.")
            case .noDocuments:
                return LocalizedText("Tidak ada kertas di pengumpan. Letakkan dokumen menghadap ke bawah, lalu coba lagi.",
                                     "There is no paper in the feeder. Place the document face down and try again.")
            case .coverOpen:
                return LocalizedText("Tutup pemindai terbuka. Tutup lalu pindai lagi.",
                                     "The scanner cover is open. Close it and scan again.")
            case .deviceBusy:
                return LocalizedText("Pemindai sedang sibuk. Tunggu sebentar lalu coba lagi.",
                                     "The scanner is busy. Wait a moment and try again.")
            case .cancelled:
                return LocalizedText("Pemindaian dibatalkan.", "The scan was cancelled.")
            default:
                return LocalizedText("Pemindai bermasalah. Coba sekali lagi; jika gagal, minta bantuan petugas.",
                                     "The scanner has a problem. Try once more; if it fails, ask staff for help.")
            }
        case .watchdog:
            return LocalizedText("Pemindai tidak merespons dan sudah dihentikan. Coba lagi; jika gagal, minta bantuan petugas.",
                                 "The scanner stopped responding and was stopped. Try again; if it fails, ask staff.")
        case .cancelled:
            return LocalizedText("Pemindaian dibatalkan.", "The scan was cancelled.")
        case .blankPage(let n):
            return LocalizedText("Halaman \(n) kosong. Pastikan dokumen menghadap ke kaca, lalu pindai lagi.",
                                 "Page \(n) is blank. Make sure the document faces the glass, then scan again.")
        case .pageTooLarge(let n, _, _):
            return LocalizedText("Halaman \(n) terlalu besar untuk disimpan. Minta bantuan petugas.",
                                 "Page \(n) is too large to store. Please ask staff for help.")
        case .pageCount(let expected, let scanned):
            return LocalizedText("Terpindai \(scanned) halaman, padahal Anda menyebut \(expected). Periksa dokumen lalu pindai lagi.",
                                 "\(scanned) pages were scanned but you said \(expected). Check the document and scan again.")
        case .failed:
            return LocalizedText("Pemindaian gagal. Coba lagi; jika gagal, minta bantuan petugas.",
                                 "The scan failed. Try again; if it fails, ask staff for help.")
        }
    }

    /// What desa staff read (the log, `kioskctl scan`): the cause and what to do.
    public var staff: LocalizedText {
        switch self {
        case .noScanner:
            return LocalizedText("Tidak ada pemindai SANE (scanimage -L kosong). Periksa kabel USB dan daya.",
                                 "No SANE scanner found (scanimage -L is empty). Check the USB cable and power.")
        case .badDevice(let d):
            return LocalizedText("Perangkat pemindai \"\(d)\" tidak dapat dibuka. Periksa nama di konfigurasi dan `kioskctl scanner list`.",
                                 "Scanner device \"\(d)\" cannot be opened. Check the name in the config and `kioskctl scanner list`.")
        case .device(let status, let detail):
            let what: LocalizedText = switch status {
            case .jammed: LocalizedText("kertas tersangkut (SANE_STATUS_JAMMED)", "paper jam (SANE_STATUS_JAMMED)")
            case .noDocuments: LocalizedText("pengumpan kosong (SANE_STATUS_NO_DOCS)", "feeder empty (SANE_STATUS_NO_DOCS)")
            case .coverOpen: LocalizedText("tutup terbuka (SANE_STATUS_COVER_OPEN)", "cover open (SANE_STATUS_COVER_OPEN)")
            case .deviceBusy: LocalizedText("perangkat sibuk (SANE_STATUS_DEVICE_BUSY); proses lain memakai pemindai?",
                                            "device busy (SANE_STATUS_DEVICE_BUSY); another process using the scanner?")
            case .ioError: LocalizedText("galat I/O (SANE_STATUS_IO_ERROR); cabut-pasang kabel USB atau matikan-nyalakan pemindai",
                                         "I/O error (SANE_STATUS_IO_ERROR); replug the USB cable or power-cycle the scanner")
            case .noMemory: LocalizedText("memori habis (SANE_STATUS_NO_MEM)", "out of memory (SANE_STATUS_NO_MEM)")
            case .accessDenied: LocalizedText("akses ditolak (SANE_STATUS_ACCESS_DENIED); periksa izin perangkat",
                                              "access denied (SANE_STATUS_ACCESS_DENIED); check device permissions")
            case .cancelled: LocalizedText("dibatalkan (SANE_STATUS_CANCELLED)", "cancelled (SANE_STATUS_CANCELLED)")
            case .unsupported, .invalid, .eof:
                LocalizedText("status SANE \(status.rawValue); periksa opsi pemindai", "SANE status \(status.rawValue); check the scanner options")
            }
            return LocalizedText("Pemindai: \(what.id). \(detail)", "Scanner: \(what.en ?? what.id). \(detail)")
        case .watchdog(let s):
            return LocalizedText("scanimage tanpa kemajuan selama \(Int(s)) detik dan dihentikan (backend macet?).",
                                 "scanimage made no progress for \(Int(s)) s and was killed (hung backend?).")
        case .cancelled:
            return LocalizedText("Dibatalkan oleh pengguna.", "Cancelled by the user.")
        case .blankPage(let n):
            return LocalizedText("Halaman \(n) ditolak: hampir seragam (kosong).", "Page \(n) refused: near-uniform (blank).")
        case .pageTooLarge(let n, let bytes, let limit):
            return LocalizedText("Halaman \(n): \(bytes) bita setelah kompresi ulang, batas \(limit).",
                                 "Page \(n): \(bytes) bytes after re-encoding, limit \(limit).")
        case .pageCount(let expected, let scanned):
            return LocalizedText("Jumlah halaman \(scanned), dinyatakan \(expected).", "\(scanned) pages, \(expected) declared.")
        case .failed(let detail):
            return LocalizedText("Pemindaian gagal: \(detail)", "Scan failed: \(detail)")
        }
    }

    public var description: String { self.staff.bilingual }

    /// The error a scanimage exit code and its stderr mean.
    public static func fromExit(_ code: Int32, stderr: String, device: String) -> ScanError {
        let lastLine = stderr.split(whereSeparator: { $0 == "\n" || $0 == "\r" })
            .last { !$0.hasPrefix("Progress:") && !$0.hasPrefix("Scanning") && !$0.hasPrefix("Scanned") && !$0.hasPrefix("Batch") }
            .map(String.init) ?? ""
        if code == 1, stderr.contains("open of device") { return .badDevice(device) }
        if let status = SANEStatus(rawValue: code) { return .device(status, detail: lastLine) }
        return .failed("scanimage exit \(code): \(lastLine)")
    }
}

public struct ScannerDevice: Sendable, Equatable, Codable {
    public var name: String
    public var vendor: String
    public var model: String
    public var type: String
}

/// A document scanner: SANE (`SANEScanner`) for real, `SimulatedScanner` for the demo and flow tests.
/// A scan ends with every page accepted and stored in `directory`, or with an error and nothing new in it.
/// Cancel by cancelling the calling task.
public protocol Scanner: Sendable {
    func devices() async throws(ScanError) -> [ScannerDevice]
    func scan(_ request: ScanRequest, into directory: String, events: @escaping @Sendable (ScanEvent) -> Void)
        async throws(ScanError) -> [ScannedPage]
}
