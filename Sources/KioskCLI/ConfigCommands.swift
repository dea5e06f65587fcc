import Foundation
import KioskCore
import KioskSecurity

enum ConfigCommands {
    static func initPayload(_ raw: [String], profiles: ProfileLibrary, context: CLIContext) throws(CLIError) {
        let args = try Arguments(raw, options: ["profile", "desa", "version", "target"], flags: ["json"])
        try args.noExtraPositionals(after: 0)
        let profile = try profiles.load(try args.required("profile"))
        let versionText = args.value("version") ?? "1"
        guard let version = Int(versionText), version > 0 else {
            throw CLIError(.dataError, code: "bad_version", id: "--version harus bilangan bulat positif.",
                           en: "--version must be a positive integer.", field: "version")
        }
        let payload = ConfigPayload(
            version: version, issuedAt: KioskJSON.timestamp(context.now()), targets: args.options["target"] ?? ["*"],
            jurisdiction: profile, kiosk: KioskSettings.defaults(desaName: args.value("desa") ?? "Desa \(profile.name.id)"))
        do {
            try payload.validate()
        } catch {
            throw CLIError(.dataError, code: "invalid_payload", id: "Payload tidak sah: \(error)",
                           en: "Invalid payload: \(error)", field: error.field)
        }
        try context.printJSON(payload)
    }

    static func sign(_ raw: [String], context: CLIContext) throws(CLIError) {
        let args = try Arguments(raw, options: ["key", "out"], flags: ["json"])
        let payloadPath = try args.positional(0, "PAYLOAD")
        try args.noExtraPositionals(after: 1)
        let key = try KeyCommands.readPrivate(try args.required("key"), context: context)
        let out = context.resolve(try args.required("out"))
        let bytes = try context.read(payloadPath, what: "payload")
        let bundle: Data
        do {
            bundle = try ConfigBundleSigner.sign(payload: bytes, with: key)
        } catch let error as BundleError {
            throw CLIError(.dataError, code: "invalid_payload", id: "Payload tidak sah, tidak ditandatangani: \(error)",
                           en: "Invalid payload, not signed: \(error)", field: error.field)
        } catch {
            throw CLIError(.failure, code: "sign", id: "Gagal menandatangani: \(error)", en: "Signing failed: \(error)")
        }
        try FileWriter.writeAtomically(bundle, to: out, mode: 0o644)
        if args.has("json") {
            try context.printJSON(["bundle": out, "key_id": key.publicKey.keyID])
        } else {
            context.print("Bundel ditandatangani / bundle signed with key \(key.publicKey.keyID): \(out)")
        }
    }

    struct Summary: Encodable {
        var verified: Bool
        var keyID: String
        var version: Int
        var issuedAt: String
        var targets: [String]
        var profile: String
        var services: Int
        var desaName: String
        var payloadSHA256: String

        enum CodingKeys: String, CodingKey {
            case verified, version, targets, profile, services
            case keyID = "key_id"
            case issuedAt = "issued_at"
            case desaName = "desa_name"
            case payloadSHA256 = "payload_sha256"
        }
    }

    static func verify(_ raw: [String], context: CLIContext) throws(CLIError) {
        let args = try Arguments(raw, options: ["trusted-key"], flags: ["json"])
        let path = try args.positional(0, "BUNDLE")
        try args.noExtraPositionals(after: 1)
        guard let keyPaths = args.options["trusted-key"], !keyPaths.isEmpty else { throw .usage("--trusted-key is required") }
        let trusted = try keyPaths.map { (p: String) throws(CLIError) in try KeyCommands.readPublic(p, context: context) }
        let verified = try self.verified(try context.read(path, what: "bundel / bundle"), trusted: trusted)
        let summary = self.summary(verified.payload, bytes: verified.payloadBytes, keyID: verified.keyID, verified: true)
        if args.has("json") {
            try context.printJSON(summary)
            return
        }
        context.print("Bundel sah / bundle verified: versi / version \(summary.version), kunci / key \(summary.keyID)")
        self.printSummary(summary, context: context)
    }

    static func show(_ raw: [String], context: CLIContext) throws(CLIError) {
        let args = try Arguments(raw, options: ["trusted-key"], flags: ["json"])
        let path = try args.positional(0, "BUNDLE")
        try args.noExtraPositionals(after: 1)
        let data = try context.read(path, what: "bundel / bundle")
        let summary: Summary
        if let keyPaths = args.options["trusted-key"], !keyPaths.isEmpty {
            let trusted = try keyPaths.map { (p: String) throws(CLIError) in try KeyCommands.readPublic(p, context: context) }
            let v = try self.verified(data, trusted: trusted)
            summary = self.summary(v.payload, bytes: v.payloadBytes, keyID: v.keyID, verified: true)
        } else {
            do {
                let parts = try ConfigBundle.parse(data)
                let payload = try ConfigPayload.load(parts.payloadBytes)
                summary = self.summary(payload, bytes: parts.payloadBytes, keyID: parts.keyID, verified: false)
            } catch {
                throw CLIError(.dataError, code: "malformed_bundle", id: "Bundel rusak: \(error)",
                               en: "Malformed bundle: \(error)", field: error.field)
            }
        }
        if args.has("json") {
            try context.printJSON(summary)
            return
        }
        context.print(summary.verified
            ? "Tanda tangan sah / signature verified (\(summary.keyID))"
            : "TANDA TANGAN BELUM DIPERIKSA / SIGNATURE NOT VERIFIED (key_id \(summary.keyID)); pakai / use --trusted-key")
        self.printSummary(summary, context: context)
    }

    private static func verified(_ data: Data, trusted: [Ed25519PublicKey]) throws(CLIError) -> VerifiedBundle {
        do {
            return try ConfigBundleSigner.verify(bundle: data, trusted: trusted)
        } catch {
            let (id, code): (String, String) = {
                switch error {
                case .malformed: return ("Bundel rusak", "malformed_bundle")
                case .untrustedKey: return ("Kunci penandatangan tidak dipercaya", "untrusted_key")
                case .badSignature: return ("Tanda tangan tidak sah", "bad_signature")
                case .invalidPayload: return ("Isi konfigurasi tidak sah", "invalid_payload")
                }
            }()
            throw CLIError(.dataError, code: code, id: "\(id): \(error)", en: "\(error)", field: error.field)
        }
    }

    private static func summary(_ p: ConfigPayload, bytes: Data, keyID: String, verified: Bool) -> Summary {
        Summary(verified: verified, keyID: keyID, version: p.version, issuedAt: p.issuedAt, targets: p.targets,
                profile: p.jurisdiction.id, services: p.jurisdiction.services.count, desaName: p.kiosk.desaName,
                payloadSHA256: SHA256.hex(bytes))
    }

    private static func printSummary(_ s: Summary, context: CLIContext) {
        context.print("  Versi / Version:        \(s.version)")
        context.print("  Diterbitkan / Issued:   \(s.issuedAt)")
        context.print("  Sasaran / Targets:      \(s.targets.joined(separator: ", "))")
        context.print("  Profil / Profile:       \(s.profile) (\(s.services) layanan / services)")
        context.print("  Desa:                   \(s.desaName)")
        context.print("  SHA-256 payload:        \(s.payloadSHA256)")
    }
}
