/// What the rules say about one case: deadline, lateness tier, indicative fine and issuance dates.
public struct RuleEvaluation: Hashable, Sendable, Codable {
    /// Whether lateness could be assessed, and if not, why.
    public enum Assessment: String, Hashable, Sendable, Codable {
        /// Deadline known and applied.
        case assessed
        /// The regulation sets no reporting deadline: nothing can be late.
        case noDeadline = "no_deadline"
        /// The obligation does not apply to this case (e.g. PK 87(2)).
        case exempt
        /// Must not be assessed automatically (e.g. A-07); the Dinas decides.
        case indeterminate
        /// This profile has no deadline rule for the service (a gap, not invented).
        case notDefined = "not_defined"
    }

    public struct Issuance: Hashable, Sendable, Codable {
        public var product: String
        public var name: LocalizedText
        public var printableAtKiosk: Bool
        /// nil when the profile has no SLA or the start date is not known yet (see `pending`).
        public var due: CivilDate?
        /// For SLAs in hours: the local due time, `YYYY-MM-DDTHH:MM+07:00`.
        public var dueAt: String?
        public var validUntil: CivilDate?
        public var signer: LocalizedText?
        public var pending: LocalizedText?
        public var reference: String?

        enum CodingKeys: String, CodingKey {
            case product, name, due, signer, pending, reference
            case printableAtKiosk = "printable_at_kiosk"
            case dueAt = "due_at"
            case validUntil = "valid_until"
        }
    }

    public var service: String
    public var profile: String
    public var eventDate: CivilDate
    public var reportDate: CivilDate
    public var deadline: CivilDate?
    public var daysLate: Int
    /// nil only when lateness cannot be assessed (`indeterminate`, `not_defined`).
    public var tier: Tier?
    public var assessment: Assessment
    public var fineIDR: Int?
    public var fineIndicative: Bool
    public var issuance: [Issuance]
    /// Ids of the requirements that apply to this case's facts.
    public var requirements: [String]
    public var references: [String]
    public var notes: [LocalizedText]

    enum CodingKeys: String, CodingKey {
        case service, profile, deadline, tier, assessment, issuance, requirements, references, notes
        case eventDate = "event_date"
        case reportDate = "report_date"
        case daysLate = "days_late"
        case fineIDR = "fine_idr"
        case fineIndicative = "fine_indicative"
    }

    /// As synthesised, except that `fine_idr` is always present: 0 when there is no fine, so JSON readers need
    /// no missing-key case. (Decoding keeps the synthesised form; `0` then reads back as `0`.)
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(self.service, forKey: .service)
        try c.encode(self.profile, forKey: .profile)
        try c.encode(self.eventDate, forKey: .eventDate)
        try c.encode(self.reportDate, forKey: .reportDate)
        try c.encodeIfPresent(self.deadline, forKey: .deadline)
        try c.encode(self.daysLate, forKey: .daysLate)
        try c.encodeIfPresent(self.tier, forKey: .tier)
        try c.encode(self.assessment, forKey: .assessment)
        try c.encode(self.fineIDR ?? 0, forKey: .fineIDR)
        try c.encode(self.fineIndicative, forKey: .fineIndicative)
        try c.encode(self.issuance, forKey: .issuance)
        try c.encode(self.requirements, forKey: .requirements)
        try c.encode(self.references, forKey: .references)
        try c.encode(self.notes, forKey: .notes)
    }
}

/// Why a rule evaluation could not be made. Each case has a message in Bahasa Indonesia and English.
public enum RulesError: Error, Hashable, Sendable, CustomStringConvertible {
    case unknownService(service: String, profile: String)
    case reportBeforeEvent(event: CivilDate, report: CivilDate)
    case unknownFact(String, known: [String])
    case badFact(key: String, reason: LocalizedText)
    case missingFact(key: String, label: LocalizedText)
    case refused(reason: LocalizedText, reference: String)
    case notEligible(reason: LocalizedText, reference: String)
    /// A free-text field (e.g. the contact) is too long or holds unsafe characters.
    case invalidText(field: String, reason: LocalizedText)

