/// A span of time in a rule: `{"amount": 60, "unit": "days"}`.
public struct Period: Hashable, Sendable, Codable, CustomStringConvertible {
    public enum Unit: String, Hashable, Sendable, Codable {
        case days
        case workingDays = "working_days"
        case hours
        case months
        case years
    }

    public var amount: Int
    public var unit: Unit

    public init(_ amount: Int, _ unit: Unit) {
        self.amount = amount
        self.unit = unit
    }

    public var description: String {
        switch self.unit {
        case .days: return "\(self.amount) hari"
        case .workingDays: return "\(self.amount) hari kerja"
        case .hours: return "\(self.amount) jam"
        case .months: return "\(self.amount) bulan"
        case .years: return "\(self.amount) tahun"
        }
    }

    public var label: LocalizedText {
        let en: String
        switch self.unit {
        case .days: en = "\(self.amount) days"
        case .workingDays: en = "\(self.amount) working days"
        case .hours: en = "\(self.amount) hours"
        case .months: en = "\(self.amount) months"
        case .years: en = "\(self.amount) years"
        }
        return LocalizedText(self.description, en)
    }
}

/// A legal source a profile is built from (one of the seed regulations).
public struct LegalSource: Hashable, Sendable, Codable {
    public var code: String
    public var title: String
}

/// A channel through which residents can complain (BL J; PB 8(2); OI 11(3)(i)).
public struct ComplaintChannel: Hashable, Sendable, Codable {
    public var kind: String  // phone, whatsapp, email, web, social, in_person, kiosk
    public var label: LocalizedText
    public var value: String
    public var reference: String?

    /// The channel as residents read it on screens and receipts: its label and address, but the kiosk's own
    /// channel by its label alone (its `value` is an internal address).
    public func residentLine(_ language: Language) -> String {
        self.kind == "kiosk" ? self.label.text(language) : "\(self.label.text(language)): \(self.value)"
    }
}

/// A document the resident hands in. `alternatives` are accepted in its place, e.g. an SPTJM (BL A.1).
public struct Requirement: Hashable, Sendable, Codable {
    public struct Alternative: Hashable, Sendable, Codable {
        public var id: String
        public var name: LocalizedText
        /// When the alternative is acceptable (absent: always).
        public var acceptedWhen: Condition?
        public var note: LocalizedText?
        public var reference: String?

        enum CodingKeys: String, CodingKey {
            case id, name, note, reference
            case acceptedWhen = "accepted_when"
        }
    }

    public var id: String
    public var name: LocalizedText
    /// When the requirement applies (absent: always).
    public var appliesWhen: Condition?
    /// A requirement whose absence does not block registration (e.g. PK 52(2)); the resident may skip it
    /// ("Lewati"), e.g. "dokumen pendukung lain" or anything the regulation marks "jika ada".
    public var optional: Bool?
    public var alternatives: [Alternative]?
    public var reference: String?
    /// Where the requirement comes from: `dinas` (the profile's own regulation, `reference` names the article),
    /// `national` (a national default whose article is confirmed) or `national_unconfirmed` (a national default
    /// whose article is not confirmed, shared/docs/national-requirements.md). Absent means `dinas`.
    public var basis: Basis?
    /// Pages the resident may scan for it (1…20; absent: up to 10), e.g. two witnesses' KTP.
    public var maxPages: Int?

    public enum Basis: String, Hashable, Sendable, Codable {
        case dinas
        case national
        case nationalUnconfirmed = "national_unconfirmed"

        /// For staff screens and kioskctl, never for residents.
        public var label: LocalizedText {
            switch self {
            case .dinas: return LocalizedText("peraturan Dinas", "the Dinas's regulation")
            case .national: return LocalizedText("ketentuan nasional", "national default")
            case .nationalUnconfirmed:
                return LocalizedText("ketentuan nasional (pasal belum dipastikan)", "national default, article unconfirmed")
            }
        }
    }

