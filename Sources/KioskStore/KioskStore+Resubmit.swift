#if canImport(Glibc)
import Glibc
#endif
import Foundation
import KioskCore

extension KioskStore {
    // MARK: - Resubmission after a return for correction

    /// Resubmits an application the Dinas returned for correction, under the same id and tracking code, as the next
    /// revision: the form is replaced, the attachments of the `replacing` requirements are replaced by `attachments`
    /// (new seq numbers continue after the highest one the application ever had), the others are kept; the stored
    /// correction is cleared and the application goes back into the upload queue (`submitted`). The new files are
    /// spooled durably first, then everything (rows, queue, audit) commits in one `synchronous=FULL` transaction.
    ///
    /// - Parameters:
    ///   - form: the whole new form (not a patch), validated like `submit`'s.
    ///   - attachments: new documents; each one's requirement must be in `replacing`.
    ///   - requirements: requirement ids whose current documents are dropped (a listed id with no new attachment
    ///     just drops them).
    /// - Throws: `StoreError.notReturnedForCorrection` unless the application is `returned_for_correction`;
    ///   `.purged` once its protected data was purged; `.invalidResubmission` for an attachment whose requirement is
    ///   not in `replacing` or a result without attachments; the size, count, text and form errors of `submit`.
    public func resubmit(_ id: UUID, form: [String: String], protectedFields: Set<String>,
                         attachments: [NewAttachment], replacing requirements: Set<String>,
                         actor: String = "resident") throws(StoreError) -> SubmitReceipt {
        let key = id.uuidString.lowercased()
        let current = try self.application(key)
        guard current.state == .returnedForCorrection else {
            throw .notReturnedForCorrection(current.trackingCode.formatted, state: current.state)
        }
        guard current.purgedAt == nil else { throw .purged(current.trackingCode.formatted) }
        try FormRules.check(form, protected: protectedFields)
        for r in requirements.sorted() where SafeText.firstUnsafe(in: r) != nil || r.isEmpty || r.count > 100 {
            throw .unsafeText(field: "replacing")
        }
        for (i, a) in attachments.enumerated() {
            if SafeText.firstUnsafe(in: a.requirement) != nil { throw .unsafeText(field: "attachments[\(i)].requirement") }
            guard requirements.contains(a.requirement) else {
                throw .invalidResubmission("attachment \(i + 1) is for \(SafeText.visible(a.requirement)), which is not being replaced")
            }
        }
        let kept = current.attachments.filter { !requirements.contains($0.requirement) }
        let count = kept.count + attachments.count
        guard count > 0 || !form.isEmpty else { throw .noAttachments }
        guard count <= self.configuration.maxAttachments else {
            throw .tooManyAttachments(count: count, limit: self.configuration.maxAttachments)
        }
        // Open and measure every new file before writing a byte (as submit does).
        var sources: [SourceFile?] = []
        var declared = kept.reduce(0) { $0 + $1.size }
        for a in attachments {
            switch a.source {
            case .file(let path):
                let source = try Spool.openSource(path)
                guard source.size <= self.configuration.maxAttachmentBytes else {
                    throw .attachmentTooLarge(path: path, size: source.size, limit: self.configuration.maxAttachmentBytes)
                }
                declared += source.size
                sources.append(source)
            case .data(let data, _):
                guard !data.isEmpty else { throw .attachmentEmpty(path: a.requirement) }
                guard data.count <= self.configuration.maxAttachmentBytes else {
                    throw .attachmentTooLarge(path: a.requirement, size: data.count, limit: self.configuration.maxAttachmentBytes)
                }
                declared += data.count
                sources.append(nil)
            }
        }
        guard declared <= self.configuration.maxApplicationBytes else {
            throw .applicationTooLarge(size: declared, limit: self.configuration.maxApplicationBytes)
        }
        if let free = self.spool.freeBytes(), free - declared < self.configuration.minFreeBytes {
            throw .diskLow(free: free, threshold: self.configuration.minFreeBytes)
        }
        let firstSeq: Int = try self.run { db in
            (try db.query("SELECT coalesce(max(seq), 0) FROM attachments WHERE application_id = ?", [.text(key)])
                .first?.int(0) ?? 0) + 1
        }
        let superseded: [String] = try self.spoolLock.withShared { () throws(StoreError) -> [String] in
            // The marker lets the sweep prove that files a crash left before the commit are this writer's own.
            try self.spool.beginExistingFolder(key)
            defer { self.spool.endFolder(key) }
            var written: [SpooledFile] = []
            do {
                var total = kept.reduce(0) { $0 + $1.size }
                for (i, a) in attachments.enumerated() {
                    let seq = firstSeq + i
                    let file: SpooledFile
                    switch (a.source, sources[i]) {
                    case (.file(let path), let source?):
                        file = try self.spool.store(
                            copying: source, as: "\(key)/\(seq).\(KioskStore.safeExtension((path as NSString).pathExtension))",
                            maxBytes: self.configuration.maxAttachmentBytes)
                    case (.data(let data, let ext), _):
                        file = try self.spool.store(
                            data: data, as: "\(key)/\(seq).\(KioskStore.safeExtension(ext))",
                            maxBytes: self.configuration.maxAttachmentBytes, label: a.requirement, replace: false)
                    case (.file(let path), nil):
                        throw StoreError.attachmentMissing(path: path)
                    }
                    sources[i] = nil
                    written.append(file)
                    total += file.size
                    guard total <= self.configuration.maxApplicationBytes else {
                        throw StoreError.applicationTooLarge(size: total, limit: self.configuration.maxApplicationBytes)
                    }
                }
                return try self.recordResubmission(
                    id, expectedRevision: current.revision, form: form, protectedFields: protectedFields,
                    new: Array(zip(attachments, written)), firstSeq: firstSeq, replacing: requirements,
                    keptBytes: kept.reduce(0) { $0 + $1.size }, keptCount: kept.count, actor: actor)
            } catch {
                // Only the files this call created (link refuses an existing name).
                for f in written { self.spool.remove(f.relativePath) }
                if let e = error as? StoreError { throw e }
                throw .io("\(error)", EIO)
            }
        }
        // The rows are committed as superseded and purged: their files go now (the sweep removes any a crash left).
        for file in superseded { self.spool.remove(file) }
        return SubmitReceipt(id: id, trackingCode: current.trackingCode)
    }

