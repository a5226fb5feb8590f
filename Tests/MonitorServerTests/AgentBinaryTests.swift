import Foundation
import MonitorModels
import Testing
@testable import MonitorServer

/// GET/HEAD /api/v1/agent-binary, `agentSHA256` in the version and ping answers, the file read again when an
/// operator replaces it, and the upgrading status a ping asks for.
@Suite(.serialized) struct AgentBinaryTests {
    /// An executable "agent binary" whose `version` prints `version` (the server runs it to learn its version).
    static func fakeBinary(_ dir: String, version: String = MMSVersion.current, padding: String = "") throws -> String {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let path = dir + "/mms-agent-\(UUID().uuidString.prefix(6))"
        try "#!/bin/sh\n# \(padding)\necho \"mms-agent \(version)\"\n".write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o755)
        return path
    }

    static func tempDir() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("mms-bin-\(UUID().uuidString)").path
    }

    @Test func servesTheBinaryWithItsSHA256AndVersionToAgentsAndAdminsOnly() async throws {
        let binary = try Self.fakeBinary(Self.tempDir())
        let bytes = try Data(contentsOf: URL(fileURLWithPath: binary))
        let sha = SHA256Stream.hex(bytes)
        let server = try TestServer(agentBinary: binary)
        let (uuid, secret) = try await server.registerAgent("a1")

        let byAgent = try await server.call("GET", "/api/v1/agent-binary", token: secret)
        #expect(byAgent.status == 200)
        #expect(byAgent.body == bytes)
        #expect(byAgent.headers["x-mms-agent-sha256"] == sha)
        #expect(byAgent.headers["x-mms-agent-version"] == MMSVersion.current)
        #expect(byAgent.headers["content-type"] == "application/octet-stream")
        let byAdmin = try await server.call("GET", "/api/v1/agent-binary", token: server.admin)
        #expect(byAdmin.status == 200 && byAdmin.body == bytes)
        let head = try await server.call("HEAD", "/api/v1/agent-binary", token: secret)
        #expect(head.status == 200 && head.body.isEmpty)
        #expect(head.headers["x-mms-agent-sha256"] == sha)
        #expect(head.headers["content-length"] == String(bytes.count))
        let viewer = try await server.call("POST", "/api/v1/operators", token: server.admin,
                                           value: NewOperator(name: "watcher", role: .viewer)).decode(CreatedOperator.self)
        #expect(try await server.call("GET", "/api/v1/agent-binary", token: viewer.token).body == bytes)
        #expect(try await server.call("GET", "/api/v1/agent-binary").status == 401)
        #expect(try await server.call("GET", "/api/v1/agent-binary", token: "nobody").status == 401)

        let version = try await server.call("GET", "/api/v1/version").decode(VersionInfo.self)
        #expect(version.agentSHA256 == sha)
        let ping = try await server.call("POST", "/api/v1/agents/\(uuid)/ping", token: secret,
                                         value: PingRequest(runtimeState: .idle))
        #expect(try ping.decode(PingResponse.self).agentSHA256 == sha)
    }

    @Test func withoutABinaryTheRouteIs404AndTheSHA256Null() async throws {
        let server = try TestServer()
        let (uuid, secret) = try await server.registerAgent("a1")
        let reply = try await server.call("GET", "/api/v1/agent-binary", token: secret)
        #expect(reply.status == 404)
        #expect(reply.errorCode == "not_found")
        let version = try await server.call("GET", "/api/v1/version")
        #expect(version.json.keys.contains("agentSHA256") && version.json["agentSHA256"] is NSNull)
        let ping = try await server.call("POST", "/api/v1/agents/\(uuid)/ping", token: secret, value: PingRequest(runtimeState: .idle))
        #expect(ping.json["agentSHA256"] is NSNull)
    }

    @Test func aBinaryWhoseVersionFailsOrDoesNotMatchIsNotOffered() async throws {
        let dir = Self.tempDir()
        let other = try Self.fakeBinary(dir, version: "99.0.0")
        let server = try TestServer(agentBinary: other)
        let (_, secret) = try await server.registerAgent("a1")
        #expect(try await server.call("GET", "/api/v1/agent-binary", token: secret).status == 404)
        let broken = dir + "/broken"
        try "#!/bin/sh\nexit 3\n".write(toFile: broken, atomically: true, encoding: .utf8)
        chmod(broken, 0o755)
        let binary = AgentBinary(path: broken, log: { _ in })
        binary.refresh()
        #expect(binary.current == nil)
        let missing = AgentBinary(path: dir + "/missing", log: { _ in })
        missing.refresh()
        #expect(missing.sha256 == nil)
    }

    @Test func replacingTheFileOffersTheNewBinaryWithoutARestart() async throws {
        let dir = Self.tempDir()
        let served = dir + "/served"
        try FileManager.default.copyItem(atPath: try Self.fakeBinary(dir, padding: "one"), toPath: served)
        let binary = AgentBinary(path: served, log: { _ in })
        binary.refresh()
        let first = try #require(binary.sha256)
        let next = try Self.fakeBinary(dir, padding: "two, a longer line")
        #expect(rename(next, served) == 0)  // how an operator replaces it: install(1) or mv
        binary.refresh()
        let second = try #require(binary.sha256)
        #expect(second != first)
        #expect(second == SHA256Stream.hex(try Data(contentsOf: URL(fileURLWithPath: served))))

        // The server's own watcher does the same every ping interval.
        let server = try TestServer(agentBinary: served, pingInterval: 1)
        let third = try Self.fakeBinary(dir, padding: "three")
        let thirdSHA = SHA256Stream.hex(try Data(contentsOf: URL(fileURLWithPath: third)))
        #expect(rename(third, served) == 0)
        #expect(await eventually(10) {
            (try? await server.call("GET", "/api/v1/version").decode(VersionInfo.self).agentSHA256) == thirdSHA
        })
    }

    @Test func anUpgradingAgentGetsNoWorkAndShowsUpgradingUntilItRegistersAgain() async throws {
        let server = try TestServer()
        let (uuid, secret) = try await server.registerAgent("a1")
        let sha = String(repeating: "ab", count: 32)
        let first = try await server.call("POST", "/api/v1/agents/register", token: secret, value: RegisterRequest(
            uuid: uuid, name: "a1", hostname: "h", os: "linux", version: "0.1.0", binarySHA256: sha))
        #expect(first.status == 200)
        let ping = try await server.call("POST", "/api/v1/agents/\(uuid)/ping", token: secret,
                                         value: PingRequest(runtimeState: .upgrading, binarySHA256: sha))
        #expect(ping.status == 200)
        let agent = try await server.call("GET", "/api/v1/agents/\(uuid)", token: server.admin).decode(Agent.self)
        #expect(agent.status == .upgrading)
        #expect(agent.binarySHA256 == sha)
        let job = try await server.createJob(JobSpec(name: "j", commands: ["true"]))
        let waiting = try await server.call("GET", "/api/v1/jobs/\(job.id)", token: server.admin).decode(Job.self)
        #expect(waiting.state == .scheduled)

        let newSHA = String(repeating: "cd", count: 32)
        let again = try await server.call("POST", "/api/v1/agents/register", token: secret, value: RegisterRequest(
            uuid: uuid, name: "a1", hostname: "h", os: "linux", version: "0.1.2", binarySHA256: newSHA))
        #expect(again.status == 200)
        let after = try await server.call("GET", "/api/v1/agents/\(uuid)", token: server.admin).decode(Agent.self)
        #expect(after.binarySHA256 == newSHA)
        #expect(after.status != .upgrading)
        let assigned = try await server.call("GET", "/api/v1/jobs/\(job.id)", token: server.admin).decode(Job.self)
        #expect(assigned.agentUuid == uuid)

        // The server recorded the upgrade once: its own audit entry, old and new version and SHA-256.
        let audit = try await server.call("GET", "/api/v1/audit?target=\(uuid)", token: server.admin)
        let upgrades = (audit.json["entries"] as? [[String: Any]] ?? []).filter { $0["action"] as? String == "agent.upgrade" }
        #expect(upgrades.count == 1)
        #expect(upgrades.first?["actor"] as? String == "server")
        #expect(upgrades.first?["reason"] as? String == "\(MMSVersion.current) (\(sha)) -> 0.1.2 (\(newSHA))")

        let bad = try await server.call("POST", "/api/v1/agents/\(uuid)/ping", token: secret,
                                        value: PingRequest(runtimeState: .idle, binarySHA256: "not-a-sha"))
        #expect(bad.status == 400)
        #expect(bad.errorMessage?.contains("binarySHA256") == true)
    }
}
