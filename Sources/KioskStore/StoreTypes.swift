import Foundation
import KioskCore

/// Limits and policies of the local store (kioskd.json, "store").
public struct StoreConfiguration: Hashable, Sendable, Codable {
    public var maxAttachmentBytes: Int
    public var maxApplicationBytes: Int
    /// New submissions are refused when free space would drop below this.
    public var minFreeBytes: Int
    /// Days after the Dinas confirmed delivery before attachment files are purged.
    public var retentionDays: Int
    /// Attachments (files or scanned pages) one application may have.
    public var maxAttachments: Int

    public init(maxAttachmentBytes: Int = 10 << 20, maxApplicationBytes: Int = 40 << 20,
                minFreeBytes: Int = 256 << 20, retentionDays: Int = 30, maxAttachments: Int = 32) {
        self.maxAttachments = maxAttachments
        self.maxAttachmentBytes = maxAttachmentBytes
        self.maxApplicationBytes = maxApplicationBytes
        self.minFreeBytes = minFreeBytes
        self.retentionDays = retentionDays
    }

    enum CodingKeys: String, CodingKey {
        case maxAttachmentBytes = "max_attachment_bytes"
        case maxApplicationBytes = "max_application_bytes"
        case minFreeBytes = "min_free_bytes"
        case retentionDays = "retention_days"
        case maxAttachments = "max_attachments"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = StoreConfiguration()
        self.maxAttachmentBytes = try c.decodeIfPresent(Int.self, forKey: .maxAttachmentBytes) ?? d.maxAttachmentBytes
        self.maxApplicationBytes = try c.decodeIfPresent(Int.self, forKey: .maxApplicationBytes) ?? d.maxApplicationBytes
        self.minFreeBytes = try c.decodeIfPresent(Int.self, forKey: .minFreeBytes) ?? d.minFreeBytes
        self.retentionDays = try c.decodeIfPresent(Int.self, forKey: .retentionDays) ?? d.retentionDays
        self.maxAttachments = try c.decodeIfPresent(Int.self, forKey: .maxAttachments) ?? d.maxAttachments
        do throws(ValidationError) {
            try self.validate()
        } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.description))
        }
    }

    /// `max_attachment_bytes`: 1 KiB…1 GiB.
    public static let maxAttachmentBytesRange: ClosedRange<Int> = 1024...(1 << 30)
    /// `max_application_bytes`: 1 KiB…4 GiB, and at least `max_attachment_bytes`.
    public static let maxApplicationBytesRange: ClosedRange<Int> = 1024...(4 << 30)
    /// `min_free_bytes`: 0…1 TiB.
    public static let minFreeBytesRange: ClosedRange<Int> = 0...(1 << 40)
    /// `retention_days`: the bundle's range (`ConfigLimits.retentionDays`, 1…3650).
    public static let retentionDaysRange = ConfigLimits.retentionDays
    /// `max_attachments`: 1…1000.
    public static let maxAttachmentsRange: ClosedRange<Int> = 1...1000

    /// Checks every field against its documented range (Kiosk/config/README.md); the field is its JSON key.
    public func validate() throws(ValidationError) {
        let checks: [(String, Int, ClosedRange<Int>)] = [
            ("max_attachment_bytes", self.maxAttachmentBytes, StoreConfiguration.maxAttachmentBytesRange),
            ("max_application_bytes", self.maxApplicationBytes, StoreConfiguration.maxApplicationBytesRange),
            ("min_free_bytes", self.minFreeBytes, StoreConfiguration.minFreeBytesRange),
            ("retention_days", self.retentionDays, StoreConfiguration.retentionDaysRange),
            ("max_attachments", self.maxAttachments, StoreConfiguration.maxAttachmentsRange),
        ]
        for (field, value, range) in checks where !range.contains(value) {
            throw ValidationError(field: field, reason: "must be an integer \(range.lowerBound)…\(range.upperBound), got \(value)")
        }
        guard self.maxApplicationBytes >= self.maxAttachmentBytes else {
            throw ValidationError(field: "max_application_bytes",
                                  reason: "must be at least max_attachment_bytes (\(self.maxAttachmentBytes)), got \(self.maxApplicationBytes)")
        }
    }
}

