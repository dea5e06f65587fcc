import Foundation
import KioskCore
import KioskSecurity
import KioskService
import KioskSync

/// The Dinas's tools: commands run at the Dinas against its endpoint (admin API, PROTOCOL.md §10), never on a kiosk.
/// Everything the network returns is untrusted: bounded, and stripped of control characters before it is shown.
enum DinasCommands {
    /// A kiosk silent for longer than this is flagged by `dinas fleet`.
    static let silentAfterSeconds = 15.0 * 60

    static func endpoint(_ args: Arguments, context: CLIContext) throws(CLIError) -> (URL, String) {
        let url = try self.dinasURL(try args.required("dinas"))
        let token = try ProvisionCommands.readToken(context.resolve(try args.required("token-file")))
        return (url, token)
    }

    /// `--dinas`: an https URL (http only for loopback), without user-info, query or fragment.
    static func dinasURL(_ text: String) throws(CLIError) -> URL {
        guard let url = KioskdConfig.dinasURL(text) else {
            throw CLIError(.dataError, code: "bad_url", id: "--dinas: URL http(s) tanpa user-info, query atau fragmen.",
                           en: "--dinas: an http(s) URL without user-info, query or fragment.", field: "dinas")
        }
        if url.scheme?.lowercased() == "http", !["127.0.0.1", "localhost", "::1", "[::1]"].contains(url.host?.lowercased() ?? "") {
            throw CLIError(.dataError, code: "insecure_url", id: "--dinas: wajib https (http hanya untuk loopback).",
                           en: "--dinas: https is required (http only for loopback).", field: "dinas")
        }
        return url
    }

    static func linkError(_ e: SyncError) -> CLIError {
        if case .auth(let s, let m) = e {
            return CLIError(.noPermission, code: "auth_failed", id: "Dinas menolak token (HTTP \(s)): \(shown(m))",
                            en: "The Dinas refused the token (HTTP \(s)): \(shown(m))")
        }
        if e.isTransient {
            return CLIError(.unavailable, code: "link_failed", id: "Dinas tidak dapat dihubungi: \(shown(e.description))",
                            en: "Cannot reach the Dinas: \(shown(e.description))")
        }
        return CLIError(.failure, code: "dinas_error", id: "Dinas menjawab: \(shown(e.description))", en: "The Dinas answered: \(shown(e.description))")
    }

    /// Network text as it may be shown: one line, no control characters, at most `max` characters.
    static func shown(_ text: String, max: Int = 200) -> String { SafeText.visible(String(SafeText.strip(text).prefix(max))) }

    // MARK: - usb-import

    static func usbImport(_ raw: [String], context: CLIContext) throws(CLIError) {
        let args = try Arguments(raw, options: ["key", "from", "to", "dinas", "token-file", "retries"], flags: ["json"])
        try args.noExtraPositionals(after: 0)
        let key = try KeyCommands.readRecipientPrivate(try args.required("key"), context: context)
        let from = context.resolve(try args.required("from"))
        let to = args.value("to").map(context.resolve) ?? from
        let (url, token) = try self.endpoint(args, context: context)
        var importer = DinasUSBImport(key: key, baseURL: url, token: token)
        if let r = args.value("retries") {
            guard let n = Int(r), (0...100).contains(n) else { throw .usage("--retries needs 0…100") }
            importer.retries = n
        }
        importer.log = { line in context.stderr("usb-import: \(shown(line, max: 400))\n") }
        let imp = importer
        let result: Result<DinasUSBImport.Summary, DinasUSBImport.ImportError> = SyncCommands.blocking {
            do { return .success(try await imp.run(from: from, returnDir: to)) } catch let e as DinasUSBImport.ImportError { return .failure(e) } catch { return .failure(.stick("\(error)")) }
        }
        switch result {
        case .failure(.stick(let m)):
            throw CLIError(.dataError, code: "bad_stick", id: "Flashdisk ditolak, tidak ada yang diunggah: \(shown(m, max: 400))",
                           en: "Stick refused, nothing uploaded: \(shown(m, max: 400))", field: "from")
        case .failure(.link(let e)):
            throw self.linkError(e)
        case .success(let s):
            if args.has("json") { try context.printJSON(s) } else {
                context.print("Kios / kiosk \(s.kioskID): \(s.applications) permohonan / applications diterima Dinas / accepted; "
                              + "\(s.attachmentsUploaded) lampiran diunggah / attachments uploaded (\(s.bytesUploaded) bytes), "
                              + "\(s.attachmentsAlreadyThere) sudah ada / already there")
                context.print("Flashdisk balik / return stick \(to): \(s.receipts) tanda terima / receipts, \(s.documents) dokumen / documents"
                              + (s.configVersion.map { ", config \($0)" } ?? ""))
                for f in s.failed { context.print("  GAGAL / FAILED: \(shown(f, max: 400))") }
            }
            if !s.failed.isEmpty {
                throw CLIError(.tempFail, code: "incomplete", id: "\(s.failed.count) permohonan belum terkirim; jalankan lagi (dilanjutkan).",
                               en: "\(s.failed.count) applications not uploaded; run again (it resumes).")
            }
        }
    }

