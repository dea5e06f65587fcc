import Foundation
import KioskCore
import KioskStore

extension ControlError {
    /// A store failure as the control API and kioskctl report it (same code, message and exit status everywhere).
    public init(store error: StoreError) {
        let exit: Int32 = switch error {
        case .attachmentMissing: 66
        case .notFound: 65
        case .busy: 75
        default: error.isBadInput ? 65 : 1
        }
        self.init(error.code, error.message, exit: exit)
    }

    static func data(_ code: String, _ message: LocalizedText, field: String?) -> ControlError {
        ControlError(code, message, field: field, exit: 65)
    }
}

/// An application a staff member submits for a resident (`kioskctl application submit FILE.json`, or
/// `staff.submit` over the socket). Attachments are files read by the caller (`path`, offline) or their bytes
/// (`data_base64`, over the socket: kioskd never opens a path a client names).
public struct AssistedSubmission: Sendable, Codable {
    public struct Attachment: Sendable, Codable {
        public var requirement: String
        public var path: String?
        public var dataBase64: String?
        /// The file's extension (`jpg`, `pdf`) for attachments sent as bytes.
        public var fileExtension: String?

        public init(requirement: String, path: String? = nil, dataBase64: String? = nil, fileExtension: String? = nil) {
            self.requirement = requirement
            self.path = path
            self.dataBase64 = dataBase64
            self.fileExtension = fileExtension
        }

        enum CodingKeys: String, CodingKey {
            case requirement, path
            case dataBase64 = "data_base64"
            case fileExtension = "file_extension"
        }
    }

    public var id: UUID?
    public var service: String
    public var profile: String
    public var applicantNIK: String
    public var eventDate: String
    public var contact: String?
    public var facts: [String: FactValue]?
    public var attachments: [Attachment]

    public init(id: UUID? = nil, service: String, profile: String, applicantNIK: String, eventDate: String, contact: String?,
                facts: [String: FactValue]?, attachments: [Attachment]) {
        self.id = id
        self.service = service
        self.profile = profile
        self.applicantNIK = applicantNIK
        self.eventDate = eventDate
        self.contact = contact
        self.facts = facts
        self.attachments = attachments
    }

    enum CodingKeys: String, CodingKey {
        case id, service, profile, contact, facts, attachments
        case applicantNIK = "applicant_nik"
        case eventDate = "event_date"
    }
}

/// An application with its history, NIK masked (`kioskctl application show`, `staff.application.show`).
public struct ApplicationDetail: Sendable, Codable {
    public var application: StoredApplication
    public var history: [AuditEntry]

    public init(application: StoredApplication, history: [AuditEntry]) {
        self.application = application
        self.history = history
    }
}

/// The staff use cases, once: kioskctl runs them on the data directory when no kioskd holds it, kioskd runs them
/// for `staff.*` calls. Every failure is a `ControlError` with a bilingual message, the field at fault and the
/// exit status kioskctl reports.
public struct StaffUseCases: Sendable {
    public let store: KioskStore

    public init(store: KioskStore) {
        self.store = store
    }

