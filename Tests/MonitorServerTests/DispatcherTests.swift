import Foundation
import Testing
@testable import MonitorModels
@testable import MonitorServer

/// The dispatcher on its own: no socket, no database, time passed in.
@Suite struct DispatcherTests {
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    func at(_ s: TimeInterval) -> Date { t0.addingTimeInterval(s) }

    func makeDispatcher() -> Dispatcher { Dispatcher(lostContactAfter: 60, startedAt: t0) }

    @discardableResult
    func addAgent(_ d: inout Dispatcher, _ name: String, resources: [String] = [], environments: [String] = [],
                  enabled: Bool = true, at time: Date) -> String {
        let uuid = "uuid-\(name)"
        let req = RegisterRequest(uuid: uuid, name: name, hostname: name, os: "linux", resources: resources, environments: environments)
        _ = d.register(req, secretHash: "h-\(name)", ipAddress: nil, autoEnable: enabled, now: time)
        return uuid
    }

    func addJob(_ d: inout Dispatcher, _ id: Int64, resources: [String] = [], environment: String? = nil, at time: Date) -> Changes {
        d.add(Job(id: id, spec: JobSpec(name: "job\(id)", commands: ["true"], resources: resources, environment: environment),
                  createdAt: time), now: time)
    }

    @Test func oldestJobGoesToTheAgentIdleLongest() {
        var d = makeDispatcher()
        let a = addAgent(&d, "a", at: at(0))
        let b = addAgent(&d, "b", at: at(-10))
        d.agents[b]?.idleSince = at(-10)
        _ = d.contact(b, now: at(1))
        _ = d.contact(a, now: at(1))
        let c1 = addJob(&d, 1, at: at(2))
        #expect(c1.jobs[1]?.agentUuid == b)
        #expect(c1.wake == [b])
        #expect(d.nextMessage(for: b) == .job(d.jobs[1]!))
        _ = addJob(&d, 2, at: at(3))
        #expect(d.jobs[2]?.agentUuid == a)
        _ = addJob(&d, 3, at: at(4))
        #expect(d.jobs[3]?.state == .scheduled)
        #expect(d.waitingReason(d.jobs[3]!, now: at(4)) == "2 matching agents are busy")
        // b finishes: the queued job 3 goes to it at once.
        _ = d.report(1, JobStateReport(attempt: 1, state: .completed, exitCode: 0), now: at(5))
        #expect(d.jobs[3]?.agentUuid == b)
    }

    @Test func matchingNeedsEveryResourceAndTheEnvironment() {
        var d = makeDispatcher()
        _ = addAgent(&d, "cpu", resources: ["docker"], environments: ["linux"], at: at(0))
        let gpu = addAgent(&d, "gpu", resources: ["docker", "gpu"], environments: ["windows"], at: at(0))
        _ = addJob(&d, 1, resources: ["gpu"], environment: "linux", at: at(1))
        #expect(d.jobs[1]?.state == .scheduled)
        #expect(d.waitingReason(d.jobs[1]!, now: at(1)) == "no agent has resources [gpu] and environment linux")
        _ = addJob(&d, 2, resources: ["tpu"], at: at(1))
        #expect(d.waitingReason(d.jobs[2]!, now: at(1)) == "no agent has resources [tpu]")
        _ = addJob(&d, 3, resources: ["gpu", "docker"], environment: "windows", at: at(2))
        #expect(d.jobs[3]?.agentUuid == gpu)
    }

    @Test func waitingReasonsNameWhatToDo() {
        var d = makeDispatcher()
        _ = addJob(&d, 1, at: at(0))
        #expect(d.waitingReason(d.jobs[1]!, now: at(0)) == "no agents are enabled")
        let p = addAgent(&d, "p", enabled: false, at: at(1))
        #expect(d.waitingReason(d.jobs[1]!, now: at(1)) == "no agents are enabled; 1 agent is pending authorization")
        let x = addAgent(&d, "x", enabled: true, at: at(1))
        #expect(d.jobs[1]?.agentUuid == x)
        _ = d.patch(p, AgentPatch(configState: .disabled), by: "admin", now: at(2))
        _ = addJob(&d, 2, at: at(2))
        #expect(d.waitingReason(d.jobs[2]!, now: at(2)) == "1 matching agent is busy; 1 matching agent is disabled")
        #expect(d.waitingReason(d.jobs[1]!, now: at(2)) == nil)
    }

