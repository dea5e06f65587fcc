/// Forward-only schema migrations. A shipped migration is never edited; each runs in its own transaction
/// and sets `PRAGMA user_version` to its number inside it.
enum Migrations {
    static let all: [(version: Int, sql: String)] = [
        (1, """
            CREATE TABLE applications (
                id TEXT PRIMARY KEY,
                tracking_code TEXT NOT NULL UNIQUE,
                service TEXT NOT NULL,
                profile TEXT NOT NULL,
                applicant_nik TEXT,
                applicant_nik_masked TEXT NOT NULL,
                event_date TEXT NOT NULL,
                contact TEXT,
                facts_json TEXT NOT NULL DEFAULT '{}',
                state TEXT NOT NULL,
                state_reason TEXT,
                attachment_count INTEGER NOT NULL,
                total_bytes INTEGER NOT NULL,
                created_at INTEGER NOT NULL,
                updated_at INTEGER NOT NULL,
                submitted_at INTEGER,
                delivered_at INTEGER,
                purged_at INTEGER
            ) STRICT;
            CREATE INDEX applications_state ON applications(state, submitted_at);
            CREATE TABLE attachments (
                application_id TEXT NOT NULL REFERENCES applications(id),
                seq INTEGER NOT NULL,
                requirement TEXT NOT NULL,
                file TEXT NOT NULL UNIQUE,
                media_type TEXT NOT NULL,
                sha256 TEXT NOT NULL,
                size INTEGER NOT NULL,
                purged_at INTEGER,
                PRIMARY KEY (application_id, seq)
            ) STRICT;
            CREATE TABLE documents (
                id INTEGER PRIMARY KEY,
                application_id TEXT NOT NULL REFERENCES applications(id),
                product TEXT NOT NULL,
                file TEXT,
                sha256 TEXT NOT NULL,
                size INTEGER NOT NULL,
                signature TEXT,
                key_id TEXT,
                received_at INTEGER NOT NULL,
                print_state TEXT NOT NULL DEFAULT 'not_printed',
                print_count INTEGER NOT NULL DEFAULT 0,
                UNIQUE (application_id, product)
            ) STRICT;
            CREATE TABLE upload_queue (
                application_id TEXT PRIMARY KEY REFERENCES applications(id),
                state TEXT NOT NULL CHECK (state IN ('pending', 'quarantined', 'delivered')),
                enqueued_at INTEGER NOT NULL,
                attempts INTEGER NOT NULL DEFAULT 0,
                next_attempt_at INTEGER NOT NULL,
                last_error TEXT,
                quarantine_reason TEXT
            ) STRICT;
            CREATE INDEX upload_queue_next ON upload_queue(state, next_attempt_at, enqueued_at);
            CREATE TABLE audit_log (
                seq INTEGER PRIMARY KEY AUTOINCREMENT,
                at INTEGER NOT NULL,
                application_id TEXT,
                event TEXT NOT NULL,
                from_state TEXT,
                to_state TEXT,
                actor TEXT NOT NULL,
                detail TEXT
            ) STRICT;
            CREATE INDEX audit_log_application ON audit_log(application_id, seq);
            CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
                BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
            CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
                BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
            """),
        (2, """
            CREATE TABLE upload_progress (
                application_id TEXT NOT NULL REFERENCES applications(id),
                seq INTEGER NOT NULL,
                upload_url TEXT NOT NULL,
                confirmed_offset INTEGER NOT NULL,
                updated_at INTEGER NOT NULL,
                PRIMARY KEY (application_id, seq)
            ) STRICT;
            CREATE TABLE sync_state (
                key TEXT PRIMARY KEY,
                value TEXT NOT NULL,
                updated_at INTEGER NOT NULL
            ) STRICT;
            DROP TABLE documents;
            CREATE TABLE documents (
                document_id TEXT PRIMARY KEY,
                application_id TEXT NOT NULL REFERENCES applications(id),
                product TEXT NOT NULL,
                file TEXT NOT NULL UNIQUE,
                sha256 TEXT NOT NULL,
                size INTEGER NOT NULL,
                signature TEXT NOT NULL,
                key_id TEXT NOT NULL,
                received_at INTEGER NOT NULL,
                print_state TEXT NOT NULL DEFAULT 'not_printed',
                print_count INTEGER NOT NULL DEFAULT 0
            ) STRICT;
            CREATE INDEX documents_application ON documents(application_id);
            """),
        (3, """
            CREATE TABLE complaints (
                id TEXT PRIMARY KEY,
                reference TEXT NOT NULL UNIQUE,
                category TEXT NOT NULL,
                body TEXT NOT NULL,
                contact TEXT,
                language TEXT NOT NULL,
                created_at INTEGER NOT NULL,
                sent_at INTEGER
            ) STRICT;
            CREATE INDEX complaints_unsent ON complaints(sent_at, created_at);
            CREATE INDEX applications_applicant ON applications(applicant_nik);
            """),
        // Issue 16: the electronic form, notification consent, resubmission after a return for correction
        // (revisions; a replaced attachment row stays, marked superseded and purged), complaint answers.
        (4, """
            ALTER TABLE applications ADD COLUMN form_json TEXT NOT NULL DEFAULT '{}';
            ALTER TABLE applications ADD COLUMN protected_fields_json TEXT NOT NULL DEFAULT '[]';
            ALTER TABLE applications ADD COLUMN notify TEXT CHECK (notify IS NULL OR notify IN ('whatsapp', 'sms'));
            ALTER TABLE applications ADD COLUMN revision INTEGER NOT NULL DEFAULT 1;
            ALTER TABLE applications ADD COLUMN correction_json TEXT;
            ALTER TABLE attachments ADD COLUMN superseded_in INTEGER;
            ALTER TABLE complaints ADD COLUMN answer TEXT;
            ALTER TABLE complaints ADD COLUMN answered_at INTEGER;
            """),
        // Issue 17: staff mode. The staff member who helped with an assisted application; the PIN entry lockout
        // (one row for the whole kiosk, so it survives a restart); "Panggil petugas" calls.
        (5, """
            ALTER TABLE applications ADD COLUMN assisted_by TEXT;
            CREATE TABLE staff_entry (
                id INTEGER PRIMARY KEY CHECK (id = 1),
                failures INTEGER NOT NULL DEFAULT 0,
                locked_until INTEGER,
                updated_at INTEGER NOT NULL
            ) STRICT;
            CREATE TABLE staff_calls (
                seq INTEGER PRIMARY KEY AUTOINCREMENT,
                at INTEGER NOT NULL,
                screen TEXT NOT NULL,
                seen_at INTEGER
            ) STRICT;
            CREATE INDEX staff_calls_at ON staff_calls(at);
            CREATE INDEX applications_submitted ON applications(submitted_at);
            """),
    ]

    static var latest: Int { all.last!.version }
}