/// One document to attach: a file on disk or bytes in memory (a scanned page).
public struct NewAttachment: Sendable {
    public enum Source: Sendable {
        case file(String)
        case data(Data, fileExtension: String)
    }

    public var requirement: String
    public var source: Source
    public var mediaType: String

    public init(requirement: String, path: String) {
        self.requirement = requirement
        self.source = .file(path)
        self.mediaType = NewAttachment.mediaType(forExtension: (path as NSString).pathExtension)
    }

    public init(requirement: String, data: Data, fileExtension: String) {
        self.requirement = requirement
        self.source = .data(data, fileExtension: fileExtension)
        self.mediaType = NewAttachment.mediaType(forExtension: fileExtension)
    }

    static func mediaType(forExtension ext: String) -> String {
        switch ext.lowercased() {
        case "jpg", "jpeg": return "image/jpeg"
        case "png": return "image/png"
        case "pdf": return "application/pdf"
        case "pnm", "pgm", "ppm": return "image/x-portable-anymap"
        case "tif", "tiff": return "image/tiff"
        default: return "application/octet-stream"
        }
    }
}

/// How the resident agreed to be told about their application at the contact number.
public enum NotifyChannel: String, Hashable, Sendable, Codable, CaseIterable {
    case whatsapp, sms
}

/// What the Dinas asked the resident to correct (a `returned_for_correction` state event's `correction`).
public struct Correction: Hashable, Sendable, Codable {
    /// Shown to the resident; at most 500 characters, no control characters.
    public var reason: String?
    /// Requirement ids whose documents must be scanned again.
    public var requirements: [String]
    /// Form keys that must be typed again.
    public var fields: [String]

    public init(reason: String? = nil, requirements: [String] = [], fields: [String] = []) {
        self.reason = reason
        self.requirements = requirements
        self.fields = fields
    }

    public static let maxItems = 40
    public static let maxReason = 500

    /// The correction as the kiosk may store it, from untrusted input: the reason has its control characters
    /// stripped and is cut at 500 characters; nil when a list holds more than 40 entries or an entry that is not a
    /// requirement id (lowercase slug, ≤ 64) or a form key (`^[a-z][a-z0-9_]{0,39}$`); duplicates are dropped.
    public static func validated(reason: String?, requirements: [String], fields: [String]) -> Correction? {
        guard requirements.count <= Correction.maxItems, fields.count <= Correction.maxItems,
              requirements.allSatisfy({ $0.count <= 64 && JurisdictionProfile.isSlug($0) }),
              fields.allSatisfy(FormRules.isKey)
        else { return nil }
        let text = reason.map { String(SafeText.strip($0).prefix(Correction.maxReason)) }
            .map { $0.trimmingCharacters(in: .whitespaces) }
        var seenR = Set<String>(), seenF = Set<String>()
        return Correction(reason: (text?.isEmpty ?? true) ? nil : text,
                          requirements: requirements.filter { seenR.insert($0).inserted },
                          fields: fields.filter { seenF.insert($0).inserted })
    }
}

/// The store's rules for an application's electronic form (values are strings; keys snake_case).
public enum FormRules {
    public static let maxKeys = 60
    public static let maxValueLength = 200

    /// `^[a-z][a-z0-9_]{0,39}$`.
    public static func isKey(_ key: String) -> Bool {
        let b = Array(key.utf8)
        guard (1...40).contains(b.count), (97...122).contains(b[0]) else { return false }
        return b.allSatisfy { (97...122).contains($0) || (48...57).contains($0) || $0 == 95 }
    }

    /// How a protected value is shown: a 16-digit number (NIK, KK) as `NIK.mask` shows it, anything else with all
    /// but its last 2 characters replaced by •.
    public static func mask(_ value: String) -> String {
        if value.count == 16, value.allSatisfy({ $0.isASCII && $0.isNumber }) { return NIK.mask(value) }
        let keep = min(2, value.count)
        return String(repeating: "•", count: value.count - keep) + value.suffix(keep)
    }

    /// The form with every protected value masked.
    public static func masked(_ form: [String: String], protected: Set<String>) -> [String: String] {
        var out = form
        for key in protected { if let v = out[key] { out[key] = FormRules.mask(v) } }
        return out
    }

