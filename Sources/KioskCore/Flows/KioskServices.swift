import Foundation

/// What the resident UI may ask of the rest of the kiosk. The UI imports only KioskCore and talks to the store,
/// the devices and the Dinas link through this protocol; `kioskd` supplies the in-process implementation.
/// Every failure is a `ServiceFailure` carrying a message fit for the resident, in both languages.
public protocol KioskServices: Sendable {
    /// Desa name, opening hours, announcement, catalog, idle timeout.
    func info() async -> KioskInfo
    /// Devices that are degraded right now (empty when all is well).
    func deviceNotices() async -> [DeviceNotice]
    /// Card taps, removals and unreadable cards from the card reader (real or simulated).
    func cardEvents() -> AsyncStream<CardTap>
    /// Demo only: taps the test card on the simulated reader. False when there is no simulated reader.
    func tapTestCard() async -> Bool

    /// Scans one requirement. Cancel by cancelling the calling task; nothing is kept on failure.
    func scan(requirement: String, expectedPages: Int?) async throws(ServiceFailure) -> ScanSummary
    /// Drops a scan the resident retook or abandoned.
    func discardScan(_ token: String) async
    /// Stores the application, its attachments and the consent record durably, in one transaction committed
    /// before this returns. Prints nothing: the receipt is `printReceipt`, a separate step.
    func submit(_ draft: ApplicationDraft) async throws(ServiceFailure) -> SubmissionReceipt
    /// Prints the tanda terima of a stored application. nil when it printed; else what went wrong (the
    /// application stays stored and its status can be looked up with the tracking code).
    func printReceipt(trackingCode: String, language: Language) async -> LocalizedText?

    func status(trackingCode: String) async throws(ServiceFailure) -> ApplicationStatus
    func applications(of nik: NIK) async throws(ServiceFailure) -> [ApplicationStatus]
    /// Documents of the resident's application that may be printed now (ownership checked against `nik`).
    func readyDocuments(nik: NIK, trackingCode: String) async throws(ServiceFailure) -> [ReadyDocument]
    func printDocument(_ documentID: String, progress: @escaping @Sendable (Double) -> Void)
        async throws(ServiceFailure) -> PrintReport
    /// Queues a complaint for the Dinas; returns its reference.
    func fileComplaint(_ complaint: Complaint) async throws(ServiceFailure) -> String
    /// Asks the Dinas whether the NIK and KK number are registered together (only where the bundle allows it);
    /// audited by kioskd without the numbers.
    func verifyRegistration(nik: NIK, kk: String) async throws(ServiceFailure) -> RegistryCheck
    /// Resubmits a returned application with its corrections (same id and tracking code, a new revision),
    /// committed before it returns.
    func resubmit(_ draft: CorrectionDraft) async throws(ServiceFailure) -> SubmissionReceipt
    /// Prints the slip of a stored complaint (its reference, never its text); nil when printed, else why not.
    func printComplaintSlip(reference: String, language: Language) async -> LocalizedText?
    /// A complaint by its reference, with the Dinas's answer once it has come.
    func complaintStatus(reference: String) async throws(ServiceFailure) -> ComplaintStatus

    /// Changes the UI must follow: the service going away and coming back, configuration applied, devices changed.
    /// In-process services never go away: their stream is empty.
    func updates() -> AsyncStream<ServiceUpdate>
    /// A resident left the home screen: configuration changes wait until `sessionEnded`.
    func sessionBegan() async
    /// Back at the home screen: the resident's business is over (held scans may go).
    func sessionEnded() async
}

extension KioskServices {
    public func updates() -> AsyncStream<ServiceUpdate> { AsyncStream { $0.finish() } }
    public func sessionBegan() async {}
    public func sessionEnded() async {}
}