    // MARK: - publish

    static func publish(_ raw: [String], context: CLIContext) throws(CLIError) {
        let args = try Arguments(raw, options: ["dinas", "token-file", "trusted-key"], flags: ["json"])
        let path = try args.positional(0, "BUNDLE")
        try args.noExtraPositionals(after: 1)
        guard let keyPaths = args.options["trusted-key"], !keyPaths.isEmpty else {
            throw .usage("--trusted-key K.pub.pem is required (the key kiosks verify bundles with)")
        }
        let trusted = try keyPaths.map { (p: String) throws(CLIError) in try KeyCommands.readPublic(p, context: context) }
        let data = try context.read(path, what: "bundel / bundle")
        guard data.count <= DinasClient.defaultBodyLimit else {
            throw CLIError(.dataError, code: "bundle_rejected", id: "Bundel terlalu besar.", en: "The bundle is too large.")
        }
        let verified: VerifiedBundle
        do { verified = try ConfigBundleSigner.verify(bundle: data, trusted: trusted, now: context.now()) } catch {
            throw CLIError(.dataError, code: "bundle_rejected", id: "Bundel ditolak, tidak diterbitkan: \(error)",
                           en: "Bundle refused, not published: \(error)", field: error.field)
        }
        let (url, token) = try self.endpoint(args, context: context)
        let client = DinasClient(endpoint: DinasEndpoint(baseURL: url, kioskID: "dinas-admin", token: token))
        let version = verified.payload.version
        let outcome: Result<(Int?, Bool), SyncError> = SyncCommands.blocking {
            do {
                let r = try await client.send("GET", "/admin/config", maxBody: 64 << 10)
                let served = (try? KioskJSON.decode(JSONValue.self, from: r.body))?["version"]?.intValue
                if let served, served >= version { return .success((served, false)) }
                _ = try await client.send("PUT", "/admin/config", body: data, headers: ["Content-Type": "application/json"], maxBody: 64 << 10)
                return .success((served, true))
            } catch let e as SyncError { return .failure(e) } catch { return .failure(.network("\(error)")) }
        }
        switch outcome {
        case .failure(let e): throw self.linkError(e)
        case .success((let served, false)):
            throw CLIError(.dataError, code: "not_newer",
                           id: "Versi \(version) tidak lebih baru dari versi yang diterbitkan (\(served ?? 0)); tidak diterbitkan.",
                           en: "Version \(version) is not newer than the one served (\(served ?? 0)); not published.", field: "version")
        case .success((let served, true)):
            if args.has("json") {
                try context.printJSON(["version": version, "previous": served ?? 0])
            } else {
                context.print("Diterbitkan / published: versi / version \(version) (sebelumnya / previously \(served.map(String.init) ?? "-")), kunci / key \(verified.keyID)")
            }
        }
    }

    // MARK: - fleet

    struct Kiosk: Encodable {
        var kioskID: String
        var ageSeconds: Int
        var silent: Bool
        var queueDepth: Int?
        var oldestUndeliveredSeconds: Int?
        var devices: [String: String]
        var configVersion: Int?
        var kioskdVersion: String?

        enum CodingKeys: String, CodingKey {
            case silent, devices
            case kioskID = "kiosk_id"
            case ageSeconds = "age_seconds"
            case queueDepth = "queue_depth"
            case oldestUndeliveredSeconds = "oldest_undelivered_seconds"
            case configVersion = "config_version"
            case kioskdVersion = "kioskd_version"
        }
    }

