import Foundation
import KioskCore

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

    enum CodingKeys: String, CodingKey {
        case id, service, profile, contact, facts, attachments
        case kioskID = "kiosk_id"
        case applicantNIK = "applicant_nik"
        case eventDate = "event_date"
        case submittedAt = "submitted_at"
    }

    public init(id: String, kioskID: String, service: String, profile: String, applicantNIK: String, eventDate: String,
                contact: String?, facts: [String: String], submittedAt: String, attachments: [Attachment]) {
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

    enum CodingKeys: String, CodingKey {
        case seq, type, state, reason, product, url, sha256, size, signature
        case applicationID = "application_id"
        case documentID = "document_id"
        case keyID = "key_id"
    }
}

public struct EventPage: Decodable, Sendable {
    public var cursor: Int
    public var events: [DinasEvent]
}
