import Foundation
import KioskCore

/// What the kiosk knows about its printer. Reasons are bare IPP keywords (`media-empty`, `toner-low`, `offline`).
public struct PrinterStatus: Hashable, Sendable, Codable {
    public struct Marker: Hashable, Sendable, Codable {
        public var name: String
        public var level: Int?
        public var type: String?
    }

    public var queue: String
    /// `idle`, `processing`, `stopped` (paused) or `offline`.
    public var state: String
    public var reasons: [String]
    public var message: String
    public var acceptingJobs: Bool
    public var deviceReachable: Bool
    public var markers: [Marker]

    enum CodingKeys: String, CodingKey {
        case queue, state, reasons, message, markers
        case acceptingJobs = "accepting_jobs"
        case deviceReachable = "device_reachable"
    }

    /// Reasons that stop paper coming out.
    public static let blocking: Set<String> = [
        "media-empty", "media-needed", "media-jam", "offline", "cover-open", "door-open", "input-tray-missing",
        "marker-supply-empty", "toner-empty", "spool-area-full",
    ]

    public var blockingReasons: [String] { self.reasons.filter { PrinterStatus.blocking.contains($0) } }
    public var warnings: [String] { self.reasons.filter { ["toner-low", "marker-supply-low", "media-low"].contains($0) } }

    /// A message for the resident and staff about why printing cannot happen now, or nil.
    public var problem: LocalizedText? {
        if !self.deviceReachable || self.reasons.contains("offline") {
            return LocalizedText("Printer tidak tersambung; dokumen disimpan, hubungi petugas desa.",
                                 "The printer is not connected; the document is kept, please ask the desa staff.")
        }
        if self.reasons.contains("media-empty") || self.reasons.contains("media-needed") {
            return LocalizedText("Kertas printer habis; dokumen disimpan. Petugas desa akan mengisi kertas.",
                                 "The printer is out of paper; the document is kept. The desa staff will refill it.")
        }
        if self.reasons.contains("media-jam") {
            return LocalizedText("Kertas macet di printer; dokumen disimpan, hubungi petugas desa.",
                                 "Paper is jammed in the printer; the document is kept, please ask the desa staff.")
        }
        if let r = self.blockingReasons.first {
            return LocalizedText("Printer bermasalah (\(r)); dokumen disimpan, hubungi petugas desa.",
                                 "The printer has a problem (\(r)); the document is kept, please ask the desa staff.")
        }
        if !self.acceptingJobs {
            return LocalizedText("Antrean printer menolak pekerjaan (\(self.message)); hubungi petugas desa.",
                                 "The printer queue is rejecting jobs (\(self.message)); please ask the desa staff.")
        }
        return nil
    }

    /// Strips IPP severity suffixes and CUPS bookkeeping reasons.
    static func normalize(_ raw: [String]) -> [String] {
        var out = Set<String>()
        for r in raw where r != "none" && !r.hasPrefix("cups-") {
            var k = r
            for suffix in ["-report", "-warning", "-error"] where k.hasSuffix(suffix) { k.removeLast(suffix.count) }
            out.insert(k)
        }
        return out.sorted()
    }
}

public enum PrinterError: Error, Hashable, Sendable, CustomStringConvertible {
    case noPrinter
    case unavailable(String)
    case notAccepting(String)
    case blocked(PrinterStatus)
    case submitFailed(String)
    case fileUnreadable(String)

    public var message: LocalizedText {
        switch self {
        case .noPrinter:
            return LocalizedText("Tidak ada printer yang terpasang.", "No printer is configured.")
        case .unavailable(let m):
            return LocalizedText("Layanan cetak tidak tersedia: \(m)", "The print service is unavailable: \(m)")
        case .notAccepting(let m):
            return LocalizedText("Antrean printer menolak pekerjaan: \(m)", "The printer queue is rejecting jobs: \(m)")
        case .blocked(let s):
            return s.problem ?? LocalizedText("Printer tidak siap.", "The printer is not ready.")
        case .submitFailed(let m):
            return LocalizedText("Gagal mengirim ke printer: \(m)", "Could not send to the printer: \(m)")
        case .fileUnreadable(let p):
            return LocalizedText("Berkas \(p) tidak dapat dibaca.", "File \(p) cannot be read.")
        }
    }

    public var description: String { self.message.bilingual }
}

