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
        try store.saveAgent(StoredAgent(agent: a, secretHash: "abc"))
        a.configState = .enabled
        a.name = "rec-08"
        try store.saveAgent(StoredAgent(agent: a, secretHash: "ignored on update"))
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

    @Test(arguments: Backend.allCases) func version2AgentAndJobFieldsRoundTrip(_ backend: Backend) throws {
        let store = try backend.open()
        defer { store.close() }
        let until = Self.t0.addingTimeInterval(3600)
        let a = Agent(uuid: "9f1c0000-0000-4000-8000-000000000002", name: "push-1", configState: .disabled,
                      registeredAt: Self.t0, kind: .push, url: "https://127.0.0.1:8000", containerRuntime: "podman 4.3.1\u{0}",
                      binarySHA256: String(repeating: "ab", count: 32), disabledReason: "replacing disks ☃", disabledBy: "alice",
                      disabledAt: Self.t0, disabledUntil: until)
        try store.saveAgent(StoredAgent(agent: a, secretHash: "h", pushSecret: "s3cret-s3cret-s3cret", pushCACert: "-----BEGIN"))
        let loaded = try #require(try store.loadAgentStates().first)
        #expect(loaded.agent == a)
        #expect(loaded.pushSecret == "s3cret-s3cret-s3cret" && loaded.pushCACert == "-----BEGIN")
        var job = try store.insertJob(JobSpec(name: "ssh", commands: ["true"]), now: Self.t0)
        job.state = .building
        job.sshCommand = "ssh -t -p 2222 root@127.0.0.1"
        try store.updateJob(job, cancelAskedAt: nil)
        #expect(try store.job(job.id)?.sshCommand == "ssh -t -p 2222 root@127.0.0.1")
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
        try store.updateJob(job, cancelAskedAt: nil)
        #expect(try Self.head(store, job.id) == LogHead(size: 0, attempt: 1, state: .assigned, agentUuid: "u1"))
        job.attempt = 2
        try store.updateJob(job, cancelAskedAt: nil)
        #expect(try store.job(job.id) == job)
        try store.transaction { () throws(DatabaseError) in try store.appendLog(job.id, at: 0, Data("abc".utf8), now: Self.t0) }
        job.logSize = 3
        let head = try Self.head(store, job.id)
        #expect(head == LogHead(size: 3, attempt: 2, state: .assigned, agentUuid: "u1"))
        #expect(head?.accepts(2, from: "u1") == true && head?.accepts(1, from: "u1") == false && head?.accepts(2, from: "u2") == false)
        #expect(try store.activeJobs().map(\.id) == [job.id, second.id])
        #expect(try store.attemptOwners() == [job.id: [1: "u1", 2: "u1"]])
        job.state = .completed
        job.result = .failed
        job.exitCode = 2
        job.failureReason = "command exited with 2"
        job.finishedAt = Self.t0.addingTimeInterval(9)
        try store.updateJob(job, cancelAskedAt: nil)
        #expect(try store.job(job.id) == job && store.completedJobCount() == 1)
        #expect(try Self.head(store, job.id)?.state == .completed && Self.head(store, job.id)?.accepts(2, from: "u1") == false)
        #expect(try Self.head(store, 999_999) == nil)
        #expect(try store.listJobs(state: nil, limit: 10).map(\.id) == [second.id, job.id])
        #expect(try store.listJobs(state: .completed, limit: 10).map(\.id) == [job.id])
        #expect(try store.attemptAgents(job.id) == ["u1"] && store.attemptOwners().isEmpty)
        #expect(try store.job(999_999) == nil)
    }

    /// The job's row as a log append sees it (locked in a transaction of its own).
    static func head(_ store: any Store, _ id: Int64) throws -> LogHead? {
        try store.transaction { () throws(DatabaseError) in try store.lockLogHead(id) }
    }

    @Test(arguments: Backend.allCases) func jobsListByAgentWithStateAndLimit(_ backend: Backend) throws {
        let store = try backend.open()
        defer { store.close() }
        var ids: [String: [Int64]] = [:]
        for (n, owner) in ["u1", "u2", "u1", "u1", "u2"].enumerated() {
            var job = try store.insertJob(JobSpec(name: "j\(n)", commands: ["true"]), now: Self.t0)
            job.state = n == 3 ? .building : .completed
            job.agentUuid = owner
            job.agentName = owner
            try store.updateJob(job, cancelAskedAt: nil)
            ids[owner, default: []].insert(job.id, at: 0)
        }
        _ = try store.insertJob(JobSpec(name: "waiting", commands: ["true"]), now: Self.t0)
        #expect(try store.listJobs(state: nil, agent: "u1", limit: 10).map(\.id) == ids["u1"])
        #expect(try store.listJobs(state: nil, agent: "u2", limit: 10).map(\.id) == ids["u2"])
        #expect(try store.listJobs(state: nil, agent: "u1", limit: 2).map(\.id) == Array(ids["u1"]!.prefix(2)))
        #expect(try store.listJobs(state: .completed, agent: "u1", limit: 10).map(\.id) == ids["u1"]!.filter { $0 != ids["u1"]![0] })
        #expect(try store.listJobs(state: .building, agent: "u2", limit: 10).isEmpty)
        #expect(try store.listJobs(state: nil, agent: "nobody", limit: 10).isEmpty)
        #expect(try store.listJobs(state: nil, limit: 10).count == 6)
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
        try store.updateJob(job, cancelAskedAt: nil)
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

    @Test(arguments: Backend.allCases) func whatTheDispatcherKeepsBesideRowsSurvives(_ backend: Backend) throws {
        let store = try backend.open()
        defer { store.close() }
        let a = Agent(uuid: "9f1c0000-0000-4000-8000-000000000002", name: "rec", hostname: "h", os: "linux", version: "2.0.0",
                      configState: .enabled, registeredAt: Self.t0)
        try store.saveAgent(StoredAgent(agent: a, secretHash: "x", lostContact: true, idleSince: Self.t0.addingTimeInterval(7)))
        #expect(try store.loadAgentStates() == [StoredAgent(agent: a, secretHash: "x", lostContact: true,
                                                            idleSince: Self.t0.addingTimeInterval(7))])
        var job = try store.insertJob(JobSpec(name: "j", commands: ["x"]), now: Self.t0)
        job.state = .cancelling
        try store.updateJob(job, cancelAskedAt: Self.t0.addingTimeInterval(3))
        #expect(try store.cancelsAsked() == [job.id: Self.t0.addingTimeInterval(3)])
        #expect(try store.lockLogSize(job.id) == 0 && store.lastSeen([a.uuid]).isEmpty)
    }
}

