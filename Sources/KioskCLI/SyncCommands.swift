import Dispatch
import Foundation
import KioskCore
import KioskSecurity
import KioskService
import KioskStore
import KioskSync
import Synchronization

enum SyncCommands {
    /// Runs async work from the synchronous command line, on the calling thread (see CallerThreadExecutor).
    static func blocking<T: Sendable>(_ work: @escaping @Sendable () async -> T) -> T {
        CallerThreadExecutor.run(work)
    }

    /// `--trusted-key` (repeatable) when given, else the config's `dinas.trusted_keys`. A configured key file that
    /// does not exist is skipped with a warning (nothing then verifies against it); a named one must exist.
    static func trustedKeys(_ args: Arguments, config: KioskdConfig, context: CLIContext) throws(CLIError) -> [Ed25519PublicKey] {
        if let given = args.options["trusted-key"] {
            return try given.map { (p: String) throws(CLIError) in try KeyCommands.readPublic(p, context: context) }
        }
        var keys: [Ed25519PublicKey] = []
        for path in config.dinas.trustedKeys {
            guard FileManager.default.fileExists(atPath: path) else {
                context.stderr("kioskctl: PERINGATAN / WARNING: kunci tepercaya / trusted key \(SafeText.visible(path)) "
                               + "(dinas.trusted_keys) tidak ada, dilewati / does not exist, skipped\n")
                continue
            }
            keys.append(try KeyCommands.readPublic(path, context: context))
        }
        return keys
    }

    /// `--kiosk-id`, else the config's `kiosk_id`; the bundle `targets` rule (`ConfigLimits.isKioskID`).
    static func kioskID(_ args: Arguments, config: KioskdConfig) throws(CLIError) -> String {
        guard let id = args.value("kiosk-id") ?? config.kioskID else {
            throw .usage("--kiosk-id is required (or kiosk_id in the config)")
        }
        guard ConfigLimits.isKioskID(id) else {
            throw CLIError(.dataError, code: "bad_kiosk_id", id: "ID kios tidak sah (1…64 karakter A-Z a-z 0-9 . _ -).",
                           en: "Invalid kiosk id (1…64 characters of A-Z a-z 0-9 . _ -).", field: "kiosk-id")
        }
        return id
    }