    /// The most pages a requirement may have at all.
    public static let pageLimit = 20
    public var pageLimit: Int { min(max(self.maxPages ?? 10, 1), Requirement.pageLimit) }

    enum CodingKeys: String, CodingKey {
        case id, name, optional, alternatives, reference, basis
        case appliesWhen = "applies_when"
        case maxPages = "max_pages"
    }
}

/// One field of a service's electronic form (OI Pasal 13(1)(b)): what the Dinas needs typed in, beside the scans.
/// Values travel as strings in the manifest's `form` object (`YYYY-MM-DD` dates, `HH:MM` times, choice ids).
public struct FormField: Hashable, Sendable, Codable {
    public enum Kind: String, Hashable, Sendable, Codable, CaseIterable {
        /// A 16-digit NIK, validated (checksum-free structure, region, birth date) like the applicant's.
        case nik
        /// A person's or place name: letters, spaces, `.`, `,`, `'`, `-`; on-screen keyboard.
        case name
        /// Short free text.
        case text
        /// One of `choices`, shown as big buttons.
        case choice
        /// A calendar date; `past` dates never lie after today.
        case date
        /// A time of day, HH:MM (24 h).
        case time
        /// A whole number in `min…max`.
        case number
        /// A phone number.
        case phone
    }

    public struct Choice: Hashable, Sendable, Codable {
        public var id: String
        public var label: LocalizedText

        public init(id: String, label: LocalizedText) {
            self.id = id
            self.label = label
        }
    }

    public var key: String
    public var kind: Kind
    /// Plain words for residents (no references, no abbreviations).
    public var label: LocalizedText
    public var help: LocalizedText?
    public var choices: [Choice]?
    /// Absent means required.
    public var required: Bool?
    /// Protected personal data (NIKs, KK numbers, birth dates): masked on screen and receipts, never spoken.
    public var protected: Bool?
    /// Asked only when this holds over the case's facts (absent: always).
    public var appliesWhen: Condition?
    public var min: Int?
    public var max: Int?
    /// For text and names (1…120; absent: 60).
    public var maxLength: Int?
    /// For dates: never after today (births, deaths, ...).
    public var past: Bool?
    public var reference: String?

    public init(key: String, kind: Kind, label: LocalizedText, help: LocalizedText? = nil, choices: [Choice]? = nil,
                required: Bool? = nil, protected: Bool? = nil, appliesWhen: Condition? = nil, min: Int? = nil,
                max: Int? = nil, maxLength: Int? = nil, past: Bool? = nil, reference: String? = nil) {
        self.key = key
        self.kind = kind
        self.label = label
        self.help = help
        self.choices = choices
        self.required = required
        self.protected = protected
        self.appliesWhen = appliesWhen
        self.min = min
        self.max = max
        self.maxLength = maxLength
        self.past = past
        self.reference = reference
    }

    public var isRequired: Bool { self.required ?? true }
    public var isProtected: Bool { self.protected ?? (self.kind == .nik) }
    public var lengthLimit: Int { Swift.min(Swift.max(self.maxLength ?? 60, 1), FormField.textLimit) }
    public static let textLimit = 120

    enum CodingKeys: String, CodingKey {
        case key, kind, label, help, choices, required, protected, min, max, past, reference
        case appliesWhen = "applies_when"
        case maxLength = "max_length"
    }
}

/// Who signs a product, possibly depending on facts (e.g. the move class, R-80–R-83).
public struct SignerRule: Hashable, Sendable, Codable {
    public var when: Condition?
    public var signer: LocalizedText
    public var reference: String?
}

/// The issuance service level of a product, counted from the date all requirements are met (PK 106, C3).
public struct ServiceLevel: Hashable, Sendable, Codable {
    public var period: Period
    public var reference: String
}