/// What only a shared (PostgreSQL) store does: revisions, catch-up, numbered events, leases.
@Suite(.enabled(if: !TestServer.onPostgres, "runs in the default pass"))
struct SharedStoreTests {
    @Test func changesAreNumberedAndCaughtUpByRevision() throws {
        let url = try PostgresCluster.shared().createDatabase()
        let a = try PostgresStore(conninfo: url)
        let b = try PostgresStore(conninfo: url)
        defer { a.close(); b.close() }
        let start = try b.currentRevision()
        let agent = Agent(uuid: "9f1c0000-0000-4000-8000-000000000003", name: "rec", hostname: "h", os: "linux",
                          version: "2.0.0", configState: .enabled, registeredAt: StoreTests.t0)
        var job = Job(id: 0, spec: JobSpec(name: "j", commands: ["x"]))
        let rev = try a.transaction { () throws(DatabaseError) -> Int64 in
            let rev = try a.beginSharedChange()
            try a.saveAgent(StoredAgent(agent: agent, secretHash: "h1"))
            job = try a.insertJob(JobSpec(name: "j", commands: ["x"]), now: StoreTests.t0)
            job.state = .assigned
            job.agentUuid = agent.uuid
            try a.updateJob(job, cancelAskedAt: nil)
            var odd = job
            odd.spec.name = #"quote " backslash \ brace { comma , ☃"#
            _ = try a.appendEvents([Event(seq: 0, type: .jobUpdated, job: odd), Event(seq: 0, type: .agentUpdated, agent: agent)])
            return rev
        }
        #expect(rev == start + 1)
        let seen = try b.changes(since: start)
        #expect(seen.revision == rev && seen.agents.map(\.agent.uuid) == [agent.uuid])
        #expect(seen.jobs.map(\.job.id) == [job.id] && seen.attempts == [job.id: [1: agent.uuid]])
        #expect(try b.changes(since: rev).isEmpty)
        let first = try b.events(after: 0, limit: 10).oldestAnswerable
        #expect(first > 1_700_000_000_000_000)  // numbered from the clock, so a cursor from elsewhere gets 410
        let page = try b.events(after: first, limit: 10)
        #expect(page.events.map(\.seq) == [first + 1, first + 2] && page.head == first + 2)
        #expect(page.events.first?.job?.name == #"quote " backslash \ brace { comma , ☃"#)
        // Trimmed to the newest: a cursor before what is kept is answered 410 by the route.
        try a.trimEvents(keeping: 1)
        let trimmed = try b.events(after: first + 1, limit: 10)
        #expect(trimmed.oldestAnswerable == first + 1 && trimmed.events.map(\.seq) == [first + 2])
        _ = try a.transaction { () throws(DatabaseError) in
            _ = try a.beginSharedChange()
            try a.deleteAgent(agent.uuid)
        }
        #expect(try b.changes(since: rev).deletedAgents == [agent.uuid])
        // A lease is one holder's until it lapses.
        let now = Date()
        #expect(try a.holdLease("sweeper", holder: "a", seconds: 5, now: now))
        #expect(try !b.holdLease("sweeper", holder: "b", seconds: 5, now: now.addingTimeInterval(1)))
        #expect(try b.holdLease("sweeper", holder: "b", seconds: 5, now: now.addingTimeInterval(6)))
    }
}