/// How a print ended. `printed` is true only if the job completed and no media or connection fault was seen
/// while it ran (a job that "completes" after an out-of-paper spell is not trusted).
public struct PrintOutcome: Hashable, Sendable, Codable {
    public var jobID: Int
    public var finalState: String
    public var printed: Bool
    public var faultsSeen: [String]
    public var sheets: Int
    public var seconds: Double
    public var detail: String

    enum CodingKeys: String, CodingKey {
        case printed, sheets, seconds, detail
        case jobID = "job_id"
        case finalState = "final_state"
        case faultsSeen = "faults_seen"
    }
}

/// A printer the kiosk can use: CUPS for real, `SimulatedPrinter` for the demo and flow tests.
public protocol Printer: Sendable {
    func status() async throws(PrinterError) -> PrinterStatus
    func submit(path: String, title: String, copies: Int) async throws(PrinterError) -> Int
    /// Job state name (`pending`, `held`, `processing`, `stopped`, `canceled`, `aborted`, `completed`) and sheets.
    func job(_ id: Int) async throws(PrinterError) -> (state: String, sheets: Int)
    func cancel(_ id: Int) async
    /// Resumes a queue stopped by a fault (Resume-Printer).
    func resume() async throws(PrinterError)
}

extension Printer {
    /// Prints a PDF and follows the job to a terminal state. Faults seen while it runs (out of paper, jam, printer
    /// offline) cancel it and make it count as not printed; so does `timeout`.
    /// `precheck` false submits even when the printer reports a fault (staff diagnostics, tests).
    public func print(path: String, title: String, copies: Int = 1, timeout: Double = 120, poll: Double = 0.5,
                      precheck: Bool = true) async throws(PrinterError) -> PrintOutcome
    {
        guard FileManager.default.isReadableFile(atPath: path) else { throw .fileUnreadable(path) }
        if precheck {
            let before = try await self.status()
            if !before.acceptingJobs { throw .notAccepting(before.message) }
            if before.problem != nil { throw .blocked(before) }
        }
        let started = Date()
        let id = try await self.submit(path: path, title: title, copies: copies)
        var faults = Set<String>()
        var state = "pending"
        var sheets = 0
        while true {
            if let s = try? await self.status() {
                faults.formUnion(s.blockingReasons)
                if !s.deviceReachable { faults.insert("offline") }
            }
            if let j = try? await self.job(id) {
                state = j.state
                sheets = j.sheets
            }
            if ["completed", "canceled", "aborted", "stopped"].contains(state) { break }
            if !faults.isEmpty || Date().timeIntervalSince(started) > timeout {
                await self.cancel(id)
                if faults.isEmpty { faults.insert("timeout") }
                state = "canceled"
                break
            }
            try? await Task.sleep(nanoseconds: UInt64(poll * 1e9))
        }
        let printed = state == "completed" && faults.isEmpty
        return PrintOutcome(
            jobID: id, finalState: state, printed: printed, faultsSeen: faults.sorted(),
            sheets: printed ? max(sheets, copies * PDFInfo.pageCount(path: path)) : 0,
            seconds: Date().timeIntervalSince(started),
            detail: printed ? "job \(id) completed" : "job \(id) \(state); faults: \(faults.sorted().joined(separator: ","))")
    }

    /// Resumes a queue stopped by a fault once nothing blocks it any more. Returns true if it resumed it.
    public func recoverIfPossible() async -> Bool {
        guard let s = try? await self.status(), s.state == "stopped", s.deviceReachable, s.blockingReasons.isEmpty
        else { return false }
        return (try? await self.resume()) != nil
    }
}

enum PDFInfo {
    /// Counts page objects (`/Type /Page`, not `/Pages`) in a PDF; 1 if none can be found.
    static func pageCount(path: String) -> Int {
        guard let data = FileManager.default.contents(atPath: path) else { return 1 }
        let text = String(decoding: data, as: UTF8.self)
        var count = 0
        var search = text.startIndex..<text.endIndex
        while let r = text.range(of: "/Type", range: search) {
            var i = r.upperBound
            while i < text.endIndex, text[i] == " " || text[i] == "/" { i = text.index(after: i) }
            if text[i...].hasPrefix("Page"), !text[i...].hasPrefix("Pages") { count += 1 }
            search = r.upperBound..<text.endIndex
        }
        return max(count, 1)
    }
}
