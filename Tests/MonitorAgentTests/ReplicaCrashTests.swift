import Foundation
import MMSTestSupport
import MonitorModels
import ServerAPIClient
import Testing
@testable import MonitorAgent

/// Real servers on one PostgreSQL and real agents with the list of them: `kill -9` of the replica the
/// agents use loses nothing acknowledged and reschedules no live agent's job.
@Suite(.serialized) struct ReplicaCrashTests {
    @Test func killNineOfTheReplicaInUseMovesTheAgentsAndEveryJobFinishesOnce() async throws {
        let dir = makeTempDir("replicas")
        let url = try PostgresCluster.shared().createDatabase()
        let token = "replica-test-token-\(UUID().uuidString.prefix(8))"
        let key = "replica-key"
        var servers: [(ChildProcess, URL)] = []
        for i in 0..<3 {
            servers.append(try await TestServer.launch(
                dataDir: dir + "/data\(i)", dir: dir, port: 0,
                extra: ["--database", url, "--admin-token", token, "--auto-register-key", key, "--replica-id", "r\(i)"]))
        }
        defer { for (s, _) in servers { s.signal(SIGKILL) } }
        let list = servers.map(\.1.absoluteString).joined(separator: ",")
        var agents: [ChildProcess] = []
        defer { for a in agents { a.signal(SIGTERM) } }
        for name in ["rep-a", "rep-b", "rep-c"] {
            agents.append(try ChildProcess("mms-agent", [
                "start", "--server", list, "--name", name, "--work-dir", dir + "/\(name)", "--auto-register-key", key,
            ], env: ["MMS_AGENT_KILL_GRACE_MS": "500"], dir: dir))
        }
        let admin = AdminAPI.live(serverURL: servers[1].1, token: token)
        #expect(await eventually(60) { ((try? await admin.listAgents()) ?? []).filter { $0.status == .idle }.count == 3 })

        var created: [(id: Int64, n: Int)] = []
        for n in 1...6 {
            created.append((try await admin.createJob(Self.spec(n)).id, n))
        }
        // Every agent busy with a job (each runs ~6 s), then the replica they use dies under them.
        var seen: [Agent] = []
        let allBusy = await eventually(60) {
            seen = (try? await admin.listAgents()) ?? []
            return seen.allSatisfy { $0.currentJobId != nil }
        }
        let jobsSeen = (try? await admin.listJobs(nil, nil)) ?? []
        let agentsText = seen.map { "\($0.name) \($0.status.rawValue) job \($0.currentJobId.map(String.init) ?? "-")" }
        let jobsText = jobsSeen.map { "#\($0.id) \($0.state.rawValue) \($0.agentName ?? "-") try \($0.attempt)" }
        #expect(allBusy, "agents: \(agentsText); jobs: \(jobsText)")
        let killedAt = Date()
        servers[0].0.signal(SIGKILL)  // the first in every agent's list: all of them use it

        for (id, n) in created {
            var job: Job?
            _ = await eventually(120) {
                job = try? await admin.getJob(id)
                return job?.state == .completed
            }
            #expect(job?.result == .passed && job?.attempt == 1, "job \(id): \(String(describing: job))")
            let log = try await TestServer.readWholeLog(admin, id)
            #expect(log == Self.expectedLog(n), "job \(id) log: \(log.suffix(200))")
        }
        // Every agent was heard again soon after the kill, through the replicas left.
        let back = try await admin.listAgents()
        #expect(back.count == 3 && back.allSatisfy { ($0.lastSeenAt ?? .distantPast) > killedAt })
        for a in agents { #expect(await eventually(30) { a.stderr.contains("unreachable") && a.stderr.contains("; using http://") }) }
    }

    static let lines = 120

    static func spec(_ n: Int) -> JobSpec {
        JobSpec(name: "steady \(n)", commands: ["for i in $(seq 1 \(lines)); do echo \"job \(n) line $i\"; sleep 0.05; done"])
    }

    static func expectedLog(_ n: Int) -> String {
        "$ for i in $(seq 1 \(lines)); do echo \"job \(n) line $i\"; sleep 0.05; done\n"
            + (1...lines).map { "job \(n) line \($0)\n" }.joined()
    }
}
