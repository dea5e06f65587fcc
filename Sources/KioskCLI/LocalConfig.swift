import Foundation
import KioskCore
import KioskDevices
import KioskStore

/// The kiosk's local, device-level configuration (`/etc/kiosk/kioskd.json`; Kiosk/config/kioskd.json is the
/// shipped default). Jurisdiction rules and kiosk settings come from signed bundles instead.
struct LocalConfig: Decodable {
    var dataDir: String?
    var store: StoreConfiguration?
    var kioskID: String?
    var dinasURL: String?
    var tokenFile: String?
    /// Public keys (PEM files) of the Dinas: documents and config bundles must be signed by one of them.
    var trustedKeys: [String]?
    var printer: PrinterConfig?
    /// Scanner device and settings (`KioskDevices.ScanSettings`: resolution, mode, format, size cap, watchdog).
    var scanner: ScanSettings?

    struct PrinterConfig: Decodable {
        var queue: String?
        var reprintLimit: Int?
        var lowPaperThreshold: Int?
        var jobTimeoutSeconds: Double?

        enum CodingKeys: String, CodingKey {
            case queue
            case reprintLimit = "reprint_limit"
            case lowPaperThreshold = "low_paper_threshold"
            case jobTimeoutSeconds = "job_timeout_seconds"
        }
    }

    enum CodingKeys: String, CodingKey {
        case store, printer, scanner
        case dataDir = "data_dir"
        case kioskID = "kiosk_id"
        case dinasURL = "dinas_url"
        case tokenFile = "token_file"
        case trustedKeys = "trusted_keys"
    }

    static let defaultPath = "/etc/kiosk/kioskd.json"

    /// `--config FILE`, else `$KIOSK_CONFIG`, else /etc/kiosk/kioskd.json if present, else built-in defaults.
    static func load(option: String?, context: CLIContext) throws(CLIError) -> LocalConfig {
        let explicit = option ?? context.environment["KIOSK_CONFIG"]
        let path = explicit.map(context.resolve) ?? LocalConfig.defaultPath
        guard FileManager.default.fileExists(atPath: path) else {
            if explicit != nil {
                throw CLIError(.noInput, code: "no_input", id: "Berkas konfigurasi \(path) tidak ada.",
                               en: "Config file \(path) does not exist.")
            }
            return LocalConfig()
        }
        let data = try context.read(path, what: "konfigurasi / config")
        do {
            return try KioskJSON.decode(LocalConfig.self, from: data)
        } catch {
            throw CLIError(.dataError, code: "invalid_config", id: "Konfigurasi \(path) rusak: \(error)",
                           en: "Config \(path) is invalid: \(error)")
        }
    }

    init() {}
}

/// Global options every command shares.
struct GlobalOptions {
    var profilesDir: String?
    var dataDir: String?
    var config: String?

    /// Removes `--profiles-dir`, `--data-dir` and `--config` (with their values) from anywhere in `args`.
    static func extract(_ args: inout [String]) throws(CLIError) -> GlobalOptions {
        var out = GlobalOptions()
        var i = 0
        while i < args.count {
            let arg = args[i]
            var matched: WritableKeyPath<GlobalOptions, String?>?
            var name = arg
            var inline: String?
            if let eq = arg.firstIndex(of: "=") {
                name = String(arg[..<eq])
                inline = String(arg[arg.index(after: eq)...])
            }
            switch name {
            case "--profiles-dir": matched = \.profilesDir
            case "--data-dir": matched = \.dataDir
            case "--config": matched = \.config
            default: break
            }
            guard let key = matched else {
                i += 1
                continue
            }
            if let inline {
                out[keyPath: key] = inline
                args.remove(at: i)
            } else {
                guard i + 1 < args.count else { throw .usage("\(name) needs a value") }
                out[keyPath: key] = args[i + 1]
                args.removeSubrange(i...(i + 1))
            }
        }
        return out
    }

    func localConfig(context: CLIContext) throws(CLIError) -> LocalConfig {
        try LocalConfig.load(option: self.config, context: context)
    }

    func dataDirectory(context: CLIContext) throws(CLIError) -> String {
        let config = try LocalConfig.load(option: self.config, context: context)
        return context.resolve(self.dataDir ?? context.environment["KIOSK_DATA_DIR"] ?? config.dataDir ?? "/var/lib/kiosk")
    }

    func openStore(context: CLIContext) throws(CLIError) -> KioskStore {
        let config = try LocalConfig.load(option: self.config, context: context)
        let dir = try self.dataDirectory(context: context)
        do {
            let (store, report) = try KioskStore.open(directory: dir, configuration: config.store ?? StoreConfiguration(),
                                                      now: context.now)
            if !report.orphansRemoved.isEmpty {
                context.stderr("kioskctl: \(report.orphansRemoved.count) berkas sementara sisa dihapus / leftover temp files removed\n")
            }
            if let quarantine = report.quarantineDirectory {
                context.stderr("kioskctl: PERINGATAN / WARNING: \(report.quarantined.count) berkas tanpa catatan dipindah ke / unreferenced files moved to \(SafeText.visible(quarantine))\n")
            }
            if let problem = report.sweepError {
                context.stderr("kioskctl: PERINGATAN / WARNING: pembersihan spool gagal, berkas dibiarkan / spool sweep failed, files left in place: \(SafeText.visible(problem))\n")
            }
            for missing in report.missingFiles {
                context.stderr("kioskctl: PERINGATAN / WARNING: berkas hilang / missing file \(SafeText.visible(missing))\n")
            }
            return store
        } catch {
            throw CLIError(store: error)
        }
    }
}

extension CLIError {
    init(store error: StoreError) {
        let exit: ExitCode
        switch error {
        case .attachmentMissing: exit = .noInput
        case .notFound: exit = .dataError
        case .busy: exit = .tempFail
        default: exit = error.isBadInput ? .dataError : .failure
        }
        self.init(exit, code: error.code, id: error.message.id, en: error.message.en ?? error.message.id)
    }
}
