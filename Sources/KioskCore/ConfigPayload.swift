#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The signed configuration a Dinas pushes to its kiosks (architecture.md, "Configuration bundle").
public struct ConfigPayload: Hashable, Sendable, Codable {
    /// Monotonic: a kiosk applies only a version newer than the one it runs.
    public var version: Int
    /// ISO 8601 instant, e.g. `2026-11-22T08:00:00Z`.
    public var issuedAt: String
    /// Kiosk ids, or `["*"]` for every kiosk of the Dinas.
    public var targets: [String]
    public var jurisdiction: JurisdictionProfile
    public var kiosk: KioskSettings

    enum CodingKeys: String, CodingKey {
        case version, targets, jurisdiction, kiosk
        case issuedAt = "issued_at"
    }

    public init(version: Int, issuedAt: String, targets: [String], jurisdiction: JurisdictionProfile,
                kiosk: KioskSettings) {
        self.version = version
        self.issuedAt = issuedAt
        self.targets = targets
        self.jurisdiction = jurisdiction
        self.kiosk = kiosk
    }

    public func applies(to kioskID: String) -> Bool {
        self.targets.contains("*") || self.targets.contains(kioskID)
    }

    /// Decodes and validates payload bytes; errors name the failing field under `payload.`.
    /// - Parameter now: the kiosk's clock when the bundle is being applied (refuses an `issued_at` more than a day
    ///   ahead of it); nil when only the documented ranges are checked (signing, re-verifying the applied bundle).
    public static func load(_ data: Data, now: Date? = nil) throws(ValidationError) -> ConfigPayload {
        let payload = try StrictJSON.decode(ConfigPayload.self, from: data, root: "payload")
        try payload.validate(now: now)
        return payload
    }

    /// Checks every field against its documented range (Kiosk/CONFIG-SCHEMA.md, `ConfigLimits`).
    public func validate(now: Date? = nil) throws(ValidationError) {
        guard ConfigLimits.version.contains(self.version) else {
            throw ValidationError(
                field: "payload.version",
                reason: "must be an integer \(ConfigLimits.version.lowerBound)…\(ConfigLimits.version.upperBound), got \(self.version)")
        }
        guard let issued = KioskJSON.date(self.issuedAt) else {
            throw ValidationError(field: "payload.issued_at", reason: "must be an ISO 8601 time with offset like 2026-11-22T08:00:00Z")
        }
        guard ConfigLimits.issuedAt.contains(issued) else {
            throw ValidationError(field: "payload.issued_at", reason: "must be within 2020-01-01…2100-12-31, got \(self.issuedAt)")
        }
        if let now, issued > now.addingTimeInterval(ConfigLimits.issuedAtFutureSlack) {
            throw ValidationError(
                field: "payload.issued_at",
                reason: "\(self.issuedAt) is more than a day ahead of the kiosk clock (\(KioskJSON.timestamp(now)))")
        }
        guard ConfigLimits.targets.contains(self.targets.count) else {
            throw ValidationError(field: "payload.targets", reason: "must list 1…\(ConfigLimits.targets.upperBound) kiosk ids or \"*\"")
        }
        for (i, t) in self.targets.enumerated() where t != "*" && !ConfigLimits.isKioskID(t) {
            throw ValidationError(field: "payload.targets[\(i)]", reason: "must be \"*\" or a kiosk id of 1…64 of A-Z a-z 0-9 . _ -")
        }
        try self.jurisdiction.validate(root: "payload.jurisdiction")
        try self.kiosk.validate(root: "payload.kiosk")
    }
}

/// Per-kiosk settings carried by a configuration bundle.
public struct KioskSettings: Hashable, Sendable, Codable {
    public struct OpeningHours: Hashable, Sendable, Codable {
        /// ISO weekdays 1…7.
        public var days: [Int]
        /// `HH:MM` local time.
        public var open: String
        public var close: String

        public init(days: [Int], open: String, close: String) {
            self.days = days
            self.open = open
            self.close = close
        }
    }

    /// A staff member's PIN, stored only as a PBKDF2 hash (`pbkdf2-sha256$ITER$SALT$HASH`, salt per PIN), with
    /// their role. `kioskctl staff pin-hash` makes an entry.
    public struct StaffPIN: Hashable, Sendable, Codable {
        public var staffID: String
        public var name: String
        public var role: StaffRole
        public var pinHash: String

        public init(staffID: String, name: String, role: StaffRole, pinHash: String) {
            self.staffID = staffID
            self.name = name
            self.role = role
            self.pinHash = pinHash
        }

        enum CodingKeys: String, CodingKey {
            case name, role
            case staffID = "staff_id"
            case pinHash = "pin_hash"
        }
    }

