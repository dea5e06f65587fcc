import Foundation
import KioskSecurity
import KioskStore

enum KeyCommands {
    static func generate(_ raw: [String], context: CLIContext) throws(CLIError) {
        let args = try Arguments(raw, options: ["private", "public", "kind"], flags: ["json", "force"])
        let kind = args.value("kind") ?? "ed25519"
        guard ["ed25519", "x25519"].contains(kind) else { throw .usage("--kind is ed25519 (signing) or x25519 (USB recipient)") }
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
            let (privatePEM, publicPEM, keyID): (String, String, String)
            if kind == "x25519" {
                let key = try X25519PrivateKey.generate()
                (privatePEM, publicPEM, keyID) = (try key.pem(), try key.publicKey.pem(), key.publicKey.keyID)
            } else {
                let key = try Ed25519PrivateKey.generate()
                (privatePEM, publicPEM, keyID) = (try key.pem(), try key.publicKey.pem(), key.publicKey.keyID)
            }
            try FileWriter.writeAtomically(Data(privatePEM.utf8), to: privatePath, mode: 0o600)
            try FileWriter.writeAtomically(Data(publicPEM.utf8), to: publicPath, mode: 0o644)
            if args.has("json") {
                try context.printJSON(["key_id": keyID, "kind": kind, "private": privatePath, "public": publicPath])
            } else {
                context.print("Kunci baru / new \(kind) key \(keyID)")
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

    /// The Dinas's X25519 recipient public key (USB transfer).
    static func readRecipientPublic(_ path: String, context: CLIContext) throws(CLIError) -> (publicKey: X25519PublicKey, path: String) {
        (try self.readX25519(path, kind: ("publik", "public"), field: "recipient", context: context) { (pem: String) throws(CryptoError) in
            try X25519PublicKey(pem: pem)
        }, path)
    }

    static func readRecipientPrivate(_ path: String, context: CLIContext) throws(CLIError) -> X25519PrivateKey {
        try self.readX25519(path, kind: ("privat", "private"), field: "key", context: context) { (pem: String) throws(CryptoError) in try X25519PrivateKey(pem: pem) }
    }

    private static func readX25519<T>(_ path: String, kind: (id: String, en: String), field: String, context: CLIContext,
                                      _ parse: (String) throws(CryptoError) -> T) throws(CLIError) -> T {
        let data = try context.read(path, what: "kunci \(kind.id) penerima / recipient \(kind.en) key")
        do {
            guard data.count <= 4096 else { throw CryptoError.invalidPEM("\(kind.en) key (too large)") }
            return try parse(String(decoding: data, as: UTF8.self))
        } catch {
            throw CLIError(.dataError, code: "bad_key", id: "\(path): bukan kunci \(kind.id) X25519 PEM (\(error)).",
                           en: "\(path): not an X25519 PEM \(kind.en) key (\(error)).", field: field)
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
