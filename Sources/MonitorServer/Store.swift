import Foundation
import MonitorModels

/// Every read and write the server makes to its durable state, behind one seam: `SQLiteStore` (the
/// embedded default) and `PostgresStore` implement it, and one store test suite runs against both.
/// Methods run in the caller's serialization (the service's lock); writes made inside `transaction`
/// commit together, and any other write commits before it returns. No SQL lives outside the stores.
protocol Store: AnyObject {
    /// Closes every connection (shutdown).
    func close()
    /// True when the database answers a read now (on the side connection; /healthz).
    func isReachable() -> Bool
    /// Runs `body` in one transaction; rolls back when it throws.
    func transaction<T>(_ body: () throws(DatabaseError) -> T) throws(DatabaseError) -> T

    /// A server-wide setting (config version, event base).
    func meta(_ key: String) throws(DatabaseError) -> String?
    func setMeta(_ key: String, _ value: String) throws(DatabaseError)
    /// Stores `value` under `key` unless a value is there already; returns the one kept.
    func claimMeta(_ key: String, _ value: String) throws(DatabaseError) -> String

    /// Every stored agent, with its secret hash.
    func loadAgents() throws(DatabaseError) -> [(Agent, String)]
    /// Every stored agent with what the dispatcher keeps beside it (a replica's cache is built from these).
    func loadAgentStates() throws(DatabaseError) -> [StoredAgent]
    func saveAgent(_ a: StoredAgent) throws(DatabaseError)
    func deleteAgent(_ uuid: String) throws(DatabaseError)
    /// Moves agents' lastSeenAt forward (never back), on a connection of its own so it never waits
    /// for the service's lock.
    func recordLastSeen(_ seen: [(uuid: String, at: Date)]) throws(DatabaseError)

    /// Inserts a new job and returns it with its id.
    func insertJob(_ spec: JobSpec, now: Date) throws(DatabaseError) -> Job
    /// Writes a job's state fields (the spec and the log size, which only log appends move, stay) and,
    /// when assigned, its attempt's owner.
    func updateJob(_ j: Job, cancelAskedAt: Date?) throws(DatabaseError)
    /// When a cancel was asked for each job in `cancelling`.
    func cancelsAsked() throws(DatabaseError) -> [Int64: Date]
    func job(_ id: Int64) throws(DatabaseError) -> Job?
    /// Jobs that are not completed, oldest first.
    func activeJobs() throws(DatabaseError) -> [Job]
    /// Newest first, optionally one state only and only jobs whose current (or last) attempt is on `agent`.
    func listJobs(state: JobState?, agent: String?, limit: Int) throws(DatabaseError) -> [Job]
    func completedJobCount() throws(DatabaseError) -> Int
    /// Attempt owners of the active jobs: job → attempt → agent uuid.
    func attemptOwners() throws(DatabaseError) -> [Int64: [Int: String]]
    /// Agents that ever held an attempt of a job.
    func attemptAgents(_ jobId: Int64) throws(DatabaseError) -> Set<String>

    /// Stores one chunk of a job's log at `start` with its arrival index (`LogArrivals.blob`).
    func insertLogChunk(_ jobId: Int64, start: Int64, _ bytes: Data, arrivals: Data) throws(DatabaseError)
    func setLogSize(_ jobId: Int64, _ size: Int64) throws(DatabaseError)
    /// The last `count` chunks of a job, oldest first, without their bytes.
    func logChunkInfos(_ jobId: Int64, newest count: Int) throws(DatabaseError) -> [LogChunks.Info]
    /// Replaces contiguous chunks by one holding their bytes and arrivals (no-op when they changed meanwhile).
    func mergeLogChunks(_ jobId: Int64, _ group: [LogChunks.Info]) throws(DatabaseError)
    /// Up to `limit` bytes of a job's log from `offset` (with arrival times when asked), stopping early
    /// only where the stored chunks are not contiguous.
    func readLogWindow(_ jobId: Int64, from offset: Int64, limit: Int, withArrivals: Bool) throws(DatabaseError) -> LogWindow
    /// Removes the logs of at most `limit` jobs completed before `cutoff`; returns them.
    func removeLogs(completedBefore cutoff: Date, now: Date, limit: Int) throws(DatabaseError) -> [(id: Int64, size: Int64)]
    /// Bytes of log held and rows holding them (for /metrics), read without the service's lock.
    func logTotals() throws(DatabaseError) -> (bytes: Int64, chunks: Int64)
    /// Rows of one job's log.
    func logChunkCount(_ jobId: Int64) throws(DatabaseError) -> Int

