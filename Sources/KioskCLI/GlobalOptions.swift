import Foundation
import KioskCore
import KioskDevices
import KioskService
import KioskStore

/// Global options every command shares.
struct GlobalOptions {
    var profilesDir: String?
    var dataDir: String?
    var configPath: String?

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
            case "--config": matched = \.configPath
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

    /// kioskd's configuration (`KioskdConfig`): `--config FILE`, else `$KIOSK_CONFIG`, else /etc/kiosk/kioskd.json
    /// if present, else the built-in defaults. A file that is not valid is refused with exit 78, naming the field.
    func config(context: CLIContext) throws(CLIError) -> KioskdConfig {
        let explicit = self.configPath ?? context.environment["KIOSK_CONFIG"]
        let path = explicit.map(context.resolve) ?? KioskdConfig.defaultPath
        guard FileManager.default.fileExists(atPath: path) else {
            if explicit != nil {
                throw CLIError(.noInput, code: "no_input", id: "Berkas konfigurasi \(path) tidak ada.",
                               en: "Config file \(path) does not exist.", field: "config")
            }
            return KioskdConfig()
        }
        do {
            return try KioskdConfig.load(path: path)
        } catch {
            throw CLIError(config: error)
        }
    }

    func dataDirectory(context: CLIContext) throws(CLIError) -> String {
        if let dir = self.dataDir ?? context.environment["KIOSK_DATA_DIR"] { return context.resolve(dir) }
        return try self.config(context: context).dataDir
    }

    func openStore(context: CLIContext) throws(CLIError) -> KioskStore {
        let config = try self.config(context: context)
        let dir = try self.dataDirectory(context: context)
        do {
            let (store, report) = try KioskStore.open(directory: dir, configuration: config.store,
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
    /// A configuration file kioskd would refuse: EX_CONFIG, naming the file and the field.
    init(config error: KioskdConfigError) {
        let file = error.source.map { " \($0)" } ?? ""
        self.init(.config, code: "invalid_config", id: "Konfigurasi\(file) tidak sah: \(error.message.id)",
                  en: "Config\(file) is invalid: \(error.message.en ?? error.message.id)", field: error.field)
    }

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
