#if canImport(Glibc)
import Glibc
#endif
import Foundation
import KioskCore
import KioskSecurity
import KioskStore

/// The offline path for a USB stick when the link is down for days (PROTOCOL.md, "Offline transfer").
///
/// Export seals every undelivered application (manifest + attachments) to the Dinas's X25519 recipient key
/// (PROTOCOL.md, "USB transfer"), then the sealed index and, last, the plaintext-free `kiosk-export.json`; it is
/// resumable and idempotent (a sealed file already on the stick that opens to the right bytes is skipped). Import takes what the Dinas wrote for this kiosk: delivery receipts (by hash),
/// state events, signed documents and signed config bundles, each verified exactly as over HTTPS.
public struct USBTransfer: Sendable {
    public let store: KioskStore
    public let kioskID: String

    public init(store: KioskStore, kioskID: String) {
        self.store = store
        self.kioskID = kioskID
    }

    public struct ExportSummary: Codable, Sendable {
        public var applications: Int
        public var filesWritten: Int
        public var filesSkipped: Int
        public var bytesWritten: Int

        enum CodingKeys: String, CodingKey {
            case applications
            case filesWritten = "files_written"
            case filesSkipped = "files_skipped"
            case bytesWritten = "bytes_written"
        }
    }

    /// The sealed index (`kiosk-export.kx`): what the Dinas needs to read the stick, with plaintext hashes.
    public struct ExportIndex: Codable, Sendable {
        public struct Entry: Codable, Sendable {
            public var id: String
            public var manifest: String
            public var manifestSHA256: String
            public var files: [File]
            enum CodingKeys: String, CodingKey {
                case id, manifest, files
                case manifestSHA256 = "manifest_sha256"
            }
        }
        public struct File: Codable, Sendable {
            public var seq: Int
            public var file: String
            public var fileExtension: String
            public var sha256: String
            public var size: Int
            enum CodingKeys: String, CodingKey {
                case seq, file, sha256, size
                case fileExtension = "extension"
            }
        }
        public var format = "kiosk-usb/2-index"
        public var kioskID: String
        public var exportedAt: String
        public var applications: [Entry]

        enum CodingKeys: String, CodingKey {
            case format, applications
            case kioskID = "kiosk_id"
            case exportedAt = "exported_at"
        }
    }

    /// `kiosk-export.json`, in the clear: no personal data, only what verifies the stick without the key
    /// (every sealed file's size and SHA-256 over its ciphertext).
    public struct OuterIndex: Codable, Sendable {
        public struct Object: Codable, Sendable {
            public var file: String
            public var size: Int
            public var sha256: String
        }
        public var format = "kiosk-usb/2"
        public var kioskID: String
        public var recipientKeyID: String
        public var exportedAt: String
        public var index: Object
        public var objects: [Object]

        enum CodingKeys: String, CodingKey {
            case format, index, objects
            case kioskID = "kiosk_id"
            case recipientKeyID = "recipient_key_id"
            case exportedAt = "exported_at"
        }
    }

    public static let indexFile = "kiosk-export.kx"
    public static let outerIndexFile = "kiosk-export.json"