    // MARK: Several servers on one database (PostgreSQL; SQLite has one server and answers trivially)

    /// True when other servers may share this database: changes are then made under the cluster-wide
    /// lock (`beginSharedChange`) and each server's cache catches up with `changes(since:)`.
    var isShared: Bool { get }
    /// Inside a transaction: waits for the cluster-wide change lock and returns this change's revision,
    /// stamped on every agent and job row written until the transaction ends.
    func beginSharedChange() throws(DatabaseError) -> Int64
    /// The revision of the last committed change.
    func currentRevision() throws(DatabaseError) -> Int64
    /// What was committed after revision `known`.
    func changes(since known: Int64) throws(DatabaseError) -> StoreChanges
    /// A job's log size, attempt, state and agent as stored, its row locked until the transaction ends
    /// (log appends and the server's own log lines serialize on it; an append judges its attempt on it).
    func lockLogHead(_ jobId: Int64) throws(DatabaseError) -> LogHead?
    /// The newest contact each server recorded for these agents.
    func lastSeen(_ uuids: [String]) throws(DatabaseError) -> [String: Date]
    /// Numbers events in the change's transaction (gap-free, in commit order) and stores them.
    func appendEvents(_ events: [Event]) throws(DatabaseError) -> [Event]
    /// Stored events after `since`.
    func events(after since: Int64, limit: Int) throws(DatabaseError) -> EventPage
    /// Drops all but the newest `count` stored events.
    func trimEvents(keeping count: Int) throws(DatabaseError)
    /// Takes or renews the lease `name` for `holder`; false while another holder's lease runs.
    func holdLease(_ name: String, holder: String, seconds: Double, now: Date) throws(DatabaseError) -> Bool
    /// Tells the other servers what changed (after the change committed).
    func notifyOthers(_ payload: String)

    // MARK: Operators and the audit log

    /// Every operator (the built-in `admin` is not stored).
    func operators() throws(DatabaseError) -> [StoredOperator]
    /// The operator whose token has this SHA-256 hex, if any.
    func operatorByTokenHash(_ hash: String) throws(DatabaseError) -> StoredOperator?
    /// Adds an operator, or replaces the one of that name (a rotated token).
    func putOperator(_ op: StoredOperator) throws(DatabaseError)
    /// Removes an operator; false when there was none of that name.
    func deleteOperator(_ name: String) throws(DatabaseError) -> Bool
    /// Numbers entries (gap-free, in commit order: the counter row is locked until the transaction ends)
    /// and stores them in the caller's transaction.
    func appendAudit(_ entries: [AuditEntry]) throws(DatabaseError) -> [AuditEntry]
    /// Entries with seq > `since`, newest first, at most `limit`, about `target` (a target id) when given.
    func auditEntries(after since: Int64, limit: Int, target: String?) throws(DatabaseError) -> [AuditEntry]
    /// Removes entries older than `cutoff`, always keeping the newest one.
    func trimAudit(before cutoff: Date) throws(DatabaseError)

    func configEntries() throws(DatabaseError) -> [StoredConfigEntry]
    func putConfig(_ name: String, value: String, secret: Bool, now: Date) throws(DatabaseError)
    func deleteConfig(_ name: String) throws(DatabaseError)
}

/// An operator as stored: its token only as a SHA-256 hex.
struct StoredOperator: Sendable, Equatable {
    var name: String
    var role: OperatorRole
    var tokenHash: String
    var createdAt: Date
}

/// A window of a job's log as stored: the bytes from `offset` and when each part of them arrived.
struct LogWindow {
    var offset: Int64
    var bytes: Data
    var arrivals: LogArrivals
}

/// An agent as stored, with what the dispatcher keeps beside it.
struct StoredAgent: Sendable, Equatable {
    var agent: Agent
    /// Lower-case hex SHA-256 of the agent's secret.
    var secretHash: String
    /// The sweeper found it unreachable; cleared by its next contact.
    var lostContact = false
    /// Since when it has had no job (the dispatcher gives work to the agent idle longest).
    var idleSince: Date?
    /// A push agent's JWT signing secret (stored as given: the server signs with it; never returned).
    var pushSecret: String?
    /// PEM of the CA a push agent's certificate chains to, when not a public one.
    var pushCACert: String?
}