    /// Checks a form and its protected keys; the failing field is named `form.<key>` (or `form`).
    static func check(_ form: [String: String], protected: Set<String>) throws(StoreError) {
        guard form.count <= FormRules.maxKeys else { throw .invalidForm(field: "form", reason: "more than \(FormRules.maxKeys) fields") }
        guard protected.count <= FormRules.maxKeys else {
            throw .invalidForm(field: "protected_fields", reason: "more than \(FormRules.maxKeys) keys")
        }
        for key in form.keys.sorted() + protected.sorted() where !FormRules.isKey(key) {
            throw .invalidForm(field: "form", reason: "key \(SafeText.visible(String(key.prefix(40)))) is not snake_case (a-z, 0-9, _; at most 40)")
        }
        for (key, value) in form.sorted(by: { $0.key < $1.key }) {
            guard value.count <= FormRules.maxValueLength else {
                throw .invalidForm(field: "form.\(key)", reason: "longer than \(FormRules.maxValueLength) characters")
            }
            if SafeText.firstUnsafe(in: value) != nil { throw .unsafeText(field: "form.\(key)") }
        }
    }
}

/// An application ready to be submitted. The caller has validated the service against the catalog.
public struct NewApplication: Sendable {
    public var id: UUID
    public var service: String
    public var profile: String
    public var applicant: NIK
    public var eventDate: CivilDate
    public var contact: String?
    public var facts: Facts
    public var attachments: [NewAttachment]
    /// The consent the resident gave (notice version and language), recorded in the same transaction.
    public var consent: String?
    /// The electronic form (keys `^[a-z][a-z0-9_]{0,39}$`, at most 60; values at most 200 characters, no control
    /// characters). The full form leaves the store only in the manifest to the Dinas.
    public var form: [String: String]
    /// Form keys holding protected data (NIKs, KK numbers, birth dates): masked in `StoredApplication.formMasked`.
    public var protectedFields: Set<String>
    /// The resident's consent to be notified at `contact` (which it requires).
    public var notify: NotifyChannel?
    /// The staff member who submitted it for the resident (a staff id from the bundle, or `user:NAME` for kioskctl).
    public var assistedBy: String?

    public init(id: UUID = UUID(), service: String, profile: String, applicant: NIK, eventDate: CivilDate,
                contact: String?, facts: Facts = [:], attachments: [NewAttachment], consent: String? = nil,
                form: [String: String] = [:], protectedFields: Set<String> = [], notify: NotifyChannel? = nil,
                assistedBy: String? = nil) {
        self.assistedBy = assistedBy
        self.consent = consent
        self.id = id
        self.service = service
        self.profile = profile
        self.applicant = applicant
        self.eventDate = eventDate
        self.contact = contact
        self.facts = facts
        self.attachments = attachments
        self.form = form
        self.protectedFields = protectedFields
        self.notify = notify
    }
}

/// What the resident is told once the submission is durable.
public struct SubmitReceipt: Hashable, Sendable, Codable {
    @LowercasedUUID public var id: UUID
    public var trackingCode: TrackingCode

    enum CodingKeys: String, CodingKey {
        case id
        case trackingCode = "tracking_code"
    }
}

public struct StoredAttachment: Hashable, Sendable, Codable {
    public var seq: Int
    public var requirement: String
    public var file: String
    public var mediaType: String
    public var sha256: String
    public var size: Int
    public var purged: Bool

    enum CodingKeys: String, CodingKey {
        case seq, requirement, file, sha256, size, purged
        case mediaType = "media_type"
    }
}

