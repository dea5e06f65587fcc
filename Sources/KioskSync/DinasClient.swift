import Dispatch
import Foundation
import KioskCore
import Synchronization
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Where the kiosk's Dinas lives and how the kiosk proves who it is.
public struct DinasEndpoint: Sendable {
    public var baseURL: URL
    public var kioskID: String
    public var token: String

    public init(baseURL: URL, kioskID: String, token: String) {
        self.baseURL = baseURL
        self.kioskID = kioskID
        self.token = token
    }
}

/// HTTP to the Dinas (kiosk-dinas/1) over URLSession. Every response must carry `Kiosk-Protocol: 1`;
/// anything else (a captive portal's login page, a proxy's error) is never taken as an answer.
///
/// The link is untrusted input (issue 13): redirects are never followed (the bearer token must not reach another
/// origin), every URL the Dinas names must resolve to the configured origin and base path, every request runs
/// under a watchdog bounded by the caller's deadline, and response bodies are streamed and cut at a cap.
public final class DinasClient: Sendable {
    public static let protocolName = "kiosk-dinas/1"
    /// Cap on a JSON answer (status, events page, config bundle, error body).
    public static let defaultBodyLimit = 4 << 20
    public let endpoint: DinasEndpoint
    private let session: URLSession
    private let delegate: SessionDelegate
    public let requestTimeout: TimeInterval

    public struct Response: Sendable {
        public var status: Int
        public var headers: [String: String]
        public var body: Data

        public func header(_ name: String) -> String? { self.headers[name.lowercased()] }
    }

    public init(endpoint: DinasEndpoint, requestTimeout: TimeInterval = 30) {
        self.endpoint = endpoint
        self.requestTimeout = requestTimeout
        let config = URLSessionConfiguration.ephemeral
        config.timeoutIntervalForRequest = requestTimeout
        config.timeoutIntervalForResource = requestTimeout * 2
        config.requestCachePolicy = .reloadIgnoringLocalCacheData
        config.httpShouldSetCookies = false
        config.urlCache = nil
        self.delegate = SessionDelegate()
        self.session = URLSession(configuration: config, delegate: self.delegate, delegateQueue: nil)
    }

    deinit { self.session.invalidateAndCancel() }

    /// The URL for a path the kiosk builds or a URL the Dinas named. Only the configured origin (scheme, host,
    /// port) under the configured base path is accepted: an absolute URL elsewhere, a protocol-relative `//host`,
    /// a `..` segment or anything unparsable is refused, so neither the token nor the scans can leave the Dinas.
    public func url(_ path: String) throws(SyncError) -> URL {
        var base = self.endpoint.baseURL.absoluteString
        while base.hasSuffix("/") { base.removeLast() }
        let refuse = SyncError.badResponse("URL outside the Dinas refused: \(SafeText.strip(String(path.prefix(200))))")
        guard !path.isEmpty, path.count <= 2048, SafeText.firstUnsafe(in: path) == nil, !path.contains(" "),
              !path.contains("\\")
        else { throw refuse }
        let candidate: String
        if path.hasPrefix("/") {
            guard !path.hasPrefix("//") else { throw refuse }
            candidate = base + path
        } else if path.lowercased().hasPrefix("http://") || path.lowercased().hasPrefix("https://") {
            candidate = path
        } else {
            throw refuse
        }
        guard let url = URL(string: candidate), let baseURL = URL(string: base),
              url.scheme?.lowercased() == baseURL.scheme?.lowercased(),
              url.host?.lowercased() == baseURL.host?.lowercased(),
              Self.port(url) == Self.port(baseURL),
              url.user == nil, url.password == nil,
              candidate.lowercased().hasPrefix(base.lowercased() + "/"),
              !url.path.split(separator: "/").contains(where: { $0 == ".." || $0 == "." })
        else { throw refuse }
        return url
    }

    private static func port(_ url: URL) -> Int? {
        url.port ?? (url.scheme?.lowercased() == "https" ? 443 : url.scheme?.lowercased() == "http" ? 80 : nil)
    }

