#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The shapes of the `resident.*` control methods (architecture.md, "Control API"): what kiosk-ui and kioskd say
/// to each other about `KioskServices`. Each wire type converts to and from its domain value; the NIK travels as its
/// 16 digits and is validated again by whoever receives it. Keys are snake_case, dates as `KioskJSON` writes them.
public enum ResidentWire {
    /// The most pages one `resident.scan` may ask for.
    public static let maxExpectedPages = 20

    /// `resident.info`: the home screen and the whole jurisdiction profile the flows run on.
    public struct Info: Codable, Sendable, Equatable {
        public var desaName: String
        public var openingHours: [String]
        public var announcement: LocalizedText?
        public var idleTimeoutSeconds: Int
        /// The profile id (the full profile is `jurisdiction`).
        public var profile: String
        public var configVersion: Int
        public var jurisdiction: JurisdictionProfile
        public var deviceSummary: String?
        /// kioskd drives a simulated card reader: `resident.card.tap_test` taps its test card.
        public var testCard: Bool
        public var registryCheck: Bool?
        public var staffTimeoutSeconds: Int?
        public var staffEntry: Bool?
        public var voiceEnabled: Bool?
        public var voiceVolume: Int?

        public init(_ info: KioskInfo, configVersion: Int, testCard: Bool) {
            self.voiceEnabled = info.voiceEnabled
            self.voiceVolume = info.voiceVolume
            self.staffTimeoutSeconds = info.staffTimeoutSeconds
            self.staffEntry = info.staffEntry
            self.desaName = info.desaName
            self.openingHours = info.openingHours
            self.announcement = info.announcement
            self.idleTimeoutSeconds = info.idleTimeoutSeconds
            self.profile = info.profile.id
            self.configVersion = configVersion
            self.jurisdiction = info.profile
            self.deviceSummary = info.deviceSummary
            self.testCard = testCard
            self.registryCheck = info.registryCheck ? true : nil
        }

        /// The domain value; `demo` is the UI's own choice (kiosk-ui --demo), not kioskd's.
        public func info(demo: Bool) -> KioskInfo {
            KioskInfo(desaName: self.desaName, openingHours: self.openingHours, announcement: self.announcement,
                      profile: self.jurisdiction, idleTimeoutSeconds: self.idleTimeoutSeconds, demo: demo,
                      deviceSummary: self.deviceSummary, registryCheck: self.registryCheck == true,
                      staffTimeoutSeconds: min(3600, max(30, self.staffTimeoutSeconds ?? StaffEntry.defaultTimeoutSeconds)),
                      staffEntry: self.staffEntry == true, voiceEnabled: self.voiceEnabled != false,
                      voiceVolume: min(200, max(0, self.voiceVolume ?? 100)))
        }

        enum CodingKeys: String, CodingKey {
            case announcement, profile, jurisdiction
            case desaName = "desa_name"
            case openingHours = "opening_hours"
            case idleTimeoutSeconds = "idle_timeout_seconds"
            case configVersion = "config_version"
            case deviceSummary = "device_summary"
            case testCard = "test_card"
            case registryCheck = "registry_check"
            case staffTimeoutSeconds = "staff_timeout_seconds"
            case staffEntry = "staff_entry"
            case voiceEnabled = "voice_enabled"
            case voiceVolume = "voice_volume"
        }
    }

    public struct Notice: Codable, Sendable, Equatable {
        public var device: String
        public var message: LocalizedText

        public init(_ n: DeviceNotice) {
            self.device = n.device
            self.message = n.message
        }

        public var notice: DeviceNotice { DeviceNotice(device: self.device, message: self.message) }
    }

    /// `resident.scan`'s answer. The preview's luma travels as base64 (3 072 numbers would be 3 072 JSON values).
    public struct Scan: Codable, Sendable, Equatable {
        public struct Preview: Codable, Sendable, Equatable {
            public var width: Int
            public var height: Int
            public var lumaBase64: String

            enum CodingKeys: String, CodingKey {
                case width, height
                case lumaBase64 = "luma_base64"
            }
        }

        public var token: String
        public var pages: Int
        public var preview: Preview?

        public init(_ s: ScanSummary) {
            self.token = s.token
            self.pages = s.pages
            self.preview = s.preview.map { Preview(width: $0.width, height: $0.height, lumaBase64: Data($0.luma).base64EncodedString()) }
        }

        /// The domain value; a preview whose size does not match its pixels (or is absurd) is dropped, not trusted.
        public var summary: ScanSummary {
            var preview: PagePreview?
            if let p = self.preview, (1...256).contains(p.width), (1...256).contains(p.height),
               let luma = Data(base64Encoded: p.lumaBase64), luma.count == p.width * p.height {
                preview = PagePreview(width: p.width, height: p.height, luma: [UInt8](luma))
            }
            return ScanSummary(token: self.token, pages: self.pages, preview: preview)
        }
    }

    /// `resident.submit`'s params: the draft as the resident left it.
    public struct Draft: Codable, Sendable, Equatable {
        public var id: UUID
        public var service: String
        public var applicantNIK: String
        public var eventDate: CivilDate
        public var facts: Facts
        public var contact: String?
        public var scans: [String: [String]]
        public var form: [String: String]?
        public var notify: String?
        public var consentVersion: String
        public var language: Language
        public var assistedBy: String?

        public init(_ d: ApplicationDraft) {
            self.assistedBy = d.assistedBy
            self.id = d.id
            self.service = d.service
            self.applicantNIK = d.applicant.digits
            self.eventDate = d.eventDate
            self.facts = d.facts
            self.contact = d.contact
            self.scans = d.scans
            self.form = d.form.isEmpty ? nil : d.form
            self.notify = d.notify
            self.consentVersion = d.consentVersion
            self.language = d.language
        }

