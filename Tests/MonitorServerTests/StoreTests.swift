import Foundation
import MMSTestSupport
import Testing
import MonitorModels
@testable import MonitorServer

/// The stores behind the `Store` protocol.
enum Backend: String, CaseIterable, CustomTestStringConvertible {
    case sqlite, postgres
    var testDescription: String { rawValue }

    /// A fresh, empty store of this kind.
    func open() throws -> any Store {
        switch self {
        case .sqlite:
            let dir = NSTemporaryDirectory() + "mms-store-\(UUID().uuidString)"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            return try SQLiteStore(dataDir: dir)
        case .postgres:
            return try PostgresStore(conninfo: PostgresCluster.shared().createDatabase())
        }
    }
}

/// One suite every store must pass (River's driver test style): what the service writes reads back
/// the same from SQLite and PostgreSQL. Runs in the default pass only (it covers both itself).
@Suite(.enabled(if: !TestServer.onPostgres, "covers both stores in the default pass"))
struct StoreTests {
    static let t0 = Date(timeIntervalSince1970: 1_796_000_000.25)

    @Test(arguments: Backend.allCases) func agentsRoundTripAndLastSeenOnlyMovesForward(_ backend: Backend) throws {
        let store = try backend.open()
        defer { store.close() }
        var a = Agent(uuid: "9f1c0000-0000-4000-8000-000000000001", name: "rec-07 ☃", hostname: "h\u{0}x", os: "linux",
                      version: "2.0.0", ipAddress: "127.0.0.1", configState: .pending, resources: ["gpu", "cam"],
                      environments: ["lab"], registeredAt: Self.t0, lastSeenAt: Self.t0)
        try store.saveAgent(a, secretHash: "abc")
        a.configState = .enabled
        a.name = "rec-08"
        try store.saveAgent(a, secretHash: "ignored on update")
        try store.recordLastSeen([(uuid: a.uuid, at: Self.t0.addingTimeInterval(60))])
        try store.recordLastSeen([(uuid: a.uuid, at: Self.t0.addingTimeInterval(30))])
        let loaded = try store.loadAgents()
        #expect(loaded.count == 1)
        let (b, hash) = try #require(loaded.first)
        #expect(hash == "abc" && b.name == "rec-08" && b.hostname == "h\u{0}x" && b.configState == .enabled)
        #expect(b.resources == ["gpu", "cam"] && b.environments == ["lab"] && b.registeredAt == Self.t0)
        #expect(b.lastSeenAt == Self.t0.addingTimeInterval(60))
        try store.deleteAgent(a.uuid)
        #expect(try store.loadAgents().isEmpty)
    }

    @Test(arguments: Backend.allCases) func jobsKeepTheirSpecStateAndAttempts(_ backend: Backend) throws {
        let store = try backend.open()
        defer { store.close() }
        let spec = JobSpec(name: "build ✓", commands: ["make", "echo 'x'"], env: ["A": "1"], resources: ["gpu"], secrets: ["K"])
        var job = try store.transaction { () throws(DatabaseError) in try store.insertJob(spec, now: Self.t0) }
        let second = try store.insertJob(JobSpec(name: "other", commands: ["true"]), now: Self.t0)
        #expect(second.id > job.id)
        job.state = .assigned
        job.agentUuid = "u1"
        job.agentName = "rec"
        job.assignedAt = Self.t0.addingTimeInterval(1)
        try store.updateJob(job)
        job.attempt = 2
        try store.updateJob(job)
        #expect(try store.job(job.id) == job)
        #expect(try store.activeJobs().map(\.id) == [job.id, second.id])
        #expect(try store.attemptOwners() == [job.id: [1: "u1", 2: "u1"]])
        job.state = .completed
        job.result = .failed
        job.exitCode = 2
        job.failureReason = "command exited with 2"
        job.finishedAt = Self.t0.addingTimeInterval(9)
        try store.updateJob(job)
        #expect(try store.job(job.id) == job && store.completedJobCount() == 1)
        #expect(try store.listJobs(state: nil, limit: 10).map(\.id) == [second.id, job.id])
        #expect(try store.listJobs(state: .completed, limit: 10).map(\.id) == [job.id])
        #expect(try store.attemptAgents(job.id) == ["u1"] && store.attemptOwners().isEmpty)
        #expect(try store.job(999_999) == nil)
    }

