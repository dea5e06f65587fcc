import Foundation
import KioskCore

/// A received, verified document (a signed PDF from the Dinas).
public struct StoredDocument: Hashable, Sendable, Codable {
    public var documentID: String
    @LowercasedUUID public var applicationID: UUID
    public var product: String
    public var file: String
    public var sha256: String
    public var size: Int
    public var keyID: String
    public var receivedAt: Date
    public var printState: String
    public var printCount: Int

    enum CodingKeys: String, CodingKey {
        case product, file, sha256, size
        case documentID = "document_id"
        case applicationID = "application_id"
        case keyID = "key_id"
        case receivedAt = "received_at"
        case printState = "print_state"
        case printCount = "print_count"
    }
}

/// Where an attachment upload stands, persisted before each chunk so a restart resends at most one chunk.
public struct UploadProgress: Hashable, Sendable {
    public var seq: Int
    public var uploadURL: String
    public var confirmedOffset: Int

    public init(seq: Int, uploadURL: String, confirmedOffset: Int) {
        self.seq = seq
        self.uploadURL = uploadURL
        self.confirmedOffset = confirmedOffset
    }
}

/// Everything the Dinas needs to create an application (the manifest), read from the store.
public struct ApplicationManifestSource: Sendable {
    public var application: StoredApplication
    public var applicantNIK: String
    public var facts: Facts
    /// The full electronic form (protected values included): for the manifest to the Dinas only.
    public var form: [String: String] = [:]
}

extension KioskStore {
    // MARK: - Sync state (cursor, alerts, applied config version)

    public func syncValue(_ key: String) throws(StoreError) -> String? {
        try self.run { db in try db.query("SELECT value FROM sync_state WHERE key = ?", [.text(key)]).first?.text(0) }
    }

