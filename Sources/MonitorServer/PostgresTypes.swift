import CLibPQ
import Foundation

/// A failure of PostgreSQL or of the connection to it, with the server's SQLSTATE when it sent one.
public struct PGError: Error, CustomStringConvertible, Sendable {
    /// The five-character SQLSTATE ("23505"); nil when libpq found the failure itself (a refused connection).
    public var sqlstate: String?
    /// What went wrong, on one line: the server's message and its detail, or libpq's.
    public var message: String
    /// True when the connection is gone (refused, reset, closed, the server shutting down): `reconnect()` to go on.
    public var isConnectionLost: Bool

    /// The message with its SQLSTATE, for logs.
    public var description: String { "postgres error \(sqlstate ?? "(no sqlstate)"): \(message)" }
    /// The transaction lost to a concurrent one (serialization failure 40001 or deadlock 40P01): run it again.
    public var isSerializationFailure: Bool { sqlstate == "40001" || sqlstate == "40P01" }
    /// A unique index or primary key refused the row (23505).
    public var isUniqueViolation: Bool { sqlstate == "23505" }

    /// An error with the given parts.
    init(sqlstate: String? = nil, _ message: String, connectionLost: Bool = false) {
        self.sqlstate = sqlstate
        self.message = message
        self.isConnectionLost = connectionLost
    }

    /// The error a failed result (or a NULL one) carries, classed by the SQLSTATE and the connection's state.
    init(result: OpaquePointer?, connection: OpaquePointer?) {
        let state = result.flatMap { PQresultErrorField($0, Int32(UInt8(ascii: "C"))) }.map { String(cString: $0) }
        let primary = result.flatMap { PQresultErrorField($0, Int32(UInt8(ascii: "M"))) }.map { String(cString: $0) }
        let detail = result.flatMap { PQresultErrorField($0, Int32(UInt8(ascii: "D"))) }.map { String(cString: $0) }
        var text = primary ?? Self.connectionMessage(connection)
        if let detail { text += " (\(detail))" }
        let bad = connection.map { PQstatus($0) == CONNECTION_BAD } ?? true
        self.init(sqlstate: state, text, connectionLost: bad || Self.meansConnectionLost(state))
    }

    /// libpq's last message for the connection, on one line.
    static func connectionMessage(_ connection: OpaquePointer?) -> String {
        guard let connection, let p = PQerrorMessage(connection) else { return "no connection" }
        let text = String(cString: p).split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " ")
        return text.isEmpty ? "connection failed" : text
    }

    /// SQLSTATEs after which the server closes the session: connection exceptions (class 08, not 08P01, a
    /// protocol violation the session survives), shutdowns (57P01-57P03), idle timeouts (57P05, 25P03).
    static func meansConnectionLost(_ state: String?) -> Bool {
        guard let state else { return false }
        if state.hasPrefix("08") { return state != "08P01" }
        return ["57P01", "57P02", "57P03", "57P05", "25P03"].contains(state)
    }
}

/// A value bound to a statement parameter; each kind has a fixed PostgreSQL type (int8, float8, text, bytea,
/// bool), sent in binary. For a column of another type, cast in the SQL: `$1::jsonb`, `$1::int4`.
enum PGValue: Sendable, Equatable {
    case null, int(Int64), double(Double), text(String), bytes(Data), bool(Bool)

    /// Text, or NULL when nil.
    static func opt(_ s: String?) -> PGValue { s.map { .text($0) } ?? .null }
    /// An integer, or NULL when nil.
    static func opt(_ v: Int64?) -> PGValue { v.map { .int($0) } ?? .null }
    /// A time as float8 epoch seconds (as the SQLite store keeps it), or NULL when nil.
    static func opt(_ d: Date?) -> PGValue { d.map { .date($0) } ?? .null }
    /// Bytes, or NULL when nil.
    static func opt(_ d: Data?) -> PGValue { d.map { .bytes($0) } ?? .null }
    /// A boolean, or NULL when nil.
    static func opt(_ b: Bool?) -> PGValue { b.map { .bool($0) } ?? .null }
    /// A time as float8 epoch seconds.
    static func date(_ d: Date) -> PGValue { .double(d.timeIntervalSince1970) }

    /// The type PQprepare is told for this parameter (int8, float8, text, bytea, bool); 0 for NULL, which
    /// lets the server infer it, so NULL and non-NULL calls of one SQL text are prepared apart.
    var typeOID: Oid {
        switch self {
        case .null: 0
        case .int: PGType.int8
        case .double: PGType.float8
        case .text: PGType.text
        case .bytes: PGType.bytea
        case .bool: PGType.bool
        }
    }

    /// Appends the binary wire form (network byte order for numbers, UTF-8 for text); NULL appends nothing.
    func appendBinary(to buffer: inout [UInt8]) {
        switch self {
        case .null: break
        case .int(let v): withUnsafeBytes(of: v.bigEndian) { buffer.append(contentsOf: $0) }
        case .double(let v): withUnsafeBytes(of: v.bitPattern.bigEndian) { buffer.append(contentsOf: $0) }
        case .text(let s): buffer.append(contentsOf: s.utf8)
        case .bytes(let d): buffer.append(contentsOf: d)
        case .bool(let b): buffer.append(b ? 1 : 0)
        }
    }
}

/// Type OIDs of the built-in types the wrapper reads and writes (pg_type.oid, fixed since forever).
enum PGType {
    static let bool: Oid = 16, bytea: Oid = 17, char: Oid = 18, name: Oid = 19, int8: Oid = 20, int2: Oid = 21
    static let int4: Oid = 23, text: Oid = 25, oid: Oid = 26, json: Oid = 114, float4: Oid = 700, float8: Oid = 701
    static let unknown: Oid = 705, bpchar: Oid = 1042, varchar: Oid = 1043, jsonb: Oid = 3802

    /// A readable name for error messages.
    static func name(_ type: Oid) -> String {
        switch type {
        case bool: "bool"
        case bytea: "bytea"
        case int8: "int8"
        case int2: "int2"
        case int4: "int4"
        case text: "text"
        case oid: "oid"
        case float4: "float4"
        case float8: "float8"
        case varchar: "varchar"
        case jsonb: "jsonb"
        default: "type \(type)"
        }
    }
}

/// One notification received on a LISTENed channel.
struct PGNotification: Sendable, Equatable {
    /// The channel it was sent on.
    var channel: String
    /// The text given to NOTIFY (empty when none).
    var payload: String
    /// The process id of the server backend that sent it.
    var pid: Int32
}

/// How a transaction sees concurrent commits.
enum PGIsolation: String, Sendable {
    case readCommitted = "READ COMMITTED", repeatableRead = "REPEATABLE READ", serializable = "SERIALIZABLE"
}