    private func recordResubmission(
        _ id: UUID, expectedRevision: Int, form: [String: String], protectedFields: Set<String>,
        new: [(NewAttachment, SpooledFile)], firstSeq: Int, replacing: Set<String>, keptBytes: Int, keptCount: Int,
        actor: String
    ) throws(StoreError) -> [String] {
        let key = id.uuidString.lowercased()
        return try self.run { db in
            try db.transaction {
                // Re-checked inside the write lock: another writer may have resubmitted meanwhile.
                guard let row = try db.query("SELECT state, revision FROM applications WHERE id = ?", [.text(key)]).first
                else { throw StoreError.notFound(key) }
                let state = ApplicationState(rawValue: row.text(0)) ?? .quarantined
                guard state == .returnedForCorrection, row.int(1) == expectedRevision else {
                    throw StoreError.notReturnedForCorrection(key, state: state)
                }
                let revision = expectedRevision + 1
                let t = self.nowMillis
                let placeholders = Array(repeating: "?", count: replacing.count).joined(separator: ", ")
                var superseded: [String] = []
                if !replacing.isEmpty {
                    let args: [SQLValue] = [.text(key)] + replacing.sorted().map { SQLValue.text($0) }
                    superseded = try db.query(
                        "SELECT file FROM attachments WHERE application_id = ? AND superseded_in IS NULL AND requirement IN (\(placeholders))",
                        args).map { $0.text(0) }
                    try db.query(
                        "UPDATE attachments SET superseded_in = ?, purged_at = coalesce(purged_at, ?) WHERE application_id = ? AND superseded_in IS NULL AND requirement IN (\(placeholders))",
                        [SQLValue(revision), SQLValue(t)] + args)
                }
                for (i, (attachment, file)) in new.enumerated() {
                    try db.query(
                        "INSERT INTO attachments (application_id, seq, requirement, file, media_type, sha256, size) VALUES (?, ?, ?, ?, ?, ?, ?)",
                        [.text(key), SQLValue(firstSeq + i), .text(attachment.requirement), .text(file.relativePath),
                         .text(attachment.mediaType), .text(file.sha256), SQLValue(file.size)])
                }
                let total = keptBytes + new.reduce(0) { $0 + $1.1.size }
                try self.apply(db, id: id, to: .submitted, actor: actor, reason: nil)
                try db.query(
                    """
                    UPDATE applications SET form_json = ?, protected_fields_json = ?, revision = ?, correction_json = NULL,
                        attachment_count = ?, total_bytes = ?, delivered_at = NULL, updated_at = ? WHERE id = ?
                    """,
                    [.text(KioskStore.json(form, empty: "{}")), .text(KioskStore.json(protectedFields.sorted(), empty: "[]")),
                     SQLValue(revision), SQLValue(keptCount + new.count), SQLValue(total), SQLValue(t), .text(key)])
                try db.query("DELETE FROM upload_progress WHERE application_id = ?", [.text(key)])
                try db.query(
                    """
                    UPDATE upload_queue SET state = 'pending', attempts = 0, last_error = NULL, quarantine_reason = NULL,
                        enqueued_at = ?, next_attempt_at = ? WHERE application_id = ?
                    """, [SQLValue(t), SQLValue(t), .text(key)])
                guard db.changes == 1 else { throw StoreError.notFound("\(key) (queue entry)") }
                try self.audit(db, key, event: "resubmit", actor: actor,
                               detail: "revision \(revision): \(new.count) new attachments, \(superseded.count) replaced, \(keptCount) kept; requirements \(replacing.sorted().joined(separator: ","))",
                               at: t)
                return superseded
            }
        }
    }

