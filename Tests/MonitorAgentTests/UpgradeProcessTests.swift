import Foundation
import MonitorModels
import ServerAPIClient
import Testing
@testable import MonitorAgent

/// Self-upgrade with real binaries: a real mms-server offering a copy of the built mms-agent with bytes
/// appended (another SHA-256, the same version), real `mms-agent start` supervisors and their children.
@Suite(.serialized) struct UpgradeProcessTests {
    static let ping = 2

    /// An enabled agent on `server`, idle and known with the built binary's SHA-256.
    func enabledAgent(_ server: TestServer, dir: String, extra: [String] = []) async throws -> (ChildProcess, String) {
        let agent = try ChildProcess("mms-agent", ["start", "--server", server.url.absoluteString, "--name", "up",
                                                   "--work-dir", dir + "/w"] + extra,
                                     env: ["MMS_AGENT_KILL_GRACE_MS": "500"], dir: dir)
        try await authorizeWhenRegistered(server, agent, workDir: dir + "/w")
        let uuid = try #require(await agentUUID(dir + "/w"))
        let original = UpgradeFixture.sha(UpgradeFixture.original)
        #expect(await eventually(20) {
            let a = try? await server.admin.getAgent(uuid)
            return a?.status == .idle && a?.binarySHA256 == original
        })
        return (agent, uuid)
    }

    @Test func anIdleAgentUpgradesWithinTwoPingIntervalsKeepingItsIdentity() async throws {
        let dir = makeTempDir("upgrade")
        // The contract's bound, two ping intervals, with an interval long enough that a loaded machine's
        // process start and registration (about 1 s) do not decide the outcome.
        let ping = 4
        let (server, served) = try await UpgradeFixture.server(dir: dir, ping: ping)
        defer { server.child.signal(SIGTERM) }
        let (agent, uuid) = try await enabledAgent(server, dir: dir)
        defer { agent.signal(SIGTERM) }
        let since = try await server.admin.events(nil, 0).next

        let next = try UpgradeFixture.appendedCopy(in: dir)
        let nextSHA = UpgradeFixture.sha(next)
        try UpgradeFixture.serve(next, at: served)
        #expect(await UpgradeFixture.offered(server, nextSHA))
        let offeredAt = Date()
        #expect(await eventually(Double(2 * ping)) { (try? await server.admin.getAgent(uuid).binarySHA256) == nextSHA },
                "not on the new binary within two ping intervals: \(agent.stderr)")
        let upgradeSeconds = Date().timeIntervalSince(offeredAt)
        #expect(await eventually(10) { (try? await server.admin.getAgent(uuid).status) == .idle })

        let agents = try await server.admin.listAgents()
        #expect(agents.map(\.uuid) == [uuid])
        #expect(agents.first?.configState == .enabled)
        #expect(UpgradeFixture.sha(dir + "/w/bin/mms-agent") == nextSHA)
        #expect(UpgradeFixture.sha(dir + "/w/bin/mms-agent.previous") == UpgradeFixture.sha(UpgradeFixture.original))
        #expect(agent.stderr.contains("running the agent from \(dir)/w/bin/mms-agent"))
        let seen = try await server.admin.events(since, 0).events.compactMap { $0.agent?.status }
        #expect(seen.contains(.upgrading), "the console saw no Upgrading: \(seen)")

        let job = try await server.admin.createJob(JobSpec(name: "after", commands: [
            "echo on the new binary, link=${\(Supervisor.linkVariable):-none}",
        ]))
        let done = try await server.job(job.id) { $0.state == .completed }
        #expect(done.result == .passed)
        let log = try await server.log(job.id)
        #expect(log.contains("on the new binary, link=none\n"), "the supervisor link leaked into the job: \(log)")
        print("UpgradeProcessTests: upgraded \(String(format: "%.2f", upgradeSeconds)) s after the server offered the binary")
    }

    @Test func anAgentMidJobFinishesItFirstAndTakesNoNewWorkMeanwhile() async throws {
        let dir = makeTempDir("midjob")
        let (server, served) = try await UpgradeFixture.server(dir: dir, ping: Self.ping)
        defer { server.child.signal(SIGTERM) }
        let (agent, uuid) = try await enabledAgent(server, dir: dir)
        defer { agent.signal(SIGTERM) }
        let gate = dir + "/w/go"
        let running = try await server.admin.createJob(JobSpec(name: "long", commands: [
            "while [ ! -f \(gate) ]; do sleep 0.05; done", "echo finished",
        ]))
        _ = try await server.job(running.id) { $0.state == .building }

        let next = try UpgradeFixture.appendedCopy(in: dir)
        try UpgradeFixture.serve(next, at: served)
        #expect(await eventually(20) { agent.stderr.contains("upgrading once job \(running.id) has finished") })
        let queued = try await server.admin.createJob(JobSpec(name: "queued", commands: ["echo second"]))
        #expect((try await server.admin.getJob(running.id)).state == .building)
        #expect(!agent.stderr.contains("installed mms-agent"))

        FileManager.default.createFile(atPath: gate, contents: nil)
        let first = try await server.job(running.id) { $0.state == .completed }
        #expect(first.result == .passed && first.attempt == 1)
        #expect(try await server.log(running.id).contains("finished\n"))
        let second = try await server.job(queued.id) { $0.state == .completed }
        #expect(second.result == .passed && second.attempt == 1)
        #expect(await eventually(10) { (try? await server.admin.getAgent(uuid).binarySHA256) == UpgradeFixture.sha(next) })
        let installedAt = try #require(agent.stderr.range(of: "installed mms-agent"))
        let secondStarted = try #require(agent.stderr.range(of: "job \(queued.id) 'queued'"))
        #expect(installedAt.lowerBound < secondStarted.lowerBound, "the queued job ran on the old binary: \(agent.stderr)")
    }

    @Test func aCorruptDownloadIsRefusedAndTheOldBinaryKeepsRunning() async throws {
        let dir = makeTempDir("corrupt")
        let (server, served) = try await UpgradeFixture.server(dir: dir, ping: Self.ping)
        defer { server.child.signal(SIGTERM) }
        let (proxy, proxyURL) = try await UpgradeFixture.corruptingProxy(upstream: server.url, dir: dir)
        defer { proxy.signal(SIGTERM) }
        let agent = try ChildProcess("mms-agent", ["start", "--server", proxyURL.absoluteString, "--name", "c",
                                                   "--work-dir", dir + "/w"], dir: dir)
        defer { agent.signal(SIGTERM) }
        try await authorizeWhenRegistered(server, agent, workDir: dir + "/w")
        let uuid = try #require(await agentUUID(dir + "/w"))

        try UpgradeFixture.serve(try UpgradeFixture.appendedCopy(in: dir), at: served)
        #expect(await eventually(20) { agent.stderr.contains("upgrade failed: the download's SHA-256 is") },
                "\(agent.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/w/bin/mms-agent"))
        #expect(!FileManager.default.fileExists(atPath: dir + "/w/bin/mms-agent.new"))
        #expect(UpgradeFixture.childPids(agent).count == 1)
        let original = UpgradeFixture.sha(UpgradeFixture.original)
        #expect(await eventually(10) {
            let a = try? await server.admin.getAgent(uuid)
            return a?.status == .idle && a?.binarySHA256 == original
        })
        let job = try await server.admin.createJob(JobSpec(name: "still works", commands: ["true"]))
        #expect(try await server.job(job.id) { $0.state == .completed }.result == .passed)
    }

    @Test func aNewBinaryThatCrashesAtStartIsRolledBackAndNotTriedAgain() async throws {
        let dir = makeTempDir("rollback")
        let (server, served) = try await UpgradeFixture.server(dir: dir, ping: Self.ping)
        defer { server.child.signal(SIGTERM) }
        let (agent, uuid) = try await enabledAgent(server, dir: dir)
        defer { agent.signal(SIGTERM) }
        let crasher = try UpgradeFixture.crashingAtStart(in: dir)
        let crasherSHA = UpgradeFixture.sha(crasher)
        try UpgradeFixture.serve(crasher, at: served)

        #expect(await eventually(40) { agent.stderr.contains("rolled back to the previous binary") }, "\(agent.stderr)")
        #expect(agent.stderr.components(separatedBy: "crashing at start").count - 1 == 3)
        #expect(UpgradeFixture.sha(dir + "/w/bin/mms-agent") == UpgradeFixture.sha(UpgradeFixture.original))
        let list = try String(contentsOfFile: dir + "/w/bin/rolled-back.sha256", encoding: .utf8)
        #expect(list == crasherSHA + "\n")
        #expect(await eventually(20) { agent.stderr.contains("not upgrading to the server's agent binary \(crasherSHA.prefix(12))") })
        let back = try await server.admin.getAgent(uuid)
        #expect(back.binarySHA256 == UpgradeFixture.sha(UpgradeFixture.original) && back.configState == .enabled)
        #expect(agent.stderr.components(separatedBy: "installed mms-agent").count - 1 == 1)

        // A binary the server offers next is installed as usual.
        let next = try UpgradeFixture.appendedCopy(in: dir, tail: "after the rollback")
        try UpgradeFixture.serve(next, at: served)
        #expect(await eventually(30) { (try? await server.admin.getAgent(uuid).binarySHA256) == UpgradeFixture.sha(next) })
    }

    @Test func anAgentPinnedWithNoAutoUpgradeKeepsItsBinary() async throws {
        let dir = makeTempDir("pinned")
        let (server, served) = try await UpgradeFixture.server(dir: dir, ping: Self.ping)
        defer { server.child.signal(SIGTERM) }
        let (agent, uuid) = try await enabledAgent(server, dir: dir, extra: ["--no-auto-upgrade"])
        defer { agent.signal(SIGTERM) }
        let next = try UpgradeFixture.appendedCopy(in: dir)
        try UpgradeFixture.serve(next, at: served)
        #expect(await eventually(20) {
            agent.stderr.contains("the server offers agent binary \(UpgradeFixture.sha(next).prefix(12))")
                && agent.stderr.contains("not upgrading: --no-auto-upgrade")
        }, "\(agent.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/w/bin/mms-agent"))
        #expect(UpgradeFixture.childPids(agent).count == 1)
        let a = try await server.admin.getAgent(uuid)
        #expect(a.binarySHA256 == UpgradeFixture.sha(UpgradeFixture.original) && a.status == .idle)
    }

    @Test func killNineOfTheAgentProperIsRestartedBySupervisor() async throws {
        let dir = makeTempDir("restart")
        let (server, _) = try await UpgradeFixture.server(dir: dir, ping: Self.ping)
        defer { server.child.signal(SIGTERM) }
        let (agent, uuid) = try await enabledAgent(server, dir: dir)
        defer { agent.signal(SIGTERM) }
        let child = try #require(UpgradeFixture.childPids(agent).first)
        kill(child, SIGKILL)
        #expect(await eventually(20) { UpgradeFixture.childPids(agent).count == 2 })
        #expect(agent.stderr.contains("supervisor: the agent (pid \(child)) was killed by signal 9; starting it again in 1 s"))
        #expect(processAlive(agent.pid))
        // The first start registered pending (then was authorized); the restarted child registers enabled.
        #expect(await eventually(20) { agent.stderr.contains("registered as up (\(uuid)), enabled") })
        let job = try await server.admin.createJob(JobSpec(name: "after restart", commands: ["true"]))
        #expect(try await server.job(job.id) { $0.state == .completed }.result == .passed)
        #expect(try await server.admin.listAgents().map(\.uuid) == [uuid])
    }

    @Test func sigtermToTheSupervisorStopsBothAndCancelsTheJob() async throws {
        let dir = makeTempDir("sigterm")
        let (server, _) = try await UpgradeFixture.server(dir: dir, ping: Self.ping)
        defer { server.child.signal(SIGTERM) }
        let (agent, _) = try await enabledAgent(server, dir: dir)
        let child = try #require(UpgradeFixture.childPids(agent).first)
        let job = try await server.admin.createJob(JobSpec(name: "sleeper", commands: ["sleep 100"]))
        _ = try await server.job(job.id) { $0.state == .building }
        agent.signal(SIGTERM)
        #expect(await agent.exitStatus() == 0)
        #expect(!processAlive(child))
        let stopped = try await server.job(job.id) { $0.state == .completed }
        #expect(stopped.result == .cancelled && stopped.failureReason == "agent stopped")
    }

    @Test func theRegistrationFileEnablesTheAgentWithItsResourcesAndLosesItsKeyLine() async throws {
        let dir = makeTempDir("regfile")
        let server = try await TestServer.start(dir: dir, extra: ["--auto-register-key", "fleet-key"])
        defer { server.child.signal(SIGTERM) }
        try FileManager.default.createDirectory(atPath: dir + "/w", withIntermediateDirectories: true)
        let file = dir + "/w/agent-registration.properties"
        let kept = "# written by provisioning\nagent.auto.register.resources=gpu,cam\n"
            + "agent.auto.register.environments = lab\r\nagent.auto.register.hostname=rec-42\n"
        try Data(("agent.auto.register.key=fleet-key\n" + kept).utf8).write(to: URL(fileURLWithPath: file))
        let agent = try ChildProcess("mms-agent", ["start", "--server", server.url.absoluteString, "--work-dir", dir + "/w"],
                                     dir: dir)
        defer { agent.signal(SIGTERM) }
        let uuid = try #require(await agentUUID(dir + "/w"))
        #expect(await eventually(20) { agent.stderr.contains("registered as rec-42 (\(uuid)), enabled") }, "\(agent.stderr)")
        #expect(await eventually(10) { agent.stderr.contains("the server accepted the auto-register key; removed its line from \(file)") })
        let registered = try await server.admin.getAgent(uuid)
        #expect(registered.configState == .enabled && registered.name == "rec-42")
        #expect(registered.resources == ["gpu", "cam"] && registered.environments == ["lab"])
        #expect(try Data(contentsOf: URL(fileURLWithPath: file)) == Data(kept.utf8))
        let job = try await server.admin.createJob(JobSpec(name: "gpu job", commands: ["true"], resources: ["gpu"]))
        #expect(try await server.job(job.id) { $0.state == .completed }.result == .passed)
    }
}
