// The only file in KioskStore that touches the SQLite C API or its pointers.
import CSQLite

/// A failing SQLite call: the extended result code, SQLite's message and the statement.
public struct SQLiteError: Error, Hashable, Sendable, CustomStringConvertible {
    public var code: Int32
    public var message: String
    public var sql: String?

    public var isConstraintViolation: Bool { self.code & 0xff == SQLITE_CONSTRAINT }
    public var isFull: Bool { self.code & 0xff == SQLITE_FULL }
    /// Another connection (usually another process) holds a conflicting lock: worth retrying after a pause.
    /// (SQLITE_LOCKED is a conflict inside one connection, which waiting does not fix.)
    public var isBusy: Bool { self.code & 0xff == SQLITE_BUSY }

    public var description: String {
        "SQLite error \(self.code): \(self.message)" + (self.sql.map { " [\($0.prefix(120))]" } ?? "")
    }
}

/// A value bound to or read from a statement.
enum SQLValue: Hashable, Sendable {
    case null
    case int(Int64)
    case text(String)
    case real(Double)

    init(_ v: Int) { self = .int(Int64(v)) }
    init(_ v: String?) { self = v.map(SQLValue.text) ?? .null }
    init(_ v: Int?) { self = v.map { .int(Int64($0)) } ?? .null }
}

/// One result row, read by column index.
struct Row: Sendable {
    var values: [SQLValue]

    func int(_ i: Int) -> Int {
        if case .int(let v) = self.values[i] { return Int(v) }
        if case .real(let v) = self.values[i] { return Int(v) }
        return 0
    }

    func optionalInt(_ i: Int) -> Int? {
        if case .null = self.values[i] { return nil }
        return self.int(i)
    }

    func text(_ i: Int) -> String { self.optionalText(i) ?? "" }

    func optionalText(_ i: Int) -> String? {
        switch self.values[i] {
        case .text(let s): return s
        case .int(let v): return String(v)
        case .real(let v): return String(v)
        case .null: return nil
        }
    }
}

/// One database connection. Not thread-safe: its owner confines it to one serial queue.
final class SQLiteConnection {
    private let db: OpaquePointer
    private var statements: [String: OpaquePointer] = [:]
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    /// Opens (creating if needed) the database. `SQLITE_OPEN_NOMUTEX`: the owner serialises all access.
    init(path: String) throws(SQLiteError) {
        var handle: OpaquePointer?
        let rc = sqlite3_open_v2(
            path, &handle, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nil)
        guard rc == SQLITE_OK, let handle else {
            let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
            if let handle { sqlite3_close_v2(handle) }
            throw SQLiteError(code: rc, message: message, sql: nil)
        }
        self.db = handle
        sqlite3_extended_result_codes(handle, 1)
        // > sqlite3_busy_timeout: sleeps and retries while a table is locked, up to the given milliseconds.
        // The store adds its own bounded retry of the whole unit of work on top (KioskStore.sync).
        sqlite3_busy_timeout(handle, 2000)
    }

    deinit {
        for stmt in self.statements.values { sqlite3_finalize(stmt) }
        sqlite3_close_v2(self.db)
    }

    static var libraryVersion: String { String(cString: sqlite3_libversion()) }

    private func error(_ rc: Int32, _ sql: String?) -> SQLiteError {
        SQLiteError(code: sqlite3_extended_errcode(self.db), message: String(cString: sqlite3_errmsg(self.db)), sql: sql)
    }

    /// Runs one or more statements without results (`sqlite3_exec`).
    func execute(_ sql: String) throws(SQLiteError) {
        var err: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(self.db, sql, nil, nil, &err)
        if rc != SQLITE_OK {
            let message = err.map { String(cString: $0) } ?? "error \(rc)"
            sqlite3_free(err)
            throw SQLiteError(code: sqlite3_extended_errcode(self.db), message: message, sql: sql)
        }
    }

    private func prepared(_ sql: String) throws(SQLiteError) -> OpaquePointer {
        if let stmt = self.statements[sql] { return stmt }
        var stmt: OpaquePointer?
        let rc = sqlite3_prepare_v2(self.db, sql, -1, &stmt, nil)
        guard rc == SQLITE_OK, let stmt else { throw self.error(rc, sql) }
        self.statements[sql] = stmt
        return stmt
    }

    /// Runs a statement and returns every row.
    @discardableResult
    func query(_ sql: String, _ args: [SQLValue] = []) throws(SQLiteError) -> [Row] {
        let stmt = try self.prepared(sql)
        defer {
            sqlite3_reset(stmt)
            sqlite3_clear_bindings(stmt)
        }
        for (i, arg) in args.enumerated() {
            let idx = Int32(i + 1)
            let rc: Int32
            switch arg {
            case .null: rc = sqlite3_bind_null(stmt, idx)
            case .int(let v): rc = sqlite3_bind_int64(stmt, idx, v)
            case .real(let v): rc = sqlite3_bind_double(stmt, idx, v)
            case .text(let s): rc = sqlite3_bind_text(stmt, idx, s, -1, SQLiteConnection.transient)
            }
            guard rc == SQLITE_OK else { throw self.error(rc, sql) }
        }
        var rows: [Row] = []
        let columns = sqlite3_column_count(stmt)
        while true {
            let rc = sqlite3_step(stmt)
            if rc == SQLITE_DONE { break }
            guard rc == SQLITE_ROW else { throw self.error(rc, sql) }
            var values: [SQLValue] = []
            values.reserveCapacity(Int(columns))
            for c in 0..<columns {
                switch sqlite3_column_type(stmt, c) {
                case SQLITE_INTEGER: values.append(.int(sqlite3_column_int64(stmt, c)))
                case SQLITE_FLOAT: values.append(.real(sqlite3_column_double(stmt, c)))
                case SQLITE_NULL: values.append(.null)
                default: values.append(.text(String(cString: sqlite3_column_text(stmt, c))))
                }
            }
            rows.append(Row(values: values))
        }
        return rows
    }

    /// Rows changed by the last statement.
    var changes: Int { Int(sqlite3_changes(self.db)) }

    /// Runs `body` in a transaction; rolls back if it throws.
    func transaction<T>(immediate: Bool = true, _ body: () throws -> T) throws -> T {
        try self.execute(immediate ? "BEGIN IMMEDIATE" : "BEGIN")
        do {
            let result = try body()
            try self.execute("COMMIT")
            return result
        } catch {
            try? self.execute("ROLLBACK")
            throw error
        }
    }
}

@available(*, unavailable)
extension SQLiteConnection: Sendable {}
