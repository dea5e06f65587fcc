import Foundation
import KioskCore

/// The staff PIN entry lockout as the store keeps it (one row for the whole kiosk).
public struct StaffEntryState: Hashable, Sendable {
    /// Wrong PINs in a row since the last success or lock.
    public var failures: Int
    /// Staff entry is refused until then.
    public var lockedUntil: Date?

    public init(failures: Int, lockedUntil: Date?) {
        self.failures = failures
        self.lockedUntil = lockedUntil
    }
}

/// What one PIN attempt came to, recorded with its audit row.
public enum StaffAttemptResult: Hashable, Sendable {
    case accepted
    case wrong(attemptsLeft: Int)
    case locked(until: Date)
}

extension KioskStore {
    // MARK: - PIN entry lockout (issue 17)

    public func staffEntryState() throws(StoreError) -> StaffEntryState {
        try self.run { db in try Self.entryState(db) }
    }

    private static func entryState(_ db: SQLiteConnection) throws -> StaffEntryState {
        guard let r = try db.query("SELECT failures, locked_until FROM staff_entry WHERE id = 1").first else {
            return StaffEntryState(failures: 0, lockedUntil: nil)
        }
        return StaffEntryState(failures: r.int(0), lockedUntil: KioskStore.date(r.optionalInt(1)))
    }

    /// The time staff entry stays locked, or nil when a PIN may be tried now.
    public func staffLockedUntil() throws(StoreError) -> Date? {
        let state = try self.staffEntryState()
        guard let until = state.lockedUntil, until.timeIntervalSince1970 * 1000 > Double(self.nowMillis) else { return nil }
        return until
    }

    /// Records a PIN attempt and its audit row in one transaction: a right PIN (`staffID`) resets the count; the
    /// `maxAttempts`-th wrong one in a row locks entry for `lockoutSeconds`. An attempt while locked (another one
    /// may have locked it meanwhile) counts nothing and answers `.locked`. The PIN itself is never recorded.
    public func recordStaffAttempt(staffID: String?, actor: String, maxAttempts: Int = StaffEntry.maxAttempts,
                                   lockoutSeconds: Int = StaffEntry.lockoutSeconds) throws(StoreError) -> StaffAttemptResult
    {
        try self.run { db in
            try db.transaction { () throws -> StaffAttemptResult in
                let t = self.nowMillis
                let state = try Self.entryState(db)
                if let until = state.lockedUntil, until.timeIntervalSince1970 * 1000 > Double(t) {
                    try self.auditRow(db, nil, event: "staff_unlock_refused", actor: actor,
                                      detail: "locked until \(Int(until.timeIntervalSince1970))")
                    return .locked(until: until)
                }
                let result: StaffAttemptResult
                let failures: Int
                var lockedUntil: Int?
                if let staffID {
                    failures = 0
                    result = .accepted
                    try self.auditRow(db, nil, event: "staff_unlock", actor: actor, detail: "staff \(staffID)")
                } else if state.failures + 1 >= maxAttempts {
                    failures = 0
                    lockedUntil = t + lockoutSeconds * 1000
                    result = .locked(until: Date(timeIntervalSince1970: Double(t + lockoutSeconds * 1000) / 1000))
                    try self.auditRow(db, nil, event: "staff_unlock_failed", actor: actor,
                                      detail: "wrong PIN \(maxAttempts) times: staff entry locked \(lockoutSeconds / 60) minutes")
                } else {
                    failures = state.failures + 1
                    result = .wrong(attemptsLeft: maxAttempts - failures)
                    try self.auditRow(db, nil, event: "staff_unlock_failed", actor: actor,
                                      detail: "wrong PIN (\(failures) of \(maxAttempts))")
                }
                try db.query(
                    """
                    INSERT INTO staff_entry (id, failures, locked_until, updated_at) VALUES (1, ?, ?, ?)
                    ON CONFLICT(id) DO UPDATE SET failures = excluded.failures, locked_until = excluded.locked_until,
                        updated_at = excluded.updated_at
                    """, [SQLValue(failures), SQLValue(lockedUntil), SQLValue(t)])
                return result
            }
        }
    }

    // MARK: - "Panggil petugas" calls

