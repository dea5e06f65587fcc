/// One fact about a case, given by the resident or staff (`--fact KEY=VALUE`), e.g. `gestation_weeks=30`.
public enum FactValue: Hashable, Sendable, Codable, CustomStringConvertible {
    case bool(Bool)
    case int(Int)
    case date(CivilDate)
    case string(String)

    /// Parses a command-line value: booleans (`true/false`, `ya/tidak`, `yes/no`), integers, `YYYY-MM-DD`
    /// dates, otherwise text.
    public init(parsing text: String) {
        switch text.lowercased() {
        case "true", "yes", "ya": self = .bool(true)
        case "false", "no", "tidak": self = .bool(false)
        default:
            if let i = Int(text) {
                self = .int(i)
            } else if let d = CivilDate(iso: text) {
                self = .date(d)
            } else {
                self = .string(text)
            }
        }
    }

    public var description: String {
        switch self {
        case .bool(let b): return String(b)
        case .int(let i): return String(i)
        case .date(let d): return d.description
        case .string(let s): return s
        }
    }

    public var intValue: Int? { if case .int(let i) = self { return i } else { return nil } }
    public var dateValue: CivilDate? { if case .date(let d) = self { return d } else { return nil } }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let b = try? c.decode(Bool.self) {
            self = .bool(b)
        } else if let i = try? c.decode(Int.self) {
            self = .int(i)
        } else {
            let s = try c.decode(String.self)
            self = CivilDate(iso: s).map(FactValue.date) ?? .string(s)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .bool(let b): try c.encode(b)
        case .int(let i): try c.encode(i)
        case .date(let d): try c.encode(d)
        case .string(let s): try c.encode(s)
        }
    }
}

/// The facts of one case, keyed by snake_case names declared in the service's `facts` list.
public typealias Facts = [String: FactValue]

/// A declared fact a service asks for (drives validation here and the event-details screen in the UI).
public struct FactSpec: Hashable, Sendable, Codable {
    public enum Kind: String, Hashable, Sendable, Codable {
        case bool, int, date, choice, text
    }

    public var key: String
    public var kind: Kind
    public var label: LocalizedText
    /// Allowed values for `choice`.
    public var choices: [String]?
    /// A missing required fact is an error; optional facts refine the result (e.g. an approval date).
    public var required: Bool?
    public var reference: String?

    public init(key: String, kind: Kind, label: LocalizedText, choices: [String]? = nil, required: Bool? = nil,
                reference: String? = nil) {
        self.key = key
        self.kind = kind
        self.label = label
        self.choices = choices
        self.required = required
        self.reference = reference
    }

    /// Checks a value against the declared kind; returns a reason on mismatch.
    public func check(_ value: FactValue) -> LocalizedText? {
        switch (self.kind, value) {
        case (.bool, .bool), (.int, .int), (.date, .date), (.text, _):
            return nil
        case (.choice, .string(let s)) where (self.choices ?? []).contains(s):
            return nil
        case (.choice, _):
            let list = (self.choices ?? []).joined(separator: ", ")
            return LocalizedText(
                "Fakta \(self.key) harus salah satu dari: \(list).", "Fact \(self.key) must be one of: \(list).")
        case (.bool, _):
            return LocalizedText(
                "Fakta \(self.key) harus true atau false.", "Fact \(self.key) must be true or false.")
        case (.int, _):
            return LocalizedText(
                "Fakta \(self.key) harus bilangan bulat.", "Fact \(self.key) must be a whole number.")
        case (.date, _):
            return LocalizedText(
                "Fakta \(self.key) harus tanggal YYYY-MM-DD.", "Fact \(self.key) must be a YYYY-MM-DD date.")
        }
    }
}

/// A condition over facts, written in profiles as small JSON objects:
/// `{"fact": "gestation_weeks", "lt": 28}`, `{"fact": "marital_status", "in": ["kawin"]}`,
/// `{"fact": "religion_exempt", "equals": true}`, `{"all": [...]}`, `{"any": [...]}`, `{"not": {...}}`.
/// A comparison with a missing fact is false.
public indirect enum Condition: Hashable, Sendable, Codable {
    case equals(String, FactValue)
    case oneOf(String, [String])
    case lessThan(String, Int)
    case atLeast(String, Int)
    case present(String)
    case all([Condition])
    case any([Condition])
    case not(Condition)

    public func holds(_ facts: Facts) -> Bool {
        switch self {
        case .equals(let k, let v): return facts[k] == v
        case .oneOf(let k, let list): return facts[k].map { list.contains($0.description) } ?? false
        case .lessThan(let k, let n): return facts[k]?.intValue.map { $0 < n } ?? false
        case .atLeast(let k, let n): return facts[k]?.intValue.map { $0 >= n } ?? false
        case .present(let k): return facts[k] != nil
        case .all(let cs): return cs.allSatisfy { $0.holds(facts) }
        case .any(let cs): return cs.contains { $0.holds(facts) }
        case .not(let c): return !c.holds(facts)
        }
    }

    /// Every fact key the condition reads.
    public var factKeys: Set<String> {
        switch self {
        case .equals(let k, _), .oneOf(let k, _), .lessThan(let k, _), .atLeast(let k, _), .present(let k):
            return [k]
        case .all(let cs), .any(let cs): return cs.reduce(into: []) { $0.formUnion($1.factKeys) }
        case .not(let c): return c.factKeys
        }
    }

    private enum Keys: String, CodingKey {
        case fact, equals, `in`, lt, gte, present, all, any, not
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: Keys.self)
        if let list = try c.decodeIfPresent([Condition].self, forKey: .all) {
            self = .all(list)
        } else if let list = try c.decodeIfPresent([Condition].self, forKey: .any) {
            self = .any(list)
        } else if let inner = try c.decodeIfPresent(Condition.self, forKey: .not) {
            self = .not(inner)
        } else {
            let fact = try c.decode(String.self, forKey: .fact)
            if let v = try c.decodeIfPresent(FactValue.self, forKey: .equals) {
                self = .equals(fact, v)
            } else if let list = try c.decodeIfPresent([String].self, forKey: .in) {
                self = .oneOf(fact, list)
            } else if let n = try c.decodeIfPresent(Int.self, forKey: .lt) {
                self = .lessThan(fact, n)
            } else if let n = try c.decodeIfPresent(Int.self, forKey: .gte) {
                self = .atLeast(fact, n)
            } else if try c.decodeIfPresent(Bool.self, forKey: .present) == true {
                self = .present(fact)
            } else {
                throw DecodingError.dataCorrupted(.init(
                    codingPath: c.codingPath,
                    debugDescription: "a fact condition needs one of equals, in, lt, gte, present"))
            }
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        switch self {
        case .equals(let k, let v): try c.encode(k, forKey: .fact); try c.encode(v, forKey: .equals)
        case .oneOf(let k, let l): try c.encode(k, forKey: .fact); try c.encode(l, forKey: .in)
        case .lessThan(let k, let n): try c.encode(k, forKey: .fact); try c.encode(n, forKey: .lt)
        case .atLeast(let k, let n): try c.encode(k, forKey: .fact); try c.encode(n, forKey: .gte)
        case .present(let k): try c.encode(k, forKey: .fact); try c.encode(true, forKey: .present)
        case .all(let l): try c.encode(l, forKey: .all)
        case .any(let l): try c.encode(l, forKey: .any)
        case .not(let inner): try c.encode(inner, forKey: .not)
        }
    }
}