    public var code: String {
        switch self {
        case .unknownService: return "unknown_service"
        case .reportBeforeEvent: return "report_before_event"
        case .unknownFact: return "unknown_fact"
        case .badFact: return "bad_fact"
        case .missingFact: return "missing_fact"
        case .refused: return "refused"
        case .notEligible: return "not_eligible"
        case .invalidText(let field, _): return "invalid_\(field)"
        }
    }

    public var message: LocalizedText {
        switch self {
        case .unknownService(let s, let p):
            return LocalizedText(
                "Layanan \"\(s)\" tidak ada dalam profil \(p).", "Service \"\(s)\" is not in profile \(p).")
        case .reportBeforeEvent(let e, let r):
            return LocalizedText(
                "Tanggal lapor \(r) lebih awal dari tanggal peristiwa \(e).",
                "The report date \(r) is before the event date \(e).")
        case .unknownFact(let k, let known):
            let list = known.isEmpty ? "-" : known.joined(separator: ", ")
            return LocalizedText(
                "Fakta \"\(k)\" tidak dipakai layanan ini (dikenal: \(list)).",
                "Fact \"\(k)\" is not used by this service (known: \(list)).")
        case .badFact(_, let reason), .invalidText(_, let reason):
            return reason
        case .missingFact(let k, let label):
            return LocalizedText(
                "Fakta \(k) (\(label.id)) wajib diisi.", "Fact \(k) (\(label.en ?? label.id)) is required.")
        case .refused(let reason, let ref), .notEligible(let reason, let ref):
            return LocalizedText("\(reason.id) (\(ref))", "\(reason.en ?? reason.id) (\(ref))")
        }
    }

    public var description: String { self.message.bilingual }
}

/// Evaluates a jurisdiction's rules for one case. Pure: the same inputs always give the same result.
public struct RulesEngine: Sendable {
    public let profile: JurisdictionProfile

    public init(profile: JurisdictionProfile) {
        self.profile = profile
    }

    /// Facts every service understands (C3 start dates and document dates).
    public static let commonFacts: [FactSpec] = [
        FactSpec(key: "requirements_complete_date", kind: .date,
                 label: LocalizedText("tanggal persyaratan lengkap", "date all requirements were complete"),
                 reference: "PK 106; C3"),
        FactSpec(key: "requirements_complete_at", kind: .text,
                 label: LocalizedText("waktu persyaratan lengkap (YYYY-MM-DDTHH:MM)",
                                      "time all requirements were complete (YYYY-MM-DDTHH:MM)"),
                 reference: "BL C"),
        FactSpec(key: "approval_date", kind: .date,
                 label: LocalizedText("tanggal persetujuan Kepala Dinas", "date of the Kepala Dinas approval"),
                 reference: "PK 50(1); C3"),
        FactSpec(key: "court_order_date", kind: .date,
                 label: LocalizedText("tanggal penetapan pengadilan diserahkan", "date the court order was submitted"),
                 reference: "PK 50(2); C3"),
        FactSpec(key: "issued_date", kind: .date,
                 label: LocalizedText("tanggal dokumen diterbitkan", "date the document was issued")),
    ]

