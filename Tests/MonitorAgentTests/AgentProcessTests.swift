import Foundation
import MonitorModels
import ServerAPIClient
import Testing
@testable import MonitorAgent

/// Real `mms-agent start` processes against a real `mms-server` on port 0.
@Suite(.serialized) struct AgentProcessTests {
    @Test func pendingUntilAuthorizedThenRunsAJobWithTheWholeLogInOrder() async throws {
        let dir = makeTempDir("e2e")
        let server = try await TestServer.start(dir: dir)
        defer { server.child.signal(SIGTERM) }
        let agent = try startAgent(server, workDir: dir + "/w", name: "builder", dir: dir)
        defer { agent.signal(SIGTERM) }
        let uuid = try #require(await agentUUID(dir + "/w"))
        #expect(await eventually { agent.stderr.contains("waiting for authorization: authorize builder (\(uuid)) in mms-console") })
        let mode = try FileManager.default.attributesOfItem(atPath: dir + "/w/config.properties")[.posixPermissions] as? Int
        #expect(mode == 0o600)

        _ = try await server.admin.putConfig("API_KEY", ConfigEntryInput(value: "k3y-value-123", secret: true))
        _ = try await server.admin.putConfig("REGION", ConfigEntryInput(value: "eu-1", secret: false))
        let spec = JobSpec(name: "count", commands: ["echo region=$REGION key=$API_KEY", "seq 1 20000"],
                           epilogue: Epilogue(always: ["echo done"]), secrets: ["API_KEY"])
        let job = try await server.admin.createJob(spec)
        let waiting = try await server.job(job.id, within: 1.5) { $0.state != .scheduled }
        #expect(waiting.state == .scheduled)
        #expect(agent.stderr.components(separatedBy: "waiting for authorization").count == 2)

        try await server.authorize(uuid)
        let done = try await server.job(job.id) { $0.state == .completed }
        #expect(done.result == .passed)
        let log = try await server.log(job.id)
        let expected = "$ echo region=$REGION key=$API_KEY\nregion=eu-1 key=********\n$ seq 1 20000\n"
            + (1...20000).map { "\($0)\n" }.joined() + "$ echo done\ndone\n"
        #expect(log == expected)
        #expect(!log.contains("k3y-value-123"))
    }

    @Test func cancelKillsTheJobAndSigtermStopsTheAgentWithItsJobCancelled() async throws {
        let dir = makeTempDir("cancel")
        let server = try await TestServer.start(dir: dir)
        defer { server.child.signal(SIGTERM) }
        let agent = try startAgent(server, workDir: dir + "/w", dir: dir)
        defer { agent.signal(SIGTERM) }
        try await authorizeWhenRegistered(server, agent, workDir: dir + "/w")

        let stubborn = JobSpec(name: "stubborn", commands: [
            "bash -c 'trap \"\" TERM; echo $$ > ../../gc.pid; while true; do sleep 0.05; done' &", "wait",
        ], epilogue: Epilogue(always: ["echo epilogue"]))
        let first = try await server.admin.createJob(stubborn)
        _ = try await server.job(first.id) { $0.state == .building }
        let gc = try #require(await waitForPid(atPath: dir + "/w/gc.pid"))
        _ = try await server.admin.cancelJob(first.id)
        let cancelled = try await server.job(first.id) { $0.state == .completed }
        #expect(cancelled.result == .cancelled)
        #expect(cancelled.failureReason == "cancelled by admin")
        #expect(!processAlive(gc))
        #expect(!(try await server.log(first.id)).contains("epilogue\n"))

        let second = try await server.admin.createJob(JobSpec(name: "sleeper", commands: ["sleep 100"]))
        _ = try await server.job(second.id) { $0.state == .building }
        agent.signal(SIGTERM)
        #expect(await agent.exitStatus() == 0)
        let stopped = try await server.job(second.id) { $0.state == .completed }
        #expect(stopped.result == .cancelled)
        #expect(stopped.failureReason == "agent stopped")
    }

    @Test func identitySurvivesARestartAndASecondAgentOnTheDirIsRefused() async throws {
        let dir = makeTempDir("ident")
        let server = try await TestServer.start(dir: dir)
        defer { server.child.signal(SIGTERM) }
        let first = try startAgent(server, workDir: dir + "/w", dir: dir)
        let uuid = try #require(await agentUUID(dir + "/w"))
        #expect(await eventually { first.stderr.contains("waiting for authorization") })

        let second = try startAgent(server, workDir: dir + "/w", dir: dir)
        #expect(await second.exitStatus() == 3)
        #expect(second.stderr.contains("another agent is running in \(dir)/w (pid \(first.pid))"))

        first.signal(SIGTERM)
        #expect(await first.exitStatus() == 0)
        let again = try startAgent(server, workDir: dir + "/w", dir: dir)
        defer { again.signal(SIGTERM) }
        #expect(await eventually { again.stderr.contains("known agent \(uuid)") && again.stderr.contains("waiting for authorization") })
        let agents = try await server.admin.listAgents()
        #expect(agents.map(\.uuid) == [uuid])
    }

