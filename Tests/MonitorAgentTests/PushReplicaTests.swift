import Foundation
import MMSTestSupport
import MonitorModels
import ServerAPIClient
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A push agent driven by replicas on one PostgreSQL: one replica (the sweeper-lease holder) drives it; when
/// that replica dies, another takes over and resumes the log where the stored log ends, with no byte doubled.
@Suite(.serialized) struct PushReplicaTests {
    @Test func aPushJobSurvivesTheDeathOfAReplicaWithItsLogWholeAndInOrder() async throws {
        let dir = makeTempDir("push-replicas")
        let url = try PostgresCluster.shared().createDatabase()
        let token = "push-replica-token-\(UUID().uuidString.prefix(8))"
        var servers: [(ChildProcess, URL)] = []
        for i in 0..<2 {
            servers.append(try await TestServer.launch(
                dataDir: dir + "/data\(i)", dir: dir, port: 0, extra: ["--database", url, "--admin-token", token, "--replica-id", "r\(i)"]))
        }
        defer { for (s, _) in servers { s.signal(SIGKILL) } }
        let ca = try await TestCA.make()
        defer { ca.remove() }
        let serve = try await ServeProcess.start(dir: dir, ca: ca)
        defer { serve.child.signal(SIGKILL) }
        let first = AdminAPI.live(serverURL: servers[0].1, token: token)
        let second = AdminAPI.live(serverURL: servers[1].1, token: token)
        let agent = try await first.addPushAgent(PushAgentRequest(
            name: "push-r", url: serve.url, authTokenSecret: ServeProcess.secret, caCert: try String(contentsOfFile: ca.caPath, encoding: .utf8)))
        #expect(await eventually(30) { (try? await second.getAgent(agent.uuid))?.status == .idle }, "idle, seen from the other replica")

        let lines = 80
        let job = try await second.createJob(JobSpec(name: "long-push", commands: ["for i in $(seq 1 \(lines)); do echo row-$i; sleep 0.1; done"]))
        #expect(await eventually(30) { ((try? await TestServer.readWholeLog(second, job.id)) ?? "").contains("row-3\n") })
        servers[0].0.signal(SIGKILL)  // whichever replica drove it, the job and its log carry on
        var done: Job?
        _ = await eventually(60) {
            done = try? await second.getJob(job.id)
            return done?.state == .completed
        }
        #expect(done?.result == .passed && done?.attempt == 1, "\(String(describing: done))")
        let log = try await TestServer.readWholeLog(second, job.id)
        let expected = (1...lines).map { "row-\($0)" }.joined(separator: "\n") + "\n"
        #expect(log == "$ for i in $(seq 1 \(lines)); do echo row-$i; sleep 0.1; done\n" + expected, "every line once, in order:\n\(log)")
    }
}
