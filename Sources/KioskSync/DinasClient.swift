import Dispatch
import Foundation
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
public final class DinasClient: Sendable {
    public static let protocolName = "kiosk-dinas/1"
    public let endpoint: DinasEndpoint
    private let session: URLSession
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
        self.session = URLSession(configuration: config)
    }

    public func url(_ path: String) -> URL {
        if path.hasPrefix("http://") || path.hasPrefix("https://"), let u = URL(string: path) { return u }
        var base = self.endpoint.baseURL.absoluteString
        while base.hasSuffix("/") { base.removeLast() }
        return URL(string: base + (path.hasPrefix("/") ? path : "/" + path))!
    }

    /// Sends one request and classifies the outcome. 2xx (and 304) return; everything else throws.
    public func send(_ method: String, _ path: String, body: Data? = nil, headers: [String: String] = [:])
        async throws(SyncError) -> Response
    {
        var request = URLRequest(url: self.url(path))
        request.httpMethod = method
        request.httpBody = body
        request.setValue("Bearer \(self.endpoint.token)", forHTTPHeaderField: "Authorization")
        request.setValue("1", forHTTPHeaderField: "Kiosk-Protocol")
        request.setValue(self.endpoint.kioskID, forHTTPHeaderField: "Kiosk-Id")
        request.setValue("close", forHTTPHeaderField: "Connection")
        for (k, v) in headers { request.setValue(v, forHTTPHeaderField: k) }
        let data: Data
        let response: URLResponse
        switch await self.perform(request) {
        case .success(let pair):
            (data, response) = pair
        case .failure(let error):
            throw .network("\(method) \(path): \((error as? URLError).map { "\($0.code.rawValue) \($0.localizedDescription)" } ?? "\(error)")")
        }
        guard let http = response as? HTTPURLResponse else { throw .badResponse("not HTTP") }
        var fields: [String: String] = [:]
        for (k, v) in http.allHeaderFields {
            if let k = k as? String, let v = v as? String { fields[k.lowercased()] = v }
        }
        let result = Response(status: http.statusCode, headers: fields, body: data)
        guard fields["kiosk-protocol"] == "1" else {
            throw .notDinas("\(method) \(path) answered HTTP \(http.statusCode) without Kiosk-Protocol: 1")
        }
        let status = http.statusCode
        if (200..<300).contains(status) || status == 304 { return result }
        let (code, message) = DinasClient.errorBody(data)
        switch status {
        case 401, 403: throw .auth(status: status, message: message)
        case 408, 423, 429, 500...599: throw .unavailable(status: status, message: message)
        case 409 where path.hasPrefix("/v1/uploads/") || path.contains("/v1/uploads/"):
            throw .offsetConflict(result.header("Upload-Offset").flatMap(Int.init))
        case 410: throw .uploadExpired
        case 460: throw .checksumMismatch
        case 422 where code == "hash_mismatch": throw .attachmentHashMismatch
        default: throw .permanent(status: status, code: code, message: message)
        }
    }

    private struct Marker: Decodable { var `protocol`: String? }

    /// Runs one data task under our own watchdog. FoundationNetworking on Linux can spin forever when the peer
    /// drops the connection mid-upload (its own timeout never fires), so the task is cancelled after
    /// `requestTimeout` whatever state it is in; the kiosk then resumes from the Dinas's confirmed offset.
    private func perform(_ request: URLRequest) async -> Result<(Data, URLResponse), any Error> {
        let once = Once()
        return await withCheckedContinuation { (continuation: CheckedContinuation<Result<(Data, URLResponse), any Error>, Never>) in
            let task = self.session.dataTask(with: request) { data, response, error in
                let result: Result<(Data, URLResponse), any Error>
                if let error {
                    result = .failure(error)
                } else if let response {
                    result = .success((data ?? Data(), response))
                } else {
                    result = .failure(URLError(.badServerResponse))
                }
                if once.claim() { continuation.resume(returning: result) }
            }
            let timeout = self.requestTimeout
            DispatchQueue.global().asyncAfter(deadline: .now() + timeout) { [task] in
                if once.claim() {
                    task.cancel()
                    continuation.resume(returning: .failure(URLError(.timedOut)))
                }
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
        guard let b = try? JSONDecoder().decode(Body.self, from: data) else {
            return ("unknown", String(decoding: data.prefix(200), as: UTF8.self))
        }
        return (b.error.code, b.error.message)
    }

    /// Decodes a JSON body that must carry `"protocol": "kiosk-dinas/1"`.
    public func decode<T: Decodable>(_ type: T.Type, _ response: Response) throws(SyncError) -> T {
        guard let marker = try? JSONDecoder().decode(Marker.self, from: response.body),
              marker.protocol == DinasClient.protocolName
        else { throw .notDinas("body lacks \"protocol\": \"\(DinasClient.protocolName)\"") }
        do {
            return try JSONDecoder().decode(T.self, from: response.body)
        } catch {
            throw .badResponse("\(T.self): \(error)")
        }
    }
}

/// Lets exactly one of two racing callbacks resume a continuation.
private final class Once: Sendable {
    private let done = Atomic<Bool>(false)
    func claim() -> Bool { self.done.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged }
}
