import Foundation
import KioskCore

/// Paper in the kiosk printer: sheets loaded at the last restock and used since.
public struct PaperStatus: Hashable, Sendable, Codable {
    public var loaded: Int
    public var used: Int
    public var lowThreshold: Int
    public var remaining: Int { max(0, self.loaded - self.used) }
    public var low: Bool { self.remaining <= self.lowThreshold }

    enum CodingKeys: String, CodingKey {
        case loaded, used, remaining, low
        case lowThreshold = "low_threshold"
    }

    public init(loaded: Int, used: Int, lowThreshold: Int) {
        self.loaded = loaded
        self.used = used
        self.lowThreshold = lowThreshold
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.loaded = try c.decode(Int.self, forKey: .loaded)
        self.used = try c.decode(Int.self, forKey: .used)
        self.lowThreshold = try c.decode(Int.self, forKey: .lowThreshold)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(self.loaded, forKey: .loaded)
        try c.encode(self.used, forKey: .used)
        try c.encode(self.remaining, forKey: .remaining)
        try c.encode(self.low, forKey: .low)
        try c.encode(self.lowThreshold, forKey: .lowThreshold)
    }
}

extension KioskStore {
    /// Staff loaded `sheets` sheets (the count replaces the old estimate). One transaction with its audit row.
    public func restockPaper(sheets: Int, actor: String) throws(StoreError) {
        try self.run { db in
            try db.transaction {
                try Self.setPaper(db, loaded: sheets, used: 0, at: self.nowMillis)
                try self.auditRow(db, nil, event: "paper_restock", actor: actor, detail: "\(sheets) sheets loaded")
            }
        }
    }

    /// A page printed that is not a stored document (a receipt, a complaint slip, a test page): its audit entry and
    /// its sheets against the paper count, in one transaction.
    public func recordPagePrinted(_ id: UUID?, event: String, sheets: Int, actor: String, detail: String) throws(StoreError) {
        try self.run { db in
            try db.transaction {
                try self.auditRow(db, id?.uuidString.lowercased(), event: event, actor: actor, detail: detail)
                let paper = try Self.paper(db)
                try Self.setPaper(db, loaded: paper.loaded, used: paper.used + max(0, min(sheets, 10_000)), at: self.nowMillis)
            }
        }
    }

    public func paperStatus(lowThreshold: Int) throws(StoreError) -> PaperStatus {
        let (loaded, used) = try self.run { db in try Self.paper(db) }
        return PaperStatus(loaded: loaded, used: used, lowThreshold: lowThreshold)
    }

    private static func paper(_ db: SQLiteConnection) throws -> (loaded: Int, used: Int) {
        let rows = try db.query("SELECT key, value FROM sync_state WHERE key IN ('paper_loaded', 'paper_used')")
        let values = Dictionary(uniqueKeysWithValues: rows.map { ($0.text(0), Int($0.text(1)) ?? 0) })
        return (values["paper_loaded"] ?? 0, values["paper_used"] ?? 0)
    }

    private static func setPaper(_ db: SQLiteConnection, loaded: Int, used: Int, at millis: Int) throws {
        for (key, value) in [("paper_loaded", loaded), ("paper_used", used), ("paper_sheets", max(0, loaded - used))] {
            try db.query(
                "INSERT INTO sync_state (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                [.text(key), .text(String(value)), SQLValue(millis)])
        }
    }

    /// Records one print of a document in its row, the paper count and the audit log, in one transaction. A print
    /// that failed keeps the document ("print failed — ask staff") and does not use up the reprint allowance; a
    /// successful one counts paper and moves a ready application to `printed`.
    public func recordPrint(documentID: String, printed: Bool, sheets: Int, detail: String, actor: String)
        throws(StoreError)
    {
        let app: String? = try self.run { db in
            try db.transaction { () throws -> String? in
                guard let row = try db.query("SELECT application_id, product FROM documents WHERE document_id = ?",
                                             [.text(documentID)]).first
                else { return nil }
                let (app, product) = (row.text(0), row.text(1))
                try db.query(
                    printed
                        ? "UPDATE documents SET print_state = 'printed', print_count = print_count + 1 WHERE document_id = ?"
                        : "UPDATE documents SET print_state = 'print_failed' WHERE document_id = ?",
                    [.text(documentID)])
                try self.auditRow(db, app, event: printed ? "print" : "print_failed", actor: actor, detail: "\(product): \(detail)")
                if printed {
                    let paper = try Self.paper(db)
                    try Self.setPaper(db, loaded: paper.loaded, used: paper.used + sheets, at: self.nowMillis)
                }
                return app
            }
        }
        guard let app, let id = UUID(uuidString: app) else { throw .notFound(documentID) }
        if printed { _ = try self.applyLocalState(id, to: .printed, actor: actor) }
    }

    /// Whether another print of this document is allowed: the first print plus `reprintLimit` reprints.
    public func mayPrint(documentID: String, reprintLimit: Int) throws(StoreError) -> Bool {
        let count: Int = try self.run { db in
            try db.query("SELECT print_count FROM documents WHERE document_id = ?", [.text(documentID)]).first?.int(0) ?? -1
        }
        guard count >= 0 else { throw .notFound(documentID) }
        return count <= reprintLimit
    }

    /// Counts the kiosk's own step (printing) when the lifecycle allows it.
    func applyLocalState(_ id: UUID, to state: ApplicationState, actor: String) throws(StoreError) -> Bool {
        let current = try self.application(id.uuidString).state
        guard ApplicationLifecycle.canTransition(from: current, to: state) else { return false }
        try self.transition(id, to: state, actor: actor)
        return true
    }
}