    public func evaluate(
        service serviceID: String, eventDate: CivilDate, reportDate: CivilDate, facts given: Facts = [:]
    ) throws(RulesError) -> RuleEvaluation {
        guard let service = self.profile.service(serviceID) else {
            throw .unknownService(service: serviceID, profile: self.profile.id)
        }
        guard reportDate >= eventDate else { throw .reportBeforeEvent(event: eventDate, report: reportDate) }
        var facts = try self.checkedFacts(given, for: service)
        facts["years_since_event"] = .int(eventDate.age(on: reportDate))
        facts["days_since_event"] = .int(eventDate.days(until: reportDate))

        for refusal in service.refusals ?? [] where refusal.when.holds(facts) {
            throw .refused(reason: refusal.reason, reference: refusal.reference)
        }
        var notes: [LocalizedText] = []
        var references: [String] = []
        func cite(_ ref: String?) {
            if let ref, !references.contains(ref) { references.append(ref) }
        }
        if let rule = service.eligibility {
            try self.checkEligibility(rule, birthDate: eventDate, on: reportDate, facts: facts, notes: &notes)
            cite(rule.reference)
        }

        var result = RuleEvaluation(
            service: service.id, profile: self.profile.id, eventDate: eventDate, reportDate: reportDate,
            deadline: nil, daysLate: 0, tier: nil, assessment: .notDefined, fineIDR: nil,
            fineIndicative: self.profile.conventions.finesIndicative, issuance: [],
            requirements: service.requirements.filter { $0.appliesWhen?.holds(facts) ?? true }.map(\.id),
            references: [], notes: [])

        if let exemption = (service.exemptions ?? []).first(where: { $0.when.holds(facts) }) {
            result.assessment = exemption.effect == .exempt ? .exempt : .indeterminate
            result.tier = exemption.effect == .exempt ? .onTime : nil
            notes.append(exemption.reason)
            cite(exemption.reference)
        } else if let rule = service.deadline {
            cite(rule.reference)
            if rule.none == true || rule.period == nil {
                result.assessment = .noDeadline
                result.tier = .onTime
            } else if let period = rule.period,
                      self.profile.conventions.date(period, after: eventDate) == nil {
                // Only an unvalidated profile gets here (e.g. every weekday a weekend): say so, never spin or trap.
                result.assessment = .indeterminate
                notes.append(RulesEngine.uncomputable(period))
            } else if let period = rule.period, let deadline = self.profile.conventions.date(period, after: eventDate) {
                result.assessment = .assessed
                result.deadline = deadline
                result.daysLate = max(0, deadline.days(until: reportDate))
                if reportDate <= deadline {
                    result.tier = .onTime
                } else {
                    let tier = (service.lateTiers ?? []).first { tier in
                        // A bound that cannot be computed lies beyond the calendar: the report is within it.
                        tier.within.map { within in
                            self.profile.conventions.date(within, after: eventDate).map { reportDate <= $0 } ?? true
                        } ?? true
                    }
                    result.tier = tier?.tier ?? .late
                    cite(tier?.reference)
                    if let fine = service.fine {
                        result.fineIDR = fine.amountIDR
                        cite(fine.reference)
                        if self.profile.conventions.finesIndicative {
                            notes.append(LocalizedText(
                                "Denda bersifat indikatif; keputusan ada pada Dinas.",
                                "The fine is indicative; the Dinas decides."))
                        }
                    }
                }
            }
        }
        notes.append(contentsOf: service.gaps ?? [])

        for product in service.products where product.appliesWhen?.holds(facts) ?? true {
            let issuance = self.issuance(of: product, tier: result.tier, reportDate: reportDate, facts: facts)
            cite(issuance.reference)
            result.issuance.append(issuance)
        }
        result.references = references
        result.notes = notes
        return result
    }

    /// The note for a period the profile's calendar cannot resolve within the engine's bounds.
    static func uncomputable(_ period: Period) -> LocalizedText {
        LocalizedText(
            "Tanggal \(period.description) tidak dapat dihitung dengan kalender profil ini; Dinas yang menentukan.",
            "The date \(period.label.en ?? period.description) later cannot be computed with this profile's calendar; the Dinas decides.")
    }

    private func checkedFacts(_ given: Facts, for service: Service) throws(RulesError) -> Facts {
        try service.checkFacts(given, requireAll: true)
        return given
    }

    private func checkEligibility(
        _ rule: Eligibility, birthDate: CivilDate, on date: CivilDate, facts: Facts, notes: inout [LocalizedText]
    ) throws(RulesError) {
        switch rule.kind {
        case .ktp:
            guard let raw = facts[rule.maritalStatusFact]?.description, let status = MaritalStatus(rawValue: raw)
            else {
                throw .missingFact(key: rule.maritalStatusFact, label: LocalizedText("status perkawinan", "marital status"))
            }
            guard KTPRules.isEligible(birthDate: birthDate, maritalStatus: status, on: date,
                                      minimumAge: rule.minimumAge)
            else {
                let eligibleOn = birthDate.adding(years: rule.minimumAge)
                throw .notEligible(
                    reason: LocalizedText(
                        "Belum berusia \(rule.minimumAge) tahun dan belum pernah kawin; dapat mengajukan mulai \(eligibleOn).",
                        "Not yet \(rule.minimumAge) and never married; eligible from \(eligibleOn)."),
                    reference: rule.reference)
            }
            let background = KTPRules.photoBackground(birthYear: birthDate.year)
            notes.append(LocalizedText(
                "Pas foto berwarna, latar \(background.label.id) (tahun lahir \(birthDate.year)) (PK 15(1)).",
                "Colour photo on a \(background.label.en ?? "") background (birth year \(birthDate.year)) (PK 15(1))."))
        }
    }