    public var desaName: String
    public var openingHours: [OpeningHours]
    public var idleTimeoutSeconds: Int
    public var languages: [Language]
    public var announcement: LocalizedText?
    public var printerQueue: String?
    public var scannerDevice: String?
    public var staffPins: [StaffPIN]
    public var retentionDays: Int
    /// LOPE CAPIL at the kiosk (OI Pasal 10): residents may check their NIK and KK with the Dinas. Absent: off.
    public var registryCheck: Bool?
    /// Staff mode without a touch for this long returns to the home screen. Absent: `StaffEntry.defaultTimeoutSeconds`.
    public var staffTimeoutSeconds: Int?
    /// "Panggil petugas" rings the terminal bell. Absent: on.
    public var staffCallBell: Bool?
    /// Voice guidance (espeak-ng, Bahasa Indonesia): absent means on; `false` keeps the kiosk silent.
    public var voiceEnabled: Bool?
    /// Voice volume 0…200 (espeak-ng's amplitude; 100 is its default). Absent: 100.
    public var voiceVolume: Int?

    public var staffTimeout: Int { self.staffTimeoutSeconds ?? StaffEntry.defaultTimeoutSeconds }

    enum CodingKeys: String, CodingKey {
        case languages, announcement
        case registryCheck = "registry_check"
        case staffTimeoutSeconds = "staff_timeout_seconds"
        case staffCallBell = "staff_call_bell"
        case voiceEnabled = "voice_enabled"
        case voiceVolume = "voice_volume"
        case desaName = "desa_name"
        case openingHours = "opening_hours"
        case idleTimeoutSeconds = "idle_timeout_seconds"
        case printerQueue = "printer_queue"
        case scannerDevice = "scanner_device"
        case staffPins = "staff_pins"
        case retentionDays = "retention_days"
    }

    public static func defaults(desaName: String) -> KioskSettings {
        KioskSettings(
            desaName: desaName,
            openingHours: [OpeningHours(days: [1, 2, 3, 4, 5], open: "08:00", close: "15:00")],
            idleTimeoutSeconds: 120, languages: [.id, .en], announcement: nil, printerQueue: nil,
            scannerDevice: nil, staffPins: [], retentionDays: 30)
    }

