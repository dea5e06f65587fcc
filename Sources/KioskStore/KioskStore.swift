#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import Foundation
import KioskCore

/// The kiosk's durable local store: one SQLite database in WAL mode plus an attachment spool in a data
/// directory. Every state change that a resident is told about commits with `synchronous=FULL` first.
///
/// Thread-safe: all database work runs on one private serial queue.
public final class KioskStore: @unchecked Sendable {
    // @unchecked: `db` is only touched inside `queue.sync`, which serialises every access.
    private let db: SQLiteConnection
    private let queue = DispatchQueue(label: "kiosk.store")
    let spool: Spool
    let documentSpool: Spool
    /// Held shared by writers between their first spool file and their commit, exclusively by the sweep.
    let spoolLock: SpoolLock
    public let directory: String
    public let configuration: StoreConfiguration
    private let now: @Sendable () -> Date

    /// Opens (creating, migrating and sweeping) the store in `directory` (created 0700 if needed).
    ///
    /// - Throws: `StoreError.databaseMissingForSpool` when the database is new (deleted, truncated or replaced by an
    ///   empty file) while the spool still holds files: nothing is migrated, swept or deleted.
    public static func open(
        directory: String, configuration: StoreConfiguration = StoreConfiguration(),
        now: @escaping @Sendable () -> Date = { Date() }
    ) throws(StoreError) -> (KioskStore, OpenReport) {
        try Spool.makeDirectory(directory)
        let path = "\(directory)/kiosk.sqlite3"
        // Create the database file 0600 first: SQLite gives its -wal and -shm files the same mode.
        let fd = Glibc.open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .io("open \(path)", errno) }
        _ = fchmod(fd, 0o600)
        close(fd)
        let db: SQLiteConnection
        do {
            db = try SQLiteConnection(path: path)
        } catch {
            throw .sqlite(error)
        }
        try KioskStore.retryingBusy { () throws(StoreError) in
            do {
                let mode = try db.query("PRAGMA journal_mode=WAL").first?.text(0)
                guard mode == "wal" else { throw SQLiteError(code: 1, message: "journal_mode is \(mode ?? "?")", sql: nil) }
                try db.execute("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;")
            } catch let e as SQLiteError {
                throw .sqlite(e)
            } catch {
                throw .io("open database", EIO)
            }
        }
        let store = KioskStore(db: db, spool: try Spool(root: "\(directory)/attachments"),
                               documentSpool: try Spool(root: "\(directory)/documents"), directory: directory,
                               configuration: configuration, now: now)
        let migrated = try store.migrate()
        var report = try store.sweep()
        report.migrated = migrated
        report.schemaVersion = Migrations.latest
        return (store, report)
    }

    private init(db: SQLiteConnection, spool: Spool, documentSpool: Spool, directory: String,
                 configuration: StoreConfiguration, now: @escaping @Sendable () -> Date) {
        self.db = db
        self.spool = spool
        self.documentSpool = documentSpool
        self.spoolLock = SpoolLock(path: "\(directory)/spool.lock")
        self.directory = directory
        self.configuration = configuration
        self.now = now
    }

    /// For extensions in this module: run on the store's queue.
    @discardableResult
    func run<T>(_ body: (SQLiteConnection) throws -> T) throws(StoreError) -> T { try self.sync(body) }

    var nowMillis: Int { self.millis }

    /// Takes the database's write lock and lets it go at once (`BEGIN IMMEDIATE; ROLLBACK`), writing nothing: the
    /// health check of a long-running owner. Returns when the store could take it (after waiting out other
    /// writers for up to the busy budget), so a probe that does not return in time means a wedged store.
    public func probeWritable() throws(StoreError) {
        try self.sync { db in
            try db.execute("BEGIN IMMEDIATE")
            try db.execute("ROLLBACK")
        }
    }

    func auditRow(_ db: SQLiteConnection, _ id: String?, event: String, actor: String, detail: String?) throws {
        try self.audit(db, id, event: event, actor: actor, detail: detail)
    }

    /// Runs `body` on the store's queue, mapping SQLite failures. When another process holds the database
    /// (SQLITE_BUSY after the connection's busy timeout), the whole unit of work is run again after a pause,
    /// up to `busyBudget`; only then does the caller see `StoreError.busy`.
    @discardableResult
    private func sync<T>(_ body: (SQLiteConnection) throws -> T) throws(StoreError) -> T {
        try KioskStore.retryingBusy { () throws(StoreError) -> T in
            let result: Result<T, StoreError> = self.queue.sync {
                do {
                    return .success(try body(self.db))
                } catch let e as StoreError {
                    return .failure(e)
                } catch let e as SQLiteError {
                    return .failure(e.isFull ? .diskFull : .sqlite(e))
                } catch let e as LifecycleError {
                    return .failure(.lifecycle(e))
                } catch {
                    return .failure(.io("\(error)", EIO))
                }
            }
            return try result.get()
        }
    }

    /// How long a unit of work keeps retrying while other writers hold the database.
    static let busyBudget: Double = 30

    /// Runs `body` again (with a growing, jittered pause outside the store's queue) while it fails with a busy
    /// SQLite error, for at most `busyBudget` seconds; then throws `.busy`, never the raw SQLite message.
    static func retryingBusy<T>(_ body: () throws(StoreError) -> T) throws(StoreError) -> T {
        let start = DispatchTime.now().uptimeNanoseconds
        var pause: UInt32 = 2_000
        while true {
            do {
                return try body()
            } catch .sqlite(let e) where e.isBusy {
                let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                guard elapsed < KioskStore.busyBudget else { throw .busy }
                usleep(pause + UInt32.random(in: 0...pause))
                pause = min(pause * 2, 200_000)
            }
        }
    }

    private var millis: Int { Int((self.now().timeIntervalSince1970 * 1000).rounded()) }

    // MARK: - Schema

    /// Runs each missing migration in its own `BEGIN IMMEDIATE` transaction, re-reading `user_version` inside it
    /// (another process may have migrated meanwhile). A new database (version 0) next to a non-empty spool is
    /// refused before anything is created.
    private func migrate() throws(StoreError) -> [Int] {
        let current = try self.sync { db in try db.query("PRAGMA user_version").first?.int(0) ?? 0 }
        guard current <= Migrations.latest else {
            throw StoreError.schemaTooNew(found: current, supported: Migrations.latest)
        }
        guard current < Migrations.latest else { return [] }
        var applied: [Int] = []
        for migration in Migrations.all where migration.version > current {
            let ran: Bool = try self.sync { db in
                try db.transaction {
                    let version = try db.query("PRAGMA user_version").first?.int(0) ?? 0
                    if version == 0 {
                        let tables = try db.query("SELECT count(*) FROM sqlite_master").first?.int(0) ?? 0
                        let entries = self.spool.entryCount() + self.documentSpool.entryCount()
                        if tables == 0 && entries > 0 {
                            throw StoreError.databaseMissingForSpool(directory: self.directory, entries: entries)
                        }
                    }
                    guard version < migration.version else { return false }
                    try db.execute(migration.sql)
                    try db.execute("PRAGMA user_version = \(migration.version)")
                    return true
                }
            }
            if ran { applied.append(migration.version) }
        }
        return applied
    }

    /// The newest schema this build knows (and migrates to).
    public static var latestSchemaVersion: Int { Migrations.latest }

    public var schemaVersion: Int {
        (try? self.sync { db in try db.query("PRAGMA user_version").first?.int(0) ?? 0 }) ?? 0
    }

    /// Cleans the spools under the exclusive spool lock (so no writer is between its first file and its commit):
    /// the store's own leftovers are removed (partial `.part` files, files of purged rows, files of a submission
    /// that crashed before its commit, proven by its `.intent` marker); any other file no row references is moved
    /// to `DATA/quarantine/<time>/…`, never unlinked. Live rows whose files are missing are reported. If writers
    /// keep the lock, the sweep is skipped (a later open does it).
    private func sweep() throws(StoreError) -> OpenReport {
        do {
            return try self.sweepUnderLock()
        } catch .io(let what, let code) {
            // Housekeeping must not take the kiosk down: the files stay where they are for the next open.
            return OpenReport(schemaVersion: 0, migrated: [], orphansRemoved: [], missingFiles: [], sweepSkipped: true,
                              sweepError: StoreError.io(what, code).description)
        }
    }

    private func sweepUnderLock() throws(StoreError) -> OpenReport {
        let done = try self.spoolLock.withExclusive { () throws(StoreError) -> OpenReport in
            let (live, purged, apps, liveDocuments) = try self.sync { db in
                (Set(try db.query("SELECT file FROM attachments WHERE purged_at IS NULL").map { $0.text(0) }),
                 Set(try db.query("SELECT file FROM attachments WHERE purged_at IS NOT NULL").map { $0.text(0) }),
                 Set(try db.query("SELECT id FROM applications").map { $0.text(0) }),
                 Set(try db.query("SELECT file FROM documents").map { $0.text(0) }))
            }
            let stamp = KioskStore.quarantineStamp(self.now())
            let quarantine = "\(self.directory)/quarantine/\(stamp)"
            var report = try KioskStore.sweep(self.spool, live: live, purged: purged, applications: apps,
                                              quarantine: quarantine + "/attachments")
            let documentReport = try KioskStore.sweep(self.documentSpool, live: liveDocuments, purged: [],
                                                      applications: [], quarantine: quarantine + "/documents")
            report.orphansRemoved += documentReport.orphansRemoved.map { "documents/\($0)" }
            report.quarantined += documentReport.quarantined.map { "documents/\($0)" }
            report.missingFiles += documentReport.missingFiles.map { "documents/\($0)" }
            if !report.quarantined.isEmpty { report.quarantineDirectory = quarantine }
            return report
        }
        return done ?? OpenReport(schemaVersion: 0, migrated: [], orphansRemoved: [], missingFiles: [], sweepSkipped: true)
    }

    static func quarantineStamp(_ date: Date) -> String {
        let t = Int(date.timeIntervalSince1970)
        var tmv = tm()
        var tt = time_t(t)
        gmtime_r(&tt, &tmv)
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(tmv.tm_year + 1900)\(two(tmv.tm_mon + 1))\(two(tmv.tm_mday))T\(two(tmv.tm_hour))\(two(tmv.tm_min))\(two(tmv.tm_sec))Z-\(getpid())-"
            + String(UInt32.random(in: 0...UInt32.max), radix: 16)
    }

    /// One spool's sweep; the caller holds the exclusive spool lock.
    private static func sweep(_ spool: Spool, live: Set<String>, purged: Set<String>, applications: Set<String>,
                              quarantine: String) throws(StoreError) -> OpenReport {
        var removed: [String] = []
        var moved: [String] = []
        var intents = Set<String>()
        for name in spool.tempNames() {
            if name.hasSuffix(".part") {
                unlink("\(spool.tmp)/\(name)")
                removed.append(".tmp/\(name)")
            } else if name.hasSuffix(".intent") {
                intents.insert(String(name.dropLast(".intent".count)))
            } else if try spool.quarantine(".tmp/\(name)", to: quarantine) {
                moved.append(".tmp/\(name)")
            }
        }
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: spool.root)) ?? [] where entry != ".tmp" {
            var st = stat()
            guard lstat("\(spool.root)/\(entry)", &st) == 0 else { continue }
            guard st.st_mode & S_IFMT == S_IFDIR else {
                if try spool.quarantine(entry, to: quarantine) { moved.append(entry) }
                continue
            }
            // A writer that crashed before its commit left its marker: a submission (no application row) or a
            // resubmission (a row); the files no row references are its own.
            let crashed = intents.contains(entry)
            for name in (try? FileManager.default.contentsOfDirectory(atPath: "\(spool.root)/\(entry)")) ?? [] {
                let file = "\(entry)/\(name)"
                if live.contains(file) { continue }
                var fst = stat()
                let regular = lstat("\(spool.root)/\(file)", &fst) == 0 && fst.st_mode & S_IFMT == S_IFREG
                if regular && (purged.contains(file) || crashed) {
                    spool.remove(file)
                    removed.append(file)
                } else if try spool.quarantine(file, to: quarantine) {
                    moved.append(file)
                }
            }
            if rmdir("\(spool.root)/\(entry)") != 0 && errno != ENOTEMPTY && errno != EEXIST && errno != ENOENT {
                throw .io("rmdir \(spool.root)/\(entry)", errno)
            }
        }
        for folder in intents { spool.endFolder(folder) }
        if !removed.isEmpty || !moved.isEmpty { Spool.syncDirectory(spool.root) }
        let present = Set(spool.allFiles())
        let missing = live.filter { !present.contains($0) }.sorted()
        return OpenReport(schemaVersion: 0, migrated: [], orphansRemoved: removed.sorted(), missingFiles: missing,
                          quarantined: moved.sorted())
    }

    // MARK: - Submit

    /// Spools every attachment durably, then records the application, its attachments, its queue entry and its
    /// audit trail in one `synchronous=FULL` transaction. Either all of it exists afterwards or none of it.
    ///
    /// Attachments must be regular files (opened with `O_NOFOLLOW`; no folders, pipes, devices, sockets or
    /// /proc files), not empty, at most `maxAttachments` of them; resident text must hold no unsafe characters.
    public func submit(_ app: NewApplication, actor: String = "resident") throws(StoreError) -> SubmitReceipt {
        // A form-only application (e.g. a data check) carries its answers instead of documents.
        guard !app.attachments.isEmpty || !app.form.isEmpty else { throw .noAttachments }
        guard app.attachments.count <= self.configuration.maxAttachments else {
            throw .tooManyAttachments(count: app.attachments.count, limit: self.configuration.maxAttachments)
        }
        try KioskStore.checkText(app)
        // Every file is opened and checked (and sizes summed, disk guarded) before any byte is written; the
        // descriptors stay open until copied, so the file checked is the file copied.
        var sources: [SourceFile?] = []
        var declared = 0
        for attachment in app.attachments {
            switch attachment.source {
            case .file(let path):
                let source = try Spool.openSource(path)
                guard source.size <= self.configuration.maxAttachmentBytes else {
                    throw .attachmentTooLarge(path: path, size: source.size, limit: self.configuration.maxAttachmentBytes)
                }
                declared += source.size
                sources.append(source)
            case .data(let data, _):
                guard !data.isEmpty else { throw .attachmentEmpty(path: attachment.requirement) }
                guard data.count <= self.configuration.maxAttachmentBytes else {
                    throw .attachmentTooLarge(path: attachment.requirement, size: data.count,
                                              limit: self.configuration.maxAttachmentBytes)
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

        let folder = app.id.uuidString.lowercased()
        return try self.spoolLock.withShared { () throws(StoreError) -> SubmitReceipt in
            do throws(StoreError) {
                try self.spool.beginFolder(folder)
            } catch .alreadySubmitted(let id) {
                // A marker left by a writer that crashed before its commit (and no row): nothing was acknowledged,
                // so its leftovers go and this submission takes its place. A live writer or a row keeps the refusal.
                let hasRow = try self.sync { db in
                    !(try db.query("SELECT 1 FROM applications WHERE id = ?", [.text(folder)]).isEmpty)
                }
                guard !hasRow, self.spool.markerOwnerIsDead(folder) else { throw StoreError.alreadySubmitted(id) }
                self.spool.removeApplicationFolder(folder)
                self.spool.endFolder(folder)
                try self.spool.beginFolder(folder)
            }
            defer { self.spool.endFolder(folder) }
            do {
                let exists = try self.sync { db in
                    !(try db.query("SELECT 1 FROM applications WHERE id = ?", [.text(folder)]).isEmpty)
                }
                if exists { throw StoreError.alreadySubmitted(folder) }
                var spooled: [(NewAttachment, SpooledFile)] = []
                var total = 0
                for (seq, attachment) in app.attachments.enumerated() {
                    let ext: String
                    let file: SpooledFile
                    switch (attachment.source, sources[seq]) {
                    case (.file(let path), let source?):
                        ext = KioskStore.safeExtension((path as NSString).pathExtension)
                        file = try self.spool.store(
                            copying: source, as: "\(folder)/\(seq + 1).\(ext)", maxBytes: self.configuration.maxAttachmentBytes)
                    case (.data(let data, let fileExtension), _):
                        ext = KioskStore.safeExtension(fileExtension)
                        file = try self.spool.store(
                            data: data, as: "\(folder)/\(seq + 1).\(ext)", maxBytes: self.configuration.maxAttachmentBytes,
                            label: attachment.requirement, replace: false)
                    case (.file(let path), nil):
                        throw StoreError.attachmentMissing(path: path)
                    }
                    sources[seq] = nil
                    total += file.size
                    // A file that grew while being copied is re-checked against the application cap.
                    guard total <= self.configuration.maxApplicationBytes else {
                        throw StoreError.applicationTooLarge(size: total, limit: self.configuration.maxApplicationBytes)
                    }
                    spooled.append((attachment, file))
                }
                return try self.record(app, files: spooled, total: total, actor: actor)
            } catch let error as StoreError {
                // The folder was created by this submission (beginFolder refuses an existing one).
                self.spool.removeApplicationFolder(folder)
                throw error
            } catch {
                self.spool.removeApplicationFolder(folder)
                throw .io("\(error)", EIO)
            }
        }
    }

    /// Resident-supplied text stored with an application must hold no C0/C1 controls, DEL, bidi overrides or
    /// zero-width characters (`SafeText`). The callers validate facts against the service (`Service.checkFacts`);
    /// this is the store's own last line.
    static func checkText(_ app: NewApplication) throws(StoreError) {
        func check(_ text: String, _ field: String) throws(StoreError) {
            if SafeText.firstUnsafe(in: text) != nil { throw .unsafeText(field: field) }
        }
        try check(app.service, "service")
        try check(app.profile, "profile")
        if let staff = app.assistedBy { try check(staff, "assisted_by") }
        if let contact = app.contact { try check(contact, "contact") }
        for (key, value) in app.facts.sorted(by: { $0.key < $1.key }) {
            try check(key, "facts")
            if case .string(let s) = value { try check(s, "facts.\(key)") }
        }
        for (i, a) in app.attachments.enumerated() {
            try check(a.requirement, "attachments[\(i)].requirement")
        }
        try FormRules.check(app.form, protected: app.protectedFields)
        if app.notify != nil, (app.contact ?? "").trimmingCharacters(in: .whitespaces).isEmpty {
            throw .notifyWithoutContact
        }
    }

    static func json(_ value: some Encodable, empty: String) -> String {
        (try? KioskJSON.encoder().encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? empty
    }

    static func safeExtension(_ ext: String) -> String {
        let clean = ext.lowercased().filter { $0.isASCII && ($0.isLetter || $0.isNumber) }
        return clean.isEmpty || clean.count > 5 ? "bin" : clean
    }

    private func record(_ app: NewApplication, files: [(NewAttachment, SpooledFile)], total: Int, actor: String)
        throws(StoreError) -> SubmitReceipt
    {
        let factsJSON = (try? KioskJSON.encoder().encode(app.facts)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<8 {
            let code = TrackingCode(using: &generator)
            do {
                try self.sync { db in
                    try db.transaction {
                        let t = self.millis
                        let id = app.id.uuidString.lowercased()
                        try db.query(
                            """
                            INSERT INTO applications (id, tracking_code, service, profile, applicant_nik,
                                applicant_nik_masked, event_date, contact, facts_json, state, attachment_count,
                                total_bytes, created_at, updated_at, submitted_at, form_json, protected_fields_json, notify,
                                assisted_by)
                            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'submitted', ?, ?, ?, ?, ?, ?, ?, ?, ?)
                            """,
                            [.text(id), .text(code.raw), .text(app.service), .text(app.profile),
                             .text(app.applicant.digits), .text(app.applicant.masked), .text(app.eventDate.description),
                             SQLValue(app.contact), .text(factsJSON), SQLValue(files.count), SQLValue(total),
                             SQLValue(t), SQLValue(t), SQLValue(t), .text(KioskStore.json(app.form, empty: "{}")),
                             .text(KioskStore.json(app.protectedFields.sorted(), empty: "[]")),
                             SQLValue(app.notify?.rawValue), SQLValue(app.assistedBy)])
                        for (seq, (attachment, file)) in files.enumerated() {
                            try db.query(
                                """
                                INSERT INTO attachments (application_id, seq, requirement, file, media_type, sha256, size)
                                VALUES (?, ?, ?, ?, ?, ?, ?)
                                """,
                                [.text(id), SQLValue(seq + 1), .text(attachment.requirement), .text(file.relativePath),
                                 .text(attachment.mediaType), .text(file.sha256), SQLValue(file.size)])
                        }
                        try db.query(
                            "INSERT INTO upload_queue (application_id, state, enqueued_at, next_attempt_at) VALUES (?, 'pending', ?, ?)",
                            [.text(id), SQLValue(t), SQLValue(t)])
                        try self.audit(db, id, event: "transition", from: .draft, to: .submitted, actor: actor,
                                       detail: "\(files.count) attachments, \(total) bytes", at: t)
                        if let consent = app.consent {
                            try self.audit(db, id, event: "consent", actor: actor, detail: consent, at: t)
                        }
                        if let staff = app.assistedBy {
                            try self.audit(db, id, event: "assisted", actor: actor, detail: "assisted by \(staff)", at: t)
                        }
                    }
                }
                return SubmitReceipt(id: app.id, trackingCode: code)
            } catch StoreError.sqlite(let e) where e.isConstraintViolation && e.message.contains("tracking_code") {
                continue  // a tracking-code collision: draw another
            }
        }
        throw .io("tracking code space exhausted", EAGAIN)
    }

    func audit(_ db: SQLiteConnection, _ id: String?, event: String, from: ApplicationState? = nil,
                       to: ApplicationState? = nil, actor: String, detail: String? = nil, at: Int? = nil) throws {
        try db.query(
            "INSERT INTO audit_log (at, application_id, event, from_state, to_state, actor, detail) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [SQLValue(at ?? self.millis), SQLValue(id), .text(event), SQLValue(from?.rawValue), SQLValue(to?.rawValue),
             .text(actor), SQLValue(detail)])
    }

    // MARK: - Lookup

    /// Finds an application by UUID or by tracking code (any case, dashes optional).
    public func application(_ idOrCode: String) throws(StoreError) -> StoredApplication {
        let trimmed = idOrCode.trimmingCharacters(in: .whitespaces)
        if let uuid = UUID(uuidString: trimmed) {
            guard let app = try self.load(where: "id = ?", .text(uuid.uuidString.lowercased())) else {
                throw .notFound(trimmed)
            }
            return app
        }
        let code: TrackingCode
        do {
            code = try TrackingCode(trimmed)
        } catch {
            throw .invalidTrackingCode(error)
        }
        guard let app = try self.load(where: "tracking_code = ?", .text(code.raw)) else { throw .notFound(code.formatted) }
        return app
    }

    private static let applicationColumns = """
        id, tracking_code, service, profile, applicant_nik_masked, event_date, contact, state, state_reason,
        created_at, updated_at, submitted_at, delivered_at, purged_at, attachment_count, total_bytes,
        form_json, protected_fields_json, notify, revision, correction_json, assisted_by
        """

    private func load(where clause: String, _ arg: SQLValue) throws(StoreError) -> StoredApplication? {
        try self.sync { db in
            guard let r = try db.query("SELECT \(KioskStore.applicationColumns) FROM applications WHERE \(clause)", [arg]).first
            else { return nil }
            let attachments = try db.query(
                "SELECT seq, requirement, file, media_type, sha256, size, purged_at FROM attachments WHERE application_id = ? AND superseded_in IS NULL ORDER BY seq",
                [.text(r.text(0))]
            ).map {
                StoredAttachment(seq: $0.int(0), requirement: $0.text(1), file: $0.text(2), mediaType: $0.text(3),
                                 sha256: $0.text(4), size: $0.int(5), purged: $0.optionalInt(6) != nil)
            }
            return KioskStore.application(from: r, attachments: attachments)
        }
    }

    static func date(_ ms: Int?) -> Date? { ms.map { Date(timeIntervalSince1970: Double($0) / 1000) } }

    private static func application(from r: Row, attachments: [StoredAttachment]) -> StoredApplication {
        StoredApplication(
            id: UUID(uuidString: r.text(0))!, trackingCode: try! TrackingCode(r.text(1)), service: r.text(2),
            profile: r.text(3), applicantNIKMasked: r.text(4), eventDate: CivilDate(iso: r.text(5))!,
            contact: r.optionalText(6), state: ApplicationState(rawValue: r.text(7)) ?? .quarantined,
            stateReason: r.optionalText(8), createdAt: date(r.int(9))!, updatedAt: date(r.int(10))!,
            submittedAt: date(r.optionalInt(11)), deliveredAt: date(r.optionalInt(12)), purgedAt: date(r.optionalInt(13)),
            attachmentCount: r.int(14), totalBytes: r.int(15), attachments: attachments,
            formMasked: FormRules.masked(KioskStore.form(r.text(16)), protected: KioskStore.protectedFields(r.text(17))),
            notify: r.optionalText(18).flatMap(NotifyChannel.init(rawValue:)), revision: r.int(19),
            correction: r.optionalText(20).flatMap { try? KioskJSON.decode(Correction.self, from: Data($0.utf8)) },
            assistedBy: r.optionalText(21))
    }

    static func form(_ json: String) -> [String: String] {
        (try? KioskJSON.decode([String: String].self, from: Data(json.utf8))) ?? [:]
    }

    static func protectedFields(_ json: String) -> Set<String> {
        Set((try? KioskJSON.decode([String].self, from: Data(json.utf8))) ?? [])
    }

    /// The full NIK, for the Dinas upload only; nil after purge.
    public func applicantNIK(of id: UUID) throws(StoreError) -> String? {
        try self.sync { db in
            try db.query("SELECT applicant_nik FROM applications WHERE id = ?", [.text(id.uuidString.lowercased())])
                .first?.optionalText(0)
        }
    }

    /// The absolute path of a spooled attachment.
    public func path(of attachment: StoredAttachment) -> String { "\(self.spool.root)/\(attachment.file)" }

    /// The audit trail of one application, oldest first.
    public func history(_ id: UUID) throws(StoreError) -> [AuditEntry] {
        try self.sync { db in
            try db.query(
                "SELECT seq, at, event, from_state, to_state, actor, detail FROM audit_log WHERE application_id = ? ORDER BY seq",
                [.text(id.uuidString.lowercased())]
            ).map {
                AuditEntry(seq: $0.int(0), at: KioskStore.date($0.int(1))!, event: $0.text(2),
                           from: $0.optionalText(3).flatMap(ApplicationState.init(rawValue:)),
                           to: $0.optionalText(4).flatMap(ApplicationState.init(rawValue:)),
                           actor: $0.text(5), detail: $0.optionalText(6))
            }
        }
    }

    /// The kiosk-wide audit entries (no application: complaint slips, registry checks, ...), newest first.
    public func kioskAudit(limit: Int = 100) throws(StoreError) -> [AuditEntry] {
        try self.sync { db in
            try db.query(
                "SELECT seq, at, event, from_state, to_state, actor, detail FROM audit_log WHERE application_id IS NULL ORDER BY seq DESC LIMIT ?",
                [SQLValue(min(max(limit, 1), 1000))]
            ).map {
                AuditEntry(seq: $0.int(0), at: KioskStore.date($0.int(1))!, event: $0.text(2),
                           from: $0.optionalText(3).flatMap(ApplicationState.init(rawValue:)),
                           to: $0.optionalText(4).flatMap(ApplicationState.init(rawValue:)),
                           actor: $0.text(5), detail: $0.optionalText(6))
            }
        }
    }

    // MARK: - Transitions

    /// Moves an application to `state` if the lifecycle allows it, recording the change in the audit log.
    public func transition(_ id: UUID, to state: ApplicationState, actor: String, reason: String? = nil)
        throws(StoreError)
    {
        try self.sync { db in
            try db.transaction { try self.apply(db, id: id, to: state, actor: actor, reason: reason) }
        }
    }

    @discardableResult
    func apply(_ db: SQLiteConnection, id: UUID, to state: ApplicationState, actor: String, reason: String?)
        throws -> ApplicationState
    {
        let key = id.uuidString.lowercased()
        guard let current = try db.query("SELECT state FROM applications WHERE id = ?", [.text(key)]).first
            .flatMap({ ApplicationState(rawValue: $0.text(0)) })
        else { throw StoreError.notFound(key) }
        try ApplicationLifecycle.check(from: current, to: state)
        let t = self.millis
        try db.query(
            "UPDATE applications SET state = ?, state_reason = ?, updated_at = ?, delivered_at = CASE WHEN ? = 'delivered' THEN ? ELSE delivered_at END WHERE id = ?",
            [.text(state.rawValue), SQLValue(reason), SQLValue(t), .text(state.rawValue), SQLValue(t), .text(key)])
        try self.audit(db, key, event: "transition", from: current, to: state, actor: actor, detail: reason, at: t)
        return current
    }

    // MARK: - Queue

    /// The next applications to upload: oldest first, skipping quarantined ones and those still backing off.
    public func nextUploads(limit: Int = 10) throws(StoreError) -> [QueueItem] {
        try self.queueItems(
            where: "q.state = 'pending' AND q.next_attempt_at <= ?", [SQLValue(self.millis)], limit: limit)
    }

    /// Queue entries, optionally only those whose application is in `state`.
    public func queueList(state: ApplicationState? = nil) throws(StoreError) -> [QueueItem] {
        if let state { return try self.queueItems(where: "a.state = ?", [.text(state.rawValue)], limit: nil) }
        return try self.queueItems(where: "1", [], limit: nil)
    }

    private func queueItems(where clause: String, _ args: [SQLValue], limit: Int?) throws(StoreError) -> [QueueItem] {
        try self.sync { db in
            try db.query(
                """
                SELECT a.id, a.tracking_code, a.service, a.state, q.state, q.enqueued_at, q.attempts, q.next_attempt_at,
                       q.last_error, q.quarantine_reason, a.total_bytes
                FROM upload_queue q JOIN applications a ON a.id = q.application_id
                WHERE \(clause) ORDER BY q.enqueued_at, a.id \(limit.map { "LIMIT \($0)" } ?? "")
                """, args
            ).map {
                QueueItem(applicationID: UUID(uuidString: $0.text(0))!, trackingCode: try! TrackingCode($0.text(1)),
                          service: $0.text(2), applicationState: ApplicationState(rawValue: $0.text(3)) ?? .quarantined,
                          queueState: QueueItem.State(rawValue: $0.text(4)) ?? .pending,
                          enqueuedAt: KioskStore.date($0.int(5))!, attempts: $0.int(6),
                          nextAttemptAt: KioskStore.date($0.int(7))!, lastError: $0.optionalText(8),
                          quarantineReason: $0.optionalText(9), bytes: $0.int(10))
            }
        }
    }

    /// The forwarder starts sending an application.
    public func markUploading(_ id: UUID) throws(StoreError) {
        try self.sync { db in
            try db.transaction {
                let state = try self.currentState(db, id)
                if state != .uploading { try self.apply(db, id: id, to: .uploading, actor: "kiosk", reason: nil) }
            }
        }
    }

    /// Records a failed attempt and when to try again (the backoff is persisted, so it survives restarts).
    public func recordAttempt(_ id: UUID, error: String, retryAt: Date) throws(StoreError) {
        try self.sync { db in
            try db.transaction {
                let key = id.uuidString.lowercased()
                try db.query(
                    "UPDATE upload_queue SET attempts = attempts + 1, last_error = ?, next_attempt_at = ? WHERE application_id = ? AND state = 'pending'",
                    [.text(error), SQLValue(Int(retryAt.timeIntervalSince1970 * 1000)), .text(key)])
                guard db.changes == 1 else { throw StoreError.notFound(key) }
                if try self.currentState(db, id) == .uploading {
                    try self.apply(db, id: id, to: .submitted, actor: "kiosk", reason: error)
                }
                try self.audit(db, key, event: "attempt", actor: "kiosk", detail: error)
            }
        }
    }

    /// Sets a permanently failing application aside with a reason, without blocking the rest of the queue.
    public func quarantine(_ id: UUID, reason: String, actor: String) throws(StoreError) {
        try self.sync { db in
            try db.transaction {
                let key = id.uuidString.lowercased()
                try self.apply(db, id: id, to: .quarantined, actor: actor, reason: reason)
                try db.query(
                    "UPDATE upload_queue SET state = 'quarantined', quarantine_reason = ?, attempts = attempts + 1 WHERE application_id = ?",
                    [.text(reason), .text(key)])
            }
        }
    }

    /// Staff puts an application back in line: a quarantined one is requeued; a backing-off one is due now.
    public func requeue(_ id: UUID, actor: String) throws(StoreError) {
        try self.sync { db in
            try db.transaction {
                let key = id.uuidString.lowercased()
                let state = try self.currentState(db, id)
                switch state {
                case .quarantined:
                    try self.apply(db, id: id, to: .submitted, actor: actor, reason: "requeued by staff")
                case .submitted, .uploading:
                    try self.audit(db, key, event: "retry", actor: actor, detail: "retry now")
                default:
                    throw StoreError.notQuarantined(key)
                }
                try db.query(
                    "UPDATE upload_queue SET state = 'pending', quarantine_reason = NULL, next_attempt_at = ? WHERE application_id = ?",
                    [SQLValue(self.millis), .text(key)])
            }
        }
    }

    /// The Dinas confirmed every attachment by hash.
    public func markDelivered(_ id: UUID, detail: String? = nil) throws(StoreError) {
        try self.sync { db in
            try db.transaction {
                if try self.currentState(db, id) == .submitted {
                    try self.apply(db, id: id, to: .uploading, actor: "kiosk", reason: nil)
                }
                try self.apply(db, id: id, to: .delivered, actor: "dinas", reason: detail)
                try db.query("UPDATE upload_queue SET state = 'delivered' WHERE application_id = ?",
                             [.text(id.uuidString.lowercased())])
            }
        }
    }

    func currentState(_ db: SQLiteConnection, _ id: UUID) throws -> ApplicationState {
        let key = id.uuidString.lowercased()
        guard let s = try db.query("SELECT state FROM applications WHERE id = ?", [.text(key)]).first
            .flatMap({ ApplicationState(rawValue: $0.text(0)) })
        else { throw StoreError.notFound(key) }
        return s
    }

    public func queueStats() throws(StoreError) -> QueueStats {
        try self.sync { db in
            var counts = Dictionary(uniqueKeysWithValues: ApplicationState.allCases.map { ($0.rawValue, 0) })
            for r in try db.query("SELECT state, count(*) FROM applications GROUP BY state") { counts[r.text(0)] = r.int(1) }
            var queueCounts = ["pending": 0, "backing_off": 0, "quarantined": 0, "delivered": 0]
            for r in try db.query("SELECT state, count(*) FROM upload_queue GROUP BY state") { queueCounts[r.text(0)] = r.int(1) }
            queueCounts["backing_off"] = try db.query(
                "SELECT count(*) FROM upload_queue WHERE state = 'pending' AND next_attempt_at > ?", [SQLValue(self.millis)]
            ).first?.int(0) ?? 0
            let undelivered = "('submitted', 'uploading', 'quarantined')"
            let oldest = try db.query("SELECT min(submitted_at) FROM applications WHERE state IN \(undelivered)").first?.optionalInt(0)
            let bytes = try db.query("SELECT coalesce(sum(total_bytes), 0) FROM applications WHERE state IN \(undelivered)").first?.int(0) ?? 0
            return QueueStats(counts: counts, queueCounts: queueCounts,
                              oldestUndeliveredSeconds: oldest.map { max(0, (self.millis - $0) / 1000) }, bytesPending: bytes)
        }
    }

    // MARK: - Retention

    /// Purges the attachment files (and the full NIK and facts) of applications the Dinas confirmed more than
    /// the retention period ago. Hashes, sizes and the audit trail stay. The rows are marked purged first, in
    /// one transaction; the files are unlinked after the commit, and the sweep at open removes any a crash left.
    @discardableResult
    public func purgeExpired(retentionDays: Int? = nil) throws(StoreError) -> [UUID] {
        let days = max(0, min(retentionDays ?? self.configuration.retentionDays, 3650))
        let cutoff = self.millis - days * 86_400_000
        let purged: [String] = try self.sync { db in
            try db.transaction {
                let ids = try db.query(
                    "SELECT id FROM applications WHERE delivered_at IS NOT NULL AND delivered_at <= ? AND purged_at IS NULL",
                    [SQLValue(cutoff)]
                ).map { $0.text(0) }
                let t = self.millis
                for id in ids {
                    try db.query("UPDATE attachments SET purged_at = ? WHERE application_id = ?", [SQLValue(t), .text(id)])
                    try db.query(
                        "UPDATE applications SET purged_at = ?, applicant_nik = NULL, facts_json = '{}', form_json = '{}', updated_at = ? WHERE id = ?",
                        [SQLValue(t), SQLValue(t), .text(id)])
                    try self.audit(db, id, event: "purge", actor: "kiosk",
                                   detail: "attachments purged after \(days) days of retention", at: t)
                }
                return ids
            }
        }
        for id in purged { self.spool.removeApplicationFolder(id) }
        return purged.compactMap(UUID.init(uuidString:))
    }

    // MARK: - Check

    /// `PRAGMA integrity_check`, then every live attachment against its size and hash, and every application
    /// against its declared attachment count.
    public func check() throws(StoreError) -> CheckReport {
        let (integrity, rows, partial, count, documents) = try self.sync { db in
            let integrity = try db.query("PRAGMA integrity_check").map { $0.text(0) }
            let rows = try db.query(
                "SELECT application_id, file, sha256, size FROM attachments WHERE purged_at IS NULL ORDER BY application_id, seq"
            ).map { ($0.text(0), $0.text(1), $0.text(2), $0.int(3)) }
            let partial = try db.query(
                """
                SELECT a.id FROM applications a LEFT JOIN attachments t ON t.application_id = a.id AND t.superseded_in IS NULL
                GROUP BY a.id HAVING count(t.seq) != a.attachment_count
                UNION SELECT a.id FROM applications a LEFT JOIN upload_queue q ON q.application_id = a.id
                WHERE q.application_id IS NULL
                """
            ).map { $0.text(0) }
            let count = try db.query("SELECT count(*) FROM applications").first?.int(0) ?? 0
            let documents = try db.query("SELECT application_id, file, sha256, size FROM documents ORDER BY application_id, file")
                .map { ($0.text(0), $0.text(1), $0.text(2), $0.int(3)) }
            return (integrity, rows, partial, count, documents)
        }
        var problems = partial.map { CheckReport.Problem(applicationID: $0, file: nil, issue: "incomplete application") }
        for (app, file, sha, size) in rows {
            guard let measured = self.spool.measure(file) else {
                problems.append(.init(applicationID: app, file: file, issue: "missing file"))
                continue
            }
            if measured.size != size {
                problems.append(.init(applicationID: app, file: file, issue: "size \(measured.size) != \(size)"))
            } else if measured.sha256 != sha {
                problems.append(.init(applicationID: app, file: file, issue: "sha256 mismatch"))
            }
        }
        for (app, file, sha, size) in documents {
            guard let measured = self.documentSpool.measure(file) else {
                problems.append(.init(applicationID: app, file: "documents/\(file)", issue: "missing document"))
                continue
            }
            if measured.size != size || measured.sha256 != sha {
                problems.append(.init(applicationID: app, file: "documents/\(file)", issue: "document sha256 mismatch"))
            }
        }
        problems += self.modeProblems()
        return CheckReport(integrity: integrity, applications: count, attachmentsChecked: rows.count + documents.count,
                           problems: problems)
    }

    /// Folders must be 0700 and files 0600 (and neither a symlink) throughout the data directory's store parts.
    func modeProblems() -> [CheckReport.Problem] {
        var problems: [CheckReport.Problem] = []
        func expect(_ path: String, directory: Bool, app: String) {
            var st = stat()
            guard lstat(path, &st) == 0 else { return }
            let want: mode_t = directory ? 0o700 : 0o600
            let kind = st.st_mode & S_IFMT
            let shown = path.hasPrefix(self.directory + "/") ? String(path.dropFirst(self.directory.count + 1)) : path
            if kind != (directory ? S_IFDIR : S_IFREG) {
                problems.append(.init(applicationID: app, file: shown, issue: directory ? "not a folder" : "not a regular file"))
            } else if st.st_mode & 0o7777 != want {
                problems.append(.init(applicationID: app, file: shown,
                                      issue: "mode \(String(st.st_mode & 0o7777, radix: 8)) != \(String(want, radix: 8))"))
            }
        }
        expect(self.directory, directory: true, app: "-")
        for suffix in ["", "-wal", "-shm"] { expect("\(self.directory)/kiosk.sqlite3\(suffix)", directory: false, app: "-") }
        for spool in [self.spool, self.documentSpool] {
            expect(spool.root, directory: true, app: "-")
            expect(spool.tmp, directory: true, app: "-")
            for folder in (try? FileManager.default.contentsOfDirectory(atPath: spool.root)) ?? [] where folder != ".tmp" {
                let dir = "\(spool.root)/\(folder)"
                expect(dir, directory: true, app: folder)
                for name in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] {
                    expect("\(dir)/\(name)", directory: false, app: folder)
                }
            }
        }
        return problems
    }
}
