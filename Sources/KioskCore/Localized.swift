/// A UI language. Bahasa Indonesia is the default everywhere; English is second.
public enum Language: String, Sendable, Codable, CaseIterable {
    case id
    case en
}

/// Text in Bahasa Indonesia and English. Indonesian is mandatory; English falls back to Indonesian.
public struct LocalizedText: Hashable, Sendable, Codable, CustomStringConvertible {
    public var id: String
    public var en: String?

    public init(id: String, en: String? = nil) {
        self.id = id
        self.en = en
    }

    public init(_ id: String, _ en: String) {
        self.id = id
        self.en = en
    }

    public func text(_ language: Language) -> String {
        switch language {
        case .id: return self.id
        case .en: return self.en ?? self.id
        }
    }

    /// "Indonesian / English", the form used by CLI messages read by staff of either language.
    public var bilingual: String {
        guard let en = self.en, en != self.id else { return self.id }
        return "\(self.id) / \(en)"
    }

    public var description: String { self.bilingual }
}
