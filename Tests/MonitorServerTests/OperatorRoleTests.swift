import Foundation
import MMSTestSupport
import Testing
import MonitorModels
@testable import MonitorServer

/// Operators and roles: every route's role, pinned here (a new route fails this suite until it is
/// added), and each role tried against every route of a real server.
@Suite struct OperatorRoleTests {
    /// Who may call each route. A route the server has and this table lacks fails the test.
    static let expected: [String: Access] = [
        "GET /healthz": .open, "GET /api/v1/version": .open, "GET /metrics": .open,
        "POST /api/v1/agents/register": .agent, "POST /api/v1/agents/{uuid}/ping": .agent,
        "GET /api/v1/agents/{uuid}/config": .agent, "GET /api/v1/agents/{uuid}/next": .agent,
        "POST /api/v1/jobs/{id}/state": .agent, "POST /api/v1/jobs/{id}/log": .agent,
        "GET /api/v1/agents": .role(.viewer), "GET /api/v1/agents/{uuid}": .role(.viewer),
        "GET /api/v1/jobs": .role(.viewer), "GET /api/v1/jobs/{id}": .role(.viewer),
        "GET /api/v1/jobs/{id}/log": .role(.viewer), "GET /api/v1/config": .role(.viewer),
        "GET /api/v1/events": .role(.viewer), "GET /api/v1/whoami": .role(.viewer), "GET /api/v1/audit": .role(.viewer),
        "GET /api/v1/stats": .role(.viewer),
        "PATCH /api/v1/agents": .role(.operator), "PATCH /api/v1/agents/{uuid}": .role(.operator),
        "POST /api/v1/jobs": .role(.operator), "POST /api/v1/jobs/{id}/cancel": .role(.operator),
        "POST /api/v1/jobs/{id}/rerun": .role(.operator),
        "DELETE /api/v1/agents/{uuid}": .role(.admin), "POST /api/v1/agents/push": .role(.admin), "PUT /api/v1/config/{name}": .role(.admin),
        "DELETE /api/v1/config/{name}": .role(.admin), "GET /api/v1/operators": .role(.admin),
        "POST /api/v1/operators": .role(.admin), "DELETE /api/v1/operators/{name}": .role(.admin),
        "GET /api/v1/agent-binary": .agentOrRole(.viewer),
    ]

    /// A concrete path for a route pattern: ids nobody has, so no call changes anything.
    static func path(_ pattern: String) -> String {
        pattern.replacingOccurrences(of: "{uuid}", with: "00000000-0000-4000-8000-00000000dead")
            .replacingOccurrences(of: "{id}", with: "999999").replacingOccurrences(of: "{name}", with: "NOBODY_HERE")
    }

