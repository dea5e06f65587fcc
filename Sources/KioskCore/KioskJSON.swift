#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The project's one JSON coder (architecture.md, "Control API"): the socket, every `--json` output, the Dinas
/// protocol and the USB index agree on shapes.
///
/// - keys are snake_case (types spell them in their `CodingKeys`);
/// - instants are ISO 8601 with an explicit offset, e.g. `2026-12-02T06:53:01Z` (UTC, second precision);
/// - civil dates are `YYYY-MM-DD` (`CivilDate` encodes itself that way);
/// - output keys are sorted and slashes are not escaped, so the same value always gives the same bytes.
///
/// Decoding refuses a document with a duplicate object key: two readers (this kiosk takes the first, Python tools
/// take the last) must never disagree about what a signed payload says.
public enum KioskJSON {
    /// An encoder with the project's settings. `pretty` adds indentation for people; machines get one line.
    public static func encoder(pretty: Bool = false) -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(KioskJSON.timestamp(date))
        }
        return encoder
    }

    /// A decoder with the project's settings (ISO 8601 instants with an offset; fractional seconds accepted).
    public static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let container = try decoder.singleValueContainer()
            let text = try container.decode(String.self)
            guard let date = KioskJSON.date(text) else {
                throw DecodingError.dataCorruptedError(
                    in: container, debugDescription: "expected an ISO 8601 time with offset, like 2026-11-22T08:00:00Z")
            }
            return date
        }
        return decoder
    }

    /// Encodes with the shared encoder; a value that cannot be encoded is a programming error reported as empty.
    public static func encode(_ value: some Encodable, pretty: Bool = false) throws -> Data {
        try KioskJSON.encoder(pretty: pretty).encode(value)
    }

    /// Decodes with the shared decoder after refusing duplicate keys.
    public static func decode<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
        if let path = KioskJSON.duplicateKey(in: data) {
            throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "duplicate key \(path)"))
        }
        return try KioskJSON.decoder().decode(T.self, from: data)
    }

    // MARK: instants

    /// `2026-12-02T06:53:01Z`: UTC, second precision.
    public static func timestamp(_ date: Date) -> String {
        let seconds = date.timeIntervalSince1970.rounded(.down)
        guard seconds.isFinite, abs(seconds) < 253_402_300_800 else { return "1970-01-01T00:00:00Z" }
        let whole = Int64(seconds)
        var days = whole / 86_400
        var rest = whole % 86_400
        if rest < 0 { rest += 86_400; days -= 1 }
        let civil = CivilDate(dayNumber: Int(days))
        func two(_ n: Int64) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(civil.description)T\(two(rest / 3600)):\(two(rest % 3600 / 60)):\(two(rest % 60))Z"
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fff](Z|±HH:MM)`; nil for anything else (no offset means no instant).
    public static func date(_ text: String) -> Date? {
        let b = Array(text.utf8)
        guard b.count >= 20, b.count <= 40 else { return nil }
        func num(_ from: Int, _ count: Int) -> Int? {
            guard from + count <= b.count else { return nil }
            var n = 0
            for i in from..<(from + count) {
                guard b[i] >= 48, b[i] <= 57 else { return nil }
                n = n * 10 + Int(b[i] - 48)
            }
            return n
        }
        guard b[4] == 45, b[7] == 45, b[10] == 84 || b[10] == 116, b[13] == 58, b[16] == 58,
              let year = num(0, 4), let month = num(5, 2), let day = num(8, 2),
              let hour = num(11, 2), let minute = num(14, 2), let second = num(17, 2),
              hour < 24, minute < 60, second < 60,
              let civil = CivilDate(year: year, month: month, day: day)
        else { return nil }
        var i = 19
        var fraction = 0.0
        if i < b.count, b[i] == 46 {
            i += 1
            var scale = 0.1
            let start = i
            while i < b.count, b[i] >= 48, b[i] <= 57, i - start < 9 {
                fraction += Double(b[i] - 48) * scale
                scale /= 10
                i += 1
            }
            guard i > start else { return nil }
        }
        guard i < b.count else { return nil }
        var offset = 0
        if b[i] == 90 || b[i] == 122 {
            guard i + 1 == b.count else { return nil }
        } else if b[i] == 43 || b[i] == 45 {
            guard i + 6 == b.count, b[i + 3] == 58, let oh = num(i + 1, 2), let om = num(i + 4, 2), oh < 24, om < 60
            else { return nil }
            offset = (oh * 3600 + om * 60) * (b[i] == 43 ? 1 : -1)
        } else {
            return nil
        }
        let seconds = civil.dayNumber * 86_400 + hour * 3600 + minute * 60 + second - offset
        return Date(timeIntervalSince1970: Double(seconds) + fraction)
    }

    // MARK: duplicate keys

    /// The path of the first object key that appears twice in one object (`payload.kiosk.desa_name`), or nil when
    /// there is none or the bytes are not JSON (the decoder then reports what is wrong). Bounded: one pass over the
    /// bytes, nesting capped at 512.
    public static func duplicateKey(in data: Data) -> String? {
        var scanner = DuplicateKeyScanner(bytes: Array(data))
        return scanner.run()
    }

    /// The first string (value or key) in a JSON document that holds a `SafeText.isUnsafe` scalar or is longer
    /// than `maxLength` characters, as `(path, reason)`; nil when every string is clean or the bytes are not JSON.
    /// Config bundles use it on their encoded payload, so every text field is covered without listing them.
    public static func firstUnsafeText(in data: Data, maxLength: Int) -> (path: String, reason: String)? {
        var scanner = DuplicateKeyScanner(bytes: Array(data))
        scanner.textLimit = maxLength
        _ = scanner.run()
        return scanner.unsafeText
    }

    /// Why `text` may not be stored or shown as it is, or nil when it is clean and at most `maxLength` long.
    public static func textProblem(_ text: String, maxLength: Int) -> String? {
        if let s = SafeText.firstUnsafe(in: text) {
            return "contains control or invisible character U+\(String(s.value, radix: 16, uppercase: true).leftPadded(4))"
        }
        if text.count > maxLength { return "longer than \(maxLength) characters" }
        return nil
    }
}

extension String {
    fileprivate func leftPadded(_ width: Int) -> String {
        String(repeating: "0", count: max(0, width - self.count)) + self
    }
}

private struct DuplicateKeyScanner {
    let bytes: [UInt8]
    var i = 0
    var path: [String] = []
    var found: String?
    /// When set, strings are also checked with `KioskJSON.textProblem` and the first offender is kept.
    var textLimit: Int?
    var unsafeText: (path: String, reason: String)?

    init(bytes: [UInt8]) { self.bytes = bytes }

    mutating func run() -> String? {
        _ = self.value(depth: 0)
        return self.found
    }

    static func render(_ components: [String]) -> String {
        components.reduce("") { p, k in k.hasPrefix("[") ? p + k : (p.isEmpty ? k : p + "." + k) }
    }

    mutating func check(_ text: String, at components: [String]) {
        guard let limit = self.textLimit, self.unsafeText == nil,
              let reason = KioskJSON.textProblem(text, maxLength: limit) else { return }
        self.unsafeText = (DuplicateKeyScanner.render(components), reason)
    }

    mutating func skipSpace() {
        while self.i < self.bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(self.bytes[self.i]) { self.i += 1 }
    }

    /// Returns false to stop (malformed input or a duplicate found).
    mutating func value(depth: Int) -> Bool {
        guard depth < 512, self.found == nil else { return false }
        self.skipSpace()
        guard self.i < self.bytes.count else { return false }
        switch self.bytes[self.i] {
        case 0x7B: return self.object(depth: depth)
        case 0x5B:
            self.i += 1
            self.skipSpace()
            if self.i < self.bytes.count, self.bytes[self.i] == 0x5D { self.i += 1; return true }
            var index = 0
            while true {
                self.path.append("[\(index)]")
                guard self.value(depth: depth + 1) else { return false }
                self.path.removeLast()
                self.skipSpace()
                guard self.i < self.bytes.count else { return false }
                if self.bytes[self.i] == 0x2C { self.i += 1; index += 1; continue }
                if self.bytes[self.i] == 0x5D { self.i += 1; return true }
                return false
            }
        case 0x22:
            guard let text = self.string() else { return false }
            self.check(text, at: self.path)
            return true
        default:
            // number, true, false, null: anything up to a delimiter
            let start = self.i
            while self.i < self.bytes.count, ![0x2C, 0x5D, 0x7D, 0x20, 0x09, 0x0A, 0x0D].contains(self.bytes[self.i]) {
                self.i += 1
            }
            return self.i > start
        }
    }

    mutating func object(depth: Int) -> Bool {
        self.i += 1
        var keys = Set<String>()
        self.skipSpace()
        if self.i < self.bytes.count, self.bytes[self.i] == 0x7D { self.i += 1; return true }
        while true {
            self.skipSpace()
            guard self.i < self.bytes.count, self.bytes[self.i] == 0x22, let key = self.string() else { return false }
            if !keys.insert(key).inserted {
                self.found = DuplicateKeyScanner.render(self.path + [key])
                return false
            }
            self.check(key, at: self.path + [key])
            self.skipSpace()
            guard self.i < self.bytes.count, self.bytes[self.i] == 0x3A else { return false }
            self.i += 1
            self.path.append(key)
            guard self.value(depth: depth + 1) else { return false }
            self.path.removeLast()
            self.skipSpace()
            guard self.i < self.bytes.count else { return false }
            if self.bytes[self.i] == 0x2C { self.i += 1; continue }
            if self.bytes[self.i] == 0x7D { self.i += 1; return true }
            return false
        }
    }

    /// A JSON string starting at the opening quote, with escapes decoded (so `"a"` and `"\u0061"` are one key).
    mutating func string() -> String? {
        self.i += 1
        var out: [UInt8] = []
        var units: [UInt16] = []
        func flushUnits(_ out: inout [UInt8], _ units: inout [UInt16]) {
            if !units.isEmpty { out += Array(String(decoding: units, as: UTF16.self).utf8); units.removeAll() }
        }
        while self.i < self.bytes.count {
            let c = self.bytes[self.i]
            if c == 0x22 {
                self.i += 1
                flushUnits(&out, &units)
                return String(decoding: out, as: UTF8.self)
            }
            if c == 0x5C {
                guard self.i + 1 < self.bytes.count else { return nil }
                let e = self.bytes[self.i + 1]
                self.i += 2
                if e == 0x75 {
                    guard self.i + 4 <= self.bytes.count,
                          let u = UInt16(String(decoding: self.bytes[self.i..<(self.i + 4)], as: UTF8.self), radix: 16)
                    else { return nil }
                    units.append(u)
                    self.i += 4
                    continue
                }
                flushUnits(&out, &units)
                switch e {
                case 0x6E: out.append(0x0A)
                case 0x74: out.append(0x09)
                case 0x72: out.append(0x0D)
                case 0x62: out.append(0x08)
                case 0x66: out.append(0x0C)
                default: out.append(e)
                }
                continue
            }
            flushUnits(&out, &units)
            out.append(c)
            self.i += 1
        }
        return nil
    }
}