    @Test func lostContactReschedulesWithANewAttemptAndALogLine() {
        var d = makeDispatcher()
        let a = addAgent(&d, "a", at: at(0))
        _ = addJob(&d, 1, at: at(0))
        _ = d.report(1, JobStateReport(attempt: 1, state: .building), now: at(1))
        #expect(d.tick(now: at(30)).isEmpty)
        let c = d.tick(now: at(62))
        #expect(d.status(d.agents[a]!) == .lostContact)
        #expect(c.jobs[1]?.state == .scheduled)
        #expect(c.jobs[1]?.attempt == 2)
        #expect(c.logLines.map(\.line) == ["[mms] agent a lost contact; job rescheduled"])
        // The old attempt's reports are refused; a stranger gets 403.
        #expect(throws: APIError.self) { try d.checkReporter(1, uuid: a, attempt: 1) }
        do {
            _ = try d.checkReporter(1, uuid: a, attempt: 1)
        } catch {
            #expect(error.knownCode == .jobReassigned)
        }
        do {
            _ = try d.checkReporter(1, uuid: "uuid-nobody", attempt: 2)
        } catch {
            #expect(error.knownCode == .forbidden)
        }
        // Contact again: reachable, takes the job again as attempt 2.
        _ = d.contact(a, now: at(63))
        #expect(d.jobs[1]?.agentUuid == a && d.jobs[1]?.attempt == 2)
    }

    @Test func aHeldPollCountsAsContact() {
        var d = makeDispatcher()
        let a = addAgent(&d, "a", at: at(0))
        _ = d.pollBegan(a, now: at(1))
        #expect(d.tick(now: at(200)).isEmpty)
        d.pollEnded(a, now: at(200))
        #expect(d.tick(now: at(250)).isEmpty)
        _ = d.tick(now: at(261))
        #expect(d.status(d.agents[a]!) == .lostContact)
    }

    @Test func restartedAgentsJobIsRescheduledAtOnce() {
        var d = makeDispatcher()
        let a = addAgent(&d, "a", at: at(0))
        _ = addJob(&d, 1, at: at(0))
        // Assigned but not started: a ping without a job keeps it (it will be delivered again).
        #expect(d.ping(a, jobId: nil, now: at(1)).jobs.isEmpty)
        _ = d.report(1, JobStateReport(attempt: 1, state: .preparing), now: at(2))
        let c = d.ping(a, jobId: nil, now: at(3))
        #expect(c.logLines.map(\.line) == ["[mms] agent a restarted; job rescheduled"])
        // Rescheduled and, the agent being idle again, handed straight back as attempt 2.
        #expect(d.jobs[1]?.attempt == 2 && d.jobs[1]?.state == .assigned)
    }

    @Test func cancelCompletesAtOnceUnlessAnAgentRunsIt() {
        var d = makeDispatcher()
        _ = addJob(&d, 1, at: at(0))
        let c = d.cancel(1, now: at(1))
        #expect(c.jobs[1]?.state == .completed && c.jobs[1]?.result == .cancelled)
        #expect(c.jobs[1]?.failureReason == "cancelled by admin")
        let a = addAgent(&d, "a", at: at(2))
        _ = addJob(&d, 2, at: at(2))
        _ = d.report(2, JobStateReport(attempt: 1, state: .building), now: at(3))
        let c2 = d.cancel(2, now: at(4))
        #expect(c2.jobs[2]?.state == .cancelling && c2.wake == [a])
        #expect(d.nextMessage(for: a) == .cancel(jobId: 2, attempt: 1))
        #expect(d.status(d.agents[a]!) == .cancelling)
        _ = d.report(2, JobStateReport(attempt: 1, state: .completed, result: .cancelled, failureReason: "cancelled by admin"), now: at(5))
        #expect(d.jobs[2] == nil)
        #expect(d.status(d.agents[a]!) == .idle)
    }