/// How long an issued document stays valid, e.g. an SK Pindah for 30 working days (PK 17(2)).
public struct Validity: Hashable, Sendable, Codable {
    public var period: Period?
    /// The validity equals a date fact instead (e.g. `itas_valid_until`, PK 37(3)).
    public var untilFact: String?
    public var reference: String

    enum CodingKeys: String, CodingKey {
        case period, reference
        case untilFact = "until_fact"
    }
}

/// A document the service produces.
public struct Product: Hashable, Sendable, Codable {
    public var id: String
    public var name: LocalizedText
    /// KTP-el and KIA are cards printed by the Dinas: never printable at the kiosk.
    public var printableAtKiosk: Bool
    public var appliesWhen: Condition?
    /// Absent when the profile has no service level for it (see the service's `gaps`).
    public var sla: ServiceLevel?
    public var signers: [SignerRule]?
    public var validity: Validity?
    public var delivery: LocalizedText?
    public var reference: String?

    enum CodingKeys: String, CodingKey {
        case id, name, sla, signers, validity, delivery, reference
        case printableAtKiosk = "printable_at_kiosk"
        case appliesWhen = "applies_when"
    }

    /// The signer for these facts: the first rule whose condition holds.
    public func signer(for facts: Facts) -> SignerRule? {
        (self.signers ?? []).first { $0.when?.holds(facts) ?? true }
    }
}

/// The reporting deadline. `none` states that the regulation sets no deadline (so nothing can be late);
/// a service without any `deadline` object is one where the profile has no rule (a gap, never invented).
public struct DeadlineRule: Hashable, Sendable, Codable {
    public var period: Period?
    public var none: Bool?
    /// What the event date means for this service ("tanggal kelahiran", …).
    public var from: LocalizedText?
    public var reference: String
}

/// The outcome category of a report against its deadline.
public enum Tier: String, Hashable, Sendable, Codable, CaseIterable {
    case onTime = "on_time"
    /// Past the deadline, no approval step (only the fine applies).
    case late
    /// Past the deadline: registration only after the Kepala Dinas approves (PK 50(1), 64(1)).
    case headApproval = "head_approval"
    /// Registration only on a Pengadilan Negeri determination (PK 50(2), 64(2)).
    case courtOrder = "court_order"

    public var label: LocalizedText {
        switch self {
        case .onTime: return LocalizedText("tepat waktu", "on time")
        case .late: return LocalizedText("terlambat", "late")
        case .headApproval: return LocalizedText("perlu persetujuan Kepala Dinas", "needs Kepala Dinas approval")
        case .courtOrder: return LocalizedText("perlu penetapan Pengadilan Negeri", "needs a court order")
        }
    }
}

/// A late tier: applies when the report is after the deadline and, if `within` is set, no later than
/// event + `within`. Tiers are checked in order; the last one should have no `within`.
public struct LateTier: Hashable, Sendable, Codable {
    public var tier: Tier
    public var within: Period?
    public var reference: String

    public init(tier: Tier, within: Period?, reference: String) {
        self.tier = tier
        self.within = within
        self.reference = reference
    }
}

/// The administrative fine for a late report (PK 143–144), shown as indicative (C6).
public struct FineRule: Hashable, Sendable, Codable {
    public var amountIDR: Int
    public var reference: String

    enum CodingKeys: String, CodingKey {
        case reference
        case amountIDR = "amount_idr"
    }
}

/// A fact pattern under which the reporting obligation is lifted (`exempt`, e.g. PK 87(2)) or cannot be
/// assessed automatically (`indeterminate`, e.g. A-07).
public struct Exemption: Hashable, Sendable, Codable {
    public enum Effect: String, Hashable, Sendable, Codable {
        case exempt
        case indeterminate
    }

    public var when: Condition
    public var effect: Effect
    public var reason: LocalizedText
    public var reference: String
}

/// A fact pattern under which the kiosk must not take the case and says where it belongs instead.
public struct Refusal: Hashable, Sendable, Codable {
    public var when: Condition
    public var reason: LocalizedText
    public var reference: String
}

