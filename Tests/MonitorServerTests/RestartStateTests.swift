import Foundation
import Testing
import MonitorModels
import MonitorServer

/// What `mms-fuzz request` found about state that a reopen of the data dir did not give back, one
/// test per finding (its input is in Tests/FuzzCorpus/request/crash-*). Run on the service without
/// its HTTP front, so a reopen is exact and instant.
@Suite struct RestartStateTests {
    static let admin = "Bearer test-admin"
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mms-restart-\(UUID().uuidString)").path

    func open() throws -> InProcessService { try InProcessService(dataDir: dir, adminToken: "test-admin") }

    /// Registers and enables an agent; returns its uuid and Authorization header.
    func agent(_ s: InProcessService, _ name: String) throws -> (uuid: String, auth: String) {
        let uuid = UUID().uuidString.lowercased()
        let body = MMSJSON.encode(RegisterRequest(uuid: uuid, name: name, hostname: "h", os: "linux"))
        let r = s.handle(method: "POST", path: "/api/v1/agents/register", authorization: "Bearer secret-\(name)", body: body)
        try #require(r.status == 202)
        let p = s.handle(method: "PATCH", path: "/api/v1/agents/\(uuid)", authorization: Self.admin, body: Data(#"{"configState":"enabled"}"#.utf8))
        try #require(p.status == 200)
        return (uuid, "Bearer secret-\(name)")
    }

    func shown(_ s: InProcessService, _ uuid: String) throws -> Agent {
        let r = s.handle(method: "GET", path: "/api/v1/agents/\(uuid)", authorization: Self.admin)
        return try MMSJSON.decode(Agent.self, from: r.body)
    }

    // Found reading the code while writing the request target; its reopen property fails on the input
    // Tests/FuzzCorpus/request/crash-delete-enabled-agent (libFuzzer did not reach it in 98,000 execs).
    @Test func deletingAnEnabledAgentIsRefusedAndChangesNothing() throws {
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let s = try open()
        let (uuid, _) = try agent(s, "a")
        let r = s.handle(method: "DELETE", path: "/api/v1/agents/\(uuid)", authorization: Self.admin)
        #expect(r.status == 409)
        s.close()
        let again = try open()
        defer { again.close() }
        #expect(try shown(again, uuid).configState == .enabled)
        #expect(again.handle(method: "GET", path: "/api/v1/agents/\(uuid)", authorization: Self.admin).status == 200)
    }

    // Found the same way; the request target's echo and reopen properties fail on crash-nul-* inputs.
    @Test func textHoldingNULIsStoredWhole() throws {
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let s = try open()
        let body = MMSJSON.encode(RegisterRequest(uuid: UUID().uuidString, name: "n", hostname: "h\u{0}x", os: "linux\u{0}"))
        #expect(s.handle(method: "POST", path: "/api/v1/agents/register", authorization: "Bearer s", body: body).status == 202)
        let put = s.handle(method: "PUT", path: "/api/v1/config/WITH_NUL", authorization: Self.admin,
                           body: Data(#"{"value":"a\u0000b"}"#.utf8))
        #expect(put.status == 200)
        s.close()
        let again = try open()
        defer { again.close() }
        let list = try MMSJSON.decode(ConfigEntryList.self, from: again.handle(method: "GET", path: "/api/v1/config",
                                                                                authorization: Self.admin).body)
        #expect(list.entries.first?.value == "a\u{0}b")
        let agents = try MMSJSON.decode(AgentList.self, from: again.handle(method: "GET", path: "/api/v1/agents",
                                                                            authorization: Self.admin).body)
        #expect(agents.agents.first.map { ($0.hostname, $0.os) } ?? ("", "") == ("h\u{0}x", "linux\u{0}"))
    }

    @Test func aNextPollsContactSurvivesARestart() throws {
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let s = try open()
        let (uuid, auth) = try agent(s, "a")
        for _ in 0..<2 {
            #expect(s.handle(method: "GET", path: "/api/v1/agents/\(uuid)/next", authorization: auth).status == 204)
        }
        let before = try shown(s, uuid).lastSeenAt
        s.close()
        let again = try open()
        defer { again.close() }
        #expect(try shown(again, uuid).lastSeenAt == before)
    }
}
