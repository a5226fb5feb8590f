import CLibPQ
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A throwaway PostgreSQL 15 cluster for tests: its own dir /tmp/mms-pg-*, trust auth for user `mms`, and a
/// free port on 127.0.0.1. As root (CI) the server runs as the `postgres` user (initdb refuses root); otherwise
/// as the current user. `shared()` is one cluster per test process, stopped at exit; `start()` makes a private
/// one for tests that stop or restart it, removed with `destroy()`.
public final class PostgresCluster: Sendable {
    /// The cluster's dir: `data/` (the cluster), `log` (the server's), the Unix socket, `owner` (the test pid).
    public let dir: String
    /// The TCP port on 127.0.0.1, kept across restarts.
    public let port: Int

    /// Where Debian's postgresql-15 puts initdb, pg_ctl and postgres.
    public static let binDir = "/usr/lib/postgresql/15/bin"

    private init(dir: String, port: Int) {
        self.dir = dir
        self.port = port
    }

    /// The cluster shared by every test in this process: started on first use, stopped and removed at exit.
    public static func shared() throws -> PostgresCluster { try sharedCluster.get() }

    private static let sharedCluster: Result<PostgresCluster, PostgresClusterError> = {
        do {
            let cluster = try start()
            atexit { try? PostgresCluster.sharedCluster.get().destroyAtExit() }
            return .success(cluster)
        } catch let error as PostgresClusterError {
            return .failure(error)
        } catch {
            return .failure(PostgresClusterError("\(error)"))
        }
    }()

    /// Makes and starts a new cluster (initdb + pg_ctl start, about a second). Clusters left running by a
    /// test process that died are stopped and removed first.
    public static func start() throws -> PostgresCluster {
        guard FileManager.default.isExecutableFile(atPath: binDir + "/initdb") else {
            throw PostgresClusterError("PostgreSQL 15 is not installed (\(binDir)/initdb): `make deps` installs postgresql-15")
        }
        removeLeftovers()
        var template = Array("/tmp/mms-pg-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw PostgresClusterError("mkdtemp: errno \(errno)") }
        let dir = String(cString: made)
        try "\(getpid())\n".write(toFile: dir + "/owner", atomically: false, encoding: .utf8)
        if asRoot { try FileManager.default.setAttributes([.ownerAccountName: "postgres"], ofItemAtPath: dir) }
        do {
            try PostgresCluster.run("initdb", ["-D", dir + "/data", "-A", "trust", "-U", "mms", "-E", "UTF8", "--no-locale",
                                               "--no-sync"], in: dir)
            for attempt in 1...5 {
                let cluster = PostgresCluster(dir: dir, port: try freePort())
                do {
                    try cluster.startAgain()
                    return cluster
                } catch let error as PostgresClusterError where attempt < 5 && error.description.contains("could not bind") {
                    continue  // another process took the port between our probe and the server's bind
                }
            }
            throw PostgresClusterError("no free port found")
        } catch {
            PostgresCluster(dir: dir, port: 0).destroy()
            throw error
        }
    }

    /// `postgres://mms@127.0.0.1:PORT/NAME`.
    public func url(_ database: String) -> String { "postgres://mms@127.0.0.1:\(port)/\(database)" }

    /// Creates an empty database (a fresh unique name unless given) and returns its URL.
    @discardableResult
    public func createDatabase(_ name: String = "t_" + UUID().uuidString.prefix(8).lowercased()) throws -> String {
        guard !name.isEmpty, name.utf8.allSatisfy({ $0 == UInt8(ascii: "_") || (0x30...0x39).contains($0) || (0x61...0x7a).contains($0) })
        else { throw PostgresClusterError("database names here are [a-z0-9_]: \(name)") }
        guard let conn = PQconnectdb(url("postgres")) else { throw PostgresClusterError("out of memory") }
        defer { PQfinish(conn) }
        let result = PQexec(conn, "CREATE DATABASE \(name)")
        defer { PQclear(result) }
        guard PQresultStatus(result) == PGRES_COMMAND_OK else {
            throw PostgresClusterError("CREATE DATABASE \(name): " + String(cString: PQerrorMessage(conn)))
        }
        return url(name)
    }

    /// Starts the server on the same dir and port (after `stop()`), waiting until it accepts connections.
    public func startAgain() throws {
        // 300 connections: each test server holds 3 (main, side, listener) and the suites run in parallel.
        let options = "-k \(dir) -p \(port) -c listen_addresses=127.0.0.1 -c fsync=on -c max_connections=300"
        do {
            try PostgresCluster.run("pg_ctl", ["-D", dir + "/data", "-o", options, "-l", dir + "/log", "-w", "-t", "60", "start"], in: dir)
        } catch {
            throw PostgresClusterError("\(error)\nserver log:\n\(logTail())")
        }
    }

    /// Stops the server (`pg_ctl -m fast stop`: sessions are ended, as in a planned restart).
    public func stop() throws {
        try PostgresCluster.run("pg_ctl", ["-D", dir + "/data", "-m", "fast", "-w", "-t", "60", "stop"], in: dir)
    }

    /// Stops the server and starts it again on the same port: every connection is lost.
    public func restart() throws {
        try stop()
        try startAgain()
    }

    /// Runs `body` while the server is stopped, then starts it again (also when `body` throws).
    public func whileStopped<T>(_ body: () async throws -> T) async throws -> T {
        try stop()
        do {
            let value = try await body()
            try startAgain()
            return value
        } catch {
            try? startAgain()
            throw error
        }
    }

    /// Stops the server at once (`-m immediate`) and removes the dir.
    public func destroy() {
        _ = try? PostgresCluster.run("pg_ctl", ["-D", dir + "/data", "-m", "immediate", "-w", "stop"], in: dir)
        try? FileManager.default.removeItem(atPath: dir)
    }

    /// The last lines of the server's log, for failure messages.
    public func logTail(_ lines: Int = 20) -> String {
        let text = (try? String(contentsOfFile: dir + "/log", encoding: .utf8)) ?? ""
        return text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
    }
}

/// Why a test cluster could not be made, started or stopped, with the tool's output.
public struct PostgresClusterError: Error, CustomStringConvertible {
    /// What failed, with the tool's output or the server's log.
    public let description: String
    /// An error saying `description`.
    public init(_ description: String) { self.description = description }
}
