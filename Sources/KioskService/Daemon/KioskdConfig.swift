import Foundation
import KioskCore
import KioskDevices
import KioskStore

/// The kiosk's device-level configuration, `/etc/kiosk/kioskd.json`: where things are on this machine (data
/// directory, socket, Dinas credential), who may use the socket, which devices to drive and local limits. Read by
/// kioskd and kioskctl. Jurisdiction rules and kiosk settings come from signed bundles instead.
///
/// The file is strict: every key is documented (Kiosk/config/README.md), an unknown key anywhere, a duplicate key,
/// a wrong type or a value out of range is refused naming its dotted path (`dinas.poll_seconds`) and the allowed
/// range. A missing key takes its default; `KioskdConfig()` is the shipped file (Kiosk/config/kioskd.json).
public struct KioskdConfig: Sendable, Equatable {
    public enum LogLevel: String, Sendable, Equatable, CaseIterable {
        case debug, info, warning, error
    }

    /// Which device to drive: the one found (`"auto"`), a simulated twin (`"simulated"`), or a named one (a CUPS
    /// queue, a SANE device, a device node like `/dev/ttyUSB0`).
    public enum DeviceChoice: Sendable, Equatable, CustomStringConvertible {
        case auto
        case simulated
        case named(String)

        /// The name when one is given, else nil.
        public var name: String? {
            if case .named(let n) = self { return n }
            return nil
        }

        public var description: String {
            switch self {
            case .auto: return "auto"
            case .simulated: return "simulated"
            case .named(let n): return n
            }
        }
    }

    /// Who may use the control socket (architecture.md, "Control API").
    public struct Control: Sendable, Equatable {
        /// The socket's group (mode 0660 root:group).
        public var group = "kiosk-ui"
        /// The service user: its connections are admin.
        public var adminUser = "kiosk"
        /// Members are staff.
        public var staffGroup = "kiosk-staff"
        /// Members are technicians (Dinas teknisi: configuration apply/rollback, device re-detection).
        public var technicianGroup = "kiosk-teknisi"
        /// Members are residents (the touchscreen UI).
        public var residentGroup = "kiosk-ui"

        public init() {}
    }

    /// The link to the Dinas. `url == nil` means none: kioskd runs offline (USB transfer only).
    public struct Dinas: Sendable, Equatable {
        public var url: URL?
        public var tokenFile = "/etc/kiosk/dinas.token"
        /// Public keys (PEM) of the Dinas: documents and configuration bundles must be signed by one of them.
        public var trustedKeys = ["/etc/kiosk/dinas.pub.pem"]
        public var pollSeconds = 60
        public var heartbeatSeconds = 300
        public var requestTimeoutSeconds = 30

        public init() {}
    }

    public struct Devices: Sendable, Equatable {
        public var printer = DeviceChoice.auto
        public var scanner = DeviceChoice.auto
        public var cardReader = DeviceChoice.auto

        public init() {}
    }

    public struct Retention: Sendable, Equatable {
        /// How often kioskd purges what the Dinas confirmed and retention allows.
        public var purgeIntervalSeconds = 3600

        public init() {}
    }

    public struct Printer: Sendable, Equatable {
        /// Prints of one document after the first.
        public var reprintLimit = 2
        /// Staff are warned when fewer sheets remain.
        public var lowPaperThreshold = 20
        /// A job that has not completed by then counts as failed.
        public var jobTimeoutSeconds = 120

        public init() {}
    }

    public var dataDir = "/var/lib/kiosk"
    public var socket = KioskdConfig.defaultSocket
    /// Missing is fine for kioskctl's offline commands; kioskd needs it (`requireKioskID()`).
    public var kioskID: String?
    public var logLevel = LogLevel.info
    public var control = Control()
    public var dinas = Dinas()
    /// The shipped profile used until a signed bundle is applied.
    public var profile = "kota-kupang"
    /// Where profiles are; nil searches (`ProfileSearch`).
    public var profilesDir: String?
    public var devices = Devices()
    public var retention = Retention()
    public var store = StoreConfiguration()
    public var printer = Printer()
    /// Scanner settings; `device` is filled from `devices.scanner` when that names a device.
    public var scanner = ScanSettings()
    /// Run when a resident presses "Panggil petugas" (argv, no shell; the first item an absolute path), e.g. a
    /// buzzer or a message to the desa office. nil: none. It gets 5 s, then it is killed.
    public var staffCallCommand: [String]?
    /// The Dinas's X25519 recipient public key (PEM) USB exports are sealed to (PROTOCOL.md, "USB transfer").
    public var usbRecipientKey: String?

