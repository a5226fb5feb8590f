import Foundation
import MMSTestSupport
import Synchronization
import Testing
@testable import MonitorServer

/// A connection to a fresh database on the shared test cluster, and the database's URL.
private func freshDatabase() throws -> (PGConnection, String) {
    let url = try PostgresCluster.shared().createDatabase()
    return (try PGConnection(conninfo: url), url)
}

/// PGConnection against a real PostgreSQL 15: binary values, prepared statements, transactions, errors,
/// reconnects, LISTEN/NOTIFY and a server restart.
@Suite struct PostgresConnectionTests {
    @Test func everyValueTypeRoundTripsIncludingAMebibyteOfBytes() throws {
        let (db, _) = try freshDatabase()
        try db.exec("CREATE TABLE v (id int8 PRIMARY KEY, i4 int4, i2 int2, f float8, t text, b bytea, ok bool, at float8)")
        let big = Data((0..<1_048_576).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ ($0 >> 8)) })
        let when = Date(timeIntervalSince1970: 1_700_000_000.123456)
        let insert = "INSERT INTO v VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        try db.run(insert, [.int(.max), .int(-2_000_000_000), .int(-300), .double(-1.5e-300),
                            .text("héllo ✓ 'q' \\ \"x\" 🚀"), .bytes(big), .bool(true), .date(when)])
        try db.run(insert, [.int(.min), .int(0), .int(0), .double(0), .text(""), .bytes(Data()), .bool(false), .date(.distantPast)])
        try db.run(insert, [.int(7), .opt(nil as Int64?), .null, .null, .opt(nil as String?), .opt(nil as Data?),
                            .opt(nil as Bool?), .opt(nil as Date?)])

        var rows: [Stored] = []
        var bigBack = Data()
        try db.query("SELECT id, i4, i2, f, t, b, ok, at FROM v ORDER BY id") { r throws(PGError) in
            if try r.int(0) == .max { bigBack = try r.bytes(5) }
            rows.append(Stored(id: try r.int(0), i4: try r.optInt(1), i2: try r.optInt(2), f: try r.isNull(3) ? nil : r.double(3),
                               t: try r.optText(4), b: try r.optBytes(5)?.count, ok: try r.optBool(6), at: try r.optDate(7)))
        }
        #expect(rows == [
            Stored(id: .min, i4: 0, i2: 0, f: 0, t: "", b: 0, ok: false, at: .distantPast),
            Stored(id: 7, i4: nil, i2: nil, f: nil, t: nil, b: nil, ok: nil, at: nil),
            Stored(id: .max, i4: -2_000_000_000, i2: -300, f: -1.5e-300, t: "héllo ✓ 'q' \\ \"x\" 🚀", b: big.count, ok: true, at: when),
        ])
        #expect(bigBack == big)
        let length = try db.withBytesLength("SELECT b FROM v WHERE id = $1", [.int(.max)])
        #expect(length == big.count)
    }

    @Test func wrongReadsAndUnstorableTextFailLoudly() throws {
        let (db, url) = try freshDatabase()
        try db.query("SELECT 1::int8 AS n, NULL::text AS gone, '{\"a\": 1}'::jsonb AS j") { r throws(PGError) in
            #expect(throws: PGError.self) { try r.text(0) }
            #expect(throws: PGError.self) { try r.text(1) }
            #expect(throws: PGError.self) { try r.int(9) }
            #expect(try r.text(2) == "{\"a\": 1}")
        }
        // A NUL cannot be stored in PostgreSQL text: the server refuses it rather than libpq cutting it short.
        let nul = #expect(throws: PGError.self) { try db.run("SELECT $1", [.text("a\u{0}b")]) }
        #expect(nul?.sqlstate == "22021")
        #expect(nul?.isConnectionLost == false)
        // The key=value form of a conninfo works as well as the URL.
        let port = try PostgresCluster.shared().port
        let name = url.split(separator: "/").last.map(String.init) ?? ""
        let kv = try PGConnection(conninfo: "host=127.0.0.1 port=\(port) user=mms dbname=\(name)")
        #expect(try kv.run("SELECT 1") == 1)
        // A malformed address is a mistake to report, not a lost connection to retry.
        for bad in ["postgres://mms@127.0.0.1:\(port)/x?no_such_option=1", "host=127.0.0.1 port"] {
            let error = #expect(throws: PGError.self) { try PGConnection(conninfo: bad) }
            #expect(error?.isConnectionLost == false, "\(bad)")
        }
    }

    @Test func rowsStopsWhenTheBodySaysSo() throws {
        let (db, _) = try freshDatabase()
        var seen: [Int64] = []
        try db.rows("SELECT g FROM generate_series(1, $1) g", [.int(100)]) { r throws(PGError) in
            seen.append(try r.int(0))
            return seen.count < 3
        }
        #expect(seen == [1, 2, 3])
    }

    @Test func aTransactionRollsBackWhenItsBodyThrows() throws {
        let (db, _) = try freshDatabase()
        try db.exec("CREATE TABLE t (id int8 PRIMARY KEY)")
        #expect(throws: PGError.self) {
            try db.transaction { () throws(PGError) in
                try db.run("INSERT INTO t VALUES ($1)", [.int(1)])
                throw PGError("the body gave up")
            }
        }
        let kept = try db.transaction(.serializable) { () throws(PGError) -> Int in
            try db.run("INSERT INTO t VALUES ($1)", [.int(2)])
            return try db.count("t")
        }
        #expect(kept == 1)
        // A statement that failed inside and was swallowed: COMMIT is a ROLLBACK, which must not pass as success.
        let swallowed = #expect(throws: PGError.self) {
            try db.transaction { () throws(PGError) in
                try db.run("INSERT INTO t VALUES ($1)", [.int(3)])
                _ = try? db.run("INSERT INTO t VALUES ($1)", [.int(2)])
            }
        }
        #expect(swallowed?.sqlstate == "25P02")
        #expect(try db.count("t") == 1)
    }

    @Test func aUniqueViolationSaysSoAndTheConnectionGoesOn() throws {
        let (db, _) = try freshDatabase()
        try db.exec("CREATE TABLE t (id int8 PRIMARY KEY); INSERT INTO t VALUES (1)")
        let error = #expect(throws: PGError.self) { try db.run("INSERT INTO t VALUES ($1)", [.int(1)]) }
        #expect(error?.isUniqueViolation == true)
        #expect(error?.isConnectionLost == false)
        #expect(error?.isSerializationFailure == false)
        #expect(error?.message.contains("already exists") == true)
        #expect(try db.count("t") == 1)
    }

    @Test func aStatementIsPreparedOncePerConnectionAndParameterShape() throws {
        let (db, _) = try freshDatabase()
        let sql = "SELECT coalesce($1, -1) + 1"
        var sums: [Int64] = []
        for i in 0..<5 { try db.query(sql, [.int(Int64(i))]) { r throws(PGError) in sums.append(try r.int(0)) } }
        try db.query(sql, [.null]) { r throws(PGError) in sums.append(try r.int(0)) }
        #expect(sums == [1, 2, 3, 4, 5, 0])
        #expect(try db.preparedOnServer(sql) == 2)  // one for int8, one with the NULL left for the server to infer
    }

    @Test func aTerminatedConnectionIsReportedLostThenReconnectsAndPreparesAgain() throws {
        let (a, url) = try freshDatabase()
        let b = try PGConnection(conninfo: url)
        let sql = "SELECT $1::int8 * 2"
        try a.query(sql, [.int(21)])
        try b.query("SELECT pg_terminate_backend($1::int4, 5000)", [.int(Int64(a.backendPID))]) { r throws(PGError) in
            #expect(try r.bool(0))
        }
        let error = #expect(throws: PGError.self) { try a.query(sql, [.int(21)]) }
        #expect(error?.isConnectionLost == true)
        #expect(!a.isConnected)
        try a.reconnect()
        #expect(a.isConnected)
        #expect(a.preparedCount == 0)
        var doubled: Int64 = 0
        try a.query(sql, [.int(21)]) { r throws(PGError) in doubled = try r.int(0) }
        #expect(doubled == 42)
        #expect(try a.preparedOnServer(sql) == 1)
    }

    @Test func notificationsArriveAfterCommitOnlyAndATimeoutReturnsNone() throws {
        let (listener, url) = try freshDatabase()
        let sender = try PGConnection(conninfo: url)
        try listener.listen("mms jobs")
        let started = ContinuousClock.now
        #expect(try listener.waitForNotifications(timeout: .milliseconds(200)).isEmpty)
        #expect(ContinuousClock.now - started >= .milliseconds(190))
        var beforeCommit: [PGNotification] = []
        try sender.transaction { () throws(PGError) in
            try sender.notify("mms jobs", "42")
            try sender.notify("elsewhere", "not listened to")
            beforeCommit = try listener.waitForNotifications(timeout: .milliseconds(300))
        }
        #expect(beforeCommit.isEmpty)
        try sender.notify("mms jobs", "43")
        var got: [PGNotification] = []
        while got.count < 2 {
            let more = try listener.waitForNotifications(timeout: .seconds(10))
            if more.isEmpty { break }
            got += more
        }
        #expect(got == [PGNotification(channel: "mms jobs", payload: "42", pid: sender.backendPID),
                        PGNotification(channel: "mms jobs", payload: "43", pid: sender.backendPID)])
    }

    @Test func aRestartOfPostgreSQLWakesTheWaitingListenerWithConnectionLost() async throws {
        let cluster = try PostgresCluster.start()
        defer { cluster.destroy() }
        let url = try cluster.createDatabase("restarted")
        let outcome = ListenOutcome()
        Thread.detachNewThread {
            do throws(PGError) {
                let listener = try PGConnection(conninfo: url)
                try listener.listen("wake")
                outcome.listening.withLock { $0 = true }
                let got = try listener.waitForNotifications(timeout: .seconds(120))
                outcome.result.withLock { $0 = .success(got) }
            } catch {
                outcome.result.withLock { $0 = .failure(error) }
            }
        }
        #expect(await eventually(30) { outcome.listening.withLock { $0 } })
        try cluster.restart()
        #expect(await eventually(30) { outcome.result.withLock { $0 != nil } })
        let ended = outcome.result.withLock { $0 }
        #expect(throws: PGError.self) { try ended?.get() }
        if case .failure(let error) = ended { #expect(error.isConnectionLost, "\(error)") }

        // While the server is down, connecting and reconnecting fail as lost connections; once it is back,
        // reconnect() works and LISTEN has to be said again.
        let listener = try PGConnection(conninfo: url)
        try await cluster.whileStopped {
            #expect(throws: PGError.self) { try listener.query("SELECT 1") }
            let refused = #expect(throws: PGError.self) { try PGConnection(conninfo: url) }
            #expect(refused?.isConnectionLost == true)
            let again = #expect(throws: PGError.self) { try listener.reconnect() }
            #expect(again?.isConnectionLost == true)
        }
        try listener.reconnect()
        try listener.listen("wake")
        try PGConnection(conninfo: url).notify("wake", "up")
        #expect(try listener.waitForNotifications(timeout: .seconds(10)).map(\.payload) == ["up"])
    }
}