    /// Records a call from `screen` unless one not yet seen was recorded within `repeatSeconds` (the same call);
    /// true when recorded. Audited either way.
    public func recordStaffCall(screen: String, actor: String, repeatSeconds: Double = StaffEntry.callRepeatSeconds)
        throws(StoreError) -> Bool
    {
        guard SafeText.firstUnsafe(in: screen) == nil else { throw .unsafeText(field: "screen") }
        return try self.run { db in
            try db.transaction { () throws -> Bool in
                let t = self.nowMillis
                let since = t - Int(repeatSeconds * 1000)
                let open = try db.query("SELECT 1 FROM staff_calls WHERE seen_at IS NULL AND at > ? LIMIT 1", [SQLValue(since)])
                guard open.isEmpty else {
                    try self.auditRow(db, nil, event: "staff_call_repeat", actor: actor, detail: "screen \(screen)")
                    return false
                }
                try db.query("INSERT INTO staff_calls (at, screen) VALUES (?, ?)", [SQLValue(t), .text(screen)])
                try self.auditRow(db, nil, event: "staff_call", actor: actor, detail: "screen \(screen)")
                return true
            }
        }
    }

    /// Calls made since `since` (oldest first); `markSeen` marks them seen by staff.
    public func staffCalls(since: Date, markSeen: Bool) throws(StoreError) -> [StaffCallRow] {
        let from = Int((since.timeIntervalSince1970 * 1000).rounded(.down))
        return try self.run { db in
            try db.transaction { () throws -> [StaffCallRow] in
                let rows = try db.query("SELECT at, screen FROM staff_calls WHERE at >= ? ORDER BY seq", [SQLValue(from)]).map {
                    StaffCallRow(at: Date(timeIntervalSince1970: Double($0.int(0)) / 1000), screen: $0.text(1))
                }
                if markSeen {
                    try db.query("UPDATE staff_calls SET seen_at = ? WHERE at >= ? AND seen_at IS NULL",
                                 [SQLValue(self.nowMillis), SQLValue(from)])
                }
                return rows
            }
        }
    }

    /// Calls since `since` that staff have not listed yet.
    public func openStaffCalls(since: Date) throws(StoreError) -> Int {
        let from = Int((since.timeIntervalSince1970 * 1000).rounded(.down))
        return try self.run { db in
            try db.query("SELECT count(*) FROM staff_calls WHERE at >= ? AND seen_at IS NULL", [SQLValue(from)]).first?.int(0) ?? 0
        }
    }

    // MARK: - Staff lists

    /// Applications submitted since `since`, newest first (NIK masked; the assisting staff id when there is one).
    public func staffApplications(submittedSince since: Date) throws(StoreError) -> [StaffApplicationRow] {
        let from = Int((since.timeIntervalSince1970 * 1000).rounded(.down))
        return try self.staffRows(where: "a.submitted_at >= ?", [SQLValue(from)])
    }

    /// Quarantined applications with the reason, oldest first.
    public func staffQuarantined() throws(StoreError) -> [StaffApplicationRow] {
        try self.staffRows(where: "q.state = 'quarantined'", [], ascending: true)
    }

    private func staffRows(where clause: String, _ args: [SQLValue], ascending: Bool = false) throws(StoreError) -> [StaffApplicationRow] {
        try self.run { db in
            try db.query(
                """
                SELECT a.id, a.tracking_code, a.service, a.state, a.applicant_nik_masked, a.submitted_at, a.created_at,
                    coalesce(q.quarantine_reason, a.state_reason), a.assisted_by
                FROM applications a LEFT JOIN upload_queue q ON q.application_id = a.id
                WHERE \(clause) ORDER BY coalesce(a.submitted_at, a.created_at) \(ascending ? "ASC" : "DESC") LIMIT 500
                """, args
            ).compactMap { r -> StaffApplicationRow? in
                guard let id = UUID(uuidString: r.text(0)), let code = try? TrackingCode(r.text(1)) else { return nil }
                let state = ApplicationState(rawValue: r.text(3)) ?? .quarantined
                return StaffApplicationRow(
                    id: id, trackingCode: code.formatted, service: r.text(2), state: state, nikMasked: r.text(4),
                    submittedAt: Date(timeIntervalSince1970: Double(r.optionalInt(5) ?? r.int(6)) / 1000),
                    reason: state == .quarantined || state == .returnedForCorrection || state == .rejected ? r.optionalText(7) : nil,
                    assistedBy: r.optionalText(8))
            }
        }
    }

    /// Complaints filed since `since`, newest first.
    public func complaints(filedSince since: Date) throws(StoreError) -> [StoredComplaint] {
        let from = Int((since.timeIntervalSince1970 * 1000).rounded(.down))
        return try self.run { db in
            try db.query("SELECT \(Self.complaintColumns) FROM complaints WHERE created_at >= ? ORDER BY created_at DESC LIMIT 500",
                         [SQLValue(from)]).map(Self.complaint(from:))
        }
    }
}
