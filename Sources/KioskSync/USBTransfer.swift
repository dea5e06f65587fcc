#if canImport(Glibc)
import Glibc
#endif
import Foundation
import KioskCore
import KioskSecurity
import KioskStore

/// The offline path for a USB stick when the link is down for days (PROTOCOL.md, "Offline transfer").
///
/// Export writes every undelivered application (manifest + attachments, files 0600, folders 0700) and, last,
/// `kiosk-export.json` listing them with hashes; it is resumable and idempotent (a file already on the stick
/// with the right hash is skipped). Import takes what the Dinas wrote for this kiosk: delivery receipts (by hash),
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

    struct ExportIndex: Codable {
        struct Entry: Codable {
            var id: String
            var manifest: String
            var files: [File]
        }
        struct File: Codable {
            var seq: Int
            var file: String
            var sha256: String
            var size: Int
        }
        var format = "kiosk-usb/1"
        var kioskID: String
        var exportedAt: String
        var applications: [Entry]

        enum CodingKeys: String, CodingKey {
            case format, applications
            case kioskID = "kiosk_id"
            case exportedAt = "exported_at"
        }
    }

    public func export(to dir: String) throws -> ExportSummary {
        var summary = ExportSummary(applications: 0, filesWritten: 0, filesSkipped: 0, bytesWritten: 0)
        try USBTransfer.makeDirectory(dir)
        try USBTransfer.makeDirectory("\(dir)/applications")
        var entries: [ExportIndex.Entry] = []
        let items = try self.store.queueList().filter { $0.applicationState.isUndelivered && $0.queueState == .pending }
        for item in items {
            let id = item.applicationID.uuidString.lowercased()
            let source = try self.store.manifestSource(item.applicationID)
            let app = source.application
            let folder = "\(dir)/applications/\(id)"
            try USBTransfer.makeDirectory(folder)
            let manifest = Manifest(source: source, kioskID: self.kioskID).canonicalJSON()
            try self.put(manifest, sha256: SHA256.hex(manifest), to: "\(folder)/manifest.json", summary: &summary)
            var files: [ExportIndex.File] = []
            for a in app.attachments {
                let name = "\(a.seq).\((a.file as NSString).pathExtension)"
                let target = "\(folder)/\(name)"
                if USBTransfer.hash(of: target) == a.sha256 {
                    summary.filesSkipped += 1
                } else {
                    let data = try Data(contentsOf: URL(fileURLWithPath: self.store.path(of: a)))
                    guard SHA256.hex(data) == a.sha256 else { throw StoreError.io("attachment \(a.file) changed on disk", EIO) }
                    try self.put(data, sha256: a.sha256, to: target, summary: &summary)
                }
                files.append(.init(seq: a.seq, file: "applications/\(id)/\(name)", sha256: a.sha256, size: a.size))
            }
            entries.append(.init(id: id, manifest: "applications/\(id)/manifest.json", files: files))
            summary.applications += 1
        }
        let encoder = KioskJSON.encoder(pretty: true)
        let index = try encoder.encode(ExportIndex(kioskID: self.kioskID, exportedAt: KioskJSON.timestamp(Date()),
                                                   applications: entries))
        try USBTransfer.writeAtomically(index, to: "\(dir)/kiosk-export.json")
        try self.store.recordEvent(nil, event: "usb_export", actor: "staff", detail: "\(summary.applications) applications to \(dir)")
        return summary
    }

    private func put(_ data: Data, sha256: String, to path: String, summary: inout ExportSummary) throws {
        if USBTransfer.hash(of: path) == sha256 {
            summary.filesSkipped += 1
            return
        }
        try USBTransfer.writeAtomically(data, to: path)
        summary.filesWritten += 1
        summary.bytesWritten += data.count
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
