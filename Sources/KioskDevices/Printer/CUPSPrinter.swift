import Foundation

/// The real printer: a CUPS queue (default destination unless named), driven through libcups on the process's one
/// CUPS thread (`CUPSThread.shared`): creating printers, e.g. on every hotplug, creates no threads.
public final class CUPSPrinter: Printer {
    public let queue: String
    /// The scheduler (a socket path or `host[:port]`); nil: `CUPS_SERVER`, else libcups' default.
    public let server: String?
    private let thread = CUPSThread.shared

    /// - Parameters: queue: a CUPS queue name, or nil for the default destination; server: overrides CUPS_SERVER.
    public init(queue: String?, server: String? = nil) async throws(PrinterError) {
        guard let name = await CUPSThread.shared.run(server: server, { queue ?? CUPS.defaultDestination() }) else {
            throw .noPrinter
        }
        self.queue = name
        self.server = server
    }

    public func status() async throws(PrinterError) -> PrinterStatus {
        let queue = self.queue
        let result = await self.thread.run(server: self.server) { () -> Result<(IPPAttributes, IPPAttributes?), CUPSFailure> in
            switch CUPS.printerAttributes(queue: queue) {
            case .failure(let f): return .failure(f)
            case .success(let attrs):
                let device = attrs["device-uri"]?.first
                let dev = device.flatMap { uri -> IPPAttributes? in
                    guard uri.hasPrefix("ipp") else { return [:] }
                    if case .success(let d) = CUPS.deviceAttributes(uri: uri) { return d }
                    return nil
                }
                return .success((attrs, dev))
            }
        }
        guard case .success(let (q, device)) = result else {
            if case .failure(let f) = result {
                if f.message.contains("not found") || f.status == 0x0406 { throw .noPrinter }
                throw .unavailable(f.message)
            }
            throw .unavailable("?")
        }
        let reachable = device != nil
        let stateCode = Int(q["printer-state"]?.first ?? "") ?? 0
        var raw = q["printer-state-reasons"] ?? []
        // CUPS keeps the device conditions its backend last reported (e.g. media-empty) well after they cleared,
        // even into the next job. When the device itself answers (IPP), its own reasons are the live truth; CUPS
        // still supplies the queue's own reasons (paused, ...). Other backends (usb://) only report through CUPS.
        if let device, !device.isEmpty {
            raw = raw.filter { r in !Self.deviceConditionPrefixes.contains { r.hasPrefix($0) } }
        }
        raw += device?["printer-state-reasons"] ?? []
        let message = q["printer-state-message"]?.first ?? ""
        if !reachable || message.contains("may not exist or is unavailable") { raw.append("offline") }
        let markerSource = (device?["marker-names"]?.isEmpty == false) ? device! : q
        let names = markerSource["marker-names"] ?? []
        let levels = markerSource["marker-levels"] ?? []
        let types = markerSource["marker-types"] ?? []
        let markers = names.enumerated().map { i, n in
            PrinterStatus.Marker(name: n, level: i < levels.count ? Int(levels[i]) : nil, type: i < types.count ? types[i] : nil)
        }
        var state = [3: "idle", 4: "processing", 5: "stopped"][stateCode] ?? "unknown"
        if !reachable { state = state == "stopped" ? "stopped" : "offline" }
        return PrinterStatus(queue: self.queue, state: state, reasons: PrinterStatus.normalize(raw), message: message,
                             acceptingJobs: q["printer-is-accepting-jobs"]?.first == "true", deviceReachable: reachable,
                             markers: markers)
    }

    static let deviceConditionPrefixes = ["media-", "toner-", "marker-", "cover-", "door-", "input-tray-", "output-",
                                          "developer-", "fuser-", "opc-", "waste-", "offline", "connecting-to-device"]

    public func submit(path: String, title: String, copies: Int) async throws(PrinterError) -> Int {
        let queue = self.queue
        let r = await self.thread.run(server: self.server) { CUPS.printFile(queue: queue, path: path, title: title, copies: copies) }
        switch r {
        case .success(let id): return Int(id)
        case .failure(let f):
            if f.message.contains("not accepting") { throw .notAccepting(f.message) }
            throw .submitFailed(f.message)
        }
    }

    public func job(_ id: Int) async throws(PrinterError) -> (state: String, sheets: Int) {
        let queue = self.queue
        let r = await self.thread.run(server: self.server) { CUPS.jobAttributes(queue: queue, job: Int32(id)) }
        guard case .success(let a) = r else {
            if case .failure(let f) = r { throw .unavailable(f.message) }
            throw .unavailable("?")
        }
        let names = [3: "pending", 4: "held", 5: "processing", 6: "stopped", 7: "canceled", 8: "aborted", 9: "completed"]
        let state = names[Int(a["job-state"]?.first ?? "") ?? 0] ?? "unknown"
        let sheets = Int(a["job-media-sheets-completed"]?.first ?? "") ?? 0
        return (state, sheets)
    }

    public func cancel(_ id: Int) async {
        let queue = self.queue
        _ = await self.thread.run(server: self.server) { CUPS.cancelJob(queue: queue, job: Int32(id)) }
    }

    public func resume() async throws(PrinterError) {
        let queue = self.queue
        if case .failure(let f) = await self.thread.run(server: self.server, { CUPS.resumePrinter(queue: queue) }) { throw .unavailable(f.message) }
    }

    public static var libraryVersion: String { CUPS.version }
}