/// One row of the round-trip table, as read back.
private struct Stored: Equatable {
    var id: Int64, i4: Int64?, i2: Int64?, f: Double?, t: String?, b: Int?, ok: Bool?, at: Date?
}

/// What the listener thread of the restart test saw.
private final class ListenOutcome: Sendable {
    let listening = Mutex(false)
    let result = Mutex<Result<[PGNotification], PGError>?>(nil)
}

extension PGConnection {
    /// Rows in `table`.
    fileprivate func count(_ table: String) throws(PGError) -> Int {
        var n = 0
        try query("SELECT count(*) FROM \(table)") { r throws(PGError) in n = Int(try r.int(0)) }
        return n
    }

    /// How many statements this session has prepared with exactly this SQL text (the server's own count).
    fileprivate func preparedOnServer(_ sql: String) throws(PGError) -> Int {
        var n = 0
        try query("SELECT count(*) FROM pg_prepared_statements WHERE statement = $1", [.text(sql)]) { r throws(PGError) in
            n = Int(try r.int(0))
        }
        return n
    }

    /// The byte count of the first column of the first row, read without a copy.
    fileprivate func withBytesLength(_ sql: String, _ params: [PGValue]) throws(PGError) -> Int {
        var n = -1
        try rows(sql, params) { r throws(PGError) in
            n = try r.withBytes(0) { $0.count }
            return false
        }
        return n
    }
}
