#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A staff member's role, from the bundle's `staff_pins`: `petugas` (desa staff) or `teknisi` (a Dinas technician,
/// who may also roll the configuration back and re-detect devices).
public enum StaffRole: String, Sendable, Codable, Equatable, CaseIterable {
    case petugas, teknisi

    public var label: LocalizedText {
        switch self {
        case .petugas: LocalizedText("Petugas desa", "Desa staff")
        case .teknisi: LocalizedText("Teknisi Dinas", "Dinas technician")
        }
    }
}

/// Who unlocked staff mode (never the PIN).
public struct StaffIdentity: Sendable, Codable, Equatable {
    public var staffID: String
    public var name: String
    public var role: StaffRole

    public init(staffID: String, name: String, role: StaffRole) {
        self.staffID = staffID
        self.name = name
        self.role = role
    }

    enum CodingKeys: String, CodingKey {
        case name, role
        case staffID = "staff_id"
    }
}

/// The answer to a PIN: unlocked, wrong (with the tries left before the lockout), or locked until a time.
public enum StaffUnlock: Sendable, Equatable {
    case unlocked(StaffIdentity, timeoutSeconds: Int)
    case wrongPIN(attemptsLeft: Int)
    case locked(until: Date)
}

/// Rules of staff entry, one place: kioskd enforces them, the UI tells them.
public enum StaffEntry {
    /// Wrong PINs in a row that lock staff entry.
    public static let maxAttempts = 5
    /// How long the lock lasts.
    public static let lockoutSeconds = 15 * 60
    /// Staff mode without a touch for this long goes back to the home screen (bundle `staff_timeout_seconds`).
    public static let defaultTimeoutSeconds = 180
    /// A PIN is 4…12 digits.
    public static let pinLength = 4...12
    /// PBKDF2 iterations a `pin_hash` must have at least.
    public static let minimumIterations = 100_000
    /// A second call within this time is the same call.
    public static let callRepeatSeconds = 120.0
}

/// What "Panggil petugas" answered.
public struct StaffCallAnswer: Sendable, Codable, Equatable {
    /// False when a call of the last two minutes is still open (the same call, not a new one).
    public var recorded: Bool
    /// Ring the terminal bell (bundle `staff_call_bell`, on unless set false).
    public var bell: Bool

    public init(recorded: Bool, bell: Bool) {
        self.recorded = recorded
        self.bell = bell
    }
}

/// The kiosk at a glance for staff (`staff.overview`): devices, Dinas link, queue, configuration, disk.
public struct StaffOverview: Sendable, Codable, Equatable {
    public enum Health: String, Sendable, Codable, Equatable { case ok, warning, fault, absent }

    public struct Device: Sendable, Codable, Equatable {
        /// `printer`, `scanner`, `card_reader`.
        public var kind: String
        public var health: Health
        /// e.g. "Siap (CUPS kiosk)", "Kertas habis", "Tidak terpasang".
        public var detail: LocalizedText

        public init(kind: String, health: Health, detail: LocalizedText) {
            self.kind = kind
            self.health = health
            self.detail = detail
        }
    }

    public struct Link: Sendable, Codable, Equatable {
        /// A Dinas address is configured.
        public var configured: Bool
        public var lastContact: Date?
        public var lastError: String?
        public var nextAttempt: Date?

        public init(configured: Bool, lastContact: Date? = nil, lastError: String? = nil, nextAttempt: Date? = nil) {
            self.configured = configured
            self.lastContact = lastContact
            self.lastError = lastError
            self.nextAttempt = nextAttempt
        }

        enum CodingKeys: String, CodingKey {
            case configured
            case lastContact = "last_contact"
            case lastError = "last_error"
            case nextAttempt = "next_attempt"
        }
    }

    public var devices: [Device]
    /// Sheets left by the paper count (restocks minus sheets printed); nil before the first restock.
    public var paperSheets: Int?
    public var paperLow: Bool
    /// Toner/ink levels by marker name, percent (-1 unknown), as CUPS reports them.
    public var toner: [String: Int]
    public var link: Link
    /// Applications by state (`submitted`, `uploading`, `quarantined`, ...).
    public var queue: [String: Int]
    public var oldestUndelivered: Date?
    public var configVersion: Int
    /// The last configuration refused, or an expired bundle, in words.
    public var configProblem: String?
    public var diskFreeBytes: Int?
    /// "Panggil petugas" calls of today not yet seen on the staff screen.
    public var openCalls: Int

    public init(devices: [Device], paperSheets: Int?, paperLow: Bool, toner: [String: Int], link: Link,
                queue: [String: Int], oldestUndelivered: Date?, configVersion: Int, configProblem: String?,
                diskFreeBytes: Int?, openCalls: Int) {
        self.devices = devices
        self.paperSheets = paperSheets
        self.paperLow = paperLow
        self.toner = toner
        self.link = link
        self.queue = queue
        self.oldestUndelivered = oldestUndelivered
        self.configVersion = configVersion
        self.configProblem = configProblem
        self.diskFreeBytes = diskFreeBytes
        self.openCalls = openCalls
    }

