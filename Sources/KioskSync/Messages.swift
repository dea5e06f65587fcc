import Foundation
import KioskCore
import KioskStore

/// The manifest that creates an application at the Dinas (PUT /v1/applications/{id}). Its canonical JSON
/// (sorted keys) is identical on every retry, so the Dinas can tell a replay from a conflicting reuse of the id.
public struct Manifest: Codable, Sendable, Equatable {
    public struct Attachment: Codable, Sendable, Equatable {
        public var seq: Int
        public var requirement: String
        public var mediaType: String
        public var size: Int
        public var sha256: String

        enum CodingKeys: String, CodingKey {
            case seq, requirement, size, sha256
            case mediaType = "media_type"
        }

        public init(seq: Int, requirement: String, mediaType: String, size: Int, sha256: String) {
            self.seq = seq
            self.requirement = requirement
            self.mediaType = mediaType
            self.size = size
            self.sha256 = sha256
        }
    }

    public var id: String
    public var kioskID: String
    public var service: String
    public var profile: String
    public var applicantNIK: String
    public var eventDate: String
    public var contact: String?
    public var facts: [String: String]
    public var submittedAt: String
    public var attachments: [Attachment]
    /// The electronic form, protected values included (omitted when empty).
    public var form: [String: String]
    /// `whatsapp` or `sms`: the resident agreed to be notified at `contact` (omitted when absent).
    public var notify: String?
    /// 1 for the first submission (omitted), N for the N-th after returns for correction (PROTOCOL.md §3a).
    public var revision: Int

    enum CodingKeys: String, CodingKey {
        case id, service, profile, contact, facts, attachments, form, notify, revision
        case kioskID = "kiosk_id"
        case applicantNIK = "applicant_nik"
        case eventDate = "event_date"
        case submittedAt = "submitted_at"
    }

    public init(id: String, kioskID: String, service: String, profile: String, applicantNIK: String, eventDate: String,
                contact: String?, facts: [String: String], submittedAt: String, attachments: [Attachment],
                form: [String: String] = [:], notify: String? = nil, revision: Int = 1) {
        self.form = form
        self.notify = notify
        self.revision = revision
        self.id = id
        self.kioskID = kioskID
        self.service = service
        self.profile = profile
        self.applicantNIK = applicantNIK
        self.eventDate = eventDate
        self.contact = contact
        self.facts = facts
        self.submittedAt = submittedAt
        self.attachments = attachments
    }

    /// The manifest of a stored application (the sync engine and the USB export build it the same way).
    public init(source: ApplicationManifestSource, kioskID: String) {
        let app = source.application
        self.init(
            id: app.id.uuidString.lowercased(), kioskID: kioskID, service: app.service, profile: app.profile,
            applicantNIK: source.applicantNIK, eventDate: app.eventDate.description, contact: app.contact,
            facts: source.facts.mapValues(\.description),
            submittedAt: KioskJSON.timestamp(app.submittedAt ?? app.createdAt),
            attachments: app.attachments.map {
                Manifest.Attachment(seq: $0.seq, requirement: $0.requirement, mediaType: $0.mediaType, size: $0.size,
                                    sha256: $0.sha256)
            },
            form: source.form, notify: app.notify?.rawValue, revision: app.revision)
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.id = try c.decode(String.self, forKey: .id)
        self.kioskID = try c.decode(String.self, forKey: .kioskID)
        self.service = try c.decode(String.self, forKey: .service)
        self.profile = try c.decode(String.self, forKey: .profile)
        self.applicantNIK = try c.decode(String.self, forKey: .applicantNIK)
        self.eventDate = try c.decode(String.self, forKey: .eventDate)
        self.contact = try c.decodeIfPresent(String.self, forKey: .contact)
        self.facts = try c.decode([String: String].self, forKey: .facts)
        self.submittedAt = try c.decode(String.self, forKey: .submittedAt)
        self.attachments = try c.decode([Attachment].self, forKey: .attachments)
        self.form = try c.decodeIfPresent([String: String].self, forKey: .form) ?? [:]
        self.notify = try c.decodeIfPresent(String.self, forKey: .notify)
        self.revision = try c.decodeIfPresent(Int.self, forKey: .revision) ?? 1
    }

    /// The fields of a first-revision manifest without a form or consent are exactly those of earlier builds, so
    /// their canonical JSON (and hash at the Dinas) is unchanged.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(self.id, forKey: .id)
        try c.encode(self.kioskID, forKey: .kioskID)
        try c.encode(self.service, forKey: .service)
        try c.encode(self.profile, forKey: .profile)
        try c.encode(self.applicantNIK, forKey: .applicantNIK)
        try c.encode(self.eventDate, forKey: .eventDate)
        try c.encodeIfPresent(self.contact, forKey: .contact)
        try c.encode(self.facts, forKey: .facts)
        try c.encode(self.submittedAt, forKey: .submittedAt)
        try c.encode(self.attachments, forKey: .attachments)
        if !self.form.isEmpty { try c.encode(self.form, forKey: .form) }
        try c.encodeIfPresent(self.notify, forKey: .notify)
        if self.revision != 1 { try c.encode(self.revision, forKey: .revision) }
    }

    public func canonicalJSON() -> Data {
        (try? KioskJSON.encode(self)) ?? Data()
    }
}