    public func setSyncValue(_ key: String, _ value: String?) throws(StoreError) {
        try self.run { db in
            if let value {
                try db.query(
                    "INSERT INTO sync_state (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                    [.text(key), .text(value), SQLValue(self.nowMillis)])
            } else {
                try db.query("DELETE FROM sync_state WHERE key = ?", [.text(key)])
            }
        }
    }

    public func allSyncValues() throws(StoreError) -> [String: String] {
        try self.run { db in
            Dictionary(uniqueKeysWithValues: try db.query("SELECT key, value FROM sync_state").map { ($0.text(0), $0.text(1)) })
        }
    }

    /// Appends a non-transition event to an application's (or the kiosk's) audit trail.
    public func recordEvent(_ id: UUID?, event: String, actor: String, detail: String?) throws(StoreError) {
        try self.run { db in try self.auditRow(db, id?.uuidString.lowercased(), event: event, actor: actor, detail: detail) }
    }

    // MARK: - Upload progress

    public func manifestSource(_ id: UUID) throws(StoreError) -> ApplicationManifestSource {
        let app = try self.application(id.uuidString)
        let (nik, factsJSON, formJSON): (String?, String, String) = try self.run { db in
            let r = try db.query("SELECT applicant_nik, facts_json, form_json FROM applications WHERE id = ?",
                                 [.text(id.uuidString.lowercased())]).first
            return (r?.optionalText(0), r?.text(1) ?? "{}", r?.text(2) ?? "{}")
        }
        guard let nik else { throw .notFound("\(id) (NIK purged)") }
        let facts = (try? KioskJSON.decode(Facts.self, from: Data(factsJSON.utf8))) ?? [:]
        return ApplicationManifestSource(application: app, applicantNIK: nik, facts: facts, form: KioskStore.form(formJSON))
    }

    public func uploadProgress(_ id: UUID) throws(StoreError) -> [Int: UploadProgress] {
        try self.run { db in
            var out: [Int: UploadProgress] = [:]
            for r in try db.query("SELECT seq, upload_url, confirmed_offset FROM upload_progress WHERE application_id = ?",
                                  [.text(id.uuidString.lowercased())]) {
                out[r.int(0)] = UploadProgress(seq: r.int(0), uploadURL: r.text(1), confirmedOffset: r.int(2))
            }
            return out
        }
    }

    /// Persists the upload URL and the offset the Dinas confirmed, before the next chunk is sent.
    public func saveUploadProgress(_ id: UUID, _ progress: UploadProgress) throws(StoreError) {
        try self.run { db in
            try db.query(
                """
                INSERT INTO upload_progress (application_id, seq, upload_url, confirmed_offset, updated_at) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT(application_id, seq) DO UPDATE SET upload_url = excluded.upload_url,
                    confirmed_offset = excluded.confirmed_offset, updated_at = excluded.updated_at
                """,
                [.text(id.uuidString.lowercased()), SQLValue(progress.seq), .text(progress.uploadURL),
                 SQLValue(progress.confirmedOffset), SQLValue(self.nowMillis)])
        }
    }

    /// The link came back: every backing-off item is due now (a probe succeeded).
    public func resetBackoff() throws(StoreError) {
        try self.run { db in
            try db.query("UPDATE upload_queue SET next_attempt_at = ? WHERE state = 'pending' AND next_attempt_at > ?",
                         [SQLValue(self.nowMillis), SQLValue(self.nowMillis)])
        }
    }

    /// The earliest time a pending item becomes due, if any is backing off.
    public func nextDueDate() throws(StoreError) -> Date? {
        try self.run { db in
            try db.query("SELECT min(next_attempt_at) FROM upload_queue WHERE state = 'pending'").first?.optionalInt(0)
                .map { Date(timeIntervalSince1970: Double($0) / 1000) }
        }
    }

    // MARK: - Dinas state

    // MARK: - Documents

    /// Stores a verified document: file first (temp, fsync, rename, directory fsync), then its row.
    public func storeDocument(
        _ id: UUID, documentID: String, product: String, data: Data, sha256: String, signature: String, keyID: String
    ) throws(StoreError) -> StoredDocument {
        let safeProduct = product.filter { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }.prefix(60)
        let safeDoc = String(documentID.filter { $0.isASCII && ($0.isHexDigit || $0 == "-") }.prefix(40))
        // The id names the file: one that changes when cleaned could collide with (and replace) another document.
        guard !safeDoc.isEmpty, safeDoc == documentID, !safeProduct.isEmpty else {
            throw .io("document id \(SafeText.visible(String(documentID.prefix(60)))) is not hex", EINVAL)
        }
        // Shared spool lock from the check to the commit: a sweep in another process never sees it half-done, and
        // a second delivery of the same document finds the first instead of writing over it.
        return try self.spoolLock.withShared { () throws(StoreError) -> StoredDocument in
            if let existing = try self.documents(id).first(where: { $0.documentID == safeDoc }) { return existing }
            let file = try self.documentSpool.store(
                data: data, as: "\(id.uuidString.lowercased())/\(safeProduct)-\(safeDoc).pdf", maxBytes: 64 << 20,
                label: product, replace: false)
            guard file.sha256 == sha256 else {
                self.documentSpool.remove(file.relativePath)
                throw .io("document hash changed while writing", EIO)
            }
            do throws(StoreError) {
                try self.run { db in
                    try db.transaction {
                        try db.query(
                            """
                            INSERT INTO documents (document_id, application_id, product, file, sha256, size, signature, key_id, received_at)
                            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                            """,
                            [.text(safeDoc), .text(id.uuidString.lowercased()), .text(product), .text(file.relativePath),
                             .text(sha256), SQLValue(file.size), .text(signature), .text(keyID), SQLValue(self.nowMillis)])
                        try self.auditRow(db, id.uuidString.lowercased(), event: "document", actor: "dinas",
                                          detail: "\(product) \(file.size) bytes sha256 \(sha256.prefix(16))…")
                    }
                }
            } catch {
                // This call created the file (replace: false refuses an existing one), so it may remove it.
                self.documentSpool.remove(file.relativePath)
                throw error
            }
            guard let stored = try self.documents(id).first(where: { $0.documentID == safeDoc }) else {
                throw .io("document \(safeDoc) not found after its commit", EIO)
            }
            return stored
        }
    }

    public func documents(_ id: UUID) throws(StoreError) -> [StoredDocument] {
        try self.run { db in
            try db.query(
                """
                SELECT document_id, application_id, product, file, sha256, size, key_id, received_at, print_state, print_count
                FROM documents WHERE application_id = ? ORDER BY received_at, document_id
                """, [.text(id.uuidString.lowercased())]
            ).map {
                StoredDocument(documentID: $0.text(0), applicationID: UUID(uuidString: $0.text(1))!, product: $0.text(2),
                               file: $0.text(3), sha256: $0.text(4), size: $0.int(5), keyID: $0.text(6),
                               receivedAt: Date(timeIntervalSince1970: Double($0.int(7)) / 1000), printState: $0.text(8),
                               printCount: $0.int(9))
            }
        }
    }

    public func path(of document: StoredDocument) -> String { "\(self.documentSpool.root)/\(document.file)" }
}