    @Test func everyRouteHasARoleAndEachRoleGetsExactlyWhatItMay() async throws {
        let s = try TestServer()
        let routes = s.server.routeAccess
        let unlisted = Set(routes.keys).subtracting(Self.expected.keys).sorted()
        #expect(unlisted.isEmpty, "routes with no role in this table: \(unlisted)")
        #expect(Set(Self.expected.keys).subtracting(routes.keys).isEmpty)
        for (route, access) in routes { #expect(Self.expected[route] == access, "\(route) is \(access)") }

        var tokens: [OperatorRole: String] = [.admin: s.admin]
        for role in [OperatorRole.viewer, .operator] {
            let r = try await s.call("POST", "/api/v1/operators", token: s.admin, value: NewOperator(name: "op-\(role)", role: role))
            #expect(r.status == 201)
            tokens[role] = try r.decode(CreatedOperator.self).token
        }
        for (route, access) in routes.sorted(by: { $0.key < $1.key }) {
            let parts = route.split(separator: " ", maxSplits: 1).map(String.init)
            let (method, path) = (parts[0], Self.path(parts[1]))
            switch access {
            case .open:
                #expect(try await s.call(method, path).status == 200, "\(route) without a token")
            case .agent:
                for role in OperatorRole.allCases {
                    let st = try await s.call(method, path, token: tokens[role]).status
                    #expect(!(200..<300).contains(st), "\(route) with a \(role) token answered \(st)")
                }
            case .agentOrRole(let needed):  // agents are tried in the route's own suite (AgentBinaryTests)
                #expect(needed == .viewer)
                #expect(try await s.call(method, path).status == 401, "\(route) without a token")
                #expect(try await s.call(method, path, token: "not-a-token").status == 401, "\(route) with a bad token")
                for role in OperatorRole.allCases {
                    let r = try await s.call(method, path, token: tokens[role])
                    #expect(r.status != 401 && r.status != 403, "\(route) as \(role): \(r.status) \(r.text)")
                }
            case .role(let needed):
                #expect(try await s.call(method, path).status == 401, "\(route) without a token")
                #expect(try await s.call(method, path, token: "not-a-token").status == 401, "\(route) with a bad token")
                for role in OperatorRole.allCases {
                    let r = try await s.call(method, path, token: tokens[role])
                    if role < needed {
                        #expect(r.status == 403 && r.errorCode == "forbidden", "\(route) as \(role): \(r.status)")
                        #expect(r.errorMessage?.contains("needs the \(needed.rawValue) role") == true, "\(r.errorMessage ?? "")")
                    } else {
                        #expect(r.status != 401 && r.status != 403, "\(route) as \(role): \(r.status) \(r.text)")
                    }
                }
            }
        }
    }

    @Test func whoamiAndTheOperatorsAPI() async throws {
        let s = try TestServer()
        let me = try await s.call("GET", "/api/v1/whoami", token: s.admin).decode(OperatorIdentity.self)
        #expect(me == OperatorIdentity(name: "admin", role: .admin))
        let created = try await s.call("POST", "/api/v1/operators", token: s.admin, json: #"{"name":"alice","role":"operator"}"#)
        #expect(created.status == 201)
        let alice = try created.decode(CreatedOperator.self)
        #expect(alice.token.count == 64)
        #expect(try await s.call("GET", "/api/v1/whoami", token: alice.token).decode(OperatorIdentity.self).name == "alice")
        #expect(try await s.call("POST", "/api/v1/operators", token: s.admin, json: #"{"name":"alice","role":"viewer"}"#).status == 409)
        for bad in [#"{"name":"server","role":"viewer"}"#, #"{"name":"a b","role":"viewer"}"#, #"{"name":"x","role":"root"}"#, "{}"] {
            let r = try await s.call("POST", "/api/v1/operators", token: s.admin, json: bad)
            #expect(r.status == 400, "\(bad): \(r.status)")
        }
        let list = try await s.call("GET", "/api/v1/operators", token: s.admin).decode(OperatorList.self)
        #expect(list.operators.map(\.name) == ["admin", "alice"] && list.operators[0].createdAt == nil)
        #expect(!(try await s.call("GET", "/api/v1/operators", token: s.admin).text.contains(alice.token)))
        #expect(try await s.call("DELETE", "/api/v1/operators/admin", token: s.admin).status == 400)
        #expect(try await s.call("DELETE", "/api/v1/operators/alice", token: s.admin).status == 204)
        #expect(try await s.call("GET", "/api/v1/whoami", token: alice.token).status == 401)
        #expect(try await s.call("DELETE", "/api/v1/operators/alice", token: s.admin).status == 404)
    }

    @Test func operatorCommandsWorkOnTheDataDirWhileTheServerRuns() async throws {
        let s = try TestServer()
        let cli = ServerProcess.productsDir.appendingPathComponent("mms-server").path
        let place = s.options.databaseURL.map { ["--database", $0] } ?? ["--data-dir", s.dataDir]
        let since = try await s.call("GET", "/api/v1/events", token: s.admin).decode(EventBatch.self).next
        let add = try run(cli, ["operator", "add", "carol", "--role", "viewer"] + place)
        #expect(add.status == 0)
        let token = add.out.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(token.count == 64 && !add.out.dropLast().contains("\n"))
        #expect(try await s.call("GET", "/api/v1/whoami", token: token).decode(OperatorIdentity.self) == OperatorIdentity(name: "carol", role: .viewer))
        #expect(try await s.call("POST", "/api/v1/jobs", token: token, json: #"{"name":"x","commands":["true"]}"#).status == 403)
        let listed = try run(cli, ["operator", "list"] + place)
        #expect(listed.status == 0 && listed.out.contains("carol") && listed.out.contains("viewer") && !listed.out.contains(token))
        let rotated = try run(cli, ["operator", "rotate", "carol"] + place)
        let newToken = rotated.out.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(rotated.status == 0 && newToken.count == 64 && newToken != token)
        #expect(try await eventually(5) { try await s.call("GET", "/api/v1/whoami", token: token).status == 401 })
        #expect(try await s.call("GET", "/api/v1/whoami", token: newToken).status == 200)
        #expect(try run(cli, ["operator", "remove", "carol"] + place).status == 0)
        #expect(try await eventually(5) { try await s.call("GET", "/api/v1/whoami", token: newToken).status == 401 })
        #expect(try run(cli, ["operator", "remove", "carol"] + place).status == 1)
        #expect(try run(cli, ["operator", "add", "dave"] + place).status == 2)
        #expect(try run(cli, ["operator", "add", "dave", "--role", "god"] + place).status == 2)
        #expect(try run(cli, ["operator", "list", "--data-dir", s.dataDir + "-nowhere"]).status == 1)
        let audit = try await s.call("GET", "/api/v1/audit?target=carol", token: s.admin).decode(AuditPage.self)
        #expect(audit.entries.map(\.action) == ["operator.remove", "operator.rotate", "operator.add"])
        #expect(audit.entries.allSatisfy { $0.actor == "local" })
        // The running server announces them as events too (the console's Audit view is live).
        var seen: [String] = []
        #expect(try await eventually(10) {
            let batch = try await s.call("GET", "/api/v1/events?since=\(since)", token: s.admin).decode(EventBatch.self)
            seen = batch.events.compactMap { $0.type == .auditAppended && $0.audit?.target.id == "carol" ? $0.audit?.action : nil }
            return seen.count >= 3
        }, "\(seen)")
        #expect(seen == ["operator.add", "operator.rotate", "operator.remove"])
    }

    private func run(_ path: String, _ args: [String]) throws -> (status: Int32, out: String) {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("mms-cli-\(UUID().uuidString).out").path
        _ = FileManager.default.createFile(atPath: out, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: out) }
        let p = try SpawnedChild(path, args, stdout: .file(out))
        p.waitUntilExit()
        return (p.terminationStatus ?? -1, (try? String(contentsOfFile: out, encoding: .utf8)) ?? "")
    }

}