    enum CodingKeys: String, CodingKey {
        case devices, toner, link, queue
        case paperSheets = "paper_sheets"
        case paperLow = "paper_low"
        case oldestUndelivered = "oldest_undelivered"
        case configVersion = "config_version"
        case configProblem = "config_problem"
        case diskFreeBytes = "disk_free_bytes"
        case openCalls = "open_calls"
    }
}

/// An application as the staff list shows it: NIK masked.
public struct StaffApplicationRow: Sendable, Codable, Equatable {
    public var id: UUID
    public var trackingCode: String
    public var service: String
    public var state: ApplicationState
    public var nikMasked: String
    public var submittedAt: Date
    /// Why it is quarantined.
    public var reason: String?
    /// The staff id that helped, for an assisted application.
    public var assistedBy: String?

    public init(id: UUID, trackingCode: String, service: String, state: ApplicationState, nikMasked: String,
                submittedAt: Date, reason: String? = nil, assistedBy: String? = nil) {
        self.id = id
        self.trackingCode = trackingCode
        self.service = service
        self.state = state
        self.nikMasked = nikMasked
        self.submittedAt = submittedAt
        self.reason = reason
        self.assistedBy = assistedBy
    }

    enum CodingKeys: String, CodingKey {
        case id, service, state, reason
        case trackingCode = "tracking_code"
        case nikMasked = "nik_masked"
        case submittedAt = "submitted_at"
        case assistedBy = "assisted_by"
    }
}

/// A complaint filed today (its text is the resident's, shown cut and cleaned).
public struct StaffComplaintRow: Sendable, Codable, Equatable {
    public var reference: String
    public var filedAt: Date
    public var summary: String
    public var answered: Bool

    public init(reference: String, filedAt: Date, summary: String, answered: Bool) {
        self.reference = reference
        self.filedAt = filedAt
        self.summary = summary
        self.answered = answered
    }

    enum CodingKeys: String, CodingKey {
        case reference, summary, answered
        case filedAt = "filed_at"
    }
}

/// A "Panggil petugas" call: when, and from which screen.
public struct StaffCallRow: Sendable, Codable, Equatable {
    public var at: Date
    public var screen: String

    public init(at: Date, screen: String) {
        self.at = at
        self.screen = screen
    }
}

/// A document of an application, for a staff reprint.
public struct StaffDocumentRow: Sendable, Codable, Equatable {
    public var id: String
    public var title: String
    public var prints: Int

    public init(id: String, title: String, prints: Int) {
        self.id = id
        self.title = title
        self.prints = prints
    }
}

/// What staff mode may ask of kioskd, on the same connection as the resident UI after a PIN unlock (`staff.*`;
/// `technician.*` for a teknisi). Every failure is a `ServiceFailure` in both languages.
public protocol StaffServices: Sendable {
    /// Checks a PIN against the bundle's PBKDF2 hashes. Refused while a resident session is open.
    func unlockStaff(pin: String) async throws(ServiceFailure) -> StaffUnlock
    /// Leaves staff mode (also at a timeout).
    func lockStaff() async
    /// "Panggil petugas": records the call (resident role, no PIN).
    func callStaff(screen: String) async throws(ServiceFailure) -> StaffCallAnswer

    func overview() async throws(ServiceFailure) -> StaffOverview
    /// Records sheets loaded; returns the overview after it.
    func restockPaper(sheets: Int) async throws(ServiceFailure) -> StaffOverview
    /// Prints the test page; nil when it printed, else why not.
    func printTestPage() async throws(ServiceFailure) -> LocalizedText?
    /// Resumes a paused (stopped) printer queue.
    func resumePrinter() async throws(ServiceFailure)
    /// A test scan with its preview (held nowhere: kioskd deletes the file).
    func testScan() async throws(ServiceFailure) -> ScanSummary
    /// Enumerates the devices again; a line per device found.
    func redetectDevices() async throws(ServiceFailure) -> [String]

    func todaysApplications() async throws(ServiceFailure) -> [StaffApplicationRow]
    func quarantined() async throws(ServiceFailure) -> [StaffApplicationRow]
    /// Requeues a quarantined application.
    func retry(_ id: UUID) async throws(ServiceFailure)
    /// Forwards and pulls now.
    func syncNow() async throws(ServiceFailure)
    func todaysComplaints() async throws(ServiceFailure) -> [StaffComplaintRow]
    func todaysCalls() async throws(ServiceFailure) -> [StaffCallRow]
    /// The documents of an application found by its tracking code.
    func documents(trackingCode: String) async throws(ServiceFailure) -> [StaffDocumentRow]
    /// Prints a document beyond the resident's reprint limit, audited with the staff id and the reason.
    func reprint(documentID: String, reason: String) async throws(ServiceFailure) -> PrintReport
    /// Teknisi: back to the previous configuration; returns the version now in force.
    func rollbackConfig() async throws(ServiceFailure) -> Int
}