    /// Checks an assisted submission against `profile` (the service, NIK, event date, requirements, facts and
    /// contact) and stores it durably. Refused input stores nothing.
    /// `assistedBy` names the staff member who submits it for the resident (`user:NAME` for kioskctl's unix user).
    public func submit(_ s: AssistedSubmission, profile: JurisdictionProfile, today: CivilDate, actor: String,
                       assistedBy: String? = nil, resolvePath: (String) -> String = { $0 }) throws(ControlError) -> SubmitReceipt {
        guard let service = profile.service(s.service) else {
            throw .data("unknown_service", RulesError.unknownService(service: SafeText.visible(s.service), profile: profile.id).message,
                        field: "service")
        }
        guard service.kioskAvailable != false else {
            throw .data("not_a_kiosk_service", LocalizedText("Layanan \(service.id) tidak dapat diajukan di kios.",
                                                             "Service \(service.id) cannot be applied for at a kiosk."), field: "service")
        }
        let nik: NIK
        do {
            nik = try NIK(s.applicantNIK, today: today)
        } catch {
            throw .data("invalid_nik", error.message, field: "applicant_nik")
        }
        guard let event = CivilDate(iso: s.eventDate) else {
            throw .data("bad_date", LocalizedText("event_date: \"\(SafeText.visible(String(s.eventDate.prefix(40))))\" bukan tanggal YYYY-MM-DD yang sah.",
                                                  "event_date: \"\(SafeText.visible(String(s.eventDate.prefix(40))))\" is not a valid YYYY-MM-DD date."),
                        field: "event_date")
        }
        guard event <= today else {
            throw .data("future_event_date", LocalizedText("Tanggal peristiwa \(event) belum terjadi.",
                                                           "The event date \(event) is in the future."), field: "event_date")
        }
        let known = Set(service.requirements.flatMap { [$0.id] + ($0.alternatives ?? []).map(\.id) })
        for (i, a) in s.attachments.enumerated() where !known.isEmpty && !known.contains(a.requirement) {
            let r = SafeText.visible(String(a.requirement.prefix(80)))
            let list = known.sorted().joined(separator: ", ")
            throw .data("unknown_requirement", LocalizedText(
                "Persyaratan \"\(r)\" tidak dikenal untuk \(service.id) (dikenal: \(list)).",
                "Requirement \"\(r)\" is not known for \(service.id) (known: \(list))."), field: "attachments[\(i)].requirement")
        }
        do throws(RulesError) {
            try service.checkSubmission(facts: s.facts ?? [:], contact: s.contact)
        } catch {
            let field: String = switch error {
            case .unknownFact(let key, _), .badFact(let key, _), .missingFact(let key, _): "facts.\(key)"
            case .invalidText(let name, _): name
            default: "facts"
            }
            throw .data(error.code, error.message, field: field)
        }
        var attachments: [NewAttachment] = []
        for (i, a) in s.attachments.enumerated() {
            switch (a.path, a.dataBase64) {
            case (let path?, nil):
                attachments.append(NewAttachment(requirement: a.requirement, path: resolvePath(path)))
            case (nil, let b64?):
                guard let data = Data(base64Encoded: b64) else {
                    throw .data("bad_attachment", LocalizedText("Lampiran \(i + 1) bukan base64 yang sah.",
                                                                "Attachment \(i + 1) is not valid base64."), field: "attachments[\(i)].data_base64")
                }
                let ext = (a.fileExtension ?? "bin").lowercased().filter { $0.isASCII && ($0.isLetter || $0.isNumber) }
                attachments.append(NewAttachment(requirement: a.requirement, data: data, fileExtension: String(ext.prefix(5))))
            default:
                throw .data("bad_attachment", LocalizedText("Lampiran \(i + 1) harus punya tepat satu dari path atau data_base64.",
                                                            "Attachment \(i + 1) must have exactly one of path or data_base64."),
                            field: "attachments[\(i)]")
            }
        }
        do throws(StoreError) {
            return try self.store.submit(NewApplication(
                id: s.id ?? UUID(), service: service.id, profile: profile.id, applicant: nik, eventDate: event,
                contact: s.contact, facts: s.facts ?? [:], attachments: attachments, assistedBy: assistedBy), actor: actor)
        } catch {
            throw ControlError(store: error)
        }
    }

    public func show(_ key: String) throws(ControlError) -> ApplicationDetail {
        do throws(StoreError) {
            let app = try self.store.application(key)
            return ApplicationDetail(application: app, history: try self.store.history(app.id))
        } catch {
            throw ControlError(store: error)
        }
    }

    public func queueStats() throws(ControlError) -> QueueStats {
        do throws(StoreError) { return try self.store.queueStats() } catch { throw ControlError(store: error) }
    }

    public func queueList(state: ApplicationState?) throws(ControlError) -> [QueueItem] {
        do throws(StoreError) { return try self.store.queueList(state: state) } catch { throw ControlError(store: error) }
    }

    /// Requeues a quarantined application (or makes a backing-off one due now).
    public func retry(_ key: String, actor: String) throws(ControlError) -> StoredApplication {
        do throws(StoreError) {
            let app = try self.store.application(key)
            try self.store.requeue(app.id, actor: actor)
            return try self.store.application(app.id.uuidString)
        } catch {
            throw ControlError(store: error)
        }
    }

    public func quarantine(_ key: String, reason: String, actor: String) throws(ControlError) -> StoredApplication {
        guard !reason.isEmpty, reason.count <= 500, SafeText.firstUnsafe(in: reason) == nil else {
            throw .data("bad_reason", LocalizedText("Alasan harus 1…500 karakter tanpa karakter kendali.",
                                                    "The reason must be 1…500 characters without control characters."), field: "reason")
        }
        do throws(StoreError) {
            let app = try self.store.application(key)
            try self.store.quarantine(app.id, reason: reason, actor: actor)
            return try self.store.application(app.id.uuidString)
        } catch {
            throw ControlError(store: error)
        }
    }

    public func restock(sheets: Int, actor: String, lowThreshold: Int) throws(ControlError) -> PaperStatus {
        guard (1...5000).contains(sheets) else {
            throw .data("bad_sheets", LocalizedText("--sheets harus 1…5000.", "--sheets must be 1…5000."), field: "sheets")
        }
        do throws(StoreError) {
            try self.store.restockPaper(sheets: sheets, actor: actor)
            return try self.store.paperStatus(lowThreshold: lowThreshold)
        } catch {
            throw ControlError(store: error)
        }
    }
}