/// The Dinas's view of an application (PUT and GET responses).
public struct RemoteApplication: Decodable, Sendable {
    public struct Attachment: Decodable, Sendable {
        public var seq: Int
        public var sha256: String
        public var size: Int
        public var received: Int
        public var complete: Bool
        public var uploadURL: String

        enum CodingKeys: String, CodingKey {
            case seq, sha256, size, received, complete
            case uploadURL = "upload_url"
        }
    }

    public var id: String
    public var state: String
    public var reason: String?
    public var attachments: [Attachment]
    /// The revision the Dinas holds (absent: 1).
    public var revision: Int?
}

/// One entry of the event feed (GET /v1/kiosks/{id}/events).
public struct DinasEvent: Decodable, Sendable {
    public var seq: Int
    public var type: String
    public var applicationID: String
    public var state: String?
    public var reason: String?
    public var product: String?
    public var documentID: String?
    public var url: String?
    public var sha256: String?
    public var size: Int?
    public var signature: String?
    public var keyID: String?
    /// `state` events: the revision the state is about (absent: any).
    public var revision: Int?
    /// `state` events for `returned_for_correction`: what to correct (validated before it is stored).
    public var correction: DinasCorrection?
    /// `complaint_answer` events.
    public var complaintID: String?
    public var reference: String?
    public var answer: String?
    public var at: String?

    enum CodingKeys: String, CodingKey {
        case seq, type, state, reason, product, url, sha256, size, signature, revision, correction, reference, answer, at
        case applicationID = "application_id"
        case documentID = "document_id"
        case keyID = "key_id"
        case complaintID = "complaint_id"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.seq = try c.decode(Int.self, forKey: .seq)
        self.type = try c.decode(String.self, forKey: .type)
        self.applicationID = try c.decodeIfPresent(String.self, forKey: .applicationID) ?? ""
        self.state = try c.decodeIfPresent(String.self, forKey: .state)
        self.reason = try c.decodeIfPresent(String.self, forKey: .reason)
        self.product = try c.decodeIfPresent(String.self, forKey: .product)
        self.documentID = try c.decodeIfPresent(String.self, forKey: .documentID)
        self.url = try c.decodeIfPresent(String.self, forKey: .url)
        self.sha256 = try c.decodeIfPresent(String.self, forKey: .sha256)
        self.size = try c.decodeIfPresent(Int.self, forKey: .size)
        self.signature = try c.decodeIfPresent(String.self, forKey: .signature)
        self.keyID = try c.decodeIfPresent(String.self, forKey: .keyID)
        // A malformed optional part never costs the whole page: it is treated as absent (and refused later).
        self.revision = try? c.decodeIfPresent(Int.self, forKey: .revision)
        self.correction = try? c.decodeIfPresent(DinasCorrection.self, forKey: .correction)
        self.complaintID = try? c.decodeIfPresent(String.self, forKey: .complaintID)
        self.reference = try? c.decodeIfPresent(String.self, forKey: .reference)
        self.answer = try? c.decodeIfPresent(String.self, forKey: .answer)
        self.at = try? c.decodeIfPresent(String.self, forKey: .at)
    }
}

/// A state event's `correction` object as the Dinas sent it (untrusted: see `Correction.validated`).
public struct DinasCorrection: Decodable, Sendable {
    public var reason: String?
    public var requirements: [String]?
    public var fields: [String]?
    /// A part was present with the wrong type (e.g. `"fields": 7`).
    public var malformed = false

    enum CodingKeys: String, CodingKey { case reason, requirements, fields }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func part<T: Decodable>(_ type: T.Type, _ key: CodingKeys) -> T? {
            guard c.contains(key), (try? c.decodeNil(forKey: key)) != true else { return nil }
            guard let value = try? c.decode(T.self, forKey: key) else {
                self.malformed = true
                return nil
            }
            return value
        }
        self.reason = part(String.self, .reason)
        self.requirements = part([String].self, .requirements)
        self.fields = part([String].self, .fields)
    }

    /// nil when a part is malformed, a list is too long or holds a bad id (the state itself is still applied).
    public var validated: Correction? {
        guard !self.malformed else { return nil }
        return Correction.validated(reason: self.reason, requirements: self.requirements ?? [], fields: self.fields ?? [])
    }
}

/// The answer to `POST /v1/verify` (LOPE CAPIL): whether a NIK and KK number belong together, and the registered
/// name, masked, on a match.
public struct VerifyResult: Sendable, Equatable {
    public var match: Bool
    public var nameMasked: String?

    public init(match: Bool, nameMasked: String?) {
        self.match = match
        self.nameMasked = nameMasked
    }
}

public struct EventPage: Decodable, Sendable {
    public var cursor: Int
    public var events: [DinasEvent]
}