    static func run(_ raw: [String], global: GlobalOptions, context: CLIContext) throws(CLIError) {
        let args = try Arguments(raw, options: ["dinas", "kiosk-id", "token-file", "trusted-key", "backoff-base", "backoff-cap",
                                                "probe-interval", "max-seconds", "quick-retry-delay", "request-timeout"],
                                 flags: ["json", "until-idle"])
        try args.noExtraPositionals(after: 0)
        let config = try global.config(context: context)
        guard let urlText = args.value("dinas") ?? config.dinas.url?.absoluteString, let url = URL(string: urlText),
              url.scheme == "https" || url.scheme == "http", url.host != nil
        else { throw .usage("--dinas URL (https://…) is required (or dinas.url in the config)") }
        let kioskID = try self.kioskID(args, config: config)
        let tokenPath = args.value("token-file") ?? config.dinas.tokenFile
        let tokenField = args.value("token-file") == nil ? "dinas.token_file" : "token-file"
        let token = try context.readSecret(tokenPath, what: ("berkas token", "the token file"), option: tokenField)
        if url.scheme == "http", !["127.0.0.1", "localhost", "::1"].contains(url.host ?? "") {
            context.stderr("kioskctl: PERINGATAN / WARNING: token dikirim tanpa HTTPS / the token travels without HTTPS\n")
        }
        var options = SyncOptions()
        func number(_ name: String) throws(CLIError) -> Double? {
            guard let v = args.value(name) else { return nil }
            guard let d = Double(v), d >= 0 else { throw .usage("--\(name) needs a number of seconds") }
            return d
        }
        if let v = try number("backoff-base") { options.backoff.base = v }
        if let v = try number("backoff-cap") { options.backoff.cap = v }
        if let v = try number("probe-interval") { options.probeInterval = v }
        if let v = try number("quick-retry-delay") { options.quickRetryDelay = v }
        let maxSeconds = try number("max-seconds")
        let requestTimeout = try number("request-timeout") ?? Double(config.dinas.requestTimeoutSeconds)
        let trusted = try self.trustedKeys(args, config: config, context: context)
        let store = try global.openStore(context: context)
        let configStore: ConfigBundleStore
        let dataDir = try global.dataDirectory(context: context)
        do { configStore = try ConfigBundleStore(dataDirectory: dataDir) } catch {
            throw CLIError(store: error)
        }
        let engine = SyncEngine(
            store: store, client: DinasClient(endpoint: DinasEndpoint(baseURL: url, kioskID: kioskID, token: token),
                                  requestTimeout: requestTimeout),
            trustedKeys: trusted, configStore: configStore, options: options,
            log: { line in context.stderr("sync: \(SafeText.visible(line))\n") })
        let untilIdle = args.has("until-idle")
        let deadline = maxSeconds.map { Date().addingTimeInterval($0) } ?? (untilIdle ? nil : Date())
        let result = self.blocking { await engine.run(untilIdle: untilIdle, deadline: deadline) }
        let stats = try? store.queueStats()
        if args.has("json") {
            try context.printJSON(Summary(result, stats: stats))
        } else {
            context.print("Terkirim / delivered: \(result.delivered), ditunda / retried: \(result.retried), ditahan / quarantined: \(result.quarantined), peristiwa / events: \(result.events), dokumen / documents: \(result.documentsStored) (ditolak / rejected \(result.documentsRejected))")
            if let v = result.configApplied { context.print("Konfigurasi / config version \(v) diterapkan / applied") }
            if let r = result.configRejected { context.print("Konfigurasi ditolak / config rejected: \(SafeText.visible(r))") }
        }
        if let auth = result.authFailure {
            throw CLIError(.noPermission, code: "auth_failed",
                           id: "PERINGATAN STAF: Dinas menolak kredensial kios; sinkronisasi dihentikan. \(SafeText.visible(auth))",
                           en: "STAFF ALERT: the Dinas refused the kiosk credential; sync stopped. \(SafeText.visible(auth))")
        }
        if untilIdle, (stats?.queueCounts["pending"] ?? 0) > 0 {
            throw CLIError(.tempFail, code: "not_idle", id: "Masih ada permohonan yang belum terkirim.",
                           en: "Applications are still waiting to be delivered.")
        }
    }

    struct Summary: Encodable {
        var delivered, retried, quarantined, events, documentsStored, documentsRejected: Int
        var configApplied: Int?
        var configRejected: String?
        var authFailure: String?
        var reachable: Bool
        var queue: QueueStats?

        init(_ r: PassResult, stats: QueueStats?) {
            (self.delivered, self.retried, self.quarantined, self.events) = (r.delivered, r.retried, r.quarantined, r.events)
            (self.documentsStored, self.documentsRejected) = (r.documentsStored, r.documentsRejected)
            (self.configApplied, self.configRejected, self.authFailure) = (r.configApplied, r.configRejected, r.authFailure)
            self.reachable = r.reachable
            self.queue = stats
        }

        enum CodingKeys: String, CodingKey {
            case delivered, retried, quarantined, events, reachable, queue
            case documentsStored = "documents_stored"
            case documentsRejected = "documents_rejected"
            case configApplied = "config_applied"
            case configRejected = "config_rejected"
            case authFailure = "auth_failure"
        }
    }

    struct Status: Encodable {
        var authAlert: String?
        var eventsCursor: Int
        var configVersion: Int?
        var lastPassAt: String?
        var configRejected: String?
        var lastDocumentRejection: String?
        var queue: QueueStats

        enum CodingKeys: String, CodingKey {
            case queue
            case authAlert = "auth_alert"
            case eventsCursor = "events_cursor"
            case configVersion = "config_version"
            case lastPassAt = "last_pass_at"
            case configRejected = "config_rejected"
            case lastDocumentRejection = "last_document_rejection"
        }
    }

