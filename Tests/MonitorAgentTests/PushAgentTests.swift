import CurlHTTP
import Foundation
import MMSTestSupport
import MonitorModels
import ServerAPIClient
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// mms-server driving real `mms-agent serve` processes over HTTPS (a CA made at test time).
@Suite struct PushAgentTests {
    /// A server, a push agent serving with the test CA, and the push agent added to the server.
    static func fleet(_ label: String, serverFlags: [String] = [], resources: [String] = [])
        async throws -> (dir: String, ca: TestCA, server: TestServer, serve: ServeProcess, agent: Agent) {
        let dir = makeTempDir(label)
        let ca = try await TestCA.make()
        let server = try await TestServer.start(dir: dir, extra: serverFlags)
        let serve = try await ServeProcess.start(dir: dir, ca: ca, name: "push-1")
        let pem = try String(contentsOfFile: ca.caPath, encoding: .utf8)
        let agent = try await server.admin.addPushAgent(PushAgentRequest(
            name: "push-1", url: serve.url, authTokenSecret: ServeProcess.secret, resources: resources, caCert: pem))
        #expect(agent.kind == .push && agent.url == serve.url && agent.configState == .enabled)
        let idle = await eventually(15) { (try? await server.admin.getAgent(agent.uuid))?.status == .idle }
        #expect(idle, "the push agent is Idle once /is_alive answers: \(server.child.stderr)")
        return (dir, ca, server, serve, agent)
    }

    @Test func aPushedJobRunsWithItsLogCompleteAndInOrder() async throws {
        let (_, ca, server, serve, agent) = try await Self.fleet("push-run")
        defer { ca.remove(); server.child.signal(SIGKILL) }
        _ = try await server.admin.putConfig("DEPLOY_KEY", ConfigEntryInput(value: "k3y-value-42", secret: true))
        _ = try await server.admin.putConfig("REGION", ConfigEntryInput(value: "lab-east", secret: false))
        let spec = JobSpec(name: "pushed", commands: ["echo key=$DEPLOY_KEY region=$REGION",
                                                       "for i in $(seq 1 3000); do echo line-$i; done", "sleep 0.3", "echo last"],
                           secrets: ["DEPLOY_KEY"])
        let job = try await server.admin.createJob(spec)
        let done = try await server.job(job.id) { $0.state == .completed }
        #expect(done.result == .passed && done.agentUuid == agent.uuid && done.attempt == 1, "\(done)\n\(server.child.stderr)")
        let log = try await server.log(job.id)
        let lines = (1...3000).map { "line-\($0)" }.joined(separator: "\n")
        #expect(log.hasPrefix("$ echo key=$DEPLOY_KEY region=$REGION\nkey=******** region=lab-east\n"), "\(log.prefix(300))")
        #expect(log.contains(lines) && log.hasSuffix("$ echo last\nlast\n") && !log.contains("k3y-value-42"))
        #expect(Int64(log.utf8.count) == done.logSize)
        let listed = try await server.admin.listAgents().first { $0.uuid == agent.uuid }
        #expect(listed?.status == .idle && listed?.kind == .push && listed?.version == MMSVersion.current)
        // The secret is stored, never returned.
        let raw = try await onThread { () throws(CurlError) in
            try CurlClient(caCertPEM: nil).send("GET", server.url.absoluteString + "/api/v1/agents",
                                                headers: [("Authorization", "Bearer \(adminToken(server.dataDir))")], timeout: 10)
        }
        #expect(raw.status == 200 && !String(decoding: raw.body, as: UTF8.self).contains(ServeProcess.secret))
        #expect(String(decoding: raw.body, as: UTF8.self).contains("\"kind\":\"push\""))
        await serve.stop()
    }

    @Test func aCancelReachesThePushAgent() async throws {
        let (dir, ca, server, serve, _) = try await Self.fleet("push-cancel")
        defer { ca.remove(); server.child.signal(SIGKILL) }
        let job = try await server.admin.createJob(JobSpec(name: "long", commands: ["sleep 300 & echo $! > \(dir)/bg.pid", "echo started", "wait"]))
        let pid = try #require(await waitForPid(atPath: dir + "/bg.pid"))
        _ = try await server.job(job.id) { $0.state == .building }
        _ = try await server.admin.cancelJob(job.id)
        let done = try await server.job(job.id) { $0.state == .completed }
        #expect(done.result == .cancelled && done.failureReason == "cancelled by admin", "\(done)")
        #expect(await eventually(10) { !processAlive(pid) }, "the job's processes on the push agent are gone")
        #expect(try await server.log(job.id).contains("started"))
        await serve.stop()
    }

