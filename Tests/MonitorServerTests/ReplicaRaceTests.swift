import Foundation
import MMSTestSupport
import Testing
import MonitorModels
@testable import MonitorServer

/// Races between replicas made to happen in one order on purpose: b sweeps when the test says (as if 10
/// minutes had passed), and a PostgreSQL row lock (the gate) can hold that sweep inside the cluster lock
/// while a judges an agent's call on its cache.
@Suite(.enabled(if: !TestServer.onPostgres, "runs its replicas in the default pass"))
struct ReplicaRaceTests {
    /// Two servers on one database; an agent (registered and polling on a) holds attempt 1 of a job.
    struct Setup {
        let url: String, a: TestServer, b: TestServer, uuid: String, secret: String, jobId: Int64
    }

    static func setUp(_ name: String) async throws -> Setup {
        let url = try PostgresCluster.shared().createDatabase()
        let a = try TestServer(databaseURL: url)
        let b = try TestServer(databaseURL: url)
        let (uuid, secret, only) = try await ReplicaTests.agent(a, name)
        let job = try await a.createJob(JobSpec(name: "raced", commands: ["sleep 100"], resources: [only]))
        let next = try await a.call("GET", "/api/v1/agents/\(uuid)/next?wait=5", token: secret)
        guard case .job(let delivered) = try next.decode(NextMessage.self), delivered.attempt == 1 else {
            throw TestFailure("attempt 1 not delivered: \(next.text)")
        }
        try b.server.core.locked { () throws(DatabaseError) in _ = try b.server.core.catchUp() }
        return Setup(url: url, a: a, b: b, uuid: uuid, secret: secret, jobId: job.id)
    }

    /// Runs `call` on a while b's sweep (as if 10 minutes had passed: the agent is lost) is held by a row
    /// lock on `gateRow` of `meta`, after b took the cluster lock; the gate opens once `call` waits too.
    static func whileTheSweepIsHeld(_ s: Setup, gateRow: String, _ call: @escaping @Sendable () async throws -> TestServer.Reply)
        async throws -> TestServer.Reply {
        let gate = try PGConnection(conninfo: s.url)
        try gate.exec("BEGIN")
        try gate.query("SELECT value FROM meta WHERE key = $1 FOR UPDATE", [.text(gateRow)])
        let b = s.b
        async let swept: Void = onThread { b.server.core.locked { b.server.core.sharedTick(now: Date().addingTimeInterval(600)) } }
        #expect(try await eventually(10) { try waiting(gate) >= 1 }, "the sweep waits at the gate")
        async let reply = call()
        #expect(try await eventually(10) { try waiting(gate) >= 2 }, "the call waits behind the sweep")
        try gate.exec("COMMIT")
        await swept
        return try await reply
    }

