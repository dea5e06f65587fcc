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

    /// A lowercase slug (`a-z 0-9 -`): profile and service ids.
    public static func isSlug(_ s: String) -> Bool {
        !s.isEmpty && s.utf8.allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 45 }
    }
}