    @Test func cancelNeverSticks() {
        var d = makeDispatcher()
        let a = addAgent(&d, "a", at: at(0))
        _ = addJob(&d, 1, at: at(0))
        _ = d.report(1, JobStateReport(attempt: 1, state: .building), now: at(1))
        _ = d.pollBegan(a, now: at(1))
        _ = d.cancel(1, now: at(2))
        let c = d.tick(now: at(2 + d.cancelGiveUpAfter + 1))
        #expect(c.jobs[1]?.result == .cancelled)
    }

    @Test func reportsOnlyMoveForward() {
        var d = makeDispatcher()
        _ = addAgent(&d, "a", at: at(0))
        _ = addJob(&d, 1, at: at(0))
        _ = d.report(1, JobStateReport(attempt: 1, state: .building), now: at(1))
        #expect(d.report(1, JobStateReport(attempt: 1, state: .preparing), now: at(2)).isEmpty)
        #expect(d.jobs[1]?.state == .building)
        let done = d.report(1, JobStateReport(attempt: 1, state: .completed, exitCode: 2, failureReason: "command exited with 2"), now: at(3))
        #expect(done.jobs[1]?.result == .failed && done.jobs[1]?.exitCode == 2)
    }

    @Test func missingAgentsJobIsRescheduledAfterTheLostContactTimeFromStart() {
        var d = makeDispatcher()
        var agent = Agent(uuid: "u1", name: "old", configState: .enabled)
        agent.lastSeenAt = at(-1000)
        d.agents["u1"] = AgentRecord(agent: agent, secretHash: "h", idleSince: at(-1000), currentJobId: 1)
        d.jobs[1] = Job(id: 1, spec: JobSpec(name: "j", commands: []), state: .building, agentUuid: "u1", attempt: 1)
        #expect(d.status(d.agents["u1"]!) == .missing)
        #expect(d.tick(now: at(59)).isEmpty)
        let c = d.tick(now: at(61))
        #expect(c.jobs[1]?.state == .scheduled && c.jobs[1]?.attempt == 2)
    }

    @Test func disabledAgentFinishesItsJobButGetsNoMore() {
        var d = makeDispatcher()
        let a = addAgent(&d, "a", at: at(0))
        _ = addJob(&d, 1, at: at(0))
        _ = d.report(1, JobStateReport(attempt: 1, state: .building), now: at(1))
        _ = d.patch(a, AgentPatch(configState: .disabled), by: "admin", now: at(2))
        #expect(d.status(d.agents[a]!) == .building)
        _ = addJob(&d, 2, at: at(3))
        _ = d.report(1, JobStateReport(attempt: 1, state: .completed, exitCode: 0), now: at(4))
        #expect(d.status(d.agents[a]!) == .disabled)
        #expect(d.jobs[2]?.state == .scheduled)
        #expect(d.waitingReason(d.jobs[2]!, now: at(4)) == "no agents are enabled")
    }

    @Test func deleteOnlyIdlePendingOrDisabledAgents() throws {
        var d = makeDispatcher()
        let a = addAgent(&d, "a", at: at(0))
        #expect(throws: APIError.self) { try d.delete(a) }
        _ = addJob(&d, 1, at: at(0))
        _ = d.patch(a, AgentPatch(configState: .disabled), by: "admin", now: at(1))
        #expect(throws: APIError.self) { try d.delete(a) }
        _ = d.cancel(1, now: at(2))
        _ = try d.delete(a)
        #expect(d.agents[a] == nil)
    }
}

@Suite struct SmallPiecesTests {
    @Test func journalUndoesOnlyWhatAStepTouched() {
        var d = JournaledDictionary<String, Int>()
        d["a"] = 1
        d["b"] = 2
        d.begin()
        d["a"] = 10
        d["a"] = 11
        d["c"] = 3
        d.removeValue(forKey: "b")
        d.rollback()
        #expect(d["a"] == 1 && d["b"] == 2 && d["c"] == nil && d.count == 2)
        d.begin()
        d["a"] = 5
        d.keep()
        d.rollback()
        #expect(d["a"] == 5)
    }