    @Test func aServerRestartDuringAJobLosesNoLogBytes() async throws {
        let dir = makeTempDir("restart")
        let server = try await TestServer.start(dir: dir)
        defer { server.child.signal(SIGTERM) }
        let agent = try startAgent(server, workDir: dir + "/w", dir: dir)
        defer { agent.signal(SIGTERM) }
        try await authorizeWhenRegistered(server, agent, workDir: dir + "/w")
        let job = try await server.admin.createJob(JobSpec(name: "ticks", commands: [
            "for i in $(seq 1 60); do echo tick $i; sleep 0.05; done",
        ]))
        _ = try await server.job(job.id) { $0.state == .building }
        try await server.restart(dir: dir)
        let done = try await server.job(job.id, within: 60) { $0.state == .completed }
        #expect(done.result == .passed)
        let log = try await server.log(job.id)
        #expect(log == "$ for i in $(seq 1 60); do echo tick $i; sleep 0.05; done\n" + (1...60).map { "tick \($0)\n" }.joined())
        #expect(agent.stderr.contains("lost the server"))
        #expect(await eventually { agent.stderr.contains("is back after") })
    }

    @Test func aDeletedAgentRegistersAgainAsANewAgent() async throws {
        let dir = makeTempDir("deleted")
        let server = try await TestServer.start(dir: dir)
        defer { server.child.signal(SIGTERM) }
        let agent = try startAgent(server, workDir: dir + "/w", dir: dir)
        defer { agent.signal(SIGTERM) }
        let uuid = try #require(await agentUUID(dir + "/w"))
        #expect(await eventually { agent.stderr.contains("waiting for authorization") })
        try await server.admin.deleteAgent(uuid)
        #expect(await eventually { agent.stderr.contains("agent \(uuid) was deleted on the server; registering again as a new agent") })
        let fresh = try #require(await agentUUID(dir + "/w"))
        #expect(await eventually { (try? await server.admin.listAgents().map(\.uuid)) == [fresh] })
        #expect(fresh != uuid)
    }

    @Test func aRestartAfterACrashKillsWhatTheCrashedRunLeftBehind() async throws {
        let dir = makeTempDir("crash")
        let server = try await TestServer.start(dir: dir)
        defer { server.child.signal(SIGTERM) }
        let agent = try startAgent(server, workDir: dir + "/w", dir: dir)
        try await authorizeWhenRegistered(server, agent, workDir: dir + "/w")
        let job = try await server.admin.createJob(JobSpec(name: "orphan", commands: ["sleep 300 & echo $! > ../../sleep.pid; wait"]))
        _ = try await server.job(job.id) { $0.state == .building }
        let sleeper = try #require(await waitForPid(atPath: dir + "/w/sleep.pid"))
        // The job's watchdog would stop the job when the agent dies; take it out first, so this test
        // exercises the fallback: the next start on the work dir kills what job.pgid names.
        #expect(await eventually {
            FileManager.default.fileExists(atPath: dir + "/w/job.pgid")
                && descendants(of: agent.pid).contains { commandLine($0).contains(JobWatchdog.processName) }
        })
        for watchdog in descendants(of: agent.pid).filter({ commandLine($0).contains(JobWatchdog.processName) }) {
            kill(watchdog, SIGKILL)
        }
        agent.signal(SIGKILL)
        _ = await agent.exitStatus()
        #expect(processAlive(sleeper))
        let again = try startAgent(server, workDir: dir + "/w", dir: dir)
        defer { again.signal(SIGTERM) }
        #expect(await eventually { again.stderr.contains("left by an earlier run of the agent") })
        #expect(await eventually { !processAlive(sleeper) })
    }

    @Test func newConfigurationReachesTheNextJobAndADisabledAgentFinishesButTakesNoMore() async throws {
        let dir = makeTempDir("config")
        let server = try await TestServer.start(dir: dir)
        defer { server.child.signal(SIGTERM) }
        let agent = try startAgent(server, workDir: dir + "/w", dir: dir)
        defer { agent.signal(SIGTERM) }
        try await authorizeWhenRegistered(server, agent, workDir: dir + "/w")
        let uuid = try #require(await agentUUID(dir + "/w"))

        _ = try await server.admin.putConfig("STAGE", ConfigEntryInput(value: "one", secret: false))
        let first = try await server.admin.createJob(JobSpec(name: "c1", commands: ["echo stage=$STAGE"]))
        #expect(try await server.job(first.id) { $0.state == .completed }.result == .passed)
        #expect(try await server.log(first.id).contains("stage=one\n"))
        _ = try await server.admin.putConfig("STAGE", ConfigEntryInput(value: "two", secret: false))
        let second = try await server.admin.createJob(JobSpec(name: "c2", commands: ["echo stage=$STAGE"]))
        #expect(try await server.job(second.id) { $0.state == .completed }.result == .passed)
        #expect(try await server.log(second.id).contains("stage=two\n"))

        let running = try await server.admin.createJob(JobSpec(name: "finishing", commands: ["sleep 1", "echo finished"]))
        _ = try await server.job(running.id) { $0.state == .building }
        _ = try await server.admin.patchAgent(uuid, AgentPatch(configState: .disabled))
        let next = try await server.admin.createJob(JobSpec(name: "not taken", commands: ["true"]))
        #expect(try await server.job(running.id) { $0.state == .completed }.result == .passed)
        #expect(await eventually { agent.stderr.contains("disabled on the server") })
        #expect(try await server.admin.getJob(next.id).state == .scheduled)
    }
}