    /// Both servers show the job rescheduled once and the agent lost (a refused call is no contact).
    static func expectRescheduledOnce(_ s: Setup, name: String) async throws {
        for t in [s.a, s.b] {
            try t.server.core.locked { () throws(DatabaseError) in _ = try t.server.core.catchUp() }
            let seen = try await t.call("GET", "/api/v1/jobs/\(s.jobId)", token: t.admin).decode(Job.self)
            #expect(seen.state == .scheduled && seen.attempt == 2 && seen.agentUuid == nil)
            let agent = try await t.call("GET", "/api/v1/agents/\(s.uuid)", token: t.admin).decode(Agent.self)
            #expect(agent.status == .lostContact && agent.currentJobId == nil, "a refused call is no contact")
            #expect(try await t.call("GET", "/api/v1/jobs/\(s.jobId)/log", token: t.admin).text
                    == "[mms] agent \(name) lost contact; job rescheduled\n")
        }
    }

    /// The failure once seen in ReplicaTests (a silent agent's job rescheduled twice): a checked a report
    /// of attempt 1 on its cache, then waited for the cluster lock while the sweeper on b rescheduled the
    /// job. Applied, the report's contact cleared the lost contact, attempt 2 went to the silent agent as
    /// `building`, and the next sweep made attempt 3. It must be refused on the state it is applied to.
    @Test func aReportCheckedBeforeTheSweepersRescheduleIsRefusedWhenApplied() async throws {
        let s = try await Self.setUp("rec-05")
        let (a, jobId, secret) = (s.a, s.jobId, s.secret)
        let answer = try await Self.whileTheSweepIsHeld(s, gateRow: "rev") {
            try await a.call("POST", "/api/v1/jobs/\(jobId)/state", token: secret, json: #"{"attempt":1,"state":"building"}"#)
        }
        #expect(answer.status == 409 && answer.errorCode == "job_reassigned", "\(answer.status) \(answer.text)")
        try await Self.expectRescheduledOnce(s, name: "rec-05")
    }

    /// A log chunk of attempt 1 checked on a's cache while b's sweep holds the job's row (it has written
    /// the reschedule line and waits to number its events): once the row is free the chunk must be
    /// refused, not stored after the line as if it belonged to attempt 2.
    @Test func aLogChunkCheckedBeforeTheSweepersRescheduleIsRefusedUnderTheRowLock() async throws {
        let s = try await Self.setUp("rec-06")
        let (a, jobId, secret) = (s.a, s.jobId, s.secret)
        let answer = try await Self.whileTheSweepIsHeld(s, gateRow: "event_seq") {
            try await a.call("POST", "/api/v1/jobs/\(jobId)/log?attempt=1&offset=0", token: secret, body: Data("late\n".utf8),
                             contentType: "application/octet-stream")
        }
        #expect(answer.status == 409 && answer.errorCode == "job_reassigned", "\(answer.status) \(answer.text)")
        try await Self.expectRescheduledOnce(s, name: "rec-06")
    }

    /// b's sweep declares an agent lost that holds a poll on a (b had not seen the poll yet: a vouches for
    /// held polls in its contact flush). A held poll is contact: a clears the lost contact as soon as it
    /// hears of it, and a job created afterwards on b reaches the held poll (it used to wait, lost, until
    /// the poll ended: the ReplicaTests silent agent once got no job at all).
    @Test func anAgentHoldingAPollIsNotLeftLostByAnotherServersSweep() async throws {
        let url = try PostgresCluster.shared().createDatabase()
        let a = try TestServer(databaseURL: url)
        let b = try TestServer(databaseURL: url)
        let (uuid, secret, only) = try await ReplicaTests.agent(a, "rec-07")
        async let poll = a.call("GET", "/api/v1/agents/\(uuid)/next?wait=20", token: secret)
        #expect(try await eventually(10) { a.server.core.locked { a.server.core.dispatcher.agents[uuid]?.openPolls ?? 0 } > 0 })
        try b.server.core.locked { () throws(DatabaseError) in _ = try b.server.core.catchUp() }
        b.server.core.locked { b.server.core.sharedTick(now: Date().addingTimeInterval(600)) }
        // b's sweep did not see the poll (a may have answered it already: the audit keeps the sweep's word).
        let audit = try await b.call("GET", "/api/v1/audit?target=\(uuid)", token: b.admin).decode(AuditPage.self).entries
        #expect(audit.contains { $0.action == "agent.lost_contact" && $0.actor == "server" })
        #expect(try await eventually(10) {
            try await b.call("GET", "/api/v1/agents/\(uuid)", token: b.admin).decode(Agent.self).status == .idle
        }, "a vouched for the poll it holds")
        let job = try await b.createJob(JobSpec(name: "to-the-held-poll", commands: ["true"], resources: [only]))
        let delivered = try await poll
        guard delivered.status == 200, case .job(let j) = try delivered.decode(NextMessage.self) else {
            Issue.record("no job reached the held poll: \(delivered.status) \(delivered.text)")
            return
        }
        #expect(j.id == job.id && j.attempt == 1)
    }

    /// Sessions of this database waiting for a lock (the gate's row, the cluster lock, a job's row).
    static func waiting(_ c: PGConnection) throws -> Int64 {
        var n: Int64 = 0
        try c.query("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'") {
            row throws(PGError) in n = try row.int(0)
        }
        return n
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Runs blocking work on a thread of its own (not one of the few threads Swift's concurrency runs on).
func onThread<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        Thread.detachNewThread { continuation.resume(returning: body()) }
    }
}