    @Test func dispatcherRollbackRestoresAgentsJobsAndOwners() {
        var d = Dispatcher(lostContactAfter: 60, startedAt: Date(timeIntervalSince1970: 0))
        let now = Date(timeIntervalSince1970: 10)
        _ = d.register(RegisterRequest(uuid: "u", name: "a", hostname: "h", os: "linux"), secretHash: "h", ipAddress: nil,
                       autoEnable: true, now: now)
        let saved = d.begin()
        _ = d.add(Job(id: 1, spec: JobSpec(name: "j", commands: []), createdAt: now), now: now)
        #expect(d.jobs[1]?.state == .assigned && d.agents["u"]?.currentJobId == 1)
        d.rollback(saved)
        #expect(d.jobs[1] == nil && d.agents["u"]?.currentJobId == nil && d.attemptOwners.isEmpty)
    }

    @Test func eventFeedWindowAndGone() {
        var feed = EventFeed(base: 100, capacity: 3)
        #expect(feed.after(100) == [])
        #expect(feed.after(99) == nil)
        for i in 0..<5 { feed.append(.agentDeleted, uuid: "u\(i)") }
        #expect(feed.head == 105)
        #expect(feed.after(101) == nil)
        #expect(feed.after(102)?.map(\.seq) == [103, 104, 105])
        #expect(feed.after(104)?.map(\.uuid) == ["u4"])
        #expect(feed.after(106) == nil)
    }

    @Test func flagsParseWithEnvFallbacksAndNamedErrors() throws {
        let cmd = try ServerOptions.parse(["--port", "0", "--lost-contact-after=5"], environment: ["MMS_PORT": "9", "MMS_DATA_DIR": "/x"])
        guard case .run(let o) = cmd else { Issue.record("expected run"); return }
        #expect(o.port == 0 && o.dataDir == "/x" && o.lostContactAfter == 5)
        #expect(throws: OptionsError("unknown flag --bogus")) { try ServerOptions.parse(["--bogus"], environment: [:]) }
        #expect(throws: OptionsError("--port must be a port number from 0 to 65535, not 'abc'")) {
            try ServerOptions.parse(["--port", "abc"], environment: [:])
        }
        #expect(throws: OptionsError("--data-dir needs a value")) { try ServerOptions.parse(["--data-dir"], environment: [:]) }
        #expect(throws: OptionsError("--tls-cert and --tls-key go together")) {
            try ServerOptions.parse(["--tls-cert", "a.pem"], environment: [:])
        }
        let tuned = try ServerOptions.parse(["--header-timeout", "5", "--body-timeout=7", "--max-connections-per-ip", "100"], environment: [:])
        guard case .run(let t) = tuned else { Issue.record("expected run"); return }
        #expect(t.headerTimeout == 5 && t.bodyTimeout == 7 && t.maxConnectionsPerIP == 100)
        #expect(throws: OptionsError("--header-timeout must be a whole number from 1 to 3600, not '0'")) {
            try ServerOptions.parse(["--header-timeout", "0"], environment: [:])
        }
        let pg = try ServerOptions.parse(["--replica-id", "web-2", "--log-retention", "0"],
                                         environment: ["MMS_DATABASE_URL": "postgres://mms@127.0.0.1:5432/mms"])
        guard case .run(let p) = pg else { Issue.record("expected run"); return }
        #expect(p.databaseURL == "postgres://mms@127.0.0.1:5432/mms" && p.replicaID == "web-2" && p.logRetentionDays == 0)
        #expect(throws: OptionsError("--database must be a postgres:// URL or a libpq key=value string, not 'mysql://x'")) {
            try ServerOptions.parse(["--database", "mysql://x"], environment: [:])
        }
        #expect(throws: OptionsError("--log-retention must be a whole number from 0 to 36500, not '-1'")) {
            try ServerOptions.parse(["--log-retention=-1"], environment: [:])
        }
    }
}
