// The only file that touches the libcups C API or its pointers. Every call runs on one worker thread for the whole
// process (CUPSThread.shared): libcups keeps its default connection, server name and last error in thread-local
// storage, so one thread keeps them consistent and a daemon that re-creates printers on hotplug creates no threads.
import CCUPS
import Foundation

/// IPP attributes as strings (enums and integers in decimal, booleans as "true"/"false").
typealias IPPAttributes = [String: [String]]

/// Result of one libcups operation, with `cupsLastErrorString()` read on the same thread right after the call.
struct CUPSFailure: Error, Sendable {
    var status: Int32
    var message: String
}

/// The process's one libcups thread: a serial worker on its own pthread, started by the first use.
///
/// Each job names the scheduler it is for. `nil` is libcups' default (`CUPS_SERVER`, then client.conf, then the
/// local socket), read afresh whenever `CUPS_SERVER` changed; an explicit server (a socket path or `host[:port]`) is
/// set with `cupsSetServer` before the job when it differs from the thread's current one. `cupsSetServer` also
/// closes the thread's default connection, so the next request connects to the right scheduler.
final class CUPSThread: @unchecked Sendable {
    // @unchecked: `pending` is only touched under `condition`; `current` and `defaultFromEnvironment` only on the
    // worker thread.
    private let condition = NSCondition()
    private var pending: [(server: String?, job: @Sendable () -> Void)] = []
    /// The server the worker thread last set: nil is libcups' default.
    private var current: String?
    /// `CUPS_SERVER` when the default was last (re)selected.
    private var defaultFromEnvironment: String?

    /// Every CUPSPrinter and kioskctl's printer commands share it.
    static let shared = CUPSThread()

    private init() {
        self.defaultFromEnvironment = CUPSThread.environmentServer()
        let thread = Thread { [self] in
            // Named for `ps -L` and /proc/PID/task/*/comm: Foundation does not pass Thread.name to the kernel, and
            // Glibc's module does not export pthread_setname_np; writing the thread's own comm file is the same.
            try? Data("kiosk.cups".utf8).write(to: URL(fileURLWithPath: "/proc/thread-self/comm"))
            while true {
                self.condition.lock()
                while self.pending.isEmpty { self.condition.wait() }
                let next = self.pending.removeFirst()
                self.condition.unlock()
                self.select(next.server)
                next.job()
            }
        }
        thread.name = "kiosk.cups"
        thread.start()
    }

    private static func environmentServer() -> String? { getenv("CUPS_SERVER").map { String(cString: $0) } }

    /// On the worker thread: makes `server` (nil: libcups' default) the one the next libcups call talks to.
    private func select(_ server: String?) {
        if let server {
            guard server != self.current else { return }
            cupsSetServer(server)
            self.current = server
        } else {
            // > Pass NULL to restore the default server name. (cupsSetServer(3)); cupsServer() then reads
            // > CUPS_SERVER again. So a default is re-selected after an explicit server, or when CUPS_SERVER changed.
            let environment = CUPSThread.environmentServer()
            guard self.current != nil || environment != self.defaultFromEnvironment else { return }
            cupsSetServer(nil)
            self.current = nil
            self.defaultFromEnvironment = environment
        }
    }

    /// Runs `body` on the worker thread, talking to `server` (nil: `CUPS_SERVER` or libcups' default).
    func run<T: Sendable>(server: String?, _ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { (c: CheckedContinuation<T, Never>) in
            self.condition.lock()
            self.pending.append((server, { c.resume(returning: body()) }))
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
