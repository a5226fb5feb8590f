import Foundation
import Testing
import MonitorModels
@testable import MonitorServer

/// The merge rules of stored log chunks, the arrival index, and the store under them.
@Suite struct LogChunksTests {
    typealias Info = LogChunks.Info

    /// Contiguous chunks of the given sizes and pieces, starting at `from`.
    static func chunks(_ spec: [(size: Int, pieces: Int)], from: Int64 = 0) -> [Info] {
        var start = from
        return spec.map { s in
            defer { start += Int64(s.size) }
            return Info(start: start, size: s.size, pieces: s.pieces)
        }
    }

    @Test func tiersGrowByPowersOfTheFanIn() {
        #expect([1, 7, 8, 63, 64, 511, 512].map(LogChunks.tier) == [0, 0, 1, 1, 2, 2, 3])
    }

    @Test func eightSmallChunksOfOneTierAtTheTailMerge() {
        let eight = Self.chunks(Array(repeating: (100, 1), count: 8))
        #expect(LogChunks.tailMerge(eight) == eight)
        #expect(LogChunks.tailMerge(Array(eight.dropFirst())) == nil)
        // Another tier among them, a full chunk, a gap, or too many bytes together: no merge.
        var mixed = eight
        mixed[3].pieces = 8
        #expect(LogChunks.tailMerge(mixed) == nil)
        #expect(LogChunks.tailMerge(Self.chunks(Array(repeating: (100, 1), count: 7) + [(LogChunks.fullSize, 1)])) == nil)
        var gap = eight
        gap[5].start += 1
        #expect(LogChunks.tailMerge(gap) == nil)
        #expect(LogChunks.tailMerge(Self.chunks(Array(repeating: (200 * 1024, 1), count: 8))) == nil)
    }

    @Test func compactionMergesSmallRunsNewestFirstAndSkipsFullChunks() {
        let log = Self.chunks([(100, 1), (100, 1), (LogChunks.fullSize, 1), (50, 1), (60, 8), (70, 64)])
        let groups = LogChunks.compaction(log)
        #expect(groups == [Array(log[3...5]), Array(log[0...1])])
        // A run bigger than one merged row is split; the budget stops it.
        let big = Self.chunks(Array(repeating: (200 * 1024, 1), count: 30))
        let split = LogChunks.compaction(big)
        #expect(split.allSatisfy { $0.reduce(0) { $0 + $1.size } <= LogChunks.maxMerged })
        #expect(split.flatMap { $0 }.reduce(0) { $0 + $1.size } <= LogChunks.compactionBudget)
        #expect(split.first?.last == big.last)
    }

    @Test func arrivalsRoundTripAndAnswerForAnyOffset() {
        let a = LogArrivals([(0, 1_000), (10, 2_000), (25, 3_500)])
        #expect(LogArrivals(blob: a.blob, start: 0) == a)
        #expect(a.time(at: 0) == Date(timeIntervalSince1970: 1))
        #expect(a.time(at: 9) == Date(timeIntervalSince1970: 1))
        #expect(a.time(at: 10) == Date(timeIntervalSince1970: 2))
        #expect(a.time(at: 1_000) == Date(timeIntervalSince1970: 3.5))
        // A chunk kept before arrival times were: unknown.
        #expect(LogArrivals(blob: nil, start: 40).time(at: 45) == nil)
    }

    @Test func timestampedLinesKeepEmptyLinesAndLeaveAPartialLineForLater() throws {
        let arrivals = LogArrivals([(100, 1_000), (104, 61_000)])
        let window = LogWindow(offset: 100, bytes: Data("a\"\n\nb\tc\npart".utf8), arrivals: arrivals)
        let (body, next) = LogTimestamps.render(window, reachesCompleteEnd: false, windowFull: false)
        let lines = String(decoding: body, as: UTF8.self).split(separator: "\n").map(String.init)
        #expect(lines == [
            #"{"at":"1970-01-01T00:00:01.000Z","offset":100,"text":"a\""}"#,
            #"{"at":"1970-01-01T00:00:01.000Z","offset":103,"text":""}"#,
            #"{"at":"1970-01-01T00:01:01.000Z","offset":104,"text":"b\tc"}"#,
        ])
        #expect(next == 108)
        let (done, end) = LogTimestamps.render(window, reachesCompleteEnd: true, windowFull: false)
        #expect(String(decoding: done, as: UTF8.self).hasSuffix(#""offset":108,"text":"part"}"# + "\n"))
        #expect(end == 112)
        // One line filling the whole window is answered cut, so reading goes on.
        let (_, cut) = LogTimestamps.render(LogWindow(offset: 0, bytes: Data("xxxx".utf8), arrivals: arrivals),
                                            reachesCompleteEnd: false, windowFull: true)
        #expect(cut == 4)
        for line in lines { _ = try JSONSerialization.jsonObject(with: Data(line.utf8)) }
    }
}