/// Eligibility checks with their own logic in the core (e.g. KTP: 17 or married, PK 102(1)).
public struct Eligibility: Hashable, Sendable, Codable {
    public enum Kind: String, Hashable, Sendable, Codable {
        case ktp
    }

    public var kind: Kind
    public var minimumAge: Int
    /// The fact carrying marital status (`belum_kawin`, `kawin`, `cerai_hidup`, `cerai_mati`).
    public var maritalStatusFact: String
    public var reference: String

    enum CodingKeys: String, CodingKey {
        case kind, reference
        case minimumAge = "minimum_age"
        case maritalStatusFact = "marital_status_fact"
    }
}

/// One service of a jurisdiction's catalog.
public struct Service: Hashable, Sendable, Codable {
    public var id: String
    public var name: LocalizedText
    public var category: String
    public var summary: LocalizedText?
    /// What `--event-date` means for this service.
    public var event: LocalizedText
    public var facts: [FactSpec]?
    /// The electronic form: what the resident types in (absent: none).
    public var form: [FormField]?
    public var requirements: [Requirement]
    public var reporters: [LocalizedText]
    public var products: [Product]
    public var deadline: DeadlineRule?
    public var lateTiers: [LateTier]?
    public var fine: FineRule?
    public var exemptions: [Exemption]?
    public var refusals: [Refusal]?
    public var eligibility: Eligibility?
    /// Whether residents can apply for it at a kiosk (false e.g. for KTP Khusus).
    public var kioskAvailable: Bool?
    public var references: [String]
    /// Where this profile has no rule: said plainly, never invented.
    public var gaps: [LocalizedText]?

    enum CodingKeys: String, CodingKey {
        case id, name, category, summary, event, facts, form, requirements, reporters, products, deadline, fine
        case exemptions, refusals, eligibility, references, gaps
        case lateTiers = "late_tiers"
        case kioskAvailable = "kiosk_available"
    }
}

/// Day-counting conventions of a jurisdiction (domain-brief §8.0, C1–C6), all configurable.
public struct Conventions: Hashable, Sendable, Codable {
    /// C1: `event_plus_n` (deadline = X + N; a report on that date is on time) or `event_is_day_one` (X + N − 1).
    public enum DeadlineCounting: String, Hashable, Sendable, Codable {
        case eventPlusN = "event_plus_n"
        case eventIsDayOne = "event_is_day_one"
    }

    public var deadlineCounting: DeadlineCounting
    /// Local time zone, e.g. WITA (+08:00) for Kupang, WIB (+07:00) for Ogan Ilir and Blora.
    public var timeZoneName: String
    public var utcOffset: UTCOffset
    /// C4: ISO weekdays that are not working days (6 = Saturday, 7 = Sunday).
    public var weekend: [Int]
    /// C4: official holidays; the Dinas keeps this list current through config bundles.
    public var holidays: [CivilDate]
    /// C6: fines are indicative; the Dinas decides.
    public var finesIndicative: Bool
    /// The Dinas's office hours (absent: its regulation states none), e.g. for the receipt.
    public var workingHours: WorkingHours?
    public var notes: [LocalizedText]?

    enum CodingKeys: String, CodingKey {
        case weekend, holidays, notes
        case workingHours = "working_hours"
        case deadlineCounting = "deadline_counting"
        case timeZoneName = "time_zone_name"
        case utcOffset = "utc_offset"
        case finesIndicative = "fines_indicative"
    }

    public func isWorkingDay(_ date: CivilDate) -> Bool {
        !self.weekend.contains(date.isoWeekday) && !self.holidays.contains(date)
    }

    /// How many calendar days a working-day count may search before it gives up (100 years). A profile whose
    /// weekend and holidays leave no working day in that span gets no date rather than an endless loop.
    public static let workingDaySearchLimit = 36_525