    /// Checks every field against its documented range (Kiosk/CONFIG-SCHEMA.md, `ConfigLimits`).
    public func validate(root: String) throws(ValidationError) {
        func fail(_ f: String, _ r: String) -> ValidationError { ValidationError(field: "\(root).\(f)", reason: r) }
        func text(_ value: String, _ f: String, max: Int) throws(ValidationError) {
            if let problem = KioskJSON.textProblem(value, maxLength: max) { throw fail(f, problem) }
        }
        guard self.desaName.contains(where: { !$0.isWhitespace }) else { throw fail("desa_name", "must not be empty") }
        try text(self.desaName, "desa_name", max: ConfigLimits.desaNameLength)
        guard ConfigLimits.idleTimeoutSeconds.contains(self.idleTimeoutSeconds) else {
            throw fail("idle_timeout_seconds", "must be between 30 and 3600, got \(self.idleTimeoutSeconds)")
        }
        guard self.languages.first == .id else { throw fail("languages", "must start with \"id\" (Bahasa Indonesia first)") }
        guard Set(self.languages).count == self.languages.count else { throw fail("languages", "must not repeat a language") }
        guard ConfigLimits.retentionDays.contains(self.retentionDays) else {
            throw fail("retention_days", "must be between 1 and 3650 days, got \(self.retentionDays)")
        }
        guard self.openingHours.count <= ConfigLimits.openingHours else {
            throw fail("opening_hours", "at most \(ConfigLimits.openingHours) entries")
        }
        for (i, h) in self.openingHours.enumerated() {
            guard !h.days.isEmpty, h.days.allSatisfy({ (1...7).contains($0) }) else {
                throw fail("opening_hours[\(i)].days", "ISO weekdays are 1…7")
            }
            guard Set(h.days).count == h.days.count else { throw fail("opening_hours[\(i)].days", "must not repeat a day") }
            guard let o = KioskSettings.minutes(h.open) else { throw fail("opening_hours[\(i)].open", "must be HH:MM") }
            guard let c = KioskSettings.minutes(h.close) else { throw fail("opening_hours[\(i)].close", "must be HH:MM") }
            guard o < c else { throw fail("opening_hours[\(i)]", "must open before it closes") }
        }
        if let a = self.announcement {
            guard a.id.contains(where: { !$0.isWhitespace }) else { throw fail("announcement.id", "must not be empty") }
            try text(a.id, "announcement.id", max: ConfigLimits.announcementLength)
            if let en = a.en { try text(en, "announcement.en", max: ConfigLimits.announcementLength) }
        }
        for (name, value) in [("printer_queue", self.printerQueue), ("scanner_device", self.scannerDevice)] {
            guard let value else { continue }
            guard (1...ConfigLimits.deviceNameLength).contains(value.utf8.count),
                  value.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F })
            else { throw fail(name, "must be 1…\(ConfigLimits.deviceNameLength) printable ASCII characters without spaces") }
        }
        if let v = self.voiceVolume, !(0...200).contains(v) {
            throw fail("voice_volume", "must be between 0 and 200, got \(v)")
        }
        if let s = self.staffTimeoutSeconds, !ConfigLimits.staffTimeoutSeconds.contains(s) {
            throw fail("staff_timeout_seconds", "must be between 30 and 3600, got \(s)")
        }
        guard self.staffPins.count <= ConfigLimits.staffPins else {
            throw fail("staff_pins", "at most \(ConfigLimits.staffPins) entries")
        }
        var ids = Set<String>()
        for (i, p) in self.staffPins.enumerated() {
            guard (1...ConfigLimits.staffIDLength).contains(p.staffID.utf8.count),
                  p.staffID.utf8.allSatisfy({ ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 46 || $0 == 95 || $0 == 45 })
            else { throw fail("staff_pins[\(i)].staff_id", "must be 1…64 of a-z 0-9 . _ -") }
            guard ids.insert(p.staffID).inserted else { throw fail("staff_pins[\(i)].staff_id", "duplicate") }
            guard p.name.contains(where: { !$0.isWhitespace }) else { throw fail("staff_pins[\(i)].name", "must not be empty") }
            try text(p.name, "staff_pins[\(i)].name", max: ConfigLimits.staffNameLength)
            let parts = p.pinHash.split(separator: "$", omittingEmptySubsequences: false)
            guard parts.count == 4, parts[0] == "pbkdf2-sha256", let iter = Int(parts[1]),
                  ConfigLimits.pinIterations.contains(iter), p.pinHash.utf8.count <= 512,
                  Data(base64Encoded: String(parts[2])) != nil, Data(base64Encoded: String(parts[3])) != nil
            else {
                throw fail("staff_pins[\(i)].pin_hash",
                           "must be pbkdf2-sha256$ITERATIONS(100000…10000000)$SALT$HASH (base64); make one with kioskctl staff pin-hash")
            }
        }
    }

    static func minutes(_ hm: String) -> Int? {
        let p = hm.split(separator: ":")
        guard p.count == 2, p[0].count == 2, p[1].count == 2, let h = Int(p[0]), let m = Int(p[1]),
              (0..<24).contains(h), (0..<60).contains(m) else { return nil }
        return h * 60 + m
    }
}

/// The signed envelope: `{"format":"kiosk-config/1","payload":"<base64>","signature":"<base64>","key_id":"..."}`.
public struct ConfigBundle: Hashable, Sendable, Codable {
    public static let format = "kiosk-config/1"

    public var format: String
    public var payload: String
    public var signature: String
    public var keyID: String

    enum CodingKeys: String, CodingKey {
        case format, payload, signature
        case keyID = "key_id"
    }

    public init(payloadBytes: Data, signature: Data, keyID: String) {
        self.format = ConfigBundle.format
        self.payload = payloadBytes.base64EncodedString()
        self.signature = signature.base64EncodedString()
        self.keyID = keyID
    }

    /// The envelope's parts, checked for shape (not yet for the signature).
    public struct Parts: Sendable {
        public var payloadBytes: Data
        public var signature: Data
        public var keyID: String
    }

    public static func parse(_ data: Data) throws(ValidationError) -> Parts {
        let bundle = try StrictJSON.decode(ConfigBundle.self, from: data, root: "bundle")
        guard bundle.format == ConfigBundle.format else {
            throw ValidationError(field: "bundle.format", reason: "must be \"\(ConfigBundle.format)\", got \"\(bundle.format)\"")
        }
        guard !bundle.keyID.isEmpty else { throw ValidationError(field: "bundle.key_id", reason: "must not be empty") }
        guard let payload = Data(base64Encoded: bundle.payload), !payload.isEmpty else {
            throw ValidationError(field: "bundle.payload", reason: "must be non-empty base64")
        }
        guard let signature = Data(base64Encoded: bundle.signature) else {
            throw ValidationError(field: "bundle.signature", reason: "must be base64")
        }
        guard signature.count == 64 else {
            throw ValidationError(field: "bundle.signature", reason: "an Ed25519 signature is 64 bytes, got \(signature.count)")
        }
        return Parts(payloadBytes: payload, signature: signature, keyID: bundle.keyID)
    }
}