    public static let defaultPath = "/etc/kiosk/kioskd.json"
    /// Where kioskd listens unless `socket` says otherwise (under systemd's `RuntimeDirectory=kiosk`).
    public static let defaultSocket = "/run/kiosk/kioskd.sock"

    public init() {}

    /// The kiosk id, or an error naming `kiosk_id` when the file has none (kioskd cannot run without one).
    public func requireKioskID() throws(KioskdConfigError) -> String {
        guard let id = self.kioskID else {
            throw KioskdConfigError(
                source: nil, field: "kiosk_id",
                id: "kiosk_id: wajib untuk kioskd, \(KioskdConfig.kioskIDRule.id)",
                en: "kiosk_id: kioskd needs one, \(KioskdConfig.kioskIDRule.en)")
        }
        return id
    }

    // MARK: reading

    /// Reads and checks the file at `path`.
    public static func load(path: String) throws(KioskdConfigError) -> KioskdConfig {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            let reason = FileManager.default.fileExists(atPath: path) ? ("tidak dapat dibaca", "cannot be read")
                                                                      : ("tidak ada", "does not exist")
            throw KioskdConfigError(source: path, field: nil, id: "berkas \(reason.0)", en: "the file \(reason.1)")
        }
        return try self.parse(data, source: path)
    }

    /// Checks `data`; `source` (the file's path) only goes into messages.
    public static func parse(_ data: Data, source: String) throws(KioskdConfigError) -> KioskdConfig {
        if let duplicate = KioskJSON.duplicateKey(in: data) {
            let field = SafeText.visible(duplicate)
            throw KioskdConfigError(source: source, field: duplicate, id: "\(field): kunci ganda", en: "\(field): duplicate key")
        }
        let tree: JSONValue
        do {
            tree = try KioskJSON.decoder().decode(JSONValue.self, from: data)
        } catch {
            throw KioskdConfigError(source: source, field: nil, id: "bukan JSON yang sah", en: "not valid JSON")
        }
        return try self.read(tree, source: source)
    }

    /// Every key of the file by section ("" is the top level), in the shipped file's order.
    public static let keys: [(section: String, keys: [String])] = [
        ("", ["data_dir", "socket", "kiosk_id", "log_level", "control", "dinas", "profile", "profiles_dir", "devices",
              "retention", "store", "printer", "scanner", "staff_call_command", "usb"]),
        ("control", ["group", "admin_user", "staff_group", "technician_group", "resident_group"]),
        ("dinas", ["url", "token_file", "trusted_keys", "poll_seconds", "heartbeat_seconds", "request_timeout_seconds"]),
        ("devices", ["printer", "scanner", "card_reader"]),
        ("retention", ["purge_interval_seconds"]),
        ("store", ["max_attachment_bytes", "max_application_bytes", "min_free_bytes", "retention_days", "max_attachments"]),
        ("printer", ["reprint_limit", "low_paper_threshold", "job_timeout_seconds"]),
        ("scanner", ["resolution", "mode", "format", "jpeg_quality", "max_page_bytes", "watchdog_seconds", "width_mm",
                     "height_mm", "extra_options"]),
        ("usb", ["recipient_key"]),
    ]

    /// Every value's dotted path (`dinas.poll_seconds`), sections themselves left out.
    public static var leafKeys: [String] {
        let sections = Set(self.keys.map(\.section))
        return self.keys.flatMap { s in
            s.keys.filter { s.section.isEmpty ? !sections.contains($0) : true }.map { s.section.isEmpty ? $0 : "\(s.section).\($0)" }
        }
    }

    static func keys(of section: String) -> [String] { self.keys.first { $0.section == section }?.keys ?? [] }

    // Ranges (Kiosk/config/README.md).
    public static let pollSecondsRange: ClosedRange<Int> = 5...86_400
    public static let heartbeatSecondsRange: ClosedRange<Int> = 10...86_400
    public static let requestTimeoutSecondsRange: ClosedRange<Int> = 1...600
    public static let purgeIntervalSecondsRange: ClosedRange<Int> = 60...86_400
    public static let reprintLimitRange: ClosedRange<Int> = 0...10
    public static let lowPaperThresholdRange: ClosedRange<Int> = 0...5000
    public static let jobTimeoutSecondsRange: ClosedRange<Int> = 10...3600
    public static let trustedKeysCount: ClosedRange<Int> = 0...16
    /// The longest Unix socket path (`sun_path` holds 108 bytes with its NUL).
    public static let socketPathLength = 107

    static let absolutePathRule = TextRule(
        isValid: { KioskdConfig.isAbsolutePath($0, max: 4096) },
        id: "path absolut (diawali /) 1…4096 byte tanpa karakter kendali",
        en: "an absolute path (starting with /) of 1…4096 bytes without control characters")
    static let socketPathRule = TextRule(
        isValid: { KioskdConfig.isAbsolutePath($0, max: KioskdConfig.socketPathLength) },
        id: "path absolut (diawali /) 1…107 byte tanpa karakter kendali (batas alamat soket Unix)",
        en: "an absolute path (starting with /) of 1…107 bytes without control characters (the Unix socket limit)")
    static let kioskIDRule = TextRule(
        isValid: { ConfigLimits.isKioskID($0) }, id: "1…64 karakter A-Z a-z 0-9 . _ -",
        en: "1…64 characters of A-Z a-z 0-9 . _ -")
    static let posixNameRule = TextRule(
        isValid: { KioskdConfig.isPOSIXName($0) },
        id: "nama pengguna/grup POSIX: 1…32 karakter a-z A-Z 0-9 . _ -, tidak diawali - dan tidak hanya angka",
        en: "a POSIX user/group name: 1…32 characters of a-z A-Z 0-9 . _ -, not starting with - and not all digits")
    static let profileRule = TextRule(
        isValid: { (1...64).contains($0.utf8.count) && JurisdictionProfile.isSlug($0) },
        id: "id profil 1…64 karakter a-z 0-9 -", en: "a profile id of 1…64 characters a-z 0-9 -")
    static let deviceRule = TextRule(
        isValid: { KioskdConfig.isDeviceName($0) },
        id: "\"auto\", \"simulated\" atau nama perangkat 1…255 karakter ASCII tercetak tanpa spasi",
        en: "\"auto\", \"simulated\" or a device name of 1…255 printable ASCII characters without spaces")
    static let urlRule = TextRule(
        isValid: { KioskdConfig.dinasURL($0) != nil },
        id: "URL http:// atau https:// dengan host, tanpa nama pengguna/sandi, query (?) atau fragmen (#)",
        en: "an http:// or https:// URL with a host and no user-info, query (?) or fragment (#)")
    static let commandArgumentRule = TextRule(
        isValid: { (1...1024).contains($0.utf8.count) && !$0.unicodeScalars.contains { SafeText.isUnsafe($0) } },
        id: "argumen 1…1024 byte tanpa karakter kendali", en: "an argument of 1…1024 bytes without control characters")
    static let extraOptionRule = TextRule(
        isValid: { ScanSettings.isExtraOption($0) },
        id: "opsi scanimage 1…255 karakter diawali -, tanpa karakter kendali",
        en: "a scanimage option of 1…255 characters starting with -, without control characters")

    static func isAbsolutePath(_ s: String, max: Int) -> Bool {
        s.hasPrefix("/") && (1...max).contains(s.utf8.count) && !s.unicodeScalars.contains { SafeText.isUnsafe($0) }
    }

    /// POSIX portable user and group names (shadow-utils also caps them at 32).
    static func isPOSIXName(_ s: String) -> Bool {
        (1...32).contains(s.utf8.count) && !s.hasPrefix("-") && !s.utf8.allSatisfy { $0 >= 48 && $0 <= 57 }
            && s.utf8.allSatisfy { b in
                (b >= 65 && b <= 90) || (b >= 97 && b <= 122) || (b >= 48 && b <= 57) || b == 46 || b == 95 || b == 45
            }
    }

    /// The bundle's rule for `printer_queue` and `scanner_device` (`ConfigLimits.deviceNameLength`).
    static func isDeviceName(_ s: String) -> Bool {
        (1...ConfigLimits.deviceNameLength).contains(s.utf8.count) && s.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F }
    }

    public static func dinasURL(_ s: String) -> URL? {
        guard s.utf8.count <= 2048, !s.unicodeScalars.contains(where: { SafeText.isUnsafe($0) }),
              let c = URLComponents(string: s), let scheme = c.scheme?.lowercased(), ["http", "https"].contains(scheme),
              let host = c.host, !host.isEmpty, c.user == nil, c.password == nil, c.query == nil, c.fragment == nil,
              let url = c.url
        else { return nil }
        return url
    }

    static func read(_ tree: JSONValue, source: String) throws(KioskdConfigError) -> KioskdConfig {
        let root = try ConfigSection(tree, path: "", keys: self.keys(of: ""),
                                     moved: ["dinas_url": "dinas.url", "token_file": "dinas.token_file",
                                             "trusted_keys": "dinas.trusted_keys"],
                                     source: source)
        var c = KioskdConfig()
        c.dataDir = try root.string("data_dir", self.absolutePathRule, default: c.dataDir)
        c.socket = try root.string("socket", self.socketPathRule, default: c.socket)
        c.kioskID = try root.optionalString("kiosk_id", self.kioskIDRule, default: nil)
        c.logLevel = LogLevel(rawValue: try root.choice("log_level", LogLevel.allCases.map(\.rawValue),
                                                        default: c.logLevel.rawValue)) ?? c.logLevel
        c.profile = try root.string("profile", self.profileRule, default: c.profile)
        c.profilesDir = try root.optionalString("profiles_dir", self.absolutePathRule, default: nil)
        if let given = root.values["staff_call_command"], given != .null {
            let argv = try root.strings("staff_call_command", self.commandArgumentRule, count: 1...16, default: [])
            guard let program = argv.first, self.isAbsolutePath(program, max: 4096) else {
                throw root.fail("staff_call_command", "unsur pertama harus path absolut program",
                                "the first item must be the program's absolute path", got: .string(argv.first ?? ""))
            }
            c.staffCallCommand = argv
        }

        let control = try root.section("control", keys: self.keys(of: "control"))
        c.control.group = try control.string("group", self.posixNameRule, default: c.control.group)
        c.control.adminUser = try control.string("admin_user", self.posixNameRule, default: c.control.adminUser)
        c.control.staffGroup = try control.string("staff_group", self.posixNameRule, default: c.control.staffGroup)
        c.control.technicianGroup = try control.string("technician_group", self.posixNameRule, default: c.control.technicianGroup)
        c.control.residentGroup = try control.string("resident_group", self.posixNameRule, default: c.control.residentGroup)

        let dinas = try root.section("dinas", keys: self.keys(of: "dinas"))
        c.dinas.url = try dinas.optionalString("url", self.urlRule, default: nil).flatMap(self.dinasURL)
        c.dinas.tokenFile = try dinas.string("token_file", self.absolutePathRule, default: c.dinas.tokenFile)
        c.dinas.trustedKeys = try dinas.strings("trusted_keys", self.absolutePathRule, count: self.trustedKeysCount,
                                                default: c.dinas.trustedKeys)
        c.dinas.pollSeconds = try dinas.integer("poll_seconds", self.pollSecondsRange, default: c.dinas.pollSeconds)
        c.dinas.heartbeatSeconds = try dinas.integer("heartbeat_seconds", self.heartbeatSecondsRange,
                                                     default: c.dinas.heartbeatSeconds)
        c.dinas.requestTimeoutSeconds = try dinas.integer("request_timeout_seconds", self.requestTimeoutSecondsRange,
                                                          default: c.dinas.requestTimeoutSeconds)

        let devices = try root.section("devices", keys: self.keys(of: "devices"))
        func device(_ key: String) throws(KioskdConfigError) -> DeviceChoice {
            switch try devices.string(key, self.deviceRule, default: "auto") {
            case "auto": return .auto
            case "simulated": return .simulated
            case let name: return .named(name)
            }
        }
        c.devices.printer = try device("printer")
        c.devices.scanner = try device("scanner")
        c.devices.cardReader = try device("card_reader")

        let retention = try root.section("retention", keys: self.keys(of: "retention"))
        c.retention.purgeIntervalSeconds = try retention.integer("purge_interval_seconds", self.purgeIntervalSecondsRange,
                                                                 default: c.retention.purgeIntervalSeconds)

        let store = try root.section("store", keys: self.keys(of: "store"))
        typealias S = StoreConfiguration
        c.store.maxAttachmentBytes = try store.integer("max_attachment_bytes", S.maxAttachmentBytesRange,
                                                       default: c.store.maxAttachmentBytes)
        c.store.maxApplicationBytes = try store.integer("max_application_bytes", S.maxApplicationBytesRange,
                                                        default: c.store.maxApplicationBytes)
        c.store.minFreeBytes = try store.integer("min_free_bytes", S.minFreeBytesRange, default: c.store.minFreeBytes)
        c.store.retentionDays = try store.integer("retention_days", S.retentionDaysRange, default: c.store.retentionDays)
        c.store.maxAttachments = try store.integer("max_attachments", S.maxAttachmentsRange, default: c.store.maxAttachments)
        if c.store.maxApplicationBytes < c.store.maxAttachmentBytes {
            throw store.fail("max_application_bytes", "harus paling sedikit store.max_attachment_bytes (\(c.store.maxAttachmentBytes))",
                             "must be at least store.max_attachment_bytes (\(c.store.maxAttachmentBytes))",
                             got: .number(Double(c.store.maxApplicationBytes)))
        }
        try self.recheck(section: "store", source: source) { () throws(ValidationError) in try c.store.validate() }

        let printer = try root.section("printer", keys: self.keys(of: "printer"), moved: ["queue": "devices.printer"])
        c.printer.reprintLimit = try printer.integer("reprint_limit", self.reprintLimitRange, default: c.printer.reprintLimit)
        c.printer.lowPaperThreshold = try printer.integer("low_paper_threshold", self.lowPaperThresholdRange,
                                                          default: c.printer.lowPaperThreshold)
        c.printer.jobTimeoutSeconds = try printer.integer("job_timeout_seconds", self.jobTimeoutSecondsRange,
                                                          default: c.printer.jobTimeoutSeconds)

        let scanner = try root.section("scanner", keys: self.keys(of: "scanner"), moved: ["device": "devices.scanner"])
        typealias T = ScanSettings
        let r = T.resolutionRange, q = T.jpegQualityRange
        c.scanner.resolution = try scanner.integer("resolution", r, default: c.scanner.resolution)
        c.scanner.mode = try scanner.choice("mode", T.modes, default: c.scanner.mode)
        c.scanner.format = try scanner.choice("format", T.formats, default: c.scanner.format)
        c.scanner.jpegQuality = try scanner.integer("jpeg_quality", q, default: c.scanner.jpegQuality)
        c.scanner.maxPageBytes = try scanner.integer("max_page_bytes", T.maxPageBytesRange, default: c.scanner.maxPageBytes)
        c.scanner.watchdogSeconds = try scanner.number("watchdog_seconds", T.watchdogSecondsRange,
                                                       default: c.scanner.watchdogSeconds, unit: " s") ?? c.scanner.watchdogSeconds
        c.scanner.widthMM = try scanner.number("width_mm", T.scanAreaRange, default: nil, nullable: true, unit: " mm")
        c.scanner.heightMM = try scanner.number("height_mm", T.scanAreaRange, default: nil, nullable: true, unit: " mm")
        c.scanner.extraOptions = try scanner.strings("extra_options", self.extraOptionRule,
                                                     count: 0...T.extraOptionsLimit, default: [])
        c.scanner.device = c.devices.scanner.name

        let usb = try root.section("usb", keys: self.keys(of: "usb"))
        c.usbRecipientKey = try usb.optionalString("recipient_key", self.absolutePathRule, default: nil)
        try self.recheck(section: "scanner", source: source) { () throws(ValidationError) in try c.scanner.validate() }
        return c
    }

    /// The section type's own validation, after the reader's: the same ranges, so this only catches a rule the
    /// reader does not know yet.
    static func recheck(section: String, source: String, _ body: () throws(ValidationError) -> Void)
        throws(KioskdConfigError)
    {
        do {
            try body()
        } catch {
            let field = "\(section).\(error.field)"
            throw KioskdConfigError(source: source, field: field, id: "\(field): tidak sah (\(error.reason))",
                                    en: "\(field): \(error.reason)")
        }
    }
}

/// A configuration file kioskd cannot run with: the failing field's dotted path and a bilingual message naming
/// it and its allowed range. kioskd exits with `exitCode` (EX_CONFIG), and so does kioskctl.
public struct KioskdConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file, when the error came from one.
    public var source: String?
    /// The dotted path (`dinas.poll_seconds`, `dinas.trusted_keys[0]`); nil for the file as a whole.
    public var field: String?
    public var message: LocalizedText

    /// sysexits(3) EX_CONFIG.
    public static let exitCode: Int32 = 78

    public init(source: String?, field: String?, message: LocalizedText) {
        self.source = source
        self.field = field
        self.message = message
    }

    init(source: String?, field: String?, id: String, en: String) {
        self.init(source: source, field: field, message: LocalizedText(id, en))
    }

    public var description: String {
        (self.source.map { "\(SafeText.visible($0)): " } ?? "") + self.message.bilingual
    }
}
