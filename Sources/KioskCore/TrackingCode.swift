/// The code a resident writes down to check an application: 8 characters shown as `XXXX-XXXX`, from an
/// alphabet without the look-alikes 0/O and 1/I/L. The last character is a check character: the weighted sum
/// Σ (i+1)·value(cᵢ) is 0 modulo 31 (the alphabet's prime size), so every single mistyped character is caught.
/// It is distinct from the application's UUID, which never leaves staff and Dinas systems.
public struct TrackingCode: Hashable, Sendable, Codable, CustomStringConvertible {
    public static let alphabet = Array("23456789ABCDEFGHJKMNPQRSTUVWXYZ")
    static let values: [Character: Int] = Dictionary(uniqueKeysWithValues: alphabet.enumerated().map { ($1, $0) })
    public static let length = 8

    /// The 8 characters without the separator.
    public let raw: String

    /// Makes a code from 7 random alphabet indexes (each 0..<31) and appends the check character.
    public init<G: RandomNumberGenerator>(using generator: inout G) {
        var values = (0..<7).map { _ in Int.random(in: 0..<31, using: &generator) }
        values.append(TrackingCode.checkValue(for: values))
        self.raw = String(values.map { TrackingCode.alphabet[$0] })
    }

    /// Parses what a resident typed: case-insensitive, ignoring spaces and dashes.
    public init(_ text: String) throws(TrackingCodeError) {
        let cleaned = text.uppercased().filter { $0 != "-" && $0 != " " }
        guard cleaned.count == TrackingCode.length else { throw .wrongLength(cleaned.count) }
        var values: [Int] = []
        for c in cleaned {
            guard let v = TrackingCode.values[c] else { throw .invalidCharacter(c) }
            values.append(v)
        }
        guard TrackingCode.weightedSum(values) % 31 == 0 else { throw .checkFailed }
        self.raw = cleaned
    }

    static func weightedSum(_ values: [Int]) -> Int {
        values.enumerated().reduce(0) { $0 + ($1.offset + 1) * $1.element }
    }

    /// The value c with Σ_{i<7}(i+1)vᵢ + 8c ≡ 0 (mod 31); 4 is the inverse of 8 modulo 31.
    static func checkValue(for values: [Int]) -> Int {
        let s = weightedSum(values) % 31
        return ((31 - s) % 31) * 4 % 31
    }

    /// `ABCD-EFGH`, the form printed on receipts and shown on screen.
    public var formatted: String { "\(self.raw.prefix(4))-\(self.raw.suffix(4))" }

    public var description: String { self.formatted }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do {
            self = try TrackingCode(text)
        } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "\(error)"))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(self.formatted)
    }
}

public enum TrackingCodeError: Error, Hashable, Sendable, CustomStringConvertible {
    case wrongLength(Int)
    case invalidCharacter(Character)
    case checkFailed

    public var message: LocalizedText {
        switch self {
        case .wrongLength(let n):
            return LocalizedText("Kode pelacakan terdiri dari 8 karakter (terisi \(n)).",
                                 "A tracking code has 8 characters (got \(n)).")
        case .invalidCharacter(let c):
            return LocalizedText("Karakter \"\(c)\" tidak dipakai dalam kode pelacakan (tidak ada 0, O, 1, I, L).",
                                 "\"\(c)\" is not used in tracking codes (there is no 0, O, 1, I or L).")
        case .checkFailed:
            return LocalizedText("Kode pelacakan salah ketik; periksa kembali tanda terima.",
                                 "The tracking code has a typo; please check the receipt.")
        }
    }

    public var description: String { self.message.bilingual }
}