/// What `KioskServices.updates()` tells the UI.
public enum ServiceUpdate: Sendable, Equatable {
    /// The kiosk service cannot be reached (stopped, restarting): the UI shows its calm wait screen and drops the
    /// unfinished session; nothing acknowledged is lost.
    case unavailable
    /// Reachable (again), with the configuration in force: the UI starts over at the home screen.
    case available(KioskInfo)
    /// A new configuration is in force: the UI takes it at the home screen (never in the middle of a session).
    case configChanged(KioskInfo)
    /// A device changed: device notices are worth asking for now.
    case devicesChanged
}

/// A failure the resident is told about. `code` is stable for tests and logs.
public struct ServiceFailure: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: String
    public var message: LocalizedText

    public init(_ code: String, _ message: LocalizedText) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(self.code): \(self.message.bilingual)" }
}

public struct KioskInfo: Sendable, Equatable {
    public var desaName: String
    /// Lines such as "Senin–Jumat 08:00–15:00".
    public var openingHours: [String]
    public var announcement: LocalizedText?
    public var profile: JurisdictionProfile
    public var idleTimeoutSeconds: Int
    /// Demo mode: simulated devices, F2 taps a test card.
    public var demo: Bool
    /// Demo: which devices are real and which simulated, e.g. "printer: CUPS kiosk; scanner: simulated".
    public var deviceSummary: String?
    /// The bundle lets residents check their NIK and KK with the Dinas ("Cek NIK & KK").
    public var registryCheck: Bool
    /// Staff mode without a touch for this long ends.
    public var staffTimeoutSeconds: Int
    /// The bundle lists staff PINs: the hidden staff gesture opens the PIN pad.
    public var staffEntry: Bool
    /// Voice guidance on, and its volume (0…200).
    public var voiceEnabled: Bool
    public var voiceVolume: Int

    public init(desaName: String, openingHours: [String], announcement: LocalizedText?, profile: JurisdictionProfile,
                idleTimeoutSeconds: Int, demo: Bool, deviceSummary: String? = nil, registryCheck: Bool = false,
                staffTimeoutSeconds: Int = StaffEntry.defaultTimeoutSeconds, staffEntry: Bool = false,
                voiceEnabled: Bool = true, voiceVolume: Int = 100) {
        self.voiceEnabled = voiceEnabled
        self.voiceVolume = voiceVolume
        self.registryCheck = registryCheck
        self.staffTimeoutSeconds = staffTimeoutSeconds
        self.staffEntry = staffEntry
        self.deviceSummary = deviceSummary
        self.desaName = desaName
        self.openingHours = openingHours
        self.announcement = announcement
        self.profile = profile
        self.idleTimeoutSeconds = idleTimeoutSeconds
        self.demo = demo
    }
}

/// A degraded device, told on the home screen (e.g. the printer is out of paper: apply now, print later).
public struct DeviceNotice: Sendable, Equatable {
    public var device: String
    public var message: LocalizedText

    public init(device: String, message: LocalizedText) {
        self.device = device
        self.message = message
    }
}

public enum CardTap: Sendable, Equatable {
    case inserted(NIK)
    case removed
    case unreadable

    public static let unreadableMessage = LocalizedText(
        "Kartu tidak terbaca. Coba tempel lagi, atau ketik NIK.", "The card could not be read. Tap it again, or type the NIK.")
}

/// A small grayscale picture of a scanned page for the screen: `luma` row-major, `width` × `height` pixels.
public struct PagePreview: Sendable, Equatable, CustomStringConvertible {
    public var width: Int
    public var height: Int
    public var luma: [UInt8]

    public init(width: Int, height: Int, luma: [UInt8]) {
        self.width = width
        self.height = height
        self.luma = luma
    }

    public var description: String { "PagePreview(\(self.width)×\(self.height))" }
}

/// A scan kept for an application that is not submitted yet.
public struct ScanSummary: Sendable, Equatable {
    public var token: String
    public var pages: Int
    public var preview: PagePreview?

    public init(token: String, pages: Int, preview: PagePreview?) {
        self.token = token
        self.pages = pages
        self.preview = preview
    }
}

