import Foundation
import KioskCore

/// A configuration file is read as the shared `JSONValue` (decoded with the shared decoder after the duplicate-key
/// check, so the reader sees exactly what was written: JSON's `true` is never the number 1).

extension JSONValue {
    /// What the file says, short enough to quote in a message.
    var shown: String {
        switch self {
        case .null: return "null"
        case .bool(let b): return String(b)
        case .number(let d): return self.intValue.map(String.init) ?? String(d)
        case .string(let s):
            let visible = SafeText.visible(s)
            return "\"" + (visible.count > 40 ? visible.prefix(40) + "…" : visible) + "\""
        case .array: return "[…]"
        case .object: return "{…}"
        }
    }
}

/// A rule for one text value: the check and what it allows, as a bilingual noun phrase ("an absolute path …").
struct TextRule: Sendable {
    let isValid: @Sendable (String) -> Bool
    let id: String
    let en: String
}

/// One JSON object of the file (the top level or a section) being read: every key must be known, a missing key
/// takes its default, and each value is checked against its allowed range. Errors name the dotted path.
struct ConfigSection {
    let source: String
    let path: String
    let values: [String: JSONValue]

    /// The object at `path`, refused when it holds a key not in `keys` (or a key that `moved` elsewhere).
    init(_ value: JSONValue?, path: String, keys: [String], moved: [String: String] = [:], source: String)
        throws(KioskdConfigError)
    {
        self.source = source
        self.path = path
        switch value {
        case nil:
            self.values = [:]
        case .object(let values)?:
            self.values = values
        case let other?:
            throw KioskdConfigError(
                source: source, field: path.isEmpty ? nil : path,
                id: "\(path.isEmpty ? "berkas" : path): harus objek JSON {…}, tertulis \(other.shown)",
                en: "\(path.isEmpty ? "file" : path): must be a JSON object {…}, got \(other.shown)")
        }
        for key in self.values.keys.sorted() where !keys.contains(key) {
            let field = self.name(key)
            if let target = moved[key] {
                throw KioskdConfigError(source: source, field: field,
                                        id: "\(SafeText.visible(field)): kunci ini dipindah ke \(target)",
                                        en: "\(SafeText.visible(field)): this key moved to \(target)")
            }
            let known = keys.joined(separator: ", ")
            throw KioskdConfigError(source: source, field: field,
                                    id: "\(SafeText.visible(field)): kunci tidak dikenal (yang dikenal: \(known))",
                                    en: "\(SafeText.visible(field)): unknown key (known keys: \(known))")
        }
    }

    func name(_ key: String) -> String { self.path.isEmpty ? key : "\(self.path).\(key)" }

    func fail(_ key: String, _ id: String, _ en: String, got: JSONValue?) -> KioskdConfigError {
        let field = self.name(key)
        return KioskdConfigError(source: self.source, field: field,
                                 id: "\(field): \(id)" + (got.map { ", tertulis \($0.shown)" } ?? ""),
                                 en: "\(field): \(en)" + (got.map { ", got \($0.shown)" } ?? ""))
    }

    /// The sub-object `key` (an empty one when missing), with its own known keys.
    func section(_ key: String, keys: [String], moved: [String: String] = [:]) throws(KioskdConfigError) -> ConfigSection {
        if self.values[key] == .null {
            throw self.fail(key, "harus objek JSON {…}", "must be a JSON object {…}", got: .null)
        }
        return try ConfigSection(self.values[key], path: self.name(key), keys: keys, moved: moved, source: self.source)
    }

    func integer(_ key: String, _ range: ClosedRange<Int>, default value: Int) throws(KioskdConfigError) -> Int {
        guard let given = self.values[key] else { return value }
        guard let i = given.intValue, range.contains(i) else {
            throw self.fail(key, "harus bilangan bulat \(range.lowerBound)…\(range.upperBound)",
                            "must be an integer \(range.lowerBound)…\(range.upperBound)", got: given)
        }
        return i
    }

    func number(_ key: String, _ range: ClosedRange<Double>, default value: Double?, nullable: Bool = false,
                unit: String = "") throws(KioskdConfigError) -> Double?
    {
        guard let given = self.values[key] else { return value }
        let d: Double?
        switch given {
        case .number(let n): d = n
        case .null where nullable: return nil
        default: d = nil
        }
        guard let d, range.contains(d) else {
            let span = "\(Self.format(range.lowerBound))…\(Self.format(range.upperBound))\(unit)"
            throw self.fail(key, (nullable ? "harus null atau angka " : "harus angka ") + span,
                            (nullable ? "must be null or a number " : "must be a number ") + span, got: given)
        }
        return d
    }

    static func format(_ d: Double) -> String { d == d.rounded() && abs(d) < 1e15 ? String(Int(d)) : String(d) }

    func choice(_ key: String, _ options: [String], default value: String) throws(KioskdConfigError) -> String {
        guard let given = self.values[key] else { return value }
        guard case .string(let s) = given, options.contains(s) else {
            let list = options.map { "\"\($0)\"" }.joined(separator: ", ")
            throw self.fail(key, "harus salah satu dari \(list)", "must be one of \(list)", got: given)
        }
        return s
    }

    func string(_ key: String, _ rule: TextRule, default value: String) throws(KioskdConfigError) -> String {
        guard let given = self.values[key] else { return value }
        guard case .string(let s) = given, rule.isValid(s) else {
            throw self.fail(key, "harus " + rule.id, "must be " + rule.en, got: given)
        }
        return s
    }

    /// A text value that may be null (or missing, taking `value`).
    func optionalString(_ key: String, _ rule: TextRule, default value: String?) throws(KioskdConfigError) -> String? {
        guard let given = self.values[key] else { return value }
        switch given {
        case .null: return nil
        case .string(let s) where rule.isValid(s): return s
        default: throw self.fail(key, "harus null atau " + rule.id, "must be null or " + rule.en, got: given)
        }
    }

    func strings(_ key: String, _ rule: TextRule, count: ClosedRange<Int>, default value: [String])
        throws(KioskdConfigError) -> [String]
    {
        guard let given = self.values[key] else { return value }
        guard case .array(let items) = given, count.contains(items.count) else {
            throw self.fail(key, "harus larik \(count.lowerBound)…\(count.upperBound) unsur, masing-masing \(rule.id)",
                            "must be an array of \(count.lowerBound)…\(count.upperBound) items, each \(rule.en)", got: given)
        }
        var out: [String] = []
        for (i, item) in items.enumerated() {
            guard case .string(let s) = item, rule.isValid(s) else {
                throw self.fail("\(key)[\(i)]", "harus " + rule.id, "must be " + rule.en, got: item)
            }
            out.append(s)
        }
        return out
    }
}
