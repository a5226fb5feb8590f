import Foundation
import MonitorModels
import Synchronization

/// Capped exponential backoff with jitter: each delay is between half and all of
/// `initial * 2^attempt`, never more than `cap`.
public struct Backoff: Sendable {
    public var initial: Duration
    public var cap: Duration
    public private(set) var attempt = 0

    /// A backoff starting at `initial` and never waiting longer than `cap`.
    public init(initial: Duration = .milliseconds(250), cap: Duration = .seconds(10)) {
        self.initial = initial
        self.cap = cap
    }

    /// The next delay; `random` in 0..<1 supplies the jitter (tests pass fixed values).
    public mutating func next(random: Double = Double.random(in: 0..<1)) -> Duration {
        let factor = Double(1 << min(attempt, 20))
        let base = min(cap, initial * factor)
        attempt += 1
        return base * (0.5 + 0.5 * random)
    }

    /// Back to the first delay after a success.
    public mutating func reset() { attempt = 0 }
}

/// Writes the agent's own log lines (timestamped, to stderr).
public struct AgentLogger: Sendable {
    let write: @Sendable (String) -> Void

    /// A logger writing each line through `write`.
    public init(write: @escaping @Sendable (String) -> Void) { self.write = write }

    /// The live logger: `TIME mms-agent: MESSAGE` lines on stderr.
    public static let stderr = AgentLogger { line in
        LocalRun.writeAll(2, Data("\(RFC3339Now.string()) mms-agent: \(line)\n".utf8))
    }

    /// Logs one line.
    public func callAsFunction(_ message: String) { write(message) }
}

enum RFC3339Now {
    /// Now as "2026-11-24T12:00:00.123Z" (by hand: a new ISO8601DateFormatter per line cost ~0.3 ms,
    /// paid on the way from a cancel to its SIGTERM).
    static func string() -> String { RFC3339.format(Date()) }
}

/// Tracks whether the server is reachable, so each outage is logged once when it starts and once when it ends.
public final class ConnectionMonitor: Sendable {
    private let log: AgentLogger
    private let serverURL: String
    private let downSince = Mutex<ContinuousClock.Instant?>(nil)
    private let statsd: StatsD?

    /// A monitor for the server at `serverURL`; each failed call counts as `server.errors` in `statsd`.
    public init(serverURL: String, log: AgentLogger, statsd: StatsD? = nil) {
        self.serverURL = serverURL
        self.log = log
        self.statsd = statsd
    }

    /// A call failed in a way that retrying may fix.
    public func failed(_ error: CustomStringConvertible) {
        statsd?.count("server.errors")
        let first = downSince.withLock { d -> Bool in
            if d != nil { return false }
            d = .now
            return true
        }
        if first { log("lost the server at \(serverURL): \(error); retrying with backoff until it is back") }
    }

    /// A call succeeded.
    public func succeeded() {
        let since = downSince.withLock { d -> ContinuousClock.Instant? in
            defer { d = nil }
            return d
        }
        if let since {
            let secs = Int((ContinuousClock.now - since).components.seconds)
            log("server at \(serverURL) is back after \(secs) s")
        }
    }

    /// True while an outage is going on.
    public var isDown: Bool { downSince.withLock { $0 != nil } }
}
