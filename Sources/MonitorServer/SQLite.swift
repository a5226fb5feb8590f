import CSQLite
import Foundation

/// A failure of the embedded database, with SQLite's own message.
public struct DatabaseError: Error, CustomStringConvertible, Sendable {
    public var code: Int32
    public var message: String
    /// Set for a PostgreSQL failure that means the database cannot be used now (connection lost…).
    var postgresUnavailable = false
    public var description: String { "database error \(code): \(message)" }

    /// A failure with SQLite's result code and message.
    public init(code: Int32, message: String) {
        self.code = code
        self.message = message
    }

    /// True when the disk is full or the database cannot be written or reached (the server answers 503).
    public var isUnavailable: Bool {
        if postgresUnavailable { return true }
        let primary = code & 0xff
        return primary == SQLITE_FULL || primary == SQLITE_READONLY || primary == SQLITE_IOERR
            || primary == SQLITE_CANTOPEN || primary == SQLITE_BUSY || primary == SQLITE_LOCKED
    }
}

/// One SQLite connection with cached prepared statements. Not thread-safe: the owner serializes access.
final class Database {
    private var handle: OpaquePointer?
    private var cache: [String: OpaquePointer] = [:]

    /// Opens (creating if needed) the database file at `path`.
    init(path: String) throws(DatabaseError) {
        var db: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            let msg = db.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
            sqlite3_close(db)
            throw DatabaseError(code: rc, message: "\(path): \(msg)")
        }
        handle = db
        sqlite3_busy_timeout(db, 5000)
        sqlite3_extended_result_codes(db, 1)
    }

    deinit { close() }

    /// Finalizes every statement and closes the connection.
    func close() {
        for (_, stmt) in cache { sqlite3_finalize(stmt) }
        cache.removeAll()
        if let h = handle { sqlite3_close_v2(h) }
        handle = nil
    }

    /// Runs SQL text with no parameters (schema changes, pragmas).
    func exec(_ sql: String) throws(DatabaseError) {
        var err: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &err)
        if rc != SQLITE_OK {
            let msg = err.map { String(cString: $0) } ?? "failed"
            sqlite3_free(err)
            throw DatabaseError(code: rc, message: msg)
        }
    }

    /// Runs a statement with parameters, calling `row` for each result row.
    func query(_ sql: String, _ params: [SQLValue] = [], row: (Row) throws(DatabaseError) -> Void = { _ in }) throws(DatabaseError) {
        try rows(sql, params) { r throws(DatabaseError) in
            try row(r)
            return true
        }
    }

    /// Runs a statement with parameters, calling `row` for each result row until it returns false.
    func rows(_ sql: String, _ params: [SQLValue], _ row: (Row) throws(DatabaseError) -> Bool) throws(DatabaseError) {
        let stmt = try prepare(sql)
        defer {
            sqlite3_reset(stmt)
            sqlite3_clear_bindings(stmt)
        }
        for (i, p) in params.enumerated() {
            let idx = Int32(i + 1)
            let rc: Int32
            switch p {
            case .null: rc = sqlite3_bind_null(stmt, idx)
            case .int(let v): rc = sqlite3_bind_int64(stmt, idx, v)
            case .double(let v): rc = sqlite3_bind_double(stmt, idx, v)
            case .text(let s):
                // The byte count, not -1: with -1 SQLite stops at the first NUL, so a value holding one was
                // stored cut short while the answer showed it whole.
                rc = s.withCString { csqlite_bind_text(stmt, idx, $0, Int32(s.utf8.count)) }
            case .blob(let d):
                rc = d.withUnsafeBytes { raw in csqlite_bind_blob(stmt, idx, raw.baseAddress, Int32(d.count)) }
            }
            if rc != SQLITE_OK { throw error(rc) }
        }
        while true {
            let rc = sqlite3_step(stmt)
            if rc == SQLITE_ROW {
                if try !row(Row(stmt: stmt)) { return }
            } else if rc == SQLITE_DONE {
                return
            } else {
                throw error(rc)
            }
        }
    }

    /// Runs `body` in one transaction (BEGIN IMMEDIATE … COMMIT); rolls back when it throws.
    func transaction<T>(_ body: () throws(DatabaseError) -> T) throws(DatabaseError) -> T {
        try exec("BEGIN IMMEDIATE")
        do {
            let value = try body()
            try exec("COMMIT")
            return value
        } catch {
            try? exec("ROLLBACK")
            throw error
        }
    }

    /// Row id of the last insert.
    var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }

    private func prepare(_ sql: String) throws(DatabaseError) -> OpaquePointer {
        if let s = cache[sql] { return s }
        var stmt: OpaquePointer?
        let rc = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &stmt, nil)
        guard rc == SQLITE_OK, let stmt else { throw error(rc) }
        cache[sql] = stmt
        return stmt
    }

    private func error(_ rc: Int32) -> DatabaseError {
        DatabaseError(code: rc, message: handle.map { String(cString: sqlite3_errmsg($0)) } ?? "closed")
    }
}

/// A value bound to a statement parameter.
enum SQLValue {
    case null, int(Int64), double(Double), text(String), blob(Data)

    static func opt(_ s: String?) -> SQLValue { s.map { .text($0) } ?? .null }
    static func opt(_ v: Int64?) -> SQLValue { v.map { .int($0) } ?? .null }
    static func opt(_ d: Date?) -> SQLValue { d.map { .double($0.timeIntervalSince1970) } ?? .null }
    static func date(_ d: Date) -> SQLValue { .double(d.timeIntervalSince1970) }
}

/// A result row; columns are read by index.
struct Row {
    let stmt: OpaquePointer

    func isNull(_ i: Int32) -> Bool { sqlite3_column_type(stmt, i) == SQLITE_NULL }
    func int(_ i: Int32) -> Int64 { sqlite3_column_int64(stmt, i) }
    func optInt(_ i: Int32) -> Int64? { isNull(i) ? nil : int(i) }
    func double(_ i: Int32) -> Double { sqlite3_column_double(stmt, i) }
    func date(_ i: Int32) -> Date { Date(timeIntervalSince1970: double(i)) }
    func optDate(_ i: Int32) -> Date? { isNull(i) ? nil : date(i) }
    func text(_ i: Int32) -> String {
        guard let p = sqlite3_column_text(stmt, i) else { return "" }
        let n = Int(sqlite3_column_bytes(stmt, i))
        return String(decoding: UnsafeBufferPointer(start: p, count: n), as: UTF8.self)
    }
    func optText(_ i: Int32) -> String? { isNull(i) ? nil : text(i) }
    /// The blob's bytes without a copy, valid only inside `body`.
    func withBlob<T>(_ i: Int32, _ body: (UnsafeRawBufferPointer) -> T) -> T {
        let n = Int(sqlite3_column_bytes(stmt, i))
        guard n > 0, let p = sqlite3_column_blob(stmt, i) else { return body(UnsafeRawBufferPointer(start: nil, count: 0)) }
        return body(UnsafeRawBufferPointer(start: p, count: n))
    }
    func optBlob(_ i: Int32) -> Data? { isNull(i) ? nil : blob(i) }
    func blob(_ i: Int32) -> Data {
        let n = Int(sqlite3_column_bytes(stmt, i))
        guard n > 0, let p = sqlite3_column_blob(stmt, i) else { return Data() }
        return Data(bytes: p, count: n)
    }
}