/// Everything the resident entered, handed to the store in one piece.
public struct ApplicationDraft: Sendable, Equatable {
    /// Chosen when the flow starts: the idempotency key of the application.
    public var id: UUID
    public var service: String
    public var applicant: NIK
    public var eventDate: CivilDate
    public var facts: Facts
    public var contact: String?
    /// Requirement id → its scan tokens in page order.
    public var scans: [String: [String]]
    /// The electronic form: field key → answer.
    public var form: [String: String]
    /// "whatsapp" or "sms": the resident agreed to be told of progress at `contact`.
    public var notify: String?
    public var consentVersion: String
    public var language: Language
    /// Assisted mode: the staff id of who helped (kioskd accepts it only from a connection that staff unlocked
    /// with that id, and records it on the application, in the audit trail and on the receipt).
    public var assistedBy: String?

    public init(id: UUID, service: String, applicant: NIK, eventDate: CivilDate, facts: Facts, contact: String?,
                scans: [String: [String]], form: [String: String] = [:], notify: String? = nil,
                consentVersion: String, language: Language, assistedBy: String? = nil) {
        self.assistedBy = assistedBy
        self.form = form
        self.notify = notify
        self.id = id
        self.service = service
        self.applicant = applicant
        self.eventDate = eventDate
        self.facts = facts
        self.contact = contact
        self.scans = scans
        self.consentVersion = consentVersion
        self.language = language
    }
}

public struct ExpectedProduct: Sendable, Equatable {
    public var name: LocalizedText
    /// e.g. "2026-12-22" or "menunggu persetujuan / pending approval".
    public var due: LocalizedText

    public init(name: LocalizedText, due: LocalizedText) {
        self.name = name
        self.due = due
    }
}

public struct SubmissionReceipt: Sendable, Equatable {
    public var trackingCode: TrackingCode
    public var expected: [ExpectedProduct]
    /// What went wrong printing the receipt (the application is stored either way); nil while printing or printed.
    public var receiptProblem: LocalizedText?
    /// True once the receipt printed.
    public var receiptPrinted: Bool

    public init(trackingCode: TrackingCode, expected: [ExpectedProduct], receiptProblem: LocalizedText? = nil,
                receiptPrinted: Bool = false) {
        self.trackingCode = trackingCode
        self.expected = expected
        self.receiptProblem = receiptProblem
        self.receiptPrinted = receiptPrinted
    }
}

public struct ApplicationStatus: Sendable, Equatable {
    public struct Step: Sendable, Equatable {
        /// Local date and time, "2026-11-22 09:14".
        public var at: String
        public var state: ApplicationState

        public init(at: String, state: ApplicationState) {
            self.at = at
            self.state = state
        }
    }

    public var trackingCode: TrackingCode
    public var serviceName: LocalizedText
    public var state: ApplicationState
    public var history: [Step]
    public var expected: [ExpectedProduct]
    /// The Dinas's reason when it returned or rejected the application (untrusted text: sanitize before display).
    public var reason: String?
    /// What the resident can correct at this kiosk ("Perbaiki"), when the Dinas returned the application.
    public var correction: CorrectionRequest?

    public init(trackingCode: TrackingCode, serviceName: LocalizedText, state: ApplicationState, history: [Step],
                expected: [ExpectedProduct], reason: String?, correction: CorrectionRequest? = nil) {
        self.correction = correction
        self.trackingCode = trackingCode
        self.serviceName = serviceName
        self.state = state
        self.history = history
        self.expected = expected
        self.reason = reason
    }
}

public struct ReadyDocument: Sendable, Equatable {
    public var id: String
    public var name: LocalizedText
    /// Prints still allowed (first print plus reprints).
    public var printsLeft: Int

    public init(id: String, name: LocalizedText, printsLeft: Int) {
        self.id = id
        self.name = name
        self.printsLeft = printsLeft
    }
}

public struct PrintReport: Sendable, Equatable {
    public var printed: Bool
    public var sheets: Int
    /// What to tell the resident when it did not print (the document is kept).
    public var problem: LocalizedText?

