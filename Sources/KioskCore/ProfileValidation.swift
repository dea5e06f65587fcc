#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A problem in configuration data, naming the failing field as a path (`payload.jurisdiction.services[3].id`).
public struct ValidationError: Error, Hashable, Sendable, CustomStringConvertible {
    public var field: String
    public var reason: String

    public init(field: String, reason: String) {
        self.field = field
        self.reason = reason
    }

    public var description: String { "\(self.field): \(self.reason)" }
}

/// Decoding with readable paths: a `DecodingError` becomes a `ValidationError` naming the JSON field.
public enum StrictJSON {
    public static func decode<T: Decodable>(_ type: T.Type, from data: Data, root: String) throws(ValidationError) -> T {
        if let duplicate = KioskJSON.duplicateKey(in: data) {
            throw ValidationError(field: duplicate.isEmpty ? root : "\(root).\(duplicate)", reason: "duplicate key")
        }
        do {
            return try KioskJSON.decoder().decode(T.self, from: data)
        } catch let error as DecodingError {
            throw ValidationError(decoding: error, root: root)
        } catch {
            throw ValidationError(field: root, reason: "\(error)")
        }
    }

    public static func path(_ root: String, _ codingPath: [any CodingKey]) -> String {
        codingPath.reduce(root) { path, key in
            if let i = key.intValue { return "\(path)[\(i)]" }
            return path.isEmpty ? key.stringValue : "\(path).\(key.stringValue)"
        }
    }
}

extension ValidationError {
    init(decoding error: DecodingError, root: String) {
        switch error {
        case .keyNotFound(let key, let ctx):
            self.init(field: StrictJSON.path(root, ctx.codingPath + [key]), reason: "missing")
        case .typeMismatch(let type, let ctx):
            self.init(field: StrictJSON.path(root, ctx.codingPath), reason: "expected \(type)")
        case .valueNotFound(let type, let ctx):
            self.init(field: StrictJSON.path(root, ctx.codingPath), reason: "expected \(type), found null")
        case .dataCorrupted(let ctx):
            let reason = ctx.underlyingError != nil || ctx.debugDescription.contains("valid JSON") ? "not valid JSON" : ctx.debugDescription
            self.init(field: StrictJSON.path(root, ctx.codingPath), reason: reason)
        @unknown default:
            self.init(field: root, reason: "\(error)")
        }
    }
}

extension JurisdictionProfile {
    /// Decodes and checks a profile. Rules are data pushed by the Dinas, so every cross-reference is checked.
    public static func load(_ data: Data, root: String = "profile") throws(ValidationError) -> JurisdictionProfile {
        let profile = try StrictJSON.decode(JurisdictionProfile.self, from: data, root: root)
        try profile.validate(root: root)
        return profile
    }