    /// Seals every pending application to `recipient` (PROTOCOL.md, "USB transfer"). `ephemeral` is this kiosk's
    /// export key for that recipient, kept in the data directory so a re-run recognises (by opening them) the files
    /// already on the stick and skips them. Plaintext left by an older (kiosk-usb/1) export is removed.
    public func export(to dir: String, recipient: X25519PublicKey, ephemeral: X25519PrivateKey) throws -> ExportSummary {
        var summary = ExportSummary(applications: 0, filesWritten: 0, filesSkipped: 0, bytesWritten: 0)
        try USBTransfer.makeDirectory(dir)
        try USBTransfer.makeDirectory("\(dir)/applications")
        var entries: [ExportIndex.Entry] = []
        var objects: [OuterIndex.Object] = []
        let items = try self.store.queueList().filter { $0.applicationState.isUndelivered && $0.queueState == .pending }
        func seal(_ plain: Data, sha256: String, _ rel: String) throws {
            let path = "\(dir)/\(rel)"
            var sealed: [UInt8]
            // Read only a file of exactly the size the sealed plaintext needs: the stick is not trusted.
            if USBTransfer.fileSize(path) == USBSeal.sealedSize(plaintextLength: plain.count),
               let existing = FileManager.default.contents(atPath: path),
               let opened = try? USBSeal.open(Array(existing), sealedWith: ephemeral, to: recipient,
                                              maxPlaintext: plain.count, what: rel),
               SHA256.hex(opened) == sha256 {
                sealed = Array(existing)
                summary.filesSkipped += 1
            } else {
                sealed = try USBSeal.seal(Array(plain), to: recipient, ephemeral: ephemeral)
                try USBTransfer.writeAtomically(Data(sealed), to: path)
                summary.filesWritten += 1
                summary.bytesWritten += sealed.count
            }
            objects.append(.init(file: rel, size: sealed.count, sha256: SHA256.hex(sealed)))
            sealed.removeAll()
        }
        for item in items {
            let id = item.applicationID.uuidString.lowercased()
            let source = try self.store.manifestSource(item.applicationID)
            let app = source.application
            let folder = "\(dir)/applications/\(id)"
            try USBTransfer.makeDirectory(folder)
            USBTransfer.removePlaintext(in: folder)
            let manifest = Manifest(source: source, kioskID: self.kioskID).canonicalJSON()
            let manifestHash = SHA256.hex(manifest)
            try seal(manifest, sha256: manifestHash, "applications/\(id)/manifest.kx")
            var files: [ExportIndex.File] = []
            for a in app.attachments {
                let rel = "applications/\(id)/\(a.seq).kx"
                let data = try Data(contentsOf: URL(fileURLWithPath: self.store.path(of: a)))
                guard SHA256.hex(data) == a.sha256 else { throw StoreError.io("attachment \(a.file) changed on disk", EIO) }
                try seal(data, sha256: a.sha256, rel)
                files.append(.init(seq: a.seq, file: rel, fileExtension: (a.file as NSString).pathExtension,
                                   sha256: a.sha256, size: a.size))
            }
            entries.append(.init(id: id, manifest: "applications/\(id)/manifest.kx", manifestSHA256: manifestHash, files: files))
            summary.applications += 1
        }
        let encoder = KioskJSON.encoder(pretty: true)
        let now = KioskJSON.timestamp(Date())
        let inner = try encoder.encode(ExportIndex(kioskID: self.kioskID, exportedAt: now, applications: entries))
        let sealedIndex = try USBSeal.seal(Array(inner), to: recipient, ephemeral: ephemeral)
        try USBTransfer.writeAtomically(Data(sealedIndex), to: "\(dir)/\(USBTransfer.indexFile)")
        let outer = OuterIndex(kioskID: self.kioskID, recipientKeyID: recipient.keyID, exportedAt: now,
                               index: .init(file: USBTransfer.indexFile, size: sealedIndex.count, sha256: SHA256.hex(sealedIndex)),
                               objects: objects)
        try USBTransfer.writeAtomically(try encoder.encode(outer), to: "\(dir)/\(USBTransfer.outerIndexFile)")
        try self.store.recordEvent(nil, event: "usb_export", actor: "staff",
                                   detail: "\(summary.applications) applications sealed to \(recipient.keyID)")
        return summary
    }

    /// Removes what a kiosk-usb/1 export left in an application folder (a plaintext manifest and attachments).
    static func removePlaintext(in folder: String) {
        for name in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [] where !name.hasSuffix(".kx") {
            unlink("\(folder)/\(name)")
        }
    }

    /// The size of a regular file (not following a symlink), else nil.
    public static func fileSize(_ path: String) -> Int? {
        var st = stat()
        guard lstat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        return Int(st.st_size)
    }

    static func hash(of path: String) -> String? {
        FileManager.default.contents(atPath: path).map { SHA256.hex($0) }
    }

    static func makeDirectory(_ path: String) throws {
        if mkdir(path, 0o700) != 0 && errno != EEXIST { throw StoreError.io("mkdir \(path)", errno) }
    }

    static func writeAtomically(_ data: Data, to path: String) throws {
        try DurableFile.write(data, to: path, mode: 0o600)
    }

    // MARK: - Import

    public struct ImportSummary: Codable, Sendable {
        public var delivered = 0
        public var states = 0
        public var documentsStored = 0
        public var rejected: [String] = []
        public var configApplied: Int?

        enum CodingKeys: String, CodingKey {
            case delivered, states, rejected
            case documentsStored = "documents_stored"
            case configApplied = "config_applied"
        }
    }

