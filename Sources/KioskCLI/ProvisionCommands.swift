#if canImport(Glibc)
import Glibc
#endif
import Foundation
import KioskCore
import KioskSecurity
import KioskService
import KioskStore
import KioskSync

/// `kioskctl provision`: makes a blank kiosk talk to its Dinas. Everything is validated and the link is checked
/// before anything is written; then the credential, the trusted key and, last, kioskd.json (atomic) are written,
/// and what was written is removed again if a later step fails.
enum ProvisionCommands {
    static let maxTokenBytes = 4096

    static func run(_ raw: [String], global: GlobalOptions, context: CLIContext) throws(CLIError) {
        let args = try Arguments(raw, options: ["dinas", "kiosk-id", "token-file", "trusted-key", "request-timeout", "config", "data-dir"],
                                 flags: ["json", "no-check"])
        try args.noExtraPositionals(after: 0)
        // 1. Inputs.
        let url = try DinasCommands.dinasURL(try args.required("dinas"))
        let kioskID = try SyncCommands.kioskID(args, config: KioskdConfig())
        let tokenPath = context.resolve(try args.required("token-file"))
        let token = try self.readToken(tokenPath)
        let keyPath = try args.required("trusted-key")
        let keyData = try context.read(keyPath, what: "kunci tepercaya / trusted key")
        guard keyData.count <= 4096 else {
            throw CLIError(.dataError, code: "bad_key", id: "\(keyPath): terlalu besar untuk kunci publik.",
                           en: "\(keyPath): too large for a public key.", field: "trusted-key")
        }
        let key = try KeyCommands.readPublic(keyPath, context: context)
        let configPath = context.resolve(args.value("config") ?? global.configPath ?? context.environment["KIOSK_CONFIG"] ?? KioskdConfig.defaultPath)
        let configDir = (configPath as NSString).deletingLastPathComponent
        var tree = try self.existingTree(configPath)
        // Where kioskd.json points (an existing file's paths are kept), else next to kioskd.json.
        var dinas: [String: JSONValue] = [:]
        if case .object(let o)? = tree["dinas"] { dinas = o }
        let tokenTarget: String = dinas["token_file"]?.stringValue ?? "\(configDir)/dinas.token"
        var keyTarget = "\(configDir)/dinas.pub.pem"
        if case .array(let a)? = dinas["trusted_keys"], let first = a.first?.stringValue { keyTarget = first }
        dinas["url"] = .string(url.absoluteString)
        dinas["token_file"] = .string(tokenTarget)
        if case .array(let a)? = dinas["trusted_keys"], !a.isEmpty {} else { dinas["trusted_keys"] = .array([.string(keyTarget)]) }
        tree["dinas"] = .object(dinas)
        tree["kiosk_id"] = .string(kioskID)
        if let dataDir = args.value("data-dir") ?? global.dataDir { tree["data_dir"] = .string(context.resolve(dataDir)) }
        let newConfig: Data
        do {
            newConfig = try KioskJSON.encode(JSONValue.object(tree), pretty: true) + Data("\n".utf8)
            _ = try KioskdConfig.parse(newConfig, source: configPath)
        } catch let e as KioskdConfigError {
            throw CLIError(config: e)
        } catch {
            throw CLIError(.failure, code: "encode", id: "\(error)", en: "\(error)")
        }
        // 2. The link, before anything is written.
        var checks: [String: String] = [:]
        if !args.has("no-check") {
            let timeout = Double(args.value("request-timeout") ?? "") ?? 15
            checks = try self.checkLink(url: url, kioskID: kioskID, token: token, timeout: timeout)
        }
        // 3. Write: credential, key, then kioskd.json; undo on failure.
        // What was there before, restored if a later write fails (a re-provisioned kiosk keeps its old credential).
        var written: [(path: String, before: Data?)] = []
        func remember(_ path: String) { written.append((path, FileManager.default.contents(atPath: path))) }
        do {
            for dir in [configDir, (tokenTarget as NSString).deletingLastPathComponent, (keyTarget as NSString).deletingLastPathComponent] {
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            }
            remember(tokenTarget)
            try FileWriter.writeAtomically(Data(token.utf8) + Data("\n".utf8), to: tokenTarget, mode: 0o600)
            self.giveToServiceUser(tokenTarget)
            // The public key and kioskd.json hold no secret; kioskd (user kiosk) must read them.
            remember(keyTarget)
            try FileWriter.writeAtomically(Data(try key.pem().utf8), to: keyTarget, mode: 0o644)
            try FileWriter.writeAtomically(newConfig, to: configPath, mode: 0o644)
        } catch {
            for w in written.reversed() {
                if let before = w.before { try? DurableFile.write(before, to: w.path, mode: w.path == tokenTarget ? 0o600 : 0o644) } else { unlink(w.path) }
            }
            if let e = error as? CLIError { throw e }
            throw CLIError(.cantCreate, code: "cant_create", id: "Provisioning gagal, tidak ada yang ditulis: \(error)",
                           en: "Provisioning failed, nothing was written: \(error)")
        }
        if args.has("json") {
            try context.printJSON(["config": configPath, "token_file": tokenTarget, "trusted_key": keyTarget,
                                   "key_id": key.keyID, "kiosk_id": kioskID, "dinas": url.absoluteString,
                                   "protocol": checks["protocol"] ?? "", "link": checks.isEmpty ? "not checked" : "ok"])
            return
        }
        context.print("Kios / kiosk \(kioskID) terhubung ke / linked to \(SafeText.visible(url.absoluteString))"
                      + (checks.isEmpty ? " (tautan tidak diperiksa / link not checked)" : " (\(checks["protocol"] ?? ""))"))
        context.print("  kioskd.json:              \(configPath)")
        context.print("  kredensial / credential:  \(tokenTarget) (0600)")
        context.print("  kunci tepercaya / trusted key \(key.keyID): \(keyTarget)")
        context.print("")
        context.print("Langkah berikutnya:")
        context.print("  1. systemctl restart kioskd")
        context.print("  2. kioskctl status — periksa Dinas dan antrean")
        context.print("  3. Hapus \(tokenPath) bila itu salinan sementara.")
        context.print("Next steps:")
        context.print("  1. systemctl restart kioskd")
        context.print("  2. kioskctl status — check the Dinas link and the queue")
        context.print("  3. Delete \(tokenPath) if it was a temporary copy.")
    }

