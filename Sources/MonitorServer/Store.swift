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
    func saveAgent(_ a: Agent, secretHash: String) throws(DatabaseError)
    func deleteAgent(_ uuid: String) throws(DatabaseError)
    /// Moves agents' lastSeenAt forward (never back), on a connection of its own so it never waits
    /// for the service's lock.
    func recordLastSeen(_ seen: [(uuid: String, at: Date)]) throws(DatabaseError)

    /// Inserts a new job and returns it with its id.
    func insertJob(_ spec: JobSpec, now: Date) throws(DatabaseError) -> Job
    /// Writes a job's state fields (the spec never changes) and, when assigned, its attempt's owner.
    func updateJob(_ j: Job) throws(DatabaseError)
    func job(_ id: Int64) throws(DatabaseError) -> Job?
    /// Jobs that are not completed, oldest first.
    func activeJobs() throws(DatabaseError) -> [Job]
    /// Newest first, optionally one state only.
    func listJobs(state: JobState?, limit: Int) throws(DatabaseError) -> [Job]
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

    func configEntries() throws(DatabaseError) -> [StoredConfigEntry]
    func putConfig(_ name: String, value: String, secret: Bool, now: Date) throws(DatabaseError)
    func deleteConfig(_ name: String) throws(DatabaseError)
}

/// A window of a job's log as stored: the bytes from `offset` and when each part of them arrived.
struct LogWindow {
    var offset: Int64
    var bytes: Data
    var arrivals: LogArrivals
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
