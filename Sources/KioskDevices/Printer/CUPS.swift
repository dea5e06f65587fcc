// The only file that touches the libcups C API or its pointers. Every call runs on one dedicated thread
// (CUPSThread): libcups keeps its default connection, server name and last error in thread-local storage.
import CCUPS
import Foundation

/// IPP attributes as strings (enums and integers in decimal, booleans as "true"/"false").
typealias IPPAttributes = [String: [String]]

/// Result of one libcups operation, with `cupsLastErrorString()` read on the same thread right after the call.
struct CUPSFailure: Error, Sendable {
    var status: Int32
    var message: String
}

/// A serial worker on its own pthread. `CUPS_SERVER` is honoured; an explicit server applies to this thread only.
final class CUPSThread: @unchecked Sendable {
    // @unchecked: `pending` is only touched under `condition`.
    private let condition = NSCondition()
    private var pending: [@Sendable () -> Void] = []

    init(server: String?) {
        let thread = Thread { [condition = self.condition] in
            if let server { cupsSetServer(server) }
            while true {
                condition.lock()
                while self.pending.isEmpty { condition.wait() }
                let job = self.pending.removeFirst()
                condition.unlock()
                job()
            }
        }
        thread.name = "kiosk.cups"
        thread.start()
    }

    func run<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { (c: CheckedContinuation<T, Never>) in
            self.condition.lock()
            self.pending.append { c.resume(returning: body()) }
            self.condition.signal()
            self.condition.unlock()
        }
    }
}

enum CUPS {
    static var lastError: CUPSFailure { CUPSFailure(status: Int32(cupsLastError().rawValue), message: String(cString: cupsLastErrorString())) }

    /// The default destination (lpoptions or the scheduler's default), or nil.
    static func defaultDestination() -> String? {
        guard let dest = cupsGetNamedDest(nil, nil, nil) else { return nil }
        defer { cupsFreeDests(1, dest) }
        return String(cString: dest.pointee.name)
    }

    static func attributes(of response: OpaquePointer) -> IPPAttributes {
        var out: IPPAttributes = [:]
        var attr = ippFirstAttribute(response)
        while let a = attr {
            if let namePtr = ippGetName(a) {
                let name = String(cString: namePtr)
                var values: [String] = []
                let tag = ippGetValueTag(a)
                for i in 0..<ippGetCount(a) {
                    switch tag {
                    case IPP_TAG_INTEGER, IPP_TAG_ENUM: values.append(String(ippGetInteger(a, i)))
                    case IPP_TAG_BOOLEAN: values.append(ippGetBoolean(a, i) != 0 ? "true" : "false")
                    default:
                        if let s = ippGetString(a, i, nil) { values.append(String(cString: s)) }
                    }
                }
                out[name, default: []].append(contentsOf: values)
            }
            attr = ippNextAttribute(response)
        }
        return out
    }

    private static func request(_ op: ipp_op_t, uri: String) -> OpaquePointer {
        let req = ippNewRequest(op)!
        ippAddString(req, IPP_TAG_OPERATION, IPP_TAG_URI, "printer-uri", nil, uri)
        ippAddString(req, IPP_TAG_OPERATION, IPP_TAG_NAME, "requesting-user-name", nil, cupsUser())
        return req
    }

    static func queueURI(_ queue: String) -> String { "ipp://localhost/printers/\(queue)" }

    /// Get-Printer-Attributes on the local scheduler (CUPS_HTTP_DEFAULT, never cupsConnectDest).
    static func printerAttributes(queue: String) -> Result<IPPAttributes, CUPSFailure> {
        let req = self.request(IPP_OP_GET_PRINTER_ATTRIBUTES, uri: self.queueURI(queue))
        guard let resp = cupsDoRequest(nil, req, "/") else { return .failure(self.lastError) }
        defer { ippDelete(resp) }
        guard ippGetStatusCode(resp).rawValue < 0x0100 else { return .failure(self.lastError) }
        return .success(self.attributes(of: resp))
    }

    /// Get-Printer-Attributes sent to the printer itself (its device URI), on an explicit connection: an idle CUPS
    /// queue does not relay the printer's media or toner state.
    static func deviceAttributes(uri: String, timeoutMs: Int32 = 3000) -> Result<IPPAttributes, CUPSFailure> {
        guard let url = URL(string: uri), let host = url.host, ["ipp", "ipps"].contains(url.scheme ?? "") else {
            return .failure(CUPSFailure(status: -1, message: "not an IPP device URI: \(uri)"))
        }
        let port = Int32(url.port ?? 631)
        let encryption = url.scheme == "ipps" ? HTTP_ENCRYPTION_ALWAYS : HTTP_ENCRYPTION_IF_REQUESTED
        guard let http = httpConnect2(host, port, nil, AF_UNSPEC, encryption, 1, timeoutMs, nil) else {
            return .failure(CUPSFailure(status: -2, message: "cannot connect to \(host):\(port)"))
        }
        defer { httpClose(http) }
        let req = self.request(IPP_OP_GET_PRINTER_ATTRIBUTES, uri: uri)
        guard let resp = cupsDoRequest(http, req, url.path.isEmpty ? "/" : url.path) else { return .failure(self.lastError) }
        defer { ippDelete(resp) }
        return .success(self.attributes(of: resp))
    }

    static func printFile(queue: String, path: String, title: String, copies: Int) -> Result<Int32, CUPSFailure> {
        var options: UnsafeMutablePointer<cups_option_t>?
        var count: Int32 = 0
        count = cupsAddOption("copies", String(copies), count, &options)
        defer { cupsFreeOptions(count, options) }
        let job = cupsPrintFile2(nil, queue, path, title, count, options)
        return job > 0 ? .success(job) : .failure(self.lastError)
    }

    static func jobAttributes(queue: String, job: Int32) -> Result<IPPAttributes, CUPSFailure> {
        let req = self.request(IPP_OP_GET_JOB_ATTRIBUTES, uri: self.queueURI(queue))
        ippAddInteger(req, IPP_TAG_OPERATION, IPP_TAG_INTEGER, "job-id", job)
        guard let resp = cupsDoRequest(nil, req, "/jobs/") else { return .failure(self.lastError) }
        defer { ippDelete(resp) }
        guard ippGetStatusCode(resp).rawValue < 0x0100 else { return .failure(self.lastError) }
        return .success(self.attributes(of: resp))
    }

    static func cancelJob(queue: String, job: Int32) -> Result<Void, CUPSFailure> {
        cupsCancelJob2(nil, queue, job, 0) == IPP_STATUS_OK ? .success(()) : .failure(self.lastError)
    }

    /// Resume-Printer (what `cupsenable` does) for a queue stopped by a fault.
    static func resumePrinter(queue: String) -> Result<Void, CUPSFailure> {
        let req = self.request(IPP_OP_RESUME_PRINTER, uri: self.queueURI(queue))
        guard let resp = cupsDoRequest(nil, req, "/admin/") else { return .failure(self.lastError) }
        defer { ippDelete(resp) }
        return ippGetStatusCode(resp).rawValue < 0x0100 ? .success(()) : .failure(self.lastError)
    }

    static var version: String { "\(CUPS_VERSION_MAJOR).\(CUPS_VERSION_MINOR).\(CUPS_VERSION_PATCH)" }
}