    // MARK: - The Dinas's correction details

    /// Applies a state the Dinas reported, storing its correction details when the state is
    /// `returned_for_correction` (nil clears them). Returns false, changing nothing, when the lifecycle does not
    /// allow the change. The correction must come through `Correction.validated`.
    @discardableResult
    public func applyDinasState(_ id: UUID, _ state: ApplicationState, reason: String?, correction: Correction? = nil)
        throws(StoreError) -> Bool
    {
        let key = id.uuidString.lowercased()
        return try self.run { db in
            try db.transaction {
                let current = try self.currentState(db, id)
                guard current != state, ApplicationLifecycle.canTransition(from: current, to: state) else { return false }
                try self.apply(db, id: id, to: state, actor: "dinas", reason: reason)
                if state == .returnedForCorrection {
                    try db.query("UPDATE applications SET correction_json = ? WHERE id = ?",
                                 [SQLValue(correction.map { KioskStore.json($0, empty: "{}") }), .text(key)])
                    if let correction {
                        try self.audit(db, key, event: "correction", actor: "dinas",
                                       detail: "requirements \(correction.requirements.joined(separator: ",")); fields \(correction.fields.joined(separator: ","))")
                    }
                }
                return true
            }
        }
    }

    // MARK: - Complaint answers

    /// Stores the Dinas's answer to a complaint (control characters stripped, line breaks kept, cut at 1000
    /// characters). Returns false when no such complaint exists, the reference does not match its id, the answer is
    /// empty or it is the answer already stored.
    @discardableResult
    public func recordComplaintAnswer(id: String, reference: String?, answer: String, answeredAt: Date? = nil)
        throws(StoreError) -> Bool
    {
        let text = String(SafeText.strip(answer, allowNewlines: true).prefix(StoredComplaint.maxAnswer))
            .trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty, let uuid = UUID(uuidString: id) else { return false }
        let key = uuid.uuidString.lowercased()
        let at = answeredAt.map { Int(($0.timeIntervalSince1970 * 1000).rounded()) }
        return try self.run { db in
            try db.transaction {
                guard let row = try db.query("SELECT reference, answer FROM complaints WHERE id = ?", [.text(key)]).first
                else { return false }
                if let reference, reference.uppercased() != row.text(0).uppercased() { return false }
                if row.optionalText(1) == text { return false }
                let t = at.flatMap { (0...(self.nowMillis + 86_400_000)).contains($0) ? $0 : nil } ?? self.nowMillis
                try db.query("UPDATE complaints SET answer = ?, answered_at = ? WHERE id = ?", [.text(text), SQLValue(t), .text(key)])
                try self.audit(db, nil, event: "complaint_answer", actor: "dinas", detail: "\(row.text(0)) \(text.count) characters")
                return true
            }
        }
    }

    /// A complaint by the reference the resident was given (any case, surrounding spaces ignored).
    public func complaint(reference: String) throws(StoreError) -> StoredComplaint? {
        let ref = reference.trimmingCharacters(in: .whitespaces)
        guard !ref.isEmpty, ref.count <= 40, SafeText.firstUnsafe(in: ref) == nil else { return nil }
        return try self.run { db in
            try db.query("SELECT \(Self.complaintColumns) FROM complaints WHERE reference = ? COLLATE NOCASE", [.text(ref)])
                .first.map(Self.complaint(from:))
        }
    }

    static let complaintColumns = "id, reference, category, body, contact, language, created_at, sent_at, answer, answered_at"

    static func complaint(from r: Row) -> StoredComplaint {
        StoredComplaint(id: r.text(0), reference: r.text(1), category: r.text(2), body: r.text(3),
                        contact: r.optionalText(4), language: r.text(5),
                        createdAt: KioskStore.date(r.int(6)) ?? Date(timeIntervalSince1970: 0), sentAt: KioskStore.date(r.optionalInt(7)),
                        answer: r.optionalText(8), answeredAt: KioskStore.date(r.optionalInt(9)))
    }
}