/// What other servers committed after a revision: the rows a server's cache takes in.
struct StoreChanges: Sendable {
    /// The revision these changes bring the cache to.
    var revision: Int64
    var agents: [StoredAgent] = []
    var deletedAgents: [String] = []
    var jobs: [(job: Job, cancelAskedAt: Date?)] = []
    /// Attempt owners of the changed jobs that are still active.
    var attempts: [Int64: [Int: String]] = [:]
    var configVersion: Int64?

    var isEmpty: Bool { agents.isEmpty && deletedAgents.isEmpty && jobs.isEmpty && configVersion == nil }
}

/// Assembles a `LogWindow` from stored chunks read in offset order (both stores read with it).
struct LogWindowBuilder {
    let offset: Int64
    let limit: Int
    let withArrivals: Bool
    private var bytes: Data
    private var arrivals: [(offset: Int64, millis: Int64)] = []
    private var next: Int64

    init(offset: Int64, limit: Int, withArrivals: Bool) {
        self.offset = offset
        self.limit = limit
        self.withArrivals = withArrivals
        bytes = Data(capacity: min(limit, 1 << 20))
        next = offset
    }

    /// Takes the part of the chunk at `start` that the window still needs; false when reading should
    /// stop (the window is full, or the stored chunks leave a gap here).
    mutating func take(start: Int64, _ raw: UnsafeRawBufferPointer, arrivals blob: () -> Data?) -> Bool {
        if start > next { return false }  // a gap in the stored chunks: stop at what is contiguous
        let end = start + Int64(raw.count)
        guard end > next, let base = raw.baseAddress else { return bytes.count < limit }
        let skip = Int(next - start)
        let n = min(raw.count - skip, limit - bytes.count)
        bytes.append(base.advanced(by: skip).assumingMemoryBound(to: UInt8.self), count: n)
        if withArrivals && n > 0 { arrivals.append(contentsOf: LogArrivals(blob: blob(), start: start).entries) }
        next += Int64(n)
        return bytes.count < limit
    }

    var window: LogWindow { LogWindow(offset: offset, bytes: bytes, arrivals: LogArrivals(arrivals)) }
}

/// A job's row as a log append sees it under the row's lock.
struct LogHead: Sendable, Equatable {
    var size: Int64
    var attempt: Int
    var state: JobState
    var agentUuid: String?

    /// Whether attempt `attempt` of agent `uuid` may still write to this log.
    func accepts(_ attempt: Int, from uuid: String) -> Bool {
        state != .completed && attempt == self.attempt && agentUuid == uuid
    }
}

/// A configuration entry as stored (secret values included).
struct StoredConfigEntry: Sendable, Equatable {
    var name: String
    var value: String
    var secret: Bool
    var updatedAt: Date
}

/// Log writes built from the stores' primitives, so both stores merge chunks by the same rules.
extension Store {
    /// A job's log size as stored, its row locked until the transaction ends.
    func lockLogSize(_ jobId: Int64) throws(DatabaseError) -> Int64? { try lockLogHead(jobId)?.size }

    /// Appends bytes at the end of a job's log (the caller has checked the offset and holds a transaction),
    /// recording when they arrived, then merges small chunks at the tail (`LogChunks.tailMerge`).
    func appendLog(_ jobId: Int64, at size: Int64, _ bytes: Data, now: Date) throws(DatabaseError) {
        guard !bytes.isEmpty else { return }
        try insertLogChunk(jobId, start: size, bytes, arrivals: LogArrivals(offset: size, at: now).blob)
        try setLogSize(jobId, size + Int64(bytes.count))
        while let group = LogChunks.tailMerge(try logChunkInfos(jobId, newest: LogChunks.fanIn)) {
            try mergeLogChunks(jobId, group)
        }
    }

    /// Merges what is still small in a completed job's log (`LogChunks.compaction`).
    func compactLog(_ jobId: Int64) throws(DatabaseError) {
        for group in LogChunks.compaction(try logChunkInfos(jobId, newest: 100_000)) {
            try mergeLogChunks(jobId, group)
        }
    }

    /// Up to `limit` bytes of a job's log from `offset`.
    func readLog(_ jobId: Int64, from offset: Int64, limit: Int) throws(DatabaseError) -> Data {
        try readLogWindow(jobId, from: offset, limit: limit, withArrivals: false).bytes
    }
}

extension Store {
    /// Newest first, optionally one state only, of every agent.
    func listJobs(state: JobState?, limit: Int) throws(DatabaseError) -> [Job] {
        try listJobs(state: state, agent: nil, limit: limit)
    }
}