public struct StoredApplication: Hashable, Sendable, Codable {
    @LowercasedUUID public var id: UUID
    public var trackingCode: TrackingCode
    public var service: String
    public var profile: String
    /// Masked: the full NIK never leaves the store except towards the Dinas.
    public var applicantNIKMasked: String
    public var eventDate: CivilDate
    public var contact: String?
    public var state: ApplicationState
    public var stateReason: String?
    public var createdAt: Date
    public var updatedAt: Date
    public var submittedAt: Date?
    public var deliveredAt: Date?
    public var purgedAt: Date?
    public var attachmentCount: Int
    public var totalBytes: Int
    /// The current revision's attachments (those a resubmission replaced are not listed).
    public var attachments: [StoredAttachment]
    /// The electronic form with protected values masked (`FormRules.mask`); empty after purge.
    public var formMasked: [String: String] = [:]
    public var notify: NotifyChannel? = nil
    /// 1 at submission, one more for each resubmission after a return for correction.
    public var revision: Int = 1
    /// What the Dinas asked to correct, while the application is returned for correction.
    public var correction: Correction? = nil
    /// The staff member who submitted it for the resident (assisted mode).
    public var assistedBy: String? = nil

    enum CodingKeys: String, CodingKey {
        case id, service, profile, contact, state, attachments, notify, revision, correction
        case assistedBy = "assisted_by"
        case trackingCode = "tracking_code"
        case applicantNIKMasked = "applicant_nik_masked"
        case eventDate = "event_date"
        case stateReason = "state_reason"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
        case submittedAt = "submitted_at"
        case deliveredAt = "delivered_at"
        case purgedAt = "purged_at"
        case attachmentCount = "attachment_count"
        case totalBytes = "total_bytes"
        case formMasked = "form_masked"
    }
}

extension StoredApplication {
    /// Decodes what this build and older ones encoded (the issue 16 fields may be absent).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self._id = try c.decode(LowercasedUUID.self, forKey: .id)
        self.trackingCode = try c.decode(TrackingCode.self, forKey: .trackingCode)
        self.service = try c.decode(String.self, forKey: .service)
        self.profile = try c.decode(String.self, forKey: .profile)
        self.applicantNIKMasked = try c.decode(String.self, forKey: .applicantNIKMasked)
        self.eventDate = try c.decode(CivilDate.self, forKey: .eventDate)
        self.contact = try c.decodeIfPresent(String.self, forKey: .contact)
        self.state = try c.decode(ApplicationState.self, forKey: .state)
        self.stateReason = try c.decodeIfPresent(String.self, forKey: .stateReason)
        self.createdAt = try c.decode(Date.self, forKey: .createdAt)
        self.updatedAt = try c.decode(Date.self, forKey: .updatedAt)
        self.submittedAt = try c.decodeIfPresent(Date.self, forKey: .submittedAt)
        self.deliveredAt = try c.decodeIfPresent(Date.self, forKey: .deliveredAt)
        self.purgedAt = try c.decodeIfPresent(Date.self, forKey: .purgedAt)
        self.attachmentCount = try c.decode(Int.self, forKey: .attachmentCount)
        self.totalBytes = try c.decode(Int.self, forKey: .totalBytes)
        self.attachments = try c.decode([StoredAttachment].self, forKey: .attachments)
        self.formMasked = try c.decodeIfPresent([String: String].self, forKey: .formMasked) ?? [:]
        self.notify = try c.decodeIfPresent(NotifyChannel.self, forKey: .notify)
        self.revision = try c.decodeIfPresent(Int.self, forKey: .revision) ?? 1
        self.correction = try c.decodeIfPresent(Correction.self, forKey: .correction)
        self.assistedBy = try c.decodeIfPresent(String.self, forKey: .assistedBy)
    }
}

/// One row of the append-only audit log.
public struct AuditEntry: Hashable, Sendable, Codable {
    public var seq: Int
    public var at: Date
    public var event: String
    public var from: ApplicationState?
    public var to: ApplicationState?
    public var actor: String
    public var detail: String?
}

/// An upload queue entry.
public struct QueueItem: Hashable, Sendable, Codable {
    public enum State: String, Hashable, Sendable, Codable {
        case pending, quarantined, delivered
    }

    @LowercasedUUID public var applicationID: UUID
    public var trackingCode: TrackingCode
    public var service: String
    public var applicationState: ApplicationState
    public var queueState: State
    public var enqueuedAt: Date
    public var attempts: Int
    public var nextAttemptAt: Date
    public var lastError: String?
    public var quarantineReason: String?
    public var bytes: Int