    /// A token file: readable, 1…4096 bytes, one line of printable ASCII without spaces (a bearer token).
    static func readToken(_ path: String) throws(CLIError) -> String {
        guard let h = FileHandle(forReadingAtPath: path) else {
            throw CLIError(.noInput, code: "no_input", id: "Berkas token \(path) tidak dapat dibaca.",
                           en: "Token file \(path) cannot be read.", field: "token-file")
        }
        defer { try? h.close() }
        let data = (try? h.read(upToCount: maxTokenBytes + 1)) ?? Data()
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard data.count <= maxTokenBytes, !text.isEmpty, text.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw CLIError(.dataError, code: "bad_token",
                           id: "Berkas token \(path) harus berisi satu token (1…\(maxTokenBytes) byte ASCII tanpa spasi).",
                           en: "Token file \(path) must hold one token (1…\(maxTokenBytes) bytes of ASCII without spaces).",
                           field: "token-file")
        }
        return text
    }

    /// The existing kioskd.json's tree (its other keys are kept), or an empty one; an invalid file is refused.
    static func existingTree(_ path: String) throws(CLIError) -> [String: JSONValue] {
        guard let data = FileManager.default.contents(atPath: path) else { return [:] }
        do {
            _ = try KioskdConfig.parse(data, source: path)
            if case .object(let o) = try KioskJSON.decode(JSONValue.self, from: data) { return o }
        } catch let e as KioskdConfigError {
            throw CLIError(config: e)
        } catch {}
        throw CLIError(.config, code: "bad_config", id: "\(path) bukan objek JSON.", en: "\(path) is not a JSON object.", field: "config")
    }

    /// `GET /v1/ping` with the token, then an authenticated kiosk call (`GET /v1/kiosks/{id}/config`; no bundle yet
    /// is fine). 77 when the Dinas refuses the token, 69 when it cannot be reached or is not a Dinas.
    static func checkLink(url: URL, kioskID: String, token: String, timeout: Double) throws(CLIError) -> [String: String] {
        let client = DinasClient(endpoint: DinasEndpoint(baseURL: url, kioskID: kioskID, token: token), requestTimeout: timeout)
        struct Ping: Decodable { var `protocol`: String? }
        let outcome: Result<String, SyncError> = SyncCommands.blocking {
            do {
                let ping = try await client.send("GET", "/v1/ping", maxBody: 64 << 10)
                let p = (try? KioskJSON.decode(Ping.self, from: ping.body))?.protocol ?? ""
                guard p == DinasClient.protocolName else { return .failure(.notDinas("ping answered protocol \(SafeText.strip(String(p.prefix(40))))")) }
                do { _ = try await client.send("GET", "/v1/kiosks/\(kioskID)/config", maxBody: DinasClient.defaultBodyLimit) } catch let e as SyncError {
                    if case .permanent(404, _, _) = e {} else { throw e }
                }
                return .success(p)
            } catch let e as SyncError {
                return .failure(e)
            } catch {
                return .failure(.network("\(error)"))
            }
        }
        switch outcome {
        case .success(let p): return ["protocol": p]
        case .failure(.auth(let status, let message)):
            throw CLIError(.noPermission, code: "auth_failed",
                           id: "Dinas menolak token (HTTP \(status)): \(SafeText.visible(String(message.prefix(200)))). Tidak ada yang ditulis.",
                           en: "The Dinas refused the token (HTTP \(status)): \(SafeText.visible(String(message.prefix(200)))). Nothing was written.")
        case .failure(let e):
            throw CLIError(.unavailable, code: "link_failed",
                           id: "Dinas tidak dapat dihubungi: \(SafeText.visible(e.description)). Tidak ada yang ditulis (--no-check untuk melewati).",
                           en: "Cannot reach the Dinas: \(SafeText.visible(e.description)). Nothing was written (--no-check to skip).")
        }
    }

    /// chown to the service user `kiosk` when it exists and we may (root).
    static func giveToServiceUser(_ path: String) {
        guard geteuid() == 0, let pw = getpwnam("kiosk") else { return }
        _ = chown(path, pw.pointee.pw_uid, pw.pointee.pw_gid)
    }
}