    public func validate(root: String = "profile") throws(ValidationError) {
        func fail(_ field: String, _ reason: String) -> ValidationError {
            ValidationError(field: "\(root).\(field)", reason: reason)
        }
        guard JurisdictionProfile.isSlug(self.id) else { throw fail("id", "must be a lowercase slug") }
        guard self.feeIDR >= 0 else { throw fail("fee_idr", "must not be negative") }
        guard ConfigLimits.rupiah.contains(self.feeIDR) else {
            throw fail("fee_idr", "must be at most Rp \(ConfigLimits.rupiah.upperBound), got \(self.feeIDR)")
        }
        guard !self.services.isEmpty else { throw fail("services", "must not be empty") }
        guard !self.complaintChannels.isEmpty else { throw fail("complaint_channels", "must not be empty") }
        for day in self.conventions.weekend where !(1...7).contains(day) {
            throw fail("conventions.weekend", "ISO weekdays are 1…7")
        }
        guard Set(self.conventions.weekend).count == self.conventions.weekend.count else {
            throw fail("conventions.weekend", "must not repeat a day")
        }
        guard self.conventions.weekend.count <= ConfigLimits.weekendDays else {
            throw fail("conventions.weekend", "at most 6 of the 7 weekdays can be weekend days (there must be working days)")
        }
        guard self.conventions.holidays.count <= ConfigLimits.holidays else {
            throw fail("conventions.holidays", "at most \(ConfigLimits.holidays) dates")
        }
        for (i, h) in self.conventions.holidays.enumerated() where !ConfigLimits.holidayYears.contains(h.year) {
            throw fail("conventions.holidays[\(i)]", "must be in the years 2000…2100, got \(h)")
        }
        if let hours = self.conventions.workingHours {
            guard let opens = WorkingHours.minutes(hours.opens) else {
                throw fail("conventions.working_hours.opens", "must be HH:MM")
            }
            guard let closes = WorkingHours.minutes(hours.closes) else {
                throw fail("conventions.working_hours.closes", "must be HH:MM")
            }
            guard opens < closes else { throw fail("conventions.working_hours", "opens must be before closes") }
        }
        try ConfigLimits.checkText(self, root: root)
        let categories = Set(self.categories.map(\.id))
        var seen = Set<String>()
        let derived: Set<String> = ["years_since_event", "days_since_event"]
        for (i, service) in self.services.enumerated() {
            let at = "services[\(i)]"
            guard JurisdictionProfile.isSlug(service.id) else { throw fail("\(at).id", "must be a lowercase slug") }
            guard seen.insert(service.id).inserted else { throw fail("\(at).id", "duplicate service id \(service.id)") }
            guard categories.contains(service.category) else {
                throw fail("\(at).category", "unknown category \(service.category)")
            }
            let known = Set((service.facts ?? []).map(\.key) + RulesEngine.commonFacts.map(\.key)).union(derived)
            var conditions: [(String, Condition)] = []
            for (j, r) in service.requirements.enumerated() {
                if let c = r.appliesWhen { conditions.append(("\(at).requirements[\(j)].applies_when", c)) }
                for (k, a) in (r.alternatives ?? []).enumerated() {
                    if let c = a.acceptedWhen {
                        conditions.append(("\(at).requirements[\(j)].alternatives[\(k)].accepted_when", c))
                    }
                }
            }
            try JurisdictionProfile.checkRequirements(service, at: "\(root).\(at)")
            try JurisdictionProfile.checkForm(service, known: known, at: "\(root).\(at)")
            for (j, field) in (service.form ?? []).enumerated() {
                if let c = field.appliesWhen { conditions.append(("\(at).form[\(j)].applies_when", c)) }
            }
            if service.kioskAvailable ?? true {
                let noFacts: Facts = [:]
                let requirements = service.requirements.filter { $0.appliesWhen?.holds(noFacts) ?? true }
                let fields = (service.form ?? []).filter { $0.appliesWhen?.holds(noFacts) ?? true }
                guard !requirements.isEmpty || !fields.isEmpty else {
                    throw fail(
                        at, "a kiosk-available service needs a requirement or form field that applies without facts")
                }
            }
            var productIDs = Set<String>()
            for (j, p) in service.products.enumerated() {
                guard productIDs.insert(p.id).inserted || p.appliesWhen != nil else {
                    throw fail("\(at).products[\(j)].id", "duplicate product id \(p.id)")
                }
                if let c = p.appliesWhen { conditions.append(("\(at).products[\(j)].applies_when", c)) }
                for (k, s) in (p.signers ?? []).enumerated() {
                    if let c = s.when { conditions.append(("\(at).products[\(j)].signers[\(k)].when", c)) }
                }
                if let sla = p.sla, sla.period.amount <= 0 {
                    throw fail("\(at).products[\(j)].sla.period.amount", "must be positive")
                }
                if let sla = p.sla, let e = ConfigLimits.check(sla.period, field: "\(root).\(at).products[\(j)].sla.period") {
                    throw e
                }
                if let v = p.validity, v.period == nil, v.untilFact == nil {
                    throw fail("\(at).products[\(j)].validity", "needs a period or until_fact")
                }
                if let period = p.validity?.period,
                   let e = ConfigLimits.check(period, field: "\(root).\(at).products[\(j)].validity.period") {
                    throw e
                }
            }
            for (j, e) in (service.exemptions ?? []).enumerated() {
                conditions.append(("\(at).exemptions[\(j)].when", e.when))
            }
            for (j, r) in (service.refusals ?? []).enumerated() {
                conditions.append(("\(at).refusals[\(j)].when", r.when))
            }
            for (field, condition) in conditions {
                if let unknown = condition.factKeys.subtracting(known).sorted().first {
                    throw fail(field, "uses undeclared fact \(unknown)")
                }
            }
            if let d = service.deadline {
                if d.none != true, d.period == nil { throw fail("\(at).deadline", "needs a period or none: true") }
                if let p = d.period, p.amount <= 0 { throw fail("\(at).deadline.period.amount", "must be positive") }
                if let p = d.period, let e = ConfigLimits.check(p, field: "\(root).\(at).deadline.period") { throw e }
            }
            if let tiers = service.lateTiers {
                guard service.deadline?.period != nil else {
                    throw fail("\(at).late_tiers", "late tiers need a deadline period")
                }
                for (j, t) in tiers.enumerated() {
                    if t.tier == .onTime { throw fail("\(at).late_tiers[\(j)].tier", "on_time is not a late tier") }
                    if t.within == nil, j != tiers.count - 1 {
                        throw fail("\(at).late_tiers[\(j)].within", "only the last tier may be open-ended")
                    }
                    if let w = t.within, let e = ConfigLimits.check(w, field: "\(root).\(at).late_tiers[\(j)].within") {
                        throw e
                    }
                }
            }
            if let fine = service.fine, fine.amountIDR < 0 { throw fail("\(at).fine.amount_idr", "must not be negative") }
            if let fine = service.fine, !ConfigLimits.rupiah.contains(fine.amountIDR) {
                throw fail("\(at).fine.amount_idr", "must be at most Rp \(ConfigLimits.rupiah.upperBound), got \(fine.amountIDR)")
            }
            if let e = service.eligibility, !ConfigLimits.minimumAge.contains(e.minimumAge) {
                throw fail("\(at).eligibility.minimum_age", "must be 0…150, got \(e.minimumAge)")
            }
            if let e = service.eligibility, !known.contains(e.maritalStatusFact) {
                throw fail("\(at).eligibility.marital_status_fact", "undeclared fact \(e.maritalStatusFact)")
            }
        }
    }

