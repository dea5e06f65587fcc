import Foundation
import KioskCore

/// A complaint waiting for (or sent to) the Dinas.
public struct StoredComplaint: Hashable, Sendable, Codable {
    public var id: String
    public var reference: String
    public var category: String
    public var body: String
    public var contact: String?
    public var language: String
    public var createdAt: Date
    /// When the Dinas confirmed receipt.
    public var sentAt: Date?
    /// The Dinas's answer (at most 1000 characters, no control characters; line breaks kept).
    public var answer: String? = nil
    public var answeredAt: Date? = nil

    public static let maxAnswer = 1000

    enum CodingKeys: String, CodingKey {
        case id, reference, category, body, contact, language, answer
        case createdAt = "created_at"
        case sentAt = "sent_at"
        case answeredAt = "answered_at"
    }
}

extension KioskStore {
    /// Applications of one resident, newest first. Only applications whose NIK is still held (not yet purged
    /// after the Dinas confirmed them) can be found this way; older ones need the tracking code.
    public func applications(applicantNIK nik: String) throws(StoreError) -> [StoredApplication] {
        let ids: [String] = try self.run { db in
            try db.query("SELECT id FROM applications WHERE applicant_nik = ? ORDER BY created_at DESC LIMIT 20",
                         [.text(nik)]).map { $0.text(0) }
        }
        var out: [StoredApplication] = []
        for id in ids { out.append(try self.application(id)) }
        return out
    }

    /// A stored document by its id.
    public func document(_ documentID: String) throws(StoreError) -> StoredDocument {
        let app: String? = try self.run { db in
            try db.query("SELECT application_id FROM documents WHERE document_id = ?", [.text(documentID)]).first?.text(0)
        }
        guard let app, let id = UUID(uuidString: app),
              let doc = try self.documents(id).first(where: { $0.documentID == documentID })
        else { throw .notFound(documentID) }
        return doc
    }

    /// Queues a complaint for the Dinas, committed (synchronous=FULL) before it returns. The reference is what
    /// the resident is told and types at Cek Status: "PGD-" and a tracking code ("PGD-XXXX-XXXX": no look-alike
    /// characters, a check character, so the keypad that types tracking codes types it too).
    public func fileComplaint(category: String, body: String, contact: String?, language: String)
        throws(StoreError) -> StoredComplaint
    {
        // Resident text: no control, bidi-override or zero-width characters (the body may keep line breaks).
        for (field, text, lines) in [("category", category, false), ("body", body, true), ("contact", contact ?? "", false),
                                     ("language", language, false)] where SafeText.firstUnsafe(in: text, allowNewlines: lines) != nil {
            throw .unsafeText(field: field)
        }
        let id = UUID().uuidString.lowercased()
        let now = self.nowMillis
        var generator = SystemRandomNumberGenerator()
        var reference = ""
        for attempt in 0..<8 {
            reference = "PGD-" + TrackingCode(using: &generator).formatted
            do {
                try self.run { db in
                    try db.transaction {
                        try db.query(
                            "INSERT INTO complaints (id, reference, category, body, contact, language, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                            [.text(id), .text(reference), .text(category), .text(body), contact.map(SQLValue.text) ?? .null,
                             .text(language), SQLValue(now)])
                        try self.auditRow(db, nil, event: "complaint", actor: "resident", detail: "\(reference) \(category)")
                    }
                }
                break
            } catch StoreError.sqlite(let e) where e.isConstraintViolation && e.message.contains("reference") && attempt < 7 {
                continue  // a reference collision: draw another
            }
        }
        return StoredComplaint(id: id, reference: reference, category: category, body: body, contact: contact,
                               language: language, createdAt: Date(timeIntervalSince1970: Double(now) / 1000), sentAt: nil)
    }

    /// Complaints not yet confirmed by the Dinas, oldest first.
    public func unsentComplaints(limit: Int = 50) throws(StoreError) -> [StoredComplaint] {
        try self.run { db in
            try db.query(
                "SELECT id, reference, category, body, contact, language, created_at FROM complaints WHERE sent_at IS NULL ORDER BY created_at LIMIT ?",
                [SQLValue(limit)]
            ).map {
                StoredComplaint(id: $0.text(0), reference: $0.text(1), category: $0.text(2), body: $0.text(3),
                                contact: $0.optionalText(4), language: $0.text(5),
                                createdAt: Date(timeIntervalSince1970: Double($0.int(6)) / 1000), sentAt: nil)
            }
        }
    }

    /// Marks a complaint as received by the Dinas.
    public func markComplaintSent(_ id: String) throws(StoreError) {
        try self.run { db in
            try db.query("UPDATE complaints SET sent_at = ? WHERE id = ? AND sent_at IS NULL", [SQLValue(self.nowMillis), .text(id)])
        }
    }
}
