import CLibPQ
import Foundation

/// One PostgreSQL connection with statements prepared once and cached by SQL text; parameters and results
/// travel in binary. Not thread-safe and not Sendable: one owner at a time (keep it behind a Mutex, or create
/// it on the thread that uses it). A lost connection is reported (`PGError.isConnectionLost`), never
/// silently re-made: the owner calls `reconnect()` and decides what the loss meant.
final class PGConnection {
    private let conn: OpaquePointer
    private var statements: [StatementKey: String] = [:]
    private var statementCount = 0

    /// A cached statement: the SQL text with the parameter types it was prepared for.
    private struct StatementKey: Hashable {
        var sql: String
        var types: [Oid]
    }

    /// Seconds a connection attempt may take unless the conninfo says otherwise (libpq's default is forever).
    static let defaultConnectTimeout = 10

    /// Connects to a `postgres://user@host:port/db?…` URL or a libpq `key=value …` string.
    init(conninfo: String) throws(PGError) {
        try Self.validate(conninfo)
        // expand_dbname: the conninfo given as dbname is parsed and overrides the connect_timeout default.
        let words: [String] = ["connect_timeout", "dbname", "\(Self.defaultConnectTimeout)", conninfo]
        let copies: [UnsafeMutablePointer<CChar>?] = words.map { strdup($0) }
        defer { copies.forEach { free($0) } }
        let keys: [UnsafePointer<CChar>?] = [UnsafePointer(copies[0]), UnsafePointer(copies[1]), nil]
        let values: [UnsafePointer<CChar>?] = [UnsafePointer(copies[2]), UnsafePointer(copies[3]), nil]
        let connection = PQconnectdbParams(keys, values, 1)
        guard let connection else { throw PGError("out of memory connecting to PostgreSQL", connectionLost: true) }
        guard PQstatus(connection) == CONNECTION_OK else {
            let error = PGError(PGError.connectionMessage(connection), connectionLost: true)
            PQfinish(connection)
            throw error
        }
        conn = connection
        clibpq_quiet(conn)
    }

    deinit { PQfinish(conn) }

    /// Refuses a malformed URL or key=value string (a mistake to fix, not a lost connection). Anything else
    /// is a database name, as libpq takes it.
    private static func validate(_ conninfo: String) throws(PGError) {
        guard conninfo.contains("=") || conninfo.hasPrefix("postgres://") || conninfo.hasPrefix("postgresql://") else { return }
        var message: UnsafeMutablePointer<CChar>?
        guard let options = PQconninfoParse(conninfo, &message) else {
            let text = message.map { String(cString: $0).trimmingCharacters(in: .whitespacesAndNewlines) } ?? "cannot parse"
            PQfreemem(message)
            throw PGError("invalid database address: \(text)")
        }
        PQconninfoFree(options)
    }

    /// True while libpq holds the connection for good (it learns of a loss only when it next reads or writes).
    var isConnected: Bool { PQstatus(conn) == CONNECTION_OK }

    /// The server process serving this connection (what pg_terminate_backend takes).
    var backendPID: Int32 { PQbackendPID(conn) }

    /// Closes and re-opens the connection with the same settings (PQreset). Prepared statements, LISTENs,
    /// session settings and any open transaction are gone afterwards: the caller re-LISTENs.
    func reconnect() throws(PGError) {
        statements.removeAll()
        PQreset(conn)
        guard isConnected else { throw PGError(PGError.connectionMessage(conn), connectionLost: true) }
    }

    /// Runs SQL text with no parameters over the simple protocol (several statements allowed: schema, BEGIN).
    func exec(_ sql: String) throws(PGError) {
        let result = PQexec(conn, sql)
        defer { PQclear(result) }
        try check(result, PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY)
    }

    /// Runs a statement with parameters, calling `row` for each result row.
    func query(_ sql: String, _ params: [PGValue] = [], row: (PGRow) throws(PGError) -> Void = { _ in }) throws(PGError) {
        try rows(sql, params) { r throws(PGError) in
            try row(r)
            return true
        }
    }

    /// Runs a statement with parameters, calling `row` for each result row until it returns false. The
    /// whole result has arrived by then: bound big reads with LIMIT.
    func rows(_ sql: String, _ params: [PGValue], _ row: (PGRow) throws(PGError) -> Bool) throws(PGError) {
        let result = try execute(sql, params)
        defer { PQclear(result) }
        for r in 0..<PQntuples(result) {
            if try !row(PGRow(result: result, row: r)) { return }
        }
    }

