import Foundation
import MonitorModels
import ServerAPIClient
import Testing
@testable import MonitorAgent

/// A real `mms-agent start --server A,B` between two real servers. They cannot share a database yet, so the
/// test registers the agent's identity on B itself (what a shared database would do) and checks the mechanics:
/// after `kill -9` of A, the agent's pings and polls reach B within 10 s (two ping intervals at the default 5 s;
/// the servers here say 1 s), with one log line for the move.
@Suite(.serialized) struct FailoverAgentTests {
    @Test func afterKillMinus9OfTheFirstServerPingsAndPollsReachTheSecondWithin10s() async throws {
        let dir = makeTempDir("failover")
        for sub in ["a", "b"] { try FileManager.default.createDirectory(atPath: dir + "/" + sub, withIntermediateDirectories: true) }
        let a = try await TestServer.start(dir: dir + "/a", extra: ["--auto-register-key", "fleet-key"])
        defer { a.child.signal(SIGKILL) }
        let b = try await TestServer.start(dir: dir + "/b", extra: ["--auto-register-key", "fleet-key"])
        defer { b.child.signal(SIGTERM) }
        let agent = try ChildProcess("mms-agent", [
            "start", "--server", "\(a.url.absoluteString), \(b.url.absoluteString)", "--name", "rec-07",
            "--work-dir", dir + "/w", "--auto-register-key", "fleet-key",
        ], env: ["MMS_AGENT_KILL_GRACE_MS": "500"], dir: dir)
        defer { agent.signal(SIGTERM) }
        #expect(await eventually { agent.stderr.contains("registered as rec-07") })
        let identity = try #require(AgentIdentity.parse(try String(contentsOfFile: dir + "/w/config.properties", encoding: .utf8)))
        #expect(try await a.admin.getAgent(identity.uuid).status == .idle)

        // The same identity on B, as a shared database would hold it.
        let onB = AgentAPI.live(serverURL: b.url, secret: identity.secret)
        _ = try await onB.register(RegisterRequest(uuid: identity.uuid, name: "rec-07", hostname: "box", os: "Linux",
                                                   autoRegisterKey: "fleet-key"))
        let before = try #require(try await b.admin.getAgent(identity.uuid).lastSeenAt)

        a.child.signal(SIGKILL)
        let killed = Date()
        var heard: Date?
        let reached = await eventually(15) {
            if let seen = (try? await b.admin.getAgent(identity.uuid))?.lastSeenAt, seen > before, seen > killed { heard = seen }
            return heard != nil
        }
        let took = (heard ?? Date()).timeIntervalSince(killed)
        print("kill -9 of server A: the agent reached server B \(String(format: "%.3f", took)) s later")
        #expect(reached && took < 10, "the agent reached B \(took) s after the kill")
        let moveLine = "server \(a.url.absoluteString) unreachable ("
        #expect(await eventually(5) { agent.stderr.contains(moveLine) && agent.stderr.contains("); using \(b.url.absoluteString)") },
                "one line says the move: \(agent.stderr)")
        #expect(agent.stderr.components(separatedBy: moveLine).count == 2, "exactly one move line")

        // Its `next` polls go to B too: a job created there runs.
        let job = try await b.admin.createJob(JobSpec(name: "on-b", commands: ["echo ran on b"]))
        let done = try await b.job(job.id) { $0.state == .completed }
        #expect(done.result == .passed && done.agentUuid == identity.uuid)
        #expect(try await b.log(job.id) == "$ echo ran on b\nran on b\n")
        #expect(!agent.stderr.contains("lost the server"), "a move is not an outage: \(agent.stderr)")
        print(agent.stderr)
    }
}