        /// The domain value, the NIK validated against `today`.
        public func draft(today: CivilDate) throws(NIKError) -> ApplicationDraft {
            ApplicationDraft(id: self.id, service: self.service, applicant: try NIK(self.applicantNIK, today: today),
                             eventDate: self.eventDate, facts: self.facts, contact: self.contact, scans: self.scans,
                             form: self.form ?? [:], notify: self.notify, consentVersion: self.consentVersion, language: self.language,
                             assistedBy: self.assistedBy)
        }

        enum CodingKeys: String, CodingKey {
            case id, service, facts, contact, scans, language, form, notify
            case assistedBy = "assisted_by"
            case applicantNIK = "applicant_nik"
            case eventDate = "event_date"
            case consentVersion = "consent_version"
        }
    }

    /// `resident.resubmit`'s params: the corrected parts of a returned application.
    public struct Correction: Codable, Sendable, Equatable {
        public var id: UUID
        public var applicantNIK: String
        public var form: [String: String]
        public var scans: [String: [String]]
        public var language: Language

        public init(_ d: CorrectionDraft) {
            self.id = d.id
            self.applicantNIK = d.applicant.digits
            self.form = d.form
            self.scans = d.scans
            self.language = d.language
        }

        public func draft(today: CivilDate) throws(NIKError) -> CorrectionDraft {
            CorrectionDraft(id: self.id, applicant: try NIK(self.applicantNIK, today: today), form: self.form,
                            scans: self.scans, language: self.language)
        }

        enum CodingKeys: String, CodingKey {
            case id, form, scans, language
            case applicantNIK = "applicant_nik"
        }
    }

    public struct Expected: Codable, Sendable, Equatable {
        public var name: LocalizedText
        public var due: LocalizedText

        public init(_ e: ExpectedProduct) {
            self.name = e.name
            self.due = e.due
        }

        public var product: ExpectedProduct { ExpectedProduct(name: self.name, due: self.due) }
    }

    /// `resident.submit`'s answer: the application is stored (committed) when this arrives.
    public struct Receipt: Codable, Sendable, Equatable {
        public var trackingCode: TrackingCode
        public var expected: [Expected]

        public init(_ r: SubmissionReceipt) {
            self.trackingCode = r.trackingCode
            self.expected = r.expected.map(Expected.init)
        }

        public var receipt: SubmissionReceipt {
            SubmissionReceipt(trackingCode: self.trackingCode, expected: self.expected.map(\.product))
        }

        enum CodingKeys: String, CodingKey {
            case expected
            case trackingCode = "tracking_code"
        }
    }

    public struct Status: Codable, Sendable, Equatable {
        public struct Step: Codable, Sendable, Equatable {
            public var at: String
            public var state: ApplicationState
        }

        public var trackingCode: TrackingCode
        public var serviceName: LocalizedText
        public var state: ApplicationState
        public var history: [Step]
        public var expected: [Expected]
        public var reason: String?
        public var correction: CorrectionRequest?

        public init(_ s: ApplicationStatus) {
            self.correction = s.correction
            self.trackingCode = s.trackingCode
            self.serviceName = s.serviceName
            self.state = s.state
            self.history = s.history.map { Step(at: $0.at, state: $0.state) }
            self.expected = s.expected.map(Expected.init)
            self.reason = s.reason
        }

        public var status: ApplicationStatus {
            ApplicationStatus(trackingCode: self.trackingCode, serviceName: self.serviceName, state: self.state,
                              history: self.history.map { .init(at: $0.at, state: $0.state) },
                              expected: self.expected.map(\.product), reason: self.reason, correction: self.correction)
        }

        enum CodingKeys: String, CodingKey {
            case state, history, expected, reason, correction
            case trackingCode = "tracking_code"
            case serviceName = "service_name"
        }
    }

    public struct Document: Codable, Sendable, Equatable {
        public var id: String
        public var name: LocalizedText
        public var printsLeft: Int

        public init(_ d: ReadyDocument) {
            self.id = d.id
            self.name = d.name
            self.printsLeft = d.printsLeft
        }

        public var document: ReadyDocument { ReadyDocument(id: self.id, name: self.name, printsLeft: max(0, self.printsLeft)) }

        enum CodingKeys: String, CodingKey {
            case id, name
            case printsLeft = "prints_left"
        }
    }

    public struct Printed: Codable, Sendable, Equatable {
        public var printed: Bool
        public var sheets: Int
        public var problem: LocalizedText?

        public init(_ r: PrintReport) {
            self.printed = r.printed
            self.sheets = r.sheets
            self.problem = r.problem
        }

        public var report: PrintReport { PrintReport(printed: self.printed, sheets: max(0, self.sheets), problem: self.problem) }
    }

    public struct ComplaintParams: Codable, Sendable, Equatable {
        public var category: ComplaintCategory
        public var text: String
        public var contact: String?
        public var language: Language

        public init(_ c: Complaint) {
            self.category = c.category
            self.text = c.text
            self.contact = c.contact
            self.language = c.language
        }

        public var complaint: Complaint {
            Complaint(category: self.category, text: self.text, contact: self.contact, language: self.language)
        }
    }

    /// `print.progress`, pushed to the connection that asked for the print while CUPS works.
    public struct Progress: Codable, Sendable, Equatable {
        public var documentID: String
        public var fraction: Double

        public init(documentID: String, fraction: Double) {
            self.documentID = documentID
            self.fraction = fraction
        }

        enum CodingKeys: String, CodingKey {
            case fraction
            case documentID = "document_id"
        }
    }
}