    /// Runs a statement for its effect; returns how many rows it inserted, updated, deleted or selected.
    @discardableResult
    func run(_ sql: String, _ params: [PGValue] = []) throws(PGError) -> Int {
        let result = try execute(sql, params)
        defer { PQclear(result) }
        return PQcmdTuples(result).flatMap { Int(String(cString: $0)) } ?? 0
    }

    /// Runs `body` in one transaction (BEGIN … COMMIT); rolls back when it throws. Not nestable.
    func transaction<T>(_ isolation: PGIsolation = .readCommitted, _ body: () throws(PGError) -> T) throws(PGError) -> T {
        try exec(isolation == .readCommitted ? "BEGIN" : "BEGIN ISOLATION LEVEL \(isolation.rawValue)")
        do {
            let value = try body()
            try commit()
            return value
        } catch {
            if isConnected, PQtransactionStatus(conn) != PQTRANS_IDLE { try? exec("ROLLBACK") }
            throw error
        }
    }

    /// COMMIT, refusing the silent ROLLBACK PostgreSQL answers when a statement in the transaction had failed.
    private func commit() throws(PGError) {
        let result = PQexec(conn, "COMMIT")
        defer { PQclear(result) }
        try check(result, PGRES_COMMAND_OK)
        if let tag = PQcmdStatus(result), String(cString: tag) == "ROLLBACK" {
            throw PGError(sqlstate: "25P02", "the transaction was rolled back: a statement in it had failed")
        }
    }

    /// Prepares (once) and runs a statement; the caller clears the result.
    private func execute(_ sql: String, _ params: [PGValue]) throws(PGError) -> OpaquePointer {
        guard params.count <= Int(UInt16.max) else { throw PGError("too many parameters (\(params.count))") }
        let name = try prepared(StatementKey(sql: sql, types: params.map(\.typeOID)))
        // Every value in one buffer (a trailing byte keeps it non-empty, so an empty value is not NULL).
        var buffer: [UInt8] = []
        buffer.reserveCapacity(params.reduce(1) { $0 + Self.size(of: $1) })
        var offsets: [Int?] = []
        var lengths: [Int32] = []
        for p in params {
            let start = buffer.count
            p.appendBinary(to: &buffer)
            guard buffer.count - start <= Int(Int32.max) else { throw PGError("a parameter is over 2 GiB") }
            if case .null = p { offsets.append(nil) } else { offsets.append(start) }
            lengths.append(Int32(buffer.count - start))
        }
        buffer.append(0)
        let formats = [Int32](repeating: 1, count: params.count)
        let result = buffer.withUnsafeBufferPointer { raw -> OpaquePointer? in
            let base = UnsafeRawPointer(raw.baseAddress)
            let values = offsets.map { o in o.flatMap { base?.advanced(by: $0).assumingMemoryBound(to: CChar.self) } }
            return PQexecPrepared(conn, name, Int32(params.count), values, lengths, formats, 1)
        }
        guard let result else { throw PGError(result: nil, connection: conn) }
        do {
            try check(result, PGRES_TUPLES_OK, PGRES_COMMAND_OK)
        } catch {
            PQclear(result)
            throw error
        }
        return result
    }

    /// The bytes a parameter takes in the buffer (to reserve it once).
    private static func size(of value: PGValue) -> Int {
        switch value {
        case .null: 0
        case .int, .double: 8
        case .text(let s): s.utf8.count
        case .bytes(let d): d.count
        case .bool: 1
        }
    }

    /// The name of the statement prepared for `key` on this connection, preparing it the first time.
    private func prepared(_ key: StatementKey) throws(PGError) -> String {
        if let name = statements[key] { return name }
        statementCount += 1
        let name = "mms_\(statementCount)"
        let result = PQprepare(conn, name, key.sql, Int32(key.types.count), key.types)
        defer { PQclear(result) }
        try check(result, PGRES_COMMAND_OK)
        statements[key] = name
        return name
    }

    /// How many statements this connection has prepared since it (re)connected.
    var preparedCount: Int { statements.count }

    /// Throws the result's error unless its status is one of `accepted`.
    private func check(_ result: OpaquePointer?, _ accepted: ExecStatusType...) throws(PGError) {
        guard let result, accepted.contains(PQresultStatus(result)) else {
            throw PGError(result: result, connection: conn)
        }
    }

    /// The raw libpq connection, for the LISTEN/NOTIFY extension.
    var handle: OpaquePointer { conn }
}