    public init(printed: Bool, sheets: Int, problem: LocalizedText?) {
        self.printed = printed
        self.sheets = sheets
        self.problem = problem
    }
}

public struct Complaint: Sendable, Equatable {
    public var category: ComplaintCategory
    public var text: String
    public var contact: String?
    public var language: Language

    public init(category: ComplaintCategory, text: String, contact: String?, language: Language) {
        self.category = category
        self.text = text
        self.contact = contact
        self.language = language
    }
}

/// A returned application the resident can correct: what the Dinas named (requirement ids to scan again, form
/// keys to answer again). kioskd fills in the application's own requirements when the Dinas named none.
public struct CorrectionRequest: Sendable, Equatable, Codable {
    public var applicationID: UUID
    public var service: String
    public var requirements: [String]
    public var fields: [String]

    public init(applicationID: UUID, service: String, requirements: [String], fields: [String]) {
        self.applicationID = applicationID
        self.service = service
        self.requirements = requirements
        self.fields = fields
    }

    enum CodingKeys: String, CodingKey {
        case service, requirements, fields
        case applicationID = "application_id"
    }
}

/// The corrected parts of a returned application, resubmitted under the same id.
public struct CorrectionDraft: Sendable, Equatable {
    public var id: UUID
    /// Who corrects it: must be the applicant.
    public var applicant: NIK
    /// The answers given again (merged over the earlier form by kioskd).
    public var form: [String: String]
    /// Requirement id → the new scan tokens (replacing that requirement's pages).
    public var scans: [String: [String]]
    public var language: Language

    public init(id: UUID, applicant: NIK, form: [String: String], scans: [String: [String]], language: Language) {
        self.id = id
        self.applicant = applicant
        self.form = form
        self.scans = scans
        self.language = language
    }
}

/// The Dinas's answer to "are this NIK and this KK registered together?" (LOPE CAPIL).
public struct RegistryCheck: Sendable, Equatable, Codable {
    public var match: Bool
    /// On a match, the registered name masked ("M**** N***"); never a full name.
    public var nameMasked: String?

    public init(match: Bool, nameMasked: String?) {
        self.match = match
        self.nameMasked = nameMasked
    }

    enum CodingKeys: String, CodingKey {
        case match
        case nameMasked = "name_masked"
    }

    /// A KK number: 16 digits.
    public static func kkProblem(_ digits: String) -> LocalizedText? {
        guard digits.count == 16, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else {
            return LocalizedText("Nomor KK harus 16 angka.", "The KK number must be 16 digits.")
        }
        return nil
    }
}

/// A complaint as the resident follows it up at "Cek Status".
public struct ComplaintStatus: Sendable, Equatable, Codable {
    public var reference: String
    public var category: ComplaintCategory
    /// Local time it was filed, "2026-12-03 10:15".
    public var filedAt: String
    /// Whether it has reached the Dinas.
    public var sent: Bool
    public var answer: String?
    public var answeredAt: String?

    public init(reference: String, category: ComplaintCategory, filedAt: String, sent: Bool, answer: String?, answeredAt: String?) {
        self.reference = reference
        self.category = category
        self.filedAt = filedAt
        self.sent = sent
        self.answer = answer
        self.answeredAt = answeredAt
    }

    enum CodingKeys: String, CodingKey {
        case reference, category, sent, answer
        case filedAt = "filed_at"
        case answeredAt = "answered_at"
    }
}

public enum ComplaintCategory: String, Sendable, Equatable, CaseIterable, Codable {
    case service = "layanan"
    case staff = "petugas"
    case kiosk = "kios"
    case data = "data"
    case other = "lainnya"

    public var label: LocalizedText {
        switch self {
        case .service: return LocalizedText("Pelayanan / lama proses", "Service / delays")
        case .staff: return LocalizedText("Petugas", "Staff")
        case .kiosk: return LocalizedText("Kios / perangkat rusak", "Kiosk / broken device")
        case .data: return LocalizedText("Data kependudukan salah", "Wrong population data")
        case .other: return LocalizedText("Lainnya", "Other")
        }
    }
}