    /// Requirement ids unique, page limits in range, names plain and present. `at` is the service's full path.
    static func checkRequirements(_ service: Service, at: String) throws(ValidationError) {
        var ids = Set<String>()
        for (j, r) in service.requirements.enumerated() {
            let path = "\(at).requirements[\(j)]"
            guard !r.id.isEmpty else { throw ValidationError(field: "\(path).id", reason: "must not be empty") }
            guard ids.insert(r.id).inserted else {
                throw ValidationError(field: "\(path).id", reason: "duplicate requirement id \(r.id)")
            }
            if let pages = r.maxPages, !(1...Requirement.pageLimit).contains(pages) {
                throw ValidationError(
                    field: "\(path).max_pages", reason: "must be 1…\(Requirement.pageLimit), got \(pages)")
            }
            try JurisdictionProfile.checkLabel(r.name, at: "\(path).name")
            for (k, a) in (r.alternatives ?? []).enumerated() {
                try JurisdictionProfile.checkLabel(a.name, at: "\(path).alternatives[\(k)].name")
            }
        }
    }

    /// The electronic form: keys, kinds and their options, labels. `known` are the service's fact keys.
    static func checkForm(_ service: Service, known: Set<String>, at: String) throws(ValidationError) {
        var keys = Set<String>()
        for (j, field) in (service.form ?? []).enumerated() {
            let path = "\(at).form[\(j)]"
            func fail(_ sub: String, _ reason: String) -> ValidationError {
                ValidationError(field: sub.isEmpty ? path : "\(path).\(sub)", reason: reason)
            }
            guard JurisdictionProfile.isFormKey(field.key) else {
                throw fail("key", "must be snake_case: a-z first, then a-z 0-9 _, at most 40 characters")
            }
            guard keys.insert(field.key).inserted else { throw fail("key", "duplicate form key \(field.key)") }
            guard !known.contains(field.key) else {
                throw fail("key", "\(field.key) is already a fact of this service")
            }
            try JurisdictionProfile.checkLabel(field.label, at: "\(path).label")
            if let help = field.help { try JurisdictionProfile.checkLabel(help, at: "\(path).help") }
            if field.kind == .choice {
                let choices = field.choices ?? []
                guard !choices.isEmpty else { throw fail("choices", "a choice field needs at least one choice") }
                var ids = Set<String>()
                for (k, c) in choices.enumerated() {
                    guard JurisdictionProfile.isFormKey(c.id) else {
                        throw fail("choices[\(k)].id", "must be snake_case: a-z first, then a-z 0-9 _, at most 40 characters")
                    }
                    guard ids.insert(c.id).inserted else {
                        throw fail("choices[\(k)].id", "duplicate choice id \(c.id)")
                    }
                    try JurisdictionProfile.checkLabel(c.label, at: "\(path).choices[\(k)].label")
                }
            } else if field.choices != nil {
                throw fail("choices", "only choice fields have choices")
            }
            if field.kind == .number {
                guard let lo = field.min, let hi = field.max else { throw fail("", "a number field needs min and max") }
                guard lo <= hi else { throw fail("min", "must not be above max (\(lo) > \(hi))") }
            } else if field.min != nil || field.max != nil {
                throw fail(field.min != nil ? "min" : "max", "only number fields have min and max")
            }
            if let length = field.maxLength, !(1...FormField.textLimit).contains(length) {
                throw fail("max_length", "must be 1…\(FormField.textLimit), got \(length)")
            }
            if field.past != nil, field.kind != .date { throw fail("past", "only date fields can be past") }
        }
    }

    /// A resident-facing label: Indonesian text present, no text blank or holding control characters.
    static func checkLabel(_ label: LocalizedText, at path: String) throws(ValidationError) {
        for (key, text) in [("id", label.id), ("en", label.en)] {
            guard let text else { continue }
            guard text.unicodeScalars.contains(where: { !$0.properties.isWhitespace }) else {
                throw ValidationError(field: "\(path).\(key)", reason: "must not be empty")
            }
            if SafeText.firstUnsafe(in: text) != nil {
                throw ValidationError(field: "\(path).\(key)", reason: "must not contain control characters")
            }
        }
    }

    /// A form key or choice id: `^[a-z][a-z0-9_]{0,39}$`.
    public static func isFormKey(_ s: String) -> Bool {
        let b = Array(s.utf8)
        guard let first = b.first, first >= 97, first <= 122, b.count <= 40 else { return false }
        return b.allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 95 }
    }

    /// A lowercase slug (`a-z 0-9 -`): profile and service ids.
    public static func isSlug(_ s: String) -> Bool {
        !s.isEmpty && s.utf8.allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 45 }
    }
}
