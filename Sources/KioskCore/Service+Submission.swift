/// The one check of what a resident (or staff on their behalf) gives with a submission: the facts against the
/// chosen service's declared facts, and the free text. Both `kioskctl application submit` and the kiosk's
/// in-process submit call it; the rules engine uses the same fact check.
extension Service {
    /// Every fact this service understands: its declared facts plus the facts common to all services.
    public var knownFacts: [FactSpec] { (self.facts ?? []) + RulesEngine.commonFacts }

    /// Checks `given` against the declared facts: an unknown key is refused, a value must match its declared
    /// kind (and be one of the choices), text values hold no control, bidi-override or zero-width characters
    /// (`SafeText`). With `requireAll`, a missing required fact is refused too (the rules engine needs them).
    public func checkFacts(_ given: Facts, requireAll: Bool = false) throws(RulesError) {
        let specs = self.knownFacts
        for (key, value) in given.sorted(by: { $0.key < $1.key }) {
            guard SafeText.firstUnsafe(in: key) == nil, let spec = specs.first(where: { $0.key == key }) else {
                throw .unknownFact(SafeText.visible(key), known: specs.map(\.key))
            }
            if case .string(let text) = value, SafeText.firstUnsafe(in: text) != nil {
                throw .badFact(key: key, reason: LocalizedText(
                    "Fakta \(key) memuat karakter kendali atau tak terlihat.",
                    "Fact \(key) contains control or invisible characters."))
            }
            if let reason = spec.check(value) { throw .badFact(key: key, reason: reason) }
        }
        guard requireAll else { return }
        for spec in self.facts ?? [] where spec.required == true && given[spec.key] == nil {
            throw .missingFact(key: spec.key, label: spec.label)
        }
    }

    /// The submission check: facts as above, and the contact (a phone number or similar: at most 64
    /// characters, no control, bidi-override or zero-width characters).
    public func checkSubmission(facts: Facts, contact: String?) throws(RulesError) {
        try self.checkFacts(facts)
        if let contact, contact.count > 64 || SafeText.firstUnsafe(in: contact) != nil {
            throw .invalidText(field: "contact", reason: LocalizedText(
                "Kontak tidak sah: paling banyak 64 karakter, tanpa karakter kendali atau tak terlihat.",
                "Invalid contact: at most 64 characters, with no control or invisible characters."))
        }
    }
}