    static func status(_ raw: [String], global: GlobalOptions, context: CLIContext) throws(CLIError) {
        let args = try Arguments(raw, options: [], flags: ["json"])
        try args.noExtraPositionals(after: 0)
        let store = try global.openStore(context: context)
        let status: Status
        do {
            let kv = try store.allSyncValues()
            status = Status(authAlert: kv["auth_alert"], eventsCursor: Int(kv["events_cursor"] ?? "0") ?? 0,
                            configVersion: kv["config_version"].flatMap(Int.init), lastPassAt: kv["last_pass_at"],
                            configRejected: kv["config_rejected"], lastDocumentRejection: kv["last_document_rejection"],
                            queue: try store.queueStats())
        } catch {
            throw CLIError(store: error)
        }
        if args.has("json") {
            try context.printJSON(status)
            return
        }
        if let alert = status.authAlert { context.print("PERINGATAN / ALERT: \(alert)") }
        context.print("Sinkronisasi terakhir / last pass: \(status.lastPassAt ?? "-")")
        context.print("Kursor peristiwa / event cursor: \(status.eventsCursor)")
        context.print("Versi konfigurasi / config version: \(status.configVersion.map(String.init) ?? "-")")
        context.print("Antrean / queue: \(status.queue.queueCounts.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))")
        if let r = status.lastDocumentRejection { context.print("Dokumen terakhir ditolak / last rejected document: \(r)") }
    }

    /// `kioskctl sync export --to DIR [--recipient K.pub.pem] [--force]`: seals the pending applications to the
    /// Dinas's recipient key (`usb.recipient_key`). A target not on a mounted removable filesystem is refused
    /// (exit 73) unless `--force`.
    static func export(_ raw: [String], global: GlobalOptions, context: CLIContext) throws(CLIError) {
        let args = try Arguments(raw, options: ["to", "kiosk-id", "recipient"], flags: ["json", "force"])
        try args.noExtraPositionals(after: 0)
        let config = try global.config(context: context)
        let dir = context.resolve(try args.required("to"))
        guard let recipientPath = args.value("recipient") ?? config.usbRecipientKey else {
            throw .usage("--recipient K.pub.pem is required (or usb.recipient_key in the config)")
        }
        let recipient = try KeyCommands.readRecipientPublic(recipientPath, context: context)
        if !args.has("force"), case .refused(let id, let en) = RemovableTarget.decide(target: dir) {
            throw CLIError(.cantCreate, code: "not_removable",
                           id: "Ekspor ditolak: \(SafeText.visible(id)). Pasang flashdisk, atau pakai --force.",
                           en: "Export refused: \(SafeText.visible(en)). Mount the USB stick, or use --force.", field: "to")
        }
        let kioskID = try self.kioskID(args, config: config)
        // The store first: it refuses a data directory kioskd holds, before the export key is written there.
        let store = try global.openStore(context: context)
        let ephemeral = try self.exportKey(for: recipient, dataDir: try global.dataDirectory(context: context))
        do {
            let s = try USBTransfer(store: store, kioskID: kioskID).export(to: dir, recipient: recipient.publicKey, ephemeral: ephemeral)
            if args.has("json") { try context.printJSON(s) } else {
                context.print("Diekspor terenkripsi / exported sealed to \(recipient.publicKey.keyID): \(s.applications) permohonan / applications to \(dir) (\(s.filesWritten) files written, \(s.filesSkipped) already there)")
            }
        } catch let e as CLIError { throw e } catch {
            throw CLIError(.ioError, code: "export_failed", id: "Ekspor gagal: \(error)", en: "Export failed: \(error)")
        }
    }

    /// This kiosk's export key for one recipient (`<data-dir>/usb-export-<key id>.pem`, 0600): the same key on every
    /// run, so a re-run can open what it sealed before and skip it.
    static func exportKey(for recipient: (publicKey: X25519PublicKey, path: String), dataDir: String) throws(CLIError) -> X25519PrivateKey {
        let path = "\(dataDir)/usb-export-\(recipient.publicKey.keyID).pem"
        if let data = FileManager.default.contents(atPath: path), data.count < 4096,
           let key = try? X25519PrivateKey(pem: String(decoding: data, as: UTF8.self)) {
            return key
        }
        do {
            let key = try X25519PrivateKey.generate()
            try FileWriter.writeAtomically(Data(try key.pem().utf8), to: path, mode: 0o600)
            return key
        } catch let e as CLIError { throw e } catch {
            throw CLIError(.cantCreate, code: "keygen", id: "Gagal membuat kunci ekspor: \(error)", en: "Cannot create the export key: \(error)")
        }
    }