    static func fleet(_ raw: [String], context: CLIContext) throws(CLIError) {
        let args = try Arguments(raw, options: ["dinas", "token-file"], flags: ["json"])
        try args.noExtraPositionals(after: 0)
        let (url, token) = try self.endpoint(args, context: context)
        let client = DinasClient(endpoint: DinasEndpoint(baseURL: url, kioskID: "dinas-admin", token: token))
        let outcome: Result<Data, SyncError> = SyncCommands.blocking {
            do { return .success(try await client.send("GET", "/admin/fleet").body) } catch let e as SyncError { return .failure(e) } catch { return .failure(.network("\(error)")) }
        }
        let body: Data
        switch outcome {
        case .failure(let e): throw self.linkError(e)
        case .success(let d): body = d
        }
        guard let tree = try? KioskJSON.decode(JSONValue.self, from: body), case .array(let beats)? = tree["kiosks"] else {
            throw CLIError(.dataError, code: "bad_response", id: "Jawaban /admin/fleet tidak sah.", en: "Invalid /admin/fleet answer.")
        }
        let now = tree["now"]?.numberValue ?? context.now().timeIntervalSince1970
        let kiosks = self.fleetRows(beats.prefix(10_000), now: now)
        if args.has("json") {
            try context.printJSON(kiosks)
            return
        }
        let silent = kiosks.filter { $0.silent }.count
        context.print("\(kiosks.count) kios / kiosks, \(silent) diam lebih dari 15 menit / silent for more than 15 minutes")
        for k in kiosks {
            let devices = k.devices.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            context.print("\(k.silent ? "DIAM/SILENT " : "            ")\(k.kioskID)  \(self.age(k.ageSeconds))  antrean/queue \(k.queueDepth.map(String.init) ?? "?")"
                          + "  tertua/oldest \(k.oldestUndeliveredSeconds.map { self.age($0) } ?? "-")  config \(k.configVersion.map(String.init) ?? "?")  \(devices)")
        }
    }

    /// One row per kiosk (its latest heartbeat); silent kiosks first, longest silent first, then by id.
    static func fleetRows(_ beats: ArraySlice<JSONValue>, now: Double) -> [Kiosk] {
        var latest: [String: (Double, JSONValue)] = [:]
        for b in beats {
            guard let id = b["kiosk_id"]?.stringValue, ConfigLimits.isKioskID(id), let at = b["received_at"]?.numberValue, at.isFinite
            else { continue }
            if (latest[id]?.0 ?? -.infinity) <= at { latest[id] = (at, b) }
        }
        func int(_ v: JSONValue?) -> Int? {
            guard let d = v?.numberValue, d.isFinite, abs(d) < 1e15 else { return nil }
            return Int(d)
        }
        let rows = latest.map { id, pair -> Kiosk in
            let (at, b) = pair
            let age = max(0, Int(min(now - at, 1e12)))
            var devices: [String: String] = [:]
            if case .object(let o)? = b["devices"] {
                for (k, v) in o.prefix(16) where ConfigLimits.isKioskID(k) {
                    let text = v.stringValue ?? v["state"]?.stringValue ?? v["kind"]?.stringValue ?? "?"
                    devices[String(k.prefix(32))] = shown(text, max: 40)
                }
            }
            return Kiosk(kioskID: id, ageSeconds: age, silent: Double(age) > silentAfterSeconds,
                         queueDepth: int(b["queue"]?["depth"]), oldestUndeliveredSeconds: int(b["queue"]?["oldest_undelivered_seconds"]),
                         devices: devices, configVersion: int(b["versions"]?["config"]),
                         kioskdVersion: b["versions"]?["kioskd"]?.stringValue.map { shown($0, max: 40) })
        }
        return rows.sorted { a, b in
            if a.silent != b.silent { return a.silent }
            if a.silent, a.ageSeconds != b.ageSeconds { return a.ageSeconds > b.ageSeconds }
            return a.kioskID < b.kioskID
        }
    }

    static func age(_ s: Int) -> String {
        s < 120 ? "\(s) s" : s < 7200 ? "\(s / 60) min" : s < 172_800 ? "\(s / 3600) h" : "\(s / 86400) d"
    }
}

extension JSONValue {
    /// A JSON number, else nil.
    var numberValue: Double? {
        if case .number(let d) = self { return d }
        return nil
    }
}