    private func issuance(of product: Product, tier: Tier?, reportDate: CivilDate, facts: Facts)
        -> RuleEvaluation.Issuance
    {
        let conventions = self.profile.conventions
        let signer = product.signer(for: facts)
        var out = RuleEvaluation.Issuance(
            product: product.id, name: product.name, printableAtKiosk: product.printableAtKiosk, due: nil,
            dueAt: nil, validUntil: nil, signer: signer?.signer, pending: nil, reference: product.sla?.reference)
        // C3: the clock starts when every requirement is met; an approval or court order is one of them.
        var start: CivilDate? = facts["requirements_complete_date"]?.dateValue
        if start == nil {
            switch tier {
            case .headApproval:
                start = facts["approval_date"]?.dateValue
                if start == nil {
                    out.pending = LocalizedText("menunggu persetujuan Kepala Dinas", "awaiting Kepala Dinas approval")
                }
            case .courtOrder:
                start = facts["court_order_date"]?.dateValue
                if start == nil {
                    out.pending = LocalizedText("menunggu penetapan Pengadilan Negeri", "awaiting the court order")
                }
            default:
                start = reportDate
            }
        }
        if let sla = product.sla, let start {
            if sla.period.unit == .hours,
               let at = facts["requirements_complete_at"].flatMap({ LocalDateTime($0.description) })
            {
                let due = at.adding(hours: sla.period.amount)
                out.due = due.date
                out.dueAt = due.description + conventions.utcOffset.description
            } else {
                out.due = conventions.date(sla.period, after: start)
                if out.due == nil { out.pending = RulesEngine.uncomputable(sla.period) }
            }
        } else if product.sla == nil {
            out.pending = LocalizedText(
                "profil ini tidak menetapkan jangka waktu penerbitan", "this profile sets no issuance time")
        }
        if let validity = product.validity {
            if let key = validity.untilFact {
                out.validUntil = facts[key]?.dateValue
            } else if let period = validity.period, let issued = facts["issued_date"]?.dateValue {
                out.validUntil = conventions.date(period, after: issued)
            }
        }
        return out
    }
}

/// A local wall-clock time `YYYY-MM-DDTHH:MM`.
public struct LocalDateTime: Hashable, Sendable, CustomStringConvertible {
    public var date: CivilDate
    public var minuteOfDay: Int

    public init?(_ text: String) {
        let parts = text.split(separator: "T")
        guard parts.count == 2, let date = CivilDate(iso: parts[0]) else { return nil }
        let hm = parts[1].split(separator: ":")
        guard hm.count == 2, hm.allSatisfy({ $0.count == 2 }), let h = Int(hm[0]), let m = Int(hm[1]),
              (0..<24).contains(h), (0..<60).contains(m)
        else { return nil }
        self.date = date
        self.minuteOfDay = h * 60 + m
    }

    private init(date: CivilDate, minuteOfDay: Int) {
        self.date = date
        self.minuteOfDay = minuteOfDay
    }

    /// `hours` later; saturates at the calendar's ends (never traps, whatever `hours` is).
    public func adding(hours: Int) -> LocalDateTime {
        let capped = min(max(hours, -90_000_000), 90_000_000)  // more than 10 000 years either way
        let total = self.minuteOfDay + capped * 60
        let dayShift = total >= 0 ? total / 1440 : (total - 1439) / 1440
        return LocalDateTime(date: self.date.adding(days: dayShift), minuteOfDay: total - dayShift * 1440)
    }

    public var description: String {
        let h = self.minuteOfDay / 60, m = self.minuteOfDay % 60
        return "\(self.date)T\(h < 10 ? "0" : "")\(h):\(m < 10 ? "0" : "")\(m)"
    }
}
