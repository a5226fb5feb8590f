import Foundation

/// One PostgreSQL connection used by one caller at a time. A connection found lost fails that call
/// (and the transaction around it); the next call connects again, so a database restart costs the
/// calls made while it was down (503) and nothing after. Never reconnects inside a transaction.
final class PGSession: @unchecked Sendable {  // every use of `connection` is under `lock`
    private let conninfo: String
    private let lock = NSRecursiveLock()
    private var connection: PGConnection?
    private var inTransaction = false

    /// Connects at once, so a wrong URL or a database that is down stops the start with its reason.
    init(conninfo: String) throws(DatabaseError) {
        self.conninfo = conninfo
        do { connection = try PGConnection(conninfo: conninfo) } catch { throw DatabaseError(error) }
    }

    /// Runs `body` on the connection (inside the current transaction, if one is open).
    func run<T>(_ body: (PGConnection) throws(PGError) -> T) throws(DatabaseError) -> T {
        lock.lock()
        defer { lock.unlock() }
        let c = try current()
        do {
            return try body(c)
        } catch {
            if error.isConnectionLost && !inTransaction { connection = nil }
            throw DatabaseError(error)
        }
    }

    /// Runs `body` in one transaction (BEGIN … COMMIT), rolled back when it throws.
    func transaction<T>(_ body: () throws(DatabaseError) -> T) throws(DatabaseError) -> T {
        lock.lock()
        defer { lock.unlock() }
        let c = try current()
        do { try c.exec("BEGIN") } catch { return try lost(error) }
        inTransaction = true
        defer { inTransaction = false }
        do {
            let value = try body()
            do { try c.exec("COMMIT") } catch { return try lost(error) }
            return value
        } catch {
            if (try? c.exec("ROLLBACK")) == nil { connection = nil }
            throw error
        }
    }

    /// Closes the connection (shutdown).
    func close() {
        lock.withLock { connection = nil }
    }

    private func current() throws(DatabaseError) -> PGConnection {
        if let c = connection, c.isConnected { return c }
        do {
            let c = try PGConnection(conninfo: conninfo)
            connection = c
            return c
        } catch {
            connection = nil
            throw DatabaseError(error)
        }
    }

    private func lost<T>(_ error: PGError) throws(DatabaseError) -> T {
        if error.isConnectionLost { connection = nil }
        throw DatabaseError(error)
    }
}

extension DatabaseError {
    /// A PostgreSQL failure at the store's boundary; a lost connection or a database that cannot take
    /// writes now counts as unavailable (503).
    init(_ error: PGError) {
        self.init(code: -1, message: error.message)
        postgresUnavailable = error.isConnectionLost
            || (error.sqlstate.map { ["53", "57", "08"].contains(String($0.prefix(2))) } ?? false)
    }
}
