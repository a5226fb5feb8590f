import Foundation
import MMSTestSupport
import Testing
import MonitorModels
@testable import MonitorServer

/// Several servers on one PostgreSQL (docs/replicas.md): any server serves any call.
@Suite(.enabled(if: !TestServer.onPostgres, "runs its replicas in the default pass"))
struct ReplicaTests {
    /// `count` servers on one fresh database.
    static func replicas(_ count: Int, lostContactAfter: TimeInterval = 300) throws -> [TestServer] {
        let url = try PostgresCluster.shared().createDatabase()
        return try (0..<count).map { _ in try TestServer(lostContactAfter: lostContactAfter, databaseURL: url) }
    }

    /// Registers an enabled agent through `s` with a resource only it has.
    static func agent(_ s: TestServer, _ name: String) async throws -> (uuid: String, secret: String, only: String) {
        let only = "only-\(UUID().uuidString.prefix(8))"
        let (uuid, secret) = try await s.registerAgent(name, resources: [only])
        return (uuid, secret, only)
    }

    @Test func aJobCreatedOnOneReplicaReachesAnAgentPollingAnother() async throws {
        let r = try Self.replicas(3)
        let (uuid, secret, only) = try await Self.agent(r[0], "rec-01")
        async let poll = r[1].call("GET", "/api/v1/agents/\(uuid)/next?wait=20", token: secret)
        try await Task.sleep(for: .milliseconds(300))  // the poll is held on replica 1
        let job = try await r[2].createJob(JobSpec(name: "cross", commands: ["echo hi"], resources: [only]))
        let delivered = try await poll  // how fast: make bench, cluster "cross-replica wake"
        #expect(delivered.status == 200)
        guard case .job(let j) = try delivered.decode(NextMessage.self) else { Issue.record("no job"); return }
        #expect(j.id == job.id && j.attempt == 1)

        // Reports, log appends and reads go to any replica.
        #expect(try await r[0].call("POST", "/api/v1/jobs/\(job.id)/state", token: secret, json: #"{"attempt":1,"state":"building"}"#).status == 200)
        async let tail = r[1].call("GET", "/api/v1/jobs/\(job.id)/log?offset=0&wait=20", token: r[1].admin)
        try await Task.sleep(for: .milliseconds(200))
        let a1 = try await r[2].call("POST", "/api/v1/jobs/\(job.id)/log?attempt=1&offset=0", token: secret,
                                     body: Data("$ echo hi\n".utf8), contentType: "application/octet-stream")
        #expect(a1.json["size"] as? Int == 10)
        #expect(try await tail.text == "$ echo hi\n")
        // The next chunk at the end of what replica 2 stored is taken by replica 0; a gap is refused with the true size.
        let gap = try await r[0].call("POST", "/api/v1/jobs/\(job.id)/log?attempt=1&offset=99", token: secret, body: Data("x".utf8))
        #expect(gap.status == 409 && (gap.json["error"] as? [String: Any])?["size"] as? Int == 10)
        let a2 = try await r[0].call("POST", "/api/v1/jobs/\(job.id)/log?attempt=1&offset=10", token: secret, body: Data("hi\n".utf8))
        #expect(a2.json["size"] as? Int == 13)
        let done = try await r[1].call("POST", "/api/v1/jobs/\(job.id)/state", token: secret,
                                       json: #"{"attempt":1,"state":"completed","result":"passed","exitCode":0}"#)
        #expect(done.status == 200)
        for s in r {
            let seen = try await s.call("GET", "/api/v1/jobs/\(job.id)", token: s.admin).decode(Job.self)
            #expect(seen.state == .completed && seen.result == .passed && seen.logSize == 13)
            #expect(try await s.call("GET", "/api/v1/jobs/\(job.id)/log", token: s.admin).text == "$ echo hi\nhi\n")
        }
        // The agent shows idle everywhere once the job is done.
        #expect(try await eventually(5) {
            try await r[2].call("GET", "/api/v1/agents/\(uuid)", token: r[2].admin).decode(Agent.self).currentJobId == nil
        })
    }

    @Test func eventsAreOneGapFreeFeedWhicheverReplicaServesThem() async throws {
        let r = try Self.replicas(3)
        let start = try await r[0].call("GET", "/api/v1/events", token: r[0].admin).decode(EventBatch.self).next
        for (i, s) in r.enumerated() {
            _ = try await s.registerAgent("rec-\(i)", enable: false)
            _ = try await s.createJob(JobSpec(name: "j\(i)", commands: ["true"], resources: ["none"]))
        }
        var seqs: [[Int64]] = []
        for s in r {
            var events: [Event] = []
            _ = try await eventually(5) {
                events = try await s.call("GET", "/api/v1/events?since=\(start)&wait=1", token: s.admin).decode(EventBatch.self).events
                return events.filter { $0.type == .jobUpdated }.count >= 3
            }
            seqs.append(events.map(\.seq))
        }
        // Each replica may have read at another moment (more events may have come): the common part is the same.
        let common = seqs.map(\.count).min() ?? 0
        #expect(common >= 6 && seqs.allSatisfy { Array($0.prefix(common)) == Array(seqs[0].prefix(common)) })
        for s in seqs { #expect(s.first == start + 1 && zip(s, s.dropFirst()).allSatisfy { $1 == $0 + 1 }) }
    }

    @Test func auditEntriesAreOneGapFreeLogAndOperatorsWorkOnEveryReplica() async throws {
        let r = try Self.replicas(3)
        let alice = try await r[0].call("POST", "/api/v1/operators", token: r[0].admin, value: NewOperator(name: "alice", role: .operator))
            .decode(CreatedOperator.self).token
        // Concurrent changes through every replica, by an operator added on one of them.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (i, s) in r.enumerated() {
                group.addTask {
                    for k in 0..<5 {
                        let reply = try await s.call("POST", "/api/v1/jobs", token: alice, json: #"{"name":"r\#(i)-\#(k)","commands":["true"],"resources":["none"]}"#)
                        #expect(reply.status == 201)
                    }
                }
            }
            try await group.waitForAll()
        }
        for s in r {
            let entries = try await s.call("GET", "/api/v1/audit?limit=1000", token: s.admin).decode(AuditPage.self).entries
            #expect(entries.count == 16 && entries.filter { $0.actor == "alice" && $0.action == "job.create" }.count == 15)
            #expect(zip(entries, entries.dropFirst()).allSatisfy { $0.seq == $1.seq + 1 } && entries.last?.seq == 1)
        }
        #expect(try await r[2].call("DELETE", "/api/v1/operators/alice", token: r[2].admin).status == 204)
        for s in r {  // the others cached the token for at most 2 s
            #expect(try await eventually(5) { try await s.call("GET", "/api/v1/whoami", token: alice).status == 401 })
        }
    }

    @Test func eachAttemptReachesExactlyOneAgentUnderConcurrentPolls() async throws {
        let soak = ProcessInfo.processInfo.environment["MMS_SOAK"] != nil
        let (agentCount, jobCount) = soak ? (20, 500) : (6, 60)
        let r = try Self.replicas(3)
        var agents: [(uuid: String, secret: String)] = []
        for i in 0..<agentCount {
            let (uuid, secret) = try await r[i % 3].registerAgent("worker-\(i)", resources: ["pool"])
            agents.append((uuid, secret))
        }
        let deliveries = DeliveryLog()
        let workers = Task {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (i, a) in agents.enumerated() {
                    group.addTask { try await Self.work(a, replicas: r, first: i, log: deliveries, until: jobCount) }
                }
                try await group.waitForAll()
            }
        }
        for i in 0..<jobCount {
            _ = try await r[i % 3].createJob(JobSpec(name: "job-\(i)", commands: ["true"], resources: ["pool"]))
        }
        let allDone = try await eventually(soak ? 240 : 60) {
            deliveries.completedCount >= jobCount
        }
        workers.cancel()
        #expect(allDone, "completed \(deliveries.completedCount) of \(jobCount)")
        #expect(deliveries.doubled.isEmpty, "attempts delivered to two agents: \(deliveries.doubled)")
        let jobs = try await r[0].call("GET", "/api/v1/jobs?limit=1000", token: r[0].admin).decode(JobList.self).jobs
        #expect(jobs.count == jobCount && jobs.allSatisfy { $0.state == .completed && $0.result == .passed && $0.attempt == 1 })
    }

    /// One fake agent: polls a replica (moving round them), runs what it gets, reports it done.
    static func work(_ a: (uuid: String, secret: String), replicas r: [TestServer], first: Int, log: DeliveryLog,
                     until total: Int) async throws {
        var turn = first
        while !Task.isCancelled && log.completedCount < total {
            turn += 1
            let s = r[turn % r.count]
            let reply = try await s.call("GET", "/api/v1/agents/\(a.uuid)/next?wait=2", token: a.secret)
            guard reply.status == 200, case .job(let job) = try reply.decode(NextMessage.self) else { continue }
            log.delivered(job.id, attempt: job.attempt, to: a.uuid)
            let t = r[(turn + 1) % r.count]
            _ = try await t.call("POST", "/api/v1/jobs/\(job.id)/state", token: a.secret,
                                 json: #"{"attempt":\#(job.attempt),"state":"building"}"#)
            let done = try await r[(turn + 2) % r.count].call("POST", "/api/v1/jobs/\(job.id)/state", token: a.secret,
                json: #"{"attempt":\#(job.attempt),"state":"completed","result":"passed","exitCode":0}"#)
            if done.status == 200 { log.completed(job.id) }
        }
    }

    @Test func aStoppedReplicasAgentCarriesOnElsewhereWithItsJob() async throws {
        let r = try Self.replicas(2)
        let (uuid, secret, only) = try await Self.agent(r[0], "rec-02")
        let job = try await r[0].createJob(JobSpec(name: "long", commands: ["sleep 100"], resources: [only]))
        _ = try await r[0].call("GET", "/api/v1/agents/\(uuid)/next?wait=5", token: secret)
        _ = try await r[0].call("POST", "/api/v1/jobs/\(job.id)/state", token: secret, json: #"{"attempt":1,"state":"building"}"#)
        r[0].stop()
        let ping = try await r[1].call("POST", "/api/v1/agents/\(uuid)/ping", token: secret,
                                       json: #"{"runtimeState":"building","jobId":\#(job.id)}"#)
        #expect(ping.status == 200)
        let seen = try await r[1].call("GET", "/api/v1/jobs/\(job.id)", token: r[1].admin).decode(Job.self)
        #expect(seen.state == .building && seen.attempt == 1 && seen.agentUuid == uuid)
        let done = try await r[1].call("POST", "/api/v1/jobs/\(job.id)/state", token: secret,
                                       json: #"{"attempt":1,"state":"completed","result":"passed","exitCode":0}"#)
        #expect(done.status == 200 && done.json["attempt"] as? Int == 1)
    }

    /// One silence, one reschedule, whichever replica sweeps. The agent reports the attempt it was given,
    /// as a real agent does. On a loaded machine the setup itself may outlast `--lost-contact-after 2`:
    /// that first silence rescheduled the job once before it was delivered (attempt 2 delivered), or
    /// between delivery and the report (409): still one reschedule per silence, one log line each.
    @Test func aSilentAgentsJobIsRescheduledOnceWhateverTheReplicas() async throws {
        let r = try Self.replicas(3, lostContactAfter: 2)
        let (uuid, secret, only) = try await Self.agent(r[0], "rec-03")
        let job = try await r[1].createJob(JobSpec(name: "orphan", commands: ["sleep 100"], resources: [only]))
        let next = try await r[2].call("GET", "/api/v1/agents/\(uuid)/next?wait=5", token: secret)
        guard case .job(let delivered) = try next.decode(NextMessage.self) else { Issue.record("no job: \(next.text)"); return }
        let report = try await r[2].call("POST", "/api/v1/jobs/\(job.id)/state", token: secret,
                                         json: #"{"attempt":\#(delivered.attempt),"state":"building"}"#)
        #expect(report.status == 200 && report.json["attempt"] as? Int == delivered.attempt || report.errorCode == "job_reassigned",
                "\(report.status) \(report.text)")
        var seen: Job?
        _ = try await eventually(20) {
            seen = try await r[0].call("GET", "/api/v1/jobs/\(job.id)", token: r[0].admin).decode(Job.self)
            return seen?.state == .scheduled && seen?.attempt ?? 0 > delivered.attempt
        }
        #expect(seen?.state == .scheduled && seen?.attempt == delivered.attempt + 1)
        try await Task.sleep(for: .seconds(1))  // every replica ticked meanwhile
        let lines = String(repeating: "[mms] agent rec-03 lost contact; job rescheduled\n", count: delivered.attempt)
        #expect(try await r[1].call("GET", "/api/v1/jobs/\(job.id)/log", token: r[1].admin).text == lines)
        #expect(try await r[2].call("GET", "/api/v1/jobs/\(job.id)", token: r[2].admin).decode(Job.self).attempt == delivered.attempt + 1)
    }
}

/// Which agent got each attempt, across the fake agents of a test.
final class DeliveryLog: @unchecked Sendable {  // guarded by `lock`
    private let lock = NSLock()
    private var owners: [String: String] = [:]
    private var done: Set<Int64> = []
    private(set) var doubledAttempts: [String] = []

    func delivered(_ job: Int64, attempt: Int, to agent: String) {
        lock.withLock {
            let key = "\(job)/\(attempt)"
            if let other = owners[key], other != agent { doubledAttempts.append(key) }
            owners[key] = agent
        }
    }

    func completed(_ job: Int64) { lock.withLock { _ = done.insert(job) } }
    var completedCount: Int { lock.withLock { done.count } }
    var doubled: [String] { lock.withLock { doubledAttempts } }
}
