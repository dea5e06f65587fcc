import Foundation
import KioskSecurity
import KioskStore

enum KeyCommands {
    static func generate(_ raw: [String], context: CLIContext) throws(CLIError) {
        let args = try Arguments(raw, options: ["private", "public"], flags: ["json", "force"])
        try args.noExtraPositionals(after: 0)
        let privatePath = context.resolve(try args.required("private"))
        let publicPath = context.resolve(try args.required("public"))
        let fm = FileManager.default
        if !args.has("force") {
            for path in [privatePath, publicPath] where fm.fileExists(atPath: path) {
                throw CLIError(.cantCreate, code: "exists", id: "\(path) sudah ada; pakai --force untuk menimpa.",
                               en: "\(path) exists; use --force to overwrite.")
            }
        }
        do {
            let key = try Ed25519PrivateKey.generate()
            try FileWriter.writeAtomically(Data(try key.pem().utf8), to: privatePath, mode: 0o600)
            try FileWriter.writeAtomically(Data(try key.publicKey.pem().utf8), to: publicPath, mode: 0o644)
            if args.has("json") {
                try context.printJSON(["key_id": key.publicKey.keyID, "private": privatePath, "public": publicPath])
            } else {
                context.print("Kunci baru / new key \(key.publicKey.keyID)")
                context.print("  privat / private (0600): \(privatePath)")
                context.print("  publik / public:         \(publicPath)")
            }
        } catch let error as CLIError {
            throw error
        } catch {
            throw CLIError(.cantCreate, code: "keygen", id: "Gagal membuat kunci: \(error)", en: "Key generation failed: \(error)")
        }
    }

    static func readPrivate(_ path: String, context: CLIContext) throws(CLIError) -> Ed25519PrivateKey {
        let data = try context.read(path, what: "kunci privat / private key")
        do {
            return try Ed25519PrivateKey(pem: String(decoding: data, as: UTF8.self))
        } catch {
            throw CLIError(.dataError, code: "bad_key", id: "\(path): bukan kunci privat Ed25519 PEM (\(error)).",
                           en: "\(path): not an Ed25519 PEM private key (\(error)).", field: "key")
        }
    }

    static func readPublic(_ path: String, context: CLIContext) throws(CLIError) -> Ed25519PublicKey {
        let data = try context.read(path, what: "kunci publik / public key")
        do {
            return try Ed25519PublicKey(pem: String(decoding: data, as: UTF8.self))
        } catch {
            throw CLIError(.dataError, code: "bad_key", id: "\(path): bukan kunci publik Ed25519 PEM (\(error)).",
                           en: "\(path): not an Ed25519 PEM public key (\(error)).", field: "trusted-key")
        }
    }
}

/// Crash-safe file writes (the store's `DurableFile`), mapped to kioskctl's exit codes.
enum FileWriter {
    static func writeAtomically(_ data: Data, to path: String, mode: mode_t) throws(CLIError) {
        do {
            try DurableFile.write(data, to: path, mode: mode)
        } catch {
            throw CLIError(.cantCreate, code: "cant_create", id: "Tidak dapat menulis \(path): \(error.message.id)",
                           en: "Cannot write \(path): \(error.message.en ?? "")")
        }
    }
}