    @Test func aKilledPushAgentLosesContactAndItsJobGoesToAPullAgent() async throws {
        let (dir, ca, server, serve, agent) = try await Self.fleet(
            "push-kill", serverFlags: ["--lost-contact-after", "3", "--auto-register-key", "k"], resources: ["lab"])
        defer { ca.remove(); server.child.signal(SIGKILL) }
        let job = try await server.admin.createJob(JobSpec(name: "moved", commands: ["echo attempt-begins", "while [ ! -e \(dir)/go ]; do sleep 0.05; done", "echo attempt-ends"],
                                                           resources: ["lab"]))
        _ = try await server.job(job.id) { $0.state == .building && $0.agentUuid == agent.uuid }
        #expect(await eventually(10) { (try? await server.log(job.id))?.contains("attempt-begins") == true })
        serve.child.signal(SIGKILL)
        let lost = await eventually(15) { (try? await server.admin.getAgent(agent.uuid))?.status == .lostContact }
        #expect(lost, "the push agent shows Lost Contact")
        _ = FileManager.default.createFile(atPath: dir + "/go", contents: nil)  // the next attempt runs to its end
        let pull = try ChildProcess("mms-agent", ["start", "--server", server.url.absoluteString, "--name", "pull-1", "--work-dir",
                                                  dir + "/pull", "--auto-register-key", "k", "--resources", "lab"], dir: dir)
        defer { pull.signal(SIGKILL) }
        let done = try await server.job(job.id, within: 40) { $0.state == .completed }
        #expect(done.result == .passed && done.attempt == 2 && done.agentName == "pull-1", "\(done)\n\(pull.stderr)")
        let log = try await server.log(job.id)
        #expect(log.contains("[mms] agent push-1 lost contact; job rescheduled\n"), "\(log)")
        #expect(log.hasSuffix("attempt-ends\n"))
    }

    @Test func addingAPushAgentIsCheckedAndAdminOnly() async throws {
        let dir = makeTempDir("push-add")
        let server = try await TestServer.start(dir: dir)
        defer { server.child.signal(SIGKILL) }
        let bad: [(PushAgentRequest, String)] = [
            (PushAgentRequest(name: "a", url: "https://x:8000", authTokenSecret: "short"), "authTokenSecret"),
            (PushAgentRequest(name: "a", url: "ftp://x", authTokenSecret: ServeProcess.secret), "url"),
            (PushAgentRequest(name: "a", url: "https://", authTokenSecret: ServeProcess.secret), "url"),
            (PushAgentRequest(name: "", url: "https://x:8000", authTokenSecret: ServeProcess.secret), "name"),
            (PushAgentRequest(name: "a", url: "https://x:8000", authTokenSecret: ServeProcess.secret, resources: ["no spaces"]), "resources"),
            (PushAgentRequest(name: "a", url: "https://x:8000", authTokenSecret: ServeProcess.secret, caCert: "not pem"), "caCert"),
        ]
        for (request, field) in bad {
            do {
                _ = try await server.admin.addPushAgent(request)
                Issue.record("accepted a bad \(field)")
            } catch {
                #expect(error.status == 400 && error.description.contains(field), "\(field): \(error)")
            }
        }
        #expect(try await server.admin.listAgents().isEmpty, "nothing was added")
        let anonymous = AdminAPI.live(serverURL: server.url, token: "wrong-token")
        await #expect(throws: ClientError.self) {
            _ = try await anonymous.addPushAgent(PushAgentRequest(name: "a", url: "https://x:8000", authTokenSecret: ServeProcess.secret))
        }
        // Unreachable: added, but Missing until it answers.
        let added = try await server.admin.addPushAgent(PushAgentRequest(name: "far", url: "https://127.0.0.1:1", authTokenSecret: ServeProcess.secret))
        #expect(added.status == .missing && added.kind == .push)
    }
}

/// The admin token in a data dir.
func adminToken(_ dataDir: String) -> String {
    ((try? String(contentsOfFile: dataDir + "/admin.token", encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
}