    enum CodingKeys: String, CodingKey {
        case service, attempts, bytes
        case applicationID = "id"
        case trackingCode = "tracking_code"
        case applicationState = "state"
        case queueState = "queue_state"
        case enqueuedAt = "enqueued_at"
        case nextAttemptAt = "next_attempt_at"
        case lastError = "last_error"
        case quarantineReason = "quarantine_reason"
    }
}

public struct QueueStats: Hashable, Sendable, Codable {
    /// Applications per lifecycle state (every state listed, zero included).
    public var counts: [String: Int]
    /// Upload queue entries per queue state, plus `backing_off` (pending but not yet due).
    public var queueCounts: [String: Int]
    public var oldestUndeliveredSeconds: Int?
    public var bytesPending: Int

    enum CodingKeys: String, CodingKey {
        case counts
        case queueCounts = "queue_counts"
        case oldestUndeliveredSeconds = "oldest_undelivered_seconds"
        case bytesPending = "bytes_pending"
    }
}

/// What opening found and repaired: the store's own leftovers removed, other unreferenced files quarantined,
/// rows whose files are missing.
public struct OpenReport: Hashable, Sendable, Codable {
    public var schemaVersion: Int
    public var migrated: [Int]
    /// The store's own leftovers: partial temp files, files of purged rows or of a submission that crashed.
    public var orphansRemoved: [String]
    public var missingFiles: [String]
    /// Files no row references and the store cannot prove its own, moved to `quarantineDirectory`.
    public var quarantined: [String]
    public var quarantineDirectory: String?
    /// Writers kept the spool lock, so this open did not sweep (a later one will).
    public var sweepSkipped: Bool
    /// The sweep stopped on a file-system error (e.g. a read-only or separately mounted spool): housekeeping
    /// failed, the store still opens, and staff see why (`store check`, the log).
    public var sweepError: String?

    public init(schemaVersion: Int, migrated: [Int], orphansRemoved: [String], missingFiles: [String],
                quarantined: [String] = [], quarantineDirectory: String? = nil, sweepSkipped: Bool = false,
                sweepError: String? = nil) {
        self.sweepError = sweepError
        self.schemaVersion = schemaVersion
        self.migrated = migrated
        self.orphansRemoved = orphansRemoved
        self.missingFiles = missingFiles
        self.quarantined = quarantined
        self.quarantineDirectory = quarantineDirectory
        self.sweepSkipped = sweepSkipped
    }

    enum CodingKeys: String, CodingKey {
        case migrated, quarantined
        case schemaVersion = "schema_version"
        case orphansRemoved = "orphans_removed"
        case missingFiles = "missing_files"
        case quarantineDirectory = "quarantine_directory"
        case sweepSkipped = "sweep_skipped"
        case sweepError = "sweep_error"
    }
}

/// The result of `KioskStore.check()`.
public struct CheckReport: Hashable, Sendable, Encodable {
    public struct Problem: Hashable, Sendable, Codable {
        public var applicationID: String
        public var file: String?
        public var issue: String

        enum CodingKeys: String, CodingKey {
            case file, issue
            case applicationID = "application_id"
        }
    }

    public var integrity: [String]
    public var applications: Int
    public var attachmentsChecked: Int
    public var problems: [Problem]

    public var ok: Bool { self.integrity == ["ok"] && self.problems.isEmpty }

    enum CodingKeys: String, CodingKey {
        case integrity, applications, problems, ok
        case attachmentsChecked = "attachments_checked"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(self.ok, forKey: .ok)
        try c.encode(self.integrity, forKey: .integrity)
        try c.encode(self.applications, forKey: .applications)
        try c.encode(self.attachmentsChecked, forKey: .attachmentsChecked)
        try c.encode(self.problems, forKey: .problems)
    }
}

/// Encodes a UUID in lowercase, the form used in file names, the database and the Dinas protocol.
@propertyWrapper
public struct LowercasedUUID: Hashable, Sendable, Codable {
    public var wrappedValue: UUID

    public init(wrappedValue: UUID) { self.wrappedValue = wrappedValue }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let uuid = UUID(uuidString: text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a UUID"))
        }
        self.wrappedValue = uuid
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(self.wrappedValue.uuidString.lowercased())
    }
}