    /// Sends one request and classifies the outcome. 2xx (and 304) return; everything else throws.
    /// - Parameters:
    ///   - deadline: the request never runs past it (its watchdog is `min(requestTimeout, time left)`).
    ///   - maxBody: the response body is streamed and the request aborted once it passes this many bytes.
    public func send(_ method: String, _ path: String, body: Data? = nil, headers: [String: String] = [:],
                     deadline: Date? = nil, maxBody: Int = DinasClient.defaultBodyLimit)
        async throws(SyncError) -> Response
    {
        var timeout = self.requestTimeout
        if let deadline {
            let left = deadline.timeIntervalSinceNow
            guard left > 0.05 else { throw .network("\(method) \(Self.shown(path)): the pass's time budget is spent") }
            timeout = min(timeout, left)
        }
        var request = URLRequest(url: try self.url(path))
        request.httpMethod = method
        request.httpBody = body
        request.timeoutInterval = timeout
        request.setValue("Bearer \(self.endpoint.token)", forHTTPHeaderField: "Authorization")
        request.setValue("1", forHTTPHeaderField: "Kiosk-Protocol")
        request.setValue(self.endpoint.kioskID, forHTTPHeaderField: "Kiosk-Id")
        request.setValue("close", forHTTPHeaderField: "Connection")
        for (k, v) in headers { request.setValue(v, forHTTPHeaderField: k) }
        let data: Data
        let http: HTTPURLResponse
        switch await self.perform(request, timeout: timeout, maxBody: maxBody) {
        case .success(let pair):
            (data, http) = pair
        case .failure(let error):
            throw .network("\(method) \(Self.shown(path)): \(error.description)")
        }
        var fields: [String: String] = [:]
        for (k, v) in http.allHeaderFields {
            if let k = k as? String, let v = v as? String { fields[k.lowercased()] = v }
        }
        let result = Response(status: http.statusCode, headers: fields, body: data)
        guard fields["kiosk-protocol"] == "1" else {
            throw .notDinas("\(method) \(Self.shown(path)) answered HTTP \(http.statusCode) without Kiosk-Protocol: 1")
        }
        let status = http.statusCode
        if (200..<300).contains(status) || status == 304 { return result }
        if (300..<400).contains(status) {
            // Never followed: the token and the scans stay with the configured Dinas.
            throw .badResponse("\(method) \(Self.shown(path)) answered a redirect (HTTP \(status)); not followed")
        }
        let (code, message) = DinasClient.errorBody(data)
        switch status {
        case 401, 403: throw .auth(status: status, message: message)
        case 408, 423, 429, 500...599: throw .unavailable(status: status, message: message)
        case 409 where path.hasPrefix("/v1/uploads/") || path.contains("/v1/uploads/"):
            throw .offsetConflict(result.header("Upload-Offset").flatMap { Int($0.trimmingCharacters(in: .whitespaces)) })
        case 410: throw .uploadExpired
        case 460: throw .checksumMismatch
        case 422 where code == "hash_mismatch": throw .attachmentHashMismatch
        default: throw .permanent(status: status, code: code, message: message)
        }
    }

    /// A path or Dinas-supplied URL as it may appear in a log line or a stored error.
    static func shown(_ path: String) -> String { SafeText.strip(String(path.prefix(200))) }

    private struct Marker: Decodable { var `protocol`: String? }

    /// Runs one data task under our own watchdog. FoundationNetworking on Linux can spin forever when the peer
    /// drops the connection mid-upload, and a slowloris peer keeps its idle timer alive, so the task is cancelled
    /// after `timeout` whatever state it is in; the kiosk then resumes from the Dinas's confirmed offset.
    private func perform(_ request: URLRequest, timeout: TimeInterval, maxBody: Int)
        async -> Result<(Data, HTTPURLResponse), TransferError>
    {
        await withCheckedContinuation { (continuation: CheckedContinuation<Result<(Data, HTTPURLResponse), TransferError>, Never>) in
            let task = self.session.dataTask(with: request)
            let transfer = Transfer(limit: maxBody, continuation: continuation, task: task)
            self.delegate.register(task.taskIdentifier, transfer)
            DispatchQueue.global().asyncAfter(deadline: .now() + timeout) { [delegate = self.delegate] in
                transfer.finish(.failure(.timedOut(timeout)))
                delegate.forget(task.taskIdentifier)
            }
            task.resume()
        }
    }

    static func errorBody(_ data: Data) -> (String, String) {
        struct Body: Decodable {
            struct E: Decodable {
                var code: String
                var message: String
            }
            var error: E
        }
        guard let b = try? KioskJSON.decoder().decode(Body.self, from: data) else {
            return ("unknown", SafeText.strip(String(decoding: data.prefix(200), as: UTF8.self)))
        }
        // Dinas text enters the kiosk here: stored errors and log lines never carry control sequences.
        return (SafeText.strip(String(b.error.code.prefix(64))), SafeText.strip(String(b.error.message.prefix(500))))
    }

