#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The control API of kioskd (architecture.md, "Control API"): JSON lines over a Unix stream socket.
///
///     → {"id": 1, "method": "hello", "params": {"protocol": "kioskd/1"}}
///     ← {"id": 1, "result": {"protocol": "kioskd/1", "role": "staff", "version": "0.2.0"}}
///     → {"id": 2, "method": "staff.queue.stats"}
///     ← {"id": 2, "error": {"code": "forbidden", "message": {"id": "...", "en": "..."}}}
///     ← {"event": "device.changed", "data": {...}}
///
/// Every line is one object encoded with `KioskJSON` (snake_case keys, ISO 8601 instants).
public enum ControlProtocol {
    public static let name = "kioskd/1"
}

/// Who the caller is, from the peer's credentials (or a staff PIN unlock on the connection). Ordered: admin may do
/// what a technician may, a technician what staff may, staff what resident may.
public enum ControlRole: String, Sendable, Codable, Comparable, CaseIterable {
    case resident, staff, technician, admin

    var rank: Int {
        switch self {
        case .resident: 0
        case .staff: 1
        case .technician: 2
        case .admin: 3
        }
    }

    /// The role a staff PIN unlock gives a connection: `petugas` → staff, `teknisi` → technician.
    public init(_ staff: StaffRole) {
        switch staff {
        case .petugas: self = .staff
        case .teknisi: self = .technician
        }
    }

    public static func < (a: ControlRole, b: ControlRole) -> Bool { a.rank < b.rank }

    /// The least role a method needs: `resident.*`, `staff.*`, `technician.*`, `admin.*`; `hello` and `subscribe`
    /// need none beyond a connection (nil).
    public static func required(for method: String) -> ControlRole? {
        if method.hasPrefix("resident.") { return .resident }
        if method.hasPrefix("staff.") { return .staff }
        if method.hasPrefix("technician.") { return .technician }
        if method.hasPrefix("admin.") { return .admin }
        return nil
    }
}

/// A control-API failure: a stable code plus a message for people in both languages.
public struct ControlError: Error, Sendable, Codable, Equatable, CustomStringConvertible {
    public var code: String
    public var message: LocalizedText
    /// The input field at fault, when there is one (a config key, a request parameter).
    public var field: String?
    /// The sysexits status a command line reports for it (65 bad data, 66 missing input, 75 try again, ...).
    public var exit: Int32?

    public init(_ code: String, _ message: LocalizedText, field: String? = nil, exit: Int32? = nil) {
        self.code = code
        self.message = message
        self.field = field
        self.exit = exit
    }

    public init(_ code: String, id: String, en: String, field: String? = nil, exit: Int32? = nil) {
        self.init(code, LocalizedText(id, en), field: field, exit: exit)
    }

    public var description: String { "\(self.code): \(self.message.bilingual)" }

    public static func malformed(_ detail: String) -> ControlError {
        ControlError("malformed", id: "Permintaan tidak sah: \(detail)", en: "Malformed request: \(detail)")
    }

    public static func unknownMethod(_ method: String) -> ControlError {
        let shown = SafeText.visible(String(method.prefix(80)))
        return ControlError("unknown_method", id: "Perintah tidak dikenal: \(shown)", en: "Unknown method: \(shown)")
    }

    public static func forbidden(_ method: String, role: ControlRole) -> ControlError {
        let shown = SafeText.visible(String(method.prefix(80)))
        return ControlError("forbidden", id: "Peran \(role.rawValue) tidak boleh memanggil \(shown).",
                            en: "Role \(role.rawValue) may not call \(shown).")
    }

    public static func badParams(_ detail: String, field: String? = nil) -> ControlError {
        ControlError("bad_params", id: "Parameter tidak sah: \(detail)", en: "Invalid parameters: \(detail)", field: field, exit: 65)
    }

    public static let unavailable = ControlError(
        "unavailable", id: "Layanan kios sedang berhenti; coba lagi sebentar lagi.",
        en: "The kiosk service is stopping; try again shortly.")
}

/// A JSON value of any shape: the params and results of control calls, decoded into typed values where used.
public enum JSONValue: Sendable, Hashable, Codable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            self = .null
        } else if let b = try? c.decode(Bool.self) {
            self = .bool(b)
        } else if let n = try? c.decode(Double.self) {
            self = .number(n)
        } else if let s = try? c.decode(String.self) {
            self = .string(s)
        } else if let a = try? c.decode([JSONValue].self) {
            self = .array(a)
        } else {
            self = .object(try c.decode([String: JSONValue].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .number(let n):
            // Whole numbers print as integers (`3`, not `3.0`), so counts and ids read as such on the wire.
            if n.rounded() == n, abs(n) < 9.0e15 { try c.encode(Int64(n)) } else { try c.encode(n) }
        case .string(let s): try c.encode(s)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        }
    }

    /// Any Encodable value as JSON, through the shared coder (so dates are ISO 8601 and keys as the type spells them).
    public init(encoding value: some Encodable) throws {
        self = try KioskJSON.decode(JSONValue.self, from: try KioskJSON.encode(value))
    }

    /// This value decoded as `T` through the shared coder.
    public func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try KioskJSON.decode(T.self, from: try KioskJSON.encode(self))
    }

    public subscript(key: String) -> JSONValue? {
        if case .object(let o) = self { return o[key] }
        return nil
    }

    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    public var intValue: Int? {
        if case .number(let n) = self, n.rounded() == n, abs(n) < 9.0e15 { return Int(n) }
        return nil
    }

    public var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }
}

/// One line from a client.
public struct ControlRequest: Sendable, Codable, Equatable {
    public var id: Int
    public var method: String
    public var params: JSONValue?

    public init(id: Int, method: String, params: JSONValue? = nil) {
        self.id = id
        self.method = method
        self.params = params
    }
}

/// One line from kioskd: a reply (`id` with `result` or `error`) or a pushed event (`event` with `data`).
public struct ControlReply: Sendable, Codable, Equatable {
    public var id: Int?
    public var result: JSONValue?
    public var error: ControlError?
    public var event: String?
    public var data: JSONValue?

    public init(id: Int?, result: JSONValue? = nil, error: ControlError? = nil, event: String? = nil, data: JSONValue? = nil) {
        self.id = id
        self.result = result
        self.error = error
        self.event = event
        self.data = data
    }

    public static func event(_ name: String, _ data: JSONValue) -> ControlReply {
        ControlReply(id: nil, event: name, data: data)
    }
}
