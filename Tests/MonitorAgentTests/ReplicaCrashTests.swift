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
            created.append((try await admin.createJob(Self.spec(n, marks: dir)).id, n))
        }
        // Every agent busy with a job (each runs ~6 s), then the replica they use dies under them. Busy is read
        // from the jobs' own marker files, not from a replica's view (which a loaded machine may show late).
        func running() -> [String] {
            ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasPrefix("running-") }
        }
        let allBusy = await eventually(60) { running().count == 3 }
        let jobsSeen = (try? await admin.listJobs(nil, nil)) ?? []
        let jobsText = jobsSeen.map { "#\($0.id) \($0.state.rawValue) \($0.agentName ?? "-") try \($0.attempt)" }
        #expect(allBusy, "running: \(running().sorted()); jobs: \(jobsText)")
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
            #expect(log == Self.expectedLog(n, marks: dir), "job \(id) log: \(log.suffix(200))")
        }
        // Every agent was heard again soon after the kill, through the replicas left.
        let back = try await admin.listAgents()
        #expect(back.count == 3 && back.allSatisfy { ($0.lastSeenAt ?? .distantPast) > killedAt })
        for a in agents { #expect(await eventually(30) { a.stderr.contains("unreachable") && a.stderr.contains("; using http://") }) }
    }

    static let lines = 120

    /// Job n: 120 lines ~50 ms apart, with the file `marks/running-n` present while its lines print.
    static func spec(_ n: Int, marks: String) -> JobSpec {
        JobSpec(name: "steady \(n)", commands: Self.commands(n, marks: marks))
    }

    static func commands(_ n: Int, marks: String) -> [String] {
        ["touch \(marks)/running-\(n)", "for i in $(seq 1 \(lines)); do echo \"job \(n) line $i\"; sleep 0.05; done",
         "rm -f \(marks)/running-\(n)"]
    }

    static func expectedLog(_ n: Int, marks: String) -> String {
        let c = commands(n, marks: marks)
        return "$ \(c[0])\n$ \(c[1])\n" + (1...lines).map { "job \(n) line \($0)\n" }.joined() + "$ \(c[2])\n"
    }
}