    @Test(arguments: Backend.allCases) func aFailedTransactionLeavesNothing(_ backend: Backend) throws {
        let store = try backend.open()
        defer { store.close() }
        struct Refused: Error {}
        #expect(throws: DatabaseError.self) {
            try store.transaction { () throws(DatabaseError) in
                _ = try store.insertJob(JobSpec(name: "gone", commands: ["x"]), now: Self.t0)
                throw DatabaseError(code: 1, message: "refused")
            }
        }
        #expect(try store.listJobs(state: nil, limit: 10).isEmpty)
    }

    @Test(arguments: Backend.allCases) func configurationAndMeta(_ backend: Backend) throws {
        let store = try backend.open()
        defer { store.close() }
        try store.putConfig("API_KEY", value: "s3cr3t\u{0}tail", secret: true, now: Self.t0)
        try store.putConfig("REGION", value: "eu-1", secret: false, now: Self.t0)
        try store.putConfig("REGION", value: "eu-2", secret: false, now: Self.t0.addingTimeInterval(5))
        #expect(try store.configEntries() == [
            StoredConfigEntry(name: "API_KEY", value: "s3cr3t\u{0}tail", secret: true, updatedAt: Self.t0),
            StoredConfigEntry(name: "REGION", value: "eu-2", secret: false, updatedAt: Self.t0.addingTimeInterval(5)),
        ])
        try store.deleteConfig("API_KEY")
        #expect(try store.configEntries().map(\.name) == ["REGION"])
        #expect(try store.meta("config_version") == nil)
        try store.setMeta("config_version", "3")
        #expect(try store.meta("config_version") == "3")
        #expect(try store.claimMeta("admin_token", "first") == "first")
        #expect(try store.claimMeta("admin_token", "second") == "first")
        #expect(store.isReachable())
    }

    @Test(arguments: Backend.allCases) func logsMergeReadWholeAndExpire(_ backend: Backend) throws {
        let store = try backend.open()
        defer { store.close() }
        var job = try store.insertJob(JobSpec(name: "recorder", commands: ["x"]), now: Self.t0)
        var expected = Data()
        for i in 0..<600 {
            let line = Data("frame \(i) \u{1F3A5}\n".utf8)
            try store.transaction { () throws(DatabaseError) in
                try store.appendLog(job.id, at: Int64(expected.count), line, now: Self.t0.addingTimeInterval(Double(i)))
            }
            expected.append(line)
        }
        #expect(try store.logChunkCount(job.id) <= 30)
        #expect(try store.readLog(job.id, from: 0, limit: 1 << 20) == expected)
        #expect(try store.readLog(job.id, from: 1_000, limit: 777) == expected.subdata(in: 1_000..<1_777))
        let window = try store.readLogWindow(job.id, from: 0, limit: 1 << 20, withArrivals: true)
        #expect(window.arrivals.entries.count == 600 && window.arrivals.time(at: 0) == Self.t0)
        try store.transaction { () throws(DatabaseError) in try store.compactLog(job.id) }
        #expect(try store.logChunkCount(job.id) == 1 && store.readLog(job.id, from: 0, limit: 1 << 20) == expected)
        #expect(try store.job(job.id)?.logSize == Int64(expected.count) && store.logTotals().bytes == Int64(expected.count))

        job.state = .completed
        job.logSize = Int64(expected.count)
        job.finishedAt = Self.t0
        try store.updateJob(job)
        #expect(try store.removeLogs(completedBefore: Self.t0, now: Self.t0, limit: 10).isEmpty)
        let removed = try store.removeLogs(completedBefore: Self.t0.addingTimeInterval(1), now: Self.t0, limit: 10)
        #expect(removed.map(\.id) == [job.id] && removed.first?.size == Int64(expected.count))
        #expect(try store.job(job.id)?.logRemovedAt == Self.t0 && store.logChunkCount(job.id) == 0)
        #expect(try store.logTotals() == (bytes: 0, chunks: 0))
    }

    @Test(arguments: Backend.allCases) func aMiBOfLogInBigChunksReadsBackExactly(_ backend: Backend) throws {
        let store = try backend.open()
        defer { store.close() }
        let job = try store.insertJob(JobSpec(name: "big", commands: ["x"]), now: Self.t0)
        var expected = Data()
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<6 {
            let chunk = Data((0..<(256 * 1024)).map { _ in UInt8.random(in: 0...255, using: &rng) })
            try store.transaction { () throws(DatabaseError) in
                try store.appendLog(job.id, at: Int64(expected.count), chunk, now: Self.t0)
            }
            expected.append(chunk)
        }
        #expect(try store.logChunkCount(job.id) == 6)
        let first = try store.readLog(job.id, from: 100, limit: 1 << 20)
        #expect(first == expected.subdata(in: 100..<(100 + (1 << 20))))
        #expect(try store.readLog(job.id, from: 100 + (1 << 20), limit: 1 << 20) == expected.subdata(in: (100 + (1 << 20))..<expected.count))
    }
}
