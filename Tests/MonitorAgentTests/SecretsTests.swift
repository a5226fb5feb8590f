import Foundation
import MMSTestSupport
import MonitorModels
import ServerAPIClient
import Testing
@testable import MonitorAgent

/// Tokens and secrets never show up where people read: the server's and agents' output, error
/// answers, job logs, or a job's environment.
@Suite(.serialized) struct SecretsTests {
    @Test func noTokenOrSecretReachesOutputLogsOrErrors() async throws {
        let dir = makeTempDir("secrets")
        let autoKey = "auto-key-\(UUID().uuidString)"
        let server = try await TestServer.start(dir: dir, extra: ["--auto-register-key", autoKey])
        defer { server.child.signal(SIGTERM) }
        let adminToken = try String(contentsOfFile: server.dataDir + "/admin.token", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let credential = "cred-\(UUID().uuidString)"
        _ = try await server.admin.putConfig("API_KEY", ConfigEntryInput(value: credential, secret: true))

        // An agent that starts enabled with the key from its environment.
        let agent = try startAgent(server, workDir: dir + "/a", name: "honest", dir: dir, extraEnv: ["MMS_AUTO_REGISTER_KEY": autoKey])
        defer { agent.signal(SIGTERM) }
        let uuid = try #require(await agentUUID(dir + "/a"))
        let identity = try String(contentsOfFile: dir + "/a/config.properties", encoding: .utf8)
        let secret = try #require(identity.split(separator: "\n").first { $0.hasPrefix("agent.secret=") }?.dropFirst("agent.secret=".count))
        #expect(await eventually { (try? await server.admin.getAgent(uuid).configState) == .enabled })

        // A job that prints its whole environment and uses the credential.
        let job = try await server.admin.createJob(JobSpec(name: "nosy", commands: ["env | sort", "echo key=$API_KEY"], secrets: ["API_KEY"]))
        let done = try await server.job(job.id) { $0.state == .completed }
        #expect(done.result == .passed)
        let log = try await server.log(job.id)
        #expect(log.contains("key=********"))

        // An impostor: the honest agent's uuid with another secret.
        let impostorDir = dir + "/b"
        try FileManager.default.createDirectory(atPath: impostorDir, withIntermediateDirectories: true)
        let wrongSecret = String(repeating: "f", count: 64)
        try identity.replacingOccurrences(of: String(secret), with: wrongSecret)
            .write(toFile: impostorDir + "/config.properties", atomically: true, encoding: .utf8)
        let impostor = try startAgent(server, workDir: impostorDir, name: "impostor", dir: dir)
        defer { impostor.signal(SIGTERM) }
        #expect(await eventually { !impostor.stderr.isEmpty })

        // Wrong tokens on the admin API get answers that do not repeat them.
        let wrongToken = "wrong-\(UUID().uuidString)"
        for (token, path) in [(wrongToken, "/api/v1/agents"), (String(secret), "/api/v1/agents"), (autoKey, "/api/v1/jobs")] {
            let answer = RawHTTP.exchange(port: server.url.port ?? 0, Data(
                "GET \(path) HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(token)\r\nConnection: close\r\n\r\n".utf8))
            #expect(answer.hasPrefix("HTTP/1.1 401") || answer.hasPrefix("HTTP/1.1 403"), "\(answer.prefix(60))")
            #expect(!answer.contains(token), "an error answer repeats a token")
        }
        // Give the impostor time to be refused a few times, then stop everyone so all output is written.
        #expect(await eventually { impostor.stderr.split(separator: "\n").count >= 2 })
        await impostor.stop()
        await agent.stop()
        await server.child.stop()

        let secrets = ["admin token": adminToken, "agent secret": String(secret), "auto-register key": autoKey,
                       "credential": credential, "impostor's secret": wrongSecret, "wrong token": wrongToken]
        let outputs = ["server stdout": server.child.stdout, "server stderr": server.child.stderr,
                       "agent stdout": agent.stdout, "agent stderr": agent.stderr,
                       "impostor stdout": impostor.stdout, "impostor stderr": impostor.stderr, "job log": log]
        for (what, value) in secrets {
            for (place, text) in outputs {
                #expect(!text.contains(value), "the \(what) appears in the \(place)")
            }
        }
        #expect(!agent.stderr.isEmpty && !server.child.stderr.isEmpty, "the outputs checked are not empty")
    }
}
