import Foundation
import MonitorModels
import ServerAPIClient
import Testing
@testable import MonitorAgent

/// The durability promise under `kill -9`: whatever got a 2xx is never lost, no job is stuck,
/// agents reconnect by themselves.
/// `make soak` sets MMS_SOAK=1: more kills, more agents, the agent crash repeated.
@Suite(.serialized) struct CrashTests {
    static let lines = 30
    static let soak = ProcessInfo.processInfo.environment["MMS_SOAK"] == "1"
    static let serverKills = soak ? 25 : 3
    static let agentNames = soak ? ["crash-a", "crash-b", "crash-c", "crash-d"] : ["crash-a", "crash-b"]
    static let agentCrashRuns = soak ? Array(1...5) : [1]

    static func spec(_ n: Int) -> JobSpec {
        JobSpec(name: "steady \(n)", commands: ["for i in $(seq 1 \(lines)); do echo \"job \(n) line $i\"; sleep 0.05; done"])
    }

    /// The log a job writes when it runs once.
    static func expectedLog(_ n: Int) -> String {
        "$ for i in $(seq 1 \(lines)); do echo \"job \(n) line $i\"; sleep 0.05; done\n"
            + (1...lines).map { "job \(n) line \($0)\n" }.joined()
    }

    @Test func killNineTheServerWhileJobsRunLosesNothingAcknowledged() async throws {
        let dir = makeTempDir("crash")
        let server = try await TestServer.start(dir: dir)
        defer { server.child.signal(SIGKILL) }
        var agents: [ChildProcess] = []
        defer { for a in agents { a.signal(SIGTERM) } }
        for name in Self.agentNames {
            let agent = try startAgent(server, workDir: dir + "/\(name)", name: name, dir: dir)
            agents.append(agent)
            try await authorizeWhenRegistered(server, agent, workDir: dir + "/\(name)")
        }
        var acknowledged: [(id: Int64, n: Int)] = []
        var n = 0
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<Self.serverKills {
            for _ in 0..<3 {
                n += 1
                // Only jobs whose creation got an answer count; a request cut by the kill may or may not exist.
                if let job = try? await server.admin.createJob(Self.spec(n)) { acknowledged.append((job.id, n)) }
            }
            // A random moment while jobs run and ship their logs (chaos timing, not a wait for a condition).
            try await Task.sleep(for: .milliseconds(Int.random(in: 200...900, using: &rng)))
            server.child.signal(SIGKILL)
            #expect(await server.child.exitStatus(within: 10) != nil)
            let (fresh, _) = try await TestServer.launch(dataDir: server.dataDir, dir: dir, port: server.url.port ?? 0)
            server.child = fresh
        }
        #expect(acknowledged.count >= 2 * Self.serverKills)
        for (id, n) in acknowledged {
            let job = try await server.job(id, within: 120) { $0.state == .completed }
            #expect(job.state == .completed && job.result == .passed, "job \(id): \(job.state) \(String(describing: job.result))")
            let log = try await server.log(id)
            if log.contains("[mms] ") {
                // Rescheduled: every attempt's run is whole and in order, separated by the server's line.
                let runs = log.split(separator: "[mms] ").map(String.init)
                let last = runs.last.map { String($0.drop { $0 != "\n" }.dropFirst()) } ?? ""
                #expect(last == Self.expectedLog(n), "job \(id) last attempt: \(last.suffix(200))")
            } else {
                #expect(log == Self.expectedLog(n), "job \(id) log: \(log.suffix(300))")
            }
        }
        // Agents reconnected by themselves and are idle again.
        let idle = await eventually(30) {
            (try? await server.admin.listAgents().allSatisfy { $0.status == .idle }) ?? false
        }
        #expect(idle)
    }

    @Test(arguments: agentCrashRuns)
    func killNineAnAgentMidJobTheJobCompletesElsewhereAndItsProcessesDie(run: Int) async throws {
        let dir = makeTempDir("agentcrash\(run)")
        let server = try await TestServer.start(dir: dir, extra: ["--lost-contact-after", "2"])
        defer { server.child.signal(SIGTERM) }
        let first = try startAgent(server, workDir: dir + "/first", name: "first", dir: dir)
        defer { first.signal(SIGKILL) }
        try await authorizeWhenRegistered(server, first, workDir: dir + "/first")
        let spec = JobSpec(name: "survivor", commands: [
            "sleep 300 & echo $! > ../../sleeper-$(basename $(dirname $(pwd)))-$$.pid",
            "for i in $(seq 1 20); do echo tick $i; sleep 0.1; done",
        ])
        let job = try await server.admin.createJob(spec)
        _ = try await server.job(job.id) { $0.state == .building && $0.agentUuid != nil }
        let firstWork = dir + "/first"
        #expect(await eventually { ((try? FileManager.default.contentsOfDirectory(atPath: firstWork)) ?? []).contains { $0.hasSuffix(".pid") } })
        let pidFile = try #require(try FileManager.default.contentsOfDirectory(atPath: firstWork).first { $0.hasSuffix(".pid") })
        let orphan = try #require(await waitForPid(atPath: firstWork + "/" + pidFile))
        // Mid-job means after the agent has set the job up: its watchdog runs and job.pgid is written.
        // (Under load the job can write its pid file before the agent has done either.)
        #expect(await eventually {
            FileManager.default.fileExists(atPath: firstWork + "/job.pgid")
                && descendants(of: first.pid).contains { commandLine($0).contains(JobWatchdog.processName) }
        })
        first.signal(SIGKILL)
        _ = await first.exitStatus()
        // The job's watchdog saw its agent die and stopped the job's group (the grace here is 0.5 s).
        #expect(await eventually(15) { !processAlive(orphan) }, "the job's processes die with their agent")

        // A second agent takes the job once the first has lost contact; the log says why.
        let second = try startAgent(server, workDir: dir + "/second", name: "second", dir: dir)
        defer { second.signal(SIGTERM) }
        try await authorizeWhenRegistered(server, second, workDir: dir + "/second")
        let done = try await server.job(job.id, within: 60) { $0.state == .completed }
        #expect(done.result == .passed && done.attempt == 2 && done.agentName == "second")
        let log = try await server.log(job.id)
        #expect(log.contains("[mms] agent first lost contact; job rescheduled\n"))
        #expect(log.hasSuffix((1...20).map { "tick \($0)\n" }.joined()))

        // The first agent starts again on its work dir and carries on; nothing of the crashed run is left.
        let again = try startAgent(server, workDir: firstWork, name: "first", dir: dir)
        defer { again.signal(SIGTERM) }
        #expect(await eventually(20) {
            (try? await server.admin.listAgents().first { $0.name == "first" }?.status) == .idle
        })
        #expect(!processAlive(orphan))
    }
}