    /// Decodes a JSON body that must carry `"protocol": "kiosk-dinas/1"`.
    public func decode<T: Decodable>(_ type: T.Type, _ response: Response) throws(SyncError) -> T {
        guard let marker = try? KioskJSON.decoder().decode(Marker.self, from: response.body),
              marker.protocol == DinasClient.protocolName
        else { throw .notDinas("body lacks \"protocol\": \"\(DinasClient.protocolName)\"") }
        do {
            return try KioskJSON.decode(T.self, from: response.body)
        } catch {
            throw .badResponse(SafeText.strip("\(T.self): \(error)"))
        }
    }
}

/// Why one transfer produced no response.
enum TransferError: Error, CustomStringConvertible {
    case timedOut(TimeInterval)
    case bodyTooLarge(Int)
    case notHTTP
    case failed(String)

    var description: String {
        switch self {
        case .timedOut(let t): return "no complete answer within \(String(format: "%.1f", t)) s"
        case .bodyTooLarge(let n): return "answer larger than \(n) bytes; aborted"
        case .notHTTP: return "not HTTP"
        case .failed(let m): return m
        }
    }
}

/// One request in flight: its body so far, and the continuation that exactly one of the delegate callbacks or the
/// watchdog resumes.
private final class Transfer: Sendable {
    typealias Outcome = Result<(Data, HTTPURLResponse), TransferError>
    struct State {
        var body = Data()
        var response: HTTPURLResponse?
        var continuation: CheckedContinuation<Outcome, Never>?
    }
    let limit: Int
    // @unchecked-free: URLSessionDataTask is not Sendable on Linux, so it sits inside the Mutex too.
    private let state: Mutex<State>
    private let taskBox: Mutex<URLSessionDataTask?>

    init(limit: Int, continuation: CheckedContinuation<Outcome, Never>, task: URLSessionDataTask) {
        self.limit = limit
        self.state = Mutex(State(continuation: continuation))
        self.taskBox = Mutex(task)
    }

    func received(_ response: URLResponse) -> Bool {
        guard let http = response as? HTTPURLResponse else {
            self.finish(.failure(.notHTTP))
            return false
        }
        if http.expectedContentLength > Int64(self.limit) {
            self.finish(.failure(.bodyTooLarge(self.limit)))
            return false
        }
        self.state.withLock { $0.response = http }
        return true
    }

    func received(_ data: Data) {
        let over = self.state.withLock { s -> Bool in
            guard s.continuation != nil else { return false }
            if s.body.count + data.count > self.limit { return true }
            s.body.append(data)
            return false
        }
        if over { self.finish(.failure(.bodyTooLarge(self.limit))) }
    }

    func completed(_ error: (any Error)?) {
        let outcome: Outcome = self.state.withLock { s in
            if let error {
                let e = error as? URLError
                return .failure(.failed(e.map { "\($0.code.rawValue) \($0.localizedDescription)" } ?? "\(error)"))
            }
            guard let r = s.response else { return .failure(.notHTTP) }
            return .success((s.body, r))
        }
        self.finish(outcome)
    }

    /// Resumes the caller once and cancels the task (a no-op when it already ended).
    func finish(_ outcome: Outcome) {
        let c = self.state.withLock { s -> CheckedContinuation<Outcome, Never>? in
            defer { s.continuation = nil; s.body = Data() }
            return s.continuation
        }
        guard let c else { return }
        let task = self.taskBox.withLock { t -> URLSessionDataTask? in
            defer { t = nil }
            return t
        }
        task?.cancel()
        c.resume(returning: outcome)
    }
}

/// The session's delegate: routes callbacks to their `Transfer`, refuses every redirect.
private final class SessionDelegate: NSObject, URLSessionDataDelegate, Sendable {
    private let transfers = Mutex<[Int: Transfer]>([:])

    func register(_ id: Int, _ t: Transfer) { self.transfers.withLock { $0[id] = t } }
    func forget(_ id: Int) { _ = self.transfers.withLock { $0.removeValue(forKey: id) } }
    private func transfer(_ id: Int) -> Transfer? { self.transfers.withLock { $0[id] } }

    func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                    newRequest request: URLRequest, completionHandler: @escaping @Sendable (URLRequest?) -> Void) {
        completionHandler(nil)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                    completionHandler: @escaping @Sendable (URLSession.ResponseDisposition) -> Void) {
        let ok = self.transfer(dataTask.taskIdentifier)?.received(response) ?? false
        completionHandler(ok ? .allow : .cancel)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        self.transfer(dataTask.taskIdentifier)?.received(data)
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: (any Error)?) {
        self.transfer(task.taskIdentifier)?.completed(error)
        self.forget(task.taskIdentifier)
    }
}