    /// `dinas-import.json` written by the Dinas for this kiosk.
    struct ImportIndex: Decodable {
        struct Receipt: Decodable {
            var applicationID: String
            var attachments: [Att]
            struct Att: Decodable {
                var seq: Int
                var sha256: String
            }
            enum CodingKeys: String, CodingKey {
                case attachments
                case applicationID = "application_id"
            }
        }
        struct State: Decodable {
            var applicationID: String
            var state: String
            var reason: String?
            enum CodingKeys: String, CodingKey {
                case state, reason
                case applicationID = "application_id"
            }
        }
        struct Document: Decodable {
            var applicationID: String
            var product: String
            var documentID: String
            var file: String
            var sha256: String
            var signature: String
            var keyID: String
            enum CodingKeys: String, CodingKey {
                case product, file, sha256, signature
                case applicationID = "application_id"
                case documentID = "document_id"
                case keyID = "key_id"
            }
        }
        var format: String
        var kioskID: String
        var receipts: [Receipt]?
        var states: [State]?
        var documents: [Document]?
        var configBundles: [String]?

        enum CodingKeys: String, CodingKey {
            case format, receipts, states, documents
            case kioskID = "kiosk_id"
            case configBundles = "config_bundles"
        }
    }

    public func importFrom(_ dir: String, trusted: [Ed25519PublicKey], configStore: ConfigBundleStore?) throws -> ImportSummary {
        guard let data = FileManager.default.contents(atPath: "\(dir)/dinas-import.json") else {
            throw StoreError.attachmentMissing(path: "\(dir)/dinas-import.json")
        }
        let index: ImportIndex
        do {
            index = try StrictJSON.decode(ImportIndex.self, from: data, root: "dinas-import")
        }
        guard index.format == "dinas-usb/1" else { throw ValidationError(field: "dinas-import.format", reason: "must be dinas-usb/1") }
        guard index.kioskID == self.kioskID else {
            throw ValidationError(field: "dinas-import.kiosk_id", reason: "written for \(index.kioskID), not \(self.kioskID)")
        }
        var summary = ImportSummary()
        for r in index.receipts ?? [] {
            guard let id = UUID(uuidString: r.applicationID), let app = try? self.store.application(id.uuidString) else { continue }
            let confirmed = app.attachments.allSatisfy { a in r.attachments.contains { $0.seq == a.seq && $0.sha256 == a.sha256 } }
            if confirmed && app.state.isUndelivered && app.state != .quarantined {
                try self.store.markDelivered(id, detail: "receipt by USB, \(app.attachments.count) hashes confirmed")
                summary.delivered += 1
            } else if !confirmed {
                summary.rejected.append("receipt for \(r.applicationID): hashes do not match")
            }
        }
        for s in index.states ?? [] {
            guard let id = UUID(uuidString: s.applicationID), let state = ApplicationState(rawValue: s.state) else { continue }
            if (try? self.store.applyDinasState(id, state, reason: SyncEngine.dinasText(s.reason))) == true { summary.states += 1 }
        }
        for d in index.documents ?? [] {
            guard let id = UUID(uuidString: d.applicationID), (try? self.store.application(id.uuidString)) != nil,
                  !d.file.contains("..")
            else { continue }
            guard let bytes = FileManager.default.contents(atPath: "\(dir)/\(d.file)") else {
                summary.rejected.append("\(d.file): missing")
                continue
            }
            do {
                try DocumentSignature.verify(document: bytes, sha256: d.sha256, applicationID: id, product: d.product,
                                             signature: d.signature, keyID: d.keyID, trusted: trusted)
                _ = try self.store.storeDocument(id, documentID: d.documentID, product: d.product, data: bytes,
                                                 sha256: d.sha256, signature: d.signature, keyID: d.keyID)
                summary.documentsStored += 1
            } catch {
                summary.rejected.append("\(d.file): \(error)")
                try? self.store.recordEvent(id, event: "document_rejected", actor: "kiosk", detail: "USB \(d.product): \(error)")
            }
        }
        for file in index.configBundles ?? [] where !file.contains("..") {
            guard let configStore, let bytes = FileManager.default.contents(atPath: "\(dir)/\(file)") else { continue }
            do {
                summary.configApplied = try configStore.apply(bytes, trusted: trusted, kioskID: self.kioskID).version
            } catch ConfigApplyError.notNewer {
                continue
            } catch {
                summary.rejected.append("\(file): \(error)")
            }
        }
        try self.store.recordEvent(nil, event: "usb_import", actor: "staff",
                                   detail: "\(summary.delivered) receipts, \(summary.documentsStored) documents, \(summary.rejected.count) rejected")
        return summary
    }
}
