/// How a request to the Dinas failed, classified the way the forwarder must react (PROTOCOL.md, "Errors").
public enum SyncError: Error, Hashable, Sendable, CustomStringConvertible {
    /// No answer: connection refused, reset, timed out, DNS.
    case network(String)
    /// An answer that is not from the Dinas (no `Kiosk-Protocol: 1` header, e.g. a captive portal's 200).
    case notDinas(String)
    /// 5xx, 408, 423, 429: try again later.
    case unavailable(status: Int, message: String)
    /// 401/403: the kiosk's credential is wrong or revoked. Staff must act; never retried silently.
    case auth(status: Int, message: String)
    /// Any other 4xx: retrying the same request cannot help. The item is quarantined.
    case permanent(status: Int, code: String, message: String)
    /// 409 on an upload: our offset is stale; the Dinas's confirmed offset, if it said.
    case offsetConflict(Int?)
    /// 460: the chunk arrived corrupted and was discarded.
    case checksumMismatch
    /// 410 on an upload: it expired; send the manifest again to recreate it at offset 0.
    case uploadExpired
    /// 422 hash_mismatch after the last chunk: the Dinas restarted the upload at 0.
    case attachmentHashMismatch
    /// A 2xx whose body is not what the protocol promises.
    case badResponse(String)

    public var isTransient: Bool {
        switch self {
        case .network, .notDinas, .unavailable, .offsetConflict, .checksumMismatch, .uploadExpired,
             .attachmentHashMismatch, .badResponse:
            return true
        case .auth, .permanent:
            return false
        }
    }

    public var description: String {
        switch self {
        case .network(let m): return "network: \(m)"
        case .notDinas(let m): return "not the Dinas (captive portal or proxy?): \(m)"
        case .unavailable(let s, let m): return "HTTP \(s) (temporary): \(m)"
        case .auth(let s, let m): return "HTTP \(s): kiosk credential refused: \(m)"
        case .permanent(let s, let c, let m): return "HTTP \(s) \(c): \(m)"
        case .offsetConflict(let o): return "upload offset conflict (Dinas has \(o.map(String.init) ?? "?"))"
        case .checksumMismatch: return "chunk checksum mismatch"
        case .uploadExpired: return "upload expired"
        case .attachmentHashMismatch: return "attachment hash mismatch at the Dinas"
        case .badResponse(let m): return "unexpected response: \(m)"
        }
    }
}