    /// The date `period` after `start` (days, working days, months, years; hours round up to whole days).
    /// Working days are counted from the day after `start` (C4); calendar days per `deadlineCounting` (C1).
    ///
    /// Total on any input, validated or not: nil when the date cannot be computed within the engine's bounds
    /// (a working-day count that finds too few working days within `workingDaySearchLimit` calendar days, or a
    /// result outside 0001-01-01…9999-12-31). Never loops unboundedly and never traps on overflow.
    public func date(_ period: Period, after start: CivilDate) -> CivilDate? {
        // Beyond 10 000 years every unit leaves the calendar; clamping first keeps the arithmetic below exact.
        let cap = 3_700_000
        let amount = min(max(period.amount, -cap), cap)
        let result: CivilDate
        switch period.unit {
        case .days:
            let offset = amount - (self.deadlineCounting == .eventIsDayOne ? 1 : 0)
            guard CivilDate.dayNumbers.contains(start.dayNumber + offset) else { return nil }
            result = start.adding(days: offset)
        case .workingDays:
            guard amount > 0 else { return start }
            let weekend = Set(self.weekend)
            let holidays = Set(self.holidays)
            var date = start
            var counted = 0
            for _ in 0..<Conventions.workingDaySearchLimit {
                guard date < CivilDate.latest else { return nil }
                date = date.adding(days: 1)
                if !weekend.contains(date.isoWeekday) && !holidays.contains(date) {
                    counted += 1
                    if counted == amount { return date }
                }
            }
            return nil
        case .hours:
            let days = amount >= 0 ? (amount + 23) / 24 : amount / 24
            guard CivilDate.dayNumbers.contains(start.dayNumber + days) else { return nil }
            result = start.adding(days: days)
        case .months:
            guard (1...9999).contains((start.year * 12 + start.month - 1 + amount) / 12) else { return nil }
            result = start.adding(months: amount)
        case .years:
            guard (1...9999).contains(start.year + amount) else { return nil }
            result = start.adding(years: amount)
        }
        return result
    }
}

/// A Dinas's daily office hours in local time, `{"opens": "08:00", "closes": "16:00"}` (HH:MM, 24 h, opens < closes).
public struct WorkingHours: Hashable, Sendable, Codable {
    public var opens: String
    public var closes: String

    public init(opens: String, closes: String) {
        self.opens = opens
        self.closes = closes
    }

    /// Minutes after midnight of an `HH:MM` time (00:00…23:59), or nil when it is not one.
    public static func minutes(_ s: String) -> Int? {
        let b = Array(s.utf8)
        guard b.count == 5, b[2] == 58, [b[0], b[1], b[3], b[4]].allSatisfy({ $0 >= 48 && $0 <= 57 }) else {
            return nil
        }
        let h = Int(b[0] - 48) * 10 + Int(b[1] - 48)
        let m = Int(b[3] - 48) * 10 + Int(b[4] - 48)
        guard h < 24, m < 60 else { return nil }
        return h * 60 + m
    }
}

/// A jurisdiction profile: the catalog, rules, SLAs and complaint channels of one Dinas (Kiosk/profiles/*.json).
public struct JurisdictionProfile: Hashable, Sendable, Codable {
    public var id: String
    public var name: LocalizedText
    public var dinas: LocalizedText
    public var province: String
    public var sources: [LegalSource]
    public var conventions: Conventions
    public var feeIDR: Int
    public var feeReference: String
    public var complaintChannels: [ComplaintChannel]
    public var categories: [Category]
    public var services: [Service]
    public var notes: [LocalizedText]?

    public struct Category: Hashable, Sendable, Codable {
        public var id: String
        public var name: LocalizedText
    }

    enum CodingKeys: String, CodingKey {
        case id, name, dinas, province, sources, conventions, categories, services, notes
        case feeIDR = "fee_idr"
        case feeReference = "fee_reference"
        case complaintChannels = "complaint_channels"
    }

    public func service(_ id: String) -> Service? { self.services.first { $0.id == id } }
}