    static func importCommand(_ raw: [String], global: GlobalOptions, context: CLIContext) throws(CLIError) {
        let args = try Arguments(raw, options: ["from", "kiosk-id", "trusted-key"], flags: ["json"])
        try args.noExtraPositionals(after: 0)
        let config = try global.config(context: context)
        let dir = context.resolve(try args.required("from"))
        let trusted = try self.trustedKeys(args, config: config, context: context)
        let store = try global.openStore(context: context)
        do {
            let configStore = try ConfigBundleStore(dataDirectory: try global.dataDirectory(context: context))
            let s = try USBTransfer(store: store, kioskID: try self.kioskID(args, config: config))
                .importFrom(dir, trusted: trusted, configStore: configStore)
            if let v = s.configApplied { try store.setSyncValue("config_version", String(v)) }
            if args.has("json") { try context.printJSON(s) } else {
                context.print("Diimpor / imported: \(s.delivered) tanda terima / receipts, \(s.states) status, \(s.documentsStored) dokumen / documents\(s.configApplied.map { ", config \($0)" } ?? "")")
                for r in s.rejected { context.print("  DITOLAK / REJECTED: \(r)") }
            }
            if !s.rejected.isEmpty {
                throw CLIError(.dataError, code: "rejected", id: "\(s.rejected.count) berkas ditolak.", en: "\(s.rejected.count) files rejected.")
            }
        } catch let e as CLIError { throw e } catch let e as ValidationError {
            throw CLIError(.dataError, code: "invalid_import", id: "Impor tidak sah: \(e)", en: "Invalid import: \(e)", field: e.field)
        } catch let e as StoreError {
            throw CLIError(store: e)
        } catch {
            throw CLIError(.ioError, code: "import_failed", id: "Impor gagal: \(error)", en: "Import failed: \(error)")
        }
    }

    /// `kioskctl config apply BUNDLE`: the same verification as a bundle fetched from the Dinas.
    static func applyConfig(_ raw: [String], global: GlobalOptions, context: CLIContext) throws(CLIError) {
        let args = try Arguments(raw, options: ["kiosk-id", "trusted-key"], flags: ["json"])
        let path = try args.positional(0, "BUNDLE")
        try args.noExtraPositionals(after: 1)
        let config = try global.config(context: context)
        let trusted = try self.trustedKeys(args, config: config, context: context)
        guard !trusted.isEmpty else { throw .usage("--trusted-key is required") }
        let kioskID = try self.kioskID(args, config: config)
        let data = try context.read(path, what: "bundel / bundle")
        do {
            let store = try ConfigBundleStore(dataDirectory: try global.dataDirectory(context: context))
            let payload = try store.apply(data, trusted: trusted, kioskID: kioskID, now: context.now())
            // `sync status` reports the applied version, however the bundle arrived.
            let kiosk = try global.openStore(context: context)
            try kiosk.setSyncValue("config_version", String(payload.version))
            try? kiosk.recordEvent(nil, event: "config_applied", actor: "staff", detail: "version \(payload.version)")
            if args.has("json") { try context.printJSON(["version": payload.version]) } else {
                context.print("Konfigurasi versi / config version \(payload.version) diterapkan / applied")
            }
        } catch let e as ConfigApplyError {
            throw CLIError(.dataError, code: "config_rejected",
                           id: "Konfigurasi ditolak, konfigurasi lama tetap berlaku: \(e)",
                           en: "Config rejected, the previous config stays in force: \(e)", field: e.field)
        } catch let e as StoreError {
            throw CLIError(store: e)
        } catch {
            throw CLIError(.failure, code: "config_apply", id: "\(error)", en: "\(error)")
        }
    }
}