/// The store's log rows: merged as they arrive and at completion, read whole whatever the chunking.
@Suite(.enabled(if: !TestServer.onPostgres, "SQLite store; StoreTests covers both")) struct LogStoreTests {
    func openStore() throws -> (SQLiteStore, String) {
        let dir = NSTemporaryDirectory() + "mms-logstore-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return (try SQLiteStore(dataDir: dir), dir)
    }

    @Test func aReadReturnsEveryByteUpToTheLimitHoweverManyChunksHoldThem() throws {
        let (store, dir) = try openStore()
        defer { store.close(); try? FileManager.default.removeItem(atPath: dir) }
        let job = try store.insertJob(JobSpec(name: "chatty", commands: ["x"]), now: Date())
        // 300 rows of 100 bytes written directly, as the server before merging stored them.
        var expected = Data()
        for i in 0..<300 {
            let bytes = Data(String(format: "%099d\n", i).utf8)
            try store.db.query("INSERT INTO log_chunks(job_id, start, data) VALUES(?,?,?)",
                               [.int(job.id), .int(Int64(expected.count)), .blob(bytes)])
            expected.append(bytes)
        }
        #expect(try store.readLog(job.id, from: 0, limit: 1 << 20) == expected)
        #expect(try store.readLog(job.id, from: 150, limit: 1 << 20) == expected.subdata(in: 150..<expected.count))
        #expect(try store.readLog(job.id, from: 150, limit: 10_000) == expected.subdata(in: 150..<10_150))
        // Rows kept before arrival times were read as "unknown" in the timestamped form.
        let window = try store.readLogWindow(job.id, from: 0, limit: 1 << 20, withArrivals: true)
        #expect(window.arrivals.time(at: 5_000) == nil)
    }

    @Test func aLineASecondForAnHourStaysInFewRowsAndOneAtCompletion() throws {
        let (store, dir) = try openStore()
        defer { store.close(); try? FileManager.default.removeItem(atPath: dir) }
        let job = try store.insertJob(JobSpec(name: "recorder", commands: ["x"]), now: Date())
        var size: Int64 = 0
        var expected = Data()
        var mostRows = 0
        let start = Date()
        for i in 0..<3_600 {
            let line = Data("frame \(i) ok\n".utf8)
            try store.db.transaction { () throws(DatabaseError) in
                try store.appendLog(job.id, at: size, line, now: start.addingTimeInterval(Double(i)))
            }
            size += Int64(line.count)
            expected.append(line)
            mostRows = max(mostRows, try store.logChunkCount(job.id))
        }
        #expect(mostRows <= 60)
        #expect(try store.readLog(job.id, from: 0, limit: 1 << 20) == expected)
        // Every append's arrival time survives the merges.
        let window = try store.readLogWindow(job.id, from: 0, limit: 1 << 20, withArrivals: true)
        #expect(window.arrivals.entries.count == 3_600)
        let offset1000 = Int64((0..<1_000).reduce(0) { $0 + "frame \($1) ok\n".utf8.count })
        let at1000 = try #require(window.arrivals.time(at: offset1000))
        #expect(abs(at1000.timeIntervalSince(start.addingTimeInterval(1_000))) <= 0.001)  // kept to the millisecond
        try store.db.transaction { () throws(DatabaseError) in try store.compactLog(job.id) }
        #expect(try store.logChunkCount(job.id) == 1)
        #expect(try store.readLog(job.id, from: 0, limit: 1 << 20) == expected)
    }

    @Test func aVersionOneDataDirIsMigratedWithItsLogsReadable() throws {
        let dir = NSTemporaryDirectory() + "mms-logstore-v1-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let v1 = try Database(path: dir + "/mms.sqlite3")
        try v1.exec("""
            CREATE TABLE schema_version(version INTEGER NOT NULL);
            CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
            CREATE TABLE agents(uuid TEXT PRIMARY KEY, name TEXT NOT NULL, hostname TEXT NOT NULL, os TEXT NOT NULL,
              version TEXT NOT NULL, ip_address TEXT, config_state TEXT NOT NULL, resources TEXT NOT NULL,
              environments TEXT NOT NULL, secret_hash TEXT NOT NULL, registered_at REAL NOT NULL, last_seen_at REAL);
            CREATE TABLE jobs(id INTEGER PRIMARY KEY AUTOINCREMENT, spec TEXT NOT NULL, state TEXT NOT NULL, result TEXT,
              exit_code INTEGER, failure_reason TEXT, agent_uuid TEXT, agent_name TEXT, attempt INTEGER NOT NULL,
              log_size INTEGER NOT NULL, created_at REAL NOT NULL, assigned_at REAL, started_at REAL, finished_at REAL);
            CREATE INDEX jobs_by_state ON jobs(state, id);
            CREATE TABLE job_attempts(job_id INTEGER NOT NULL, attempt INTEGER NOT NULL, agent_uuid TEXT NOT NULL,
              PRIMARY KEY(job_id, attempt));
            CREATE TABLE log_chunks(job_id INTEGER NOT NULL, start INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY(job_id, start));
            CREATE TABLE config(name TEXT PRIMARY KEY, value TEXT NOT NULL, secret INTEGER NOT NULL, updated_at REAL NOT NULL);
            INSERT INTO schema_version(version) VALUES (1);
            INSERT INTO jobs(spec, state, result, attempt, log_size, created_at, finished_at)
              VALUES('{"name":"old","commands":["x"]}', 'completed', 'passed', 1, 6, 0, 1);
            INSERT INTO log_chunks(job_id, start, data) VALUES(1, 0, X'68690A'), (1, 3, X'796F0A');
            """)
        v1.close()
        let store = try SQLiteStore(dataDir: dir)
        defer { store.close() }
        let job = try #require(try store.job(1))
        #expect(job.logRemovedAt == nil && job.logSize == 6)
        let window = try store.readLogWindow(1, from: 0, limit: 100, withArrivals: true)
        #expect(window.bytes == Data("hi\nyo\n".utf8) && window.arrivals.time(at: 4) == nil)
        // New bytes after the old ones keep their arrival times.
        try store.db.transaction { () throws(DatabaseError) in try store.appendLog(1, at: 6, Data("new\n".utf8), now: Date()) }
        #expect(try store.readLogWindow(1, from: 0, limit: 100, withArrivals: true).arrivals.time(at: 6) != nil)
    }

    @Test func retentionRemovesOnlyLogsOfJobsCompletedBeforeTheCutoff() throws {
        let (store, dir) = try openStore()
        defer { store.close(); try? FileManager.default.removeItem(atPath: dir) }
        let now = Date()
        var old = try store.insertJob(JobSpec(name: "old", commands: ["x"]), now: now.addingTimeInterval(-100 * 86400))
        var recent = try store.insertJob(JobSpec(name: "recent", commands: ["x"]), now: now)
        for job in [old, recent] {
            try store.db.transaction { () throws(DatabaseError) in try store.appendLog(job.id, at: 0, Data("hi\n".utf8), now: now) }
        }
        old.state = .completed; old.logSize = 3; old.finishedAt = now.addingTimeInterval(-95 * 86400)
        recent.state = .completed; recent.logSize = 3; recent.finishedAt = now.addingTimeInterval(-1 * 86400)
        try store.updateJob(old, cancelAskedAt: nil)
        try store.updateJob(recent, cancelAskedAt: nil)
        let removed = try store.removeLogs(completedBefore: now.addingTimeInterval(-90 * 86400), now: now, limit: 10)
        #expect(removed.map(\.id) == [old.id])
        #expect(try store.job(old.id)?.logRemovedAt != nil && store.logChunkCount(old.id) == 0)
        #expect(try store.job(recent.id)?.logRemovedAt == nil && store.readLog(recent.id, from: 0, limit: 10) == Data("hi\n".utf8))
        #expect(try store.logTotals().bytes == 3)
    }
}
