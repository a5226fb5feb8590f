import Foundation
import MMSTestSupport
import Testing
import MonitorModels
@testable import MonitorServer

/// Races between replicas made to happen in one order on purpose: a PostgreSQL row lock holds the
/// sweeper's change inside the cluster lock while another replica checks a report on its cache.
@Suite(.enabled(if: !TestServer.onPostgres, "runs its replicas in the default pass"))
struct ReplicaRaceTests {
    /// The failure once seen in ReplicaTests (a silent agent's job rescheduled twice): replica a checked a
    /// report of attempt 1 on its cache, then waited for the cluster lock while the sweeper on b
    /// rescheduled the job. The report must be refused (409) on the state it is applied to; applied, its
    /// contact cleared the agent's lost contact, attempt 2 went to the silent agent as `building`, and
    /// the next sweep rescheduled it again (attempt 3).
    @Test func aReportCheckedBeforeTheSweepersRescheduleIsRefusedWhenApplied() async throws {
        let url = try PostgresCluster.shared().createDatabase()
        let a = try TestServer(databaseURL: url)
        let b = try TestServer(databaseURL: url)
        let (uuid, secret, only) = try await ReplicaTests.agent(a, "rec-05")
        let job = try await a.createJob(JobSpec(name: "raced", commands: ["sleep 100"], resources: [only]))
        let next = try await a.call("GET", "/api/v1/agents/\(uuid)/next?wait=5", token: secret)
        guard case .job(let delivered) = try next.decode(NextMessage.self) else { Issue.record("no job: \(next.text)"); return }
        #expect(delivered.id == job.id && delivered.attempt == 1)
        try b.server.core.locked { () throws(DatabaseError) in _ = try b.server.core.catchUp() }

        let gate = try PGConnection(conninfo: url)
        try gate.exec("BEGIN")
        try gate.query("SELECT value FROM meta WHERE key = 'rev' FOR UPDATE")
        // b sweeps as if 10 minutes had passed: it takes the cluster lock, then waits for the gate.
        async let swept: Void = onThread { b.server.core.locked { b.server.core.sharedTick(now: Date().addingTimeInterval(600)) } }
        #expect(try await eventually(10) { try Self.waiting(gate) == 1 }, "the sweep waits inside the cluster lock")
        // a checks the report on its cache (nothing new is committed) and waits for the cluster lock.
        async let report = a.call("POST", "/api/v1/jobs/\(job.id)/state", token: secret, json: #"{"attempt":1,"state":"building"}"#)
        #expect(try await eventually(10) { try Self.waiting(gate) == 2 }, "the report waits for the cluster lock")
        try gate.exec("COMMIT")
        await swept

        let answer = try await report
        #expect(answer.status == 409 && answer.errorCode == "job_reassigned", "\(answer.status) \(answer.text)")
        for s in [a, b] {
            try s.server.core.locked { () throws(DatabaseError) in _ = try s.server.core.catchUp() }
            let seen = try await s.call("GET", "/api/v1/jobs/\(job.id)", token: s.admin).decode(Job.self)
            #expect(seen.state == .scheduled && seen.attempt == 2 && seen.agentUuid == nil)
            let agent = try await s.call("GET", "/api/v1/agents/\(uuid)", token: s.admin).decode(Agent.self)
            #expect(agent.status == .lostContact && agent.currentJobId == nil, "a refused report is no contact")
        }
        #expect(try await a.call("GET", "/api/v1/jobs/\(job.id)/log", token: a.admin).text
                == "[mms] agent rec-05 lost contact; job rescheduled\n")
    }

    /// Sessions of this database waiting for a lock (the gate's row lock or the cluster lock).
    static func waiting(_ c: PGConnection) throws -> Int64 {
        var n: Int64 = 0
        try c.query("""
            SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'
            """) { row throws(PGError) in n = try row.int(0) }
        return n
    }
}

/// Runs blocking work on a thread of its own (not one of the few threads Swift's concurrency runs on).
func onThread<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        Thread.detachNewThread { continuation.resume(returning: body()) }
    }
}
