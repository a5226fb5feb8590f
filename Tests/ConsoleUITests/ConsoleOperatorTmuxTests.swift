import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import MMSTestSupport
import MonitorModels
import ServerAPIClient
import Testing

/// Issue 12 in the real console (tmux, 80x24) against a real server and agent: a viewer is told which
/// role a key needs and watches the Audit view fill live; an operator disables with a reason for 1m, sees
/// the job it would strand named first, reads the hold on the row, and the server enables the agent again.
@Suite(.serialized) struct ConsoleOperatorTmuxTests {
    /// Adds an operator through the API; returns its token.
    static func addOperator(_ server: ServerProcess, _ name: String, _ role: OperatorRole) async throws -> String {
        var req = URLRequest(url: server.url.appendingPathComponent("api/v1/operators"))
        req.httpMethod = "POST"
        req.setValue("Bearer \(server.token)", forHTTPHeaderField: "Authorization")
        req.setValue("application/json", forHTTPHeaderField: "Content-Type")
        req.httpBody = MMSJSON.encode(NewOperator(name: name, role: role))
        let (data, _) = try await URLSession.shared.data(for: req)
        return try MMSJSON.decode(CreatedOperator.self, from: data).token
    }

    static func console(_ server: ServerProcess, token: String, width: Int = 80, height: Int = 24) throws -> Tmux {
        let console = ServerProcess.productsDir.appendingPathComponent("mms-console").path
        return try Tmux(width: width, height: height, command:
            "env TERM=tmux-256color MMS_ADMIN_TOKEN=\(token) \(console) --server \(server.url.absoluteString); "
            + "echo CONSOLE-EXITED $?; sleep 30")
    }

    @Test func aViewerCannotAuthorizeIsToldWhyAndWatchesTheAuditLogLive() async throws {
        let server = try ServerProcess()
        defer { server.stop(); server.removeData() }
        let agent = try AgentUnderTest(server: server, name: "rec-01")
        defer { agent.stop() }
        let token = try await Self.addOperator(server, "vera", .viewer)
        let tmux = try Self.console(server, token: token)
        defer { tmux.kill() }

        var step = await tmux.waitUntil(seconds: 20) { $0.contains("rec-01") && $0.contains("Pending") }
        #expect(step.found, "pending agent listed:\n\(step.screen)")
        #expect(step.screen.contains("vera (viewer)"), "the header says who:\n\(step.screen)")
        tmux.send("a")
        step = await tmux.waitFor("needs the operator role; you are vera (viewer)")
        #expect(step.found, "refused with the role it needs:\n\(step.screen)")

        tmux.send("4")
        step = await tmux.waitFor("ACTION")
        #expect(step.found, "Audit view:\n\(step.screen)")
        let admin = AdminAPI.live(serverURL: server.url, token: server.token)
        let uuid = try #require(try await admin.listAgents().first?.uuid)
        _ = try await admin.patchAgent(uuid, AgentPatch(configState: .enabled))
        step = await tmux.waitUntil { $0.contains("agent.authorize") && $0.contains("admin") }
        #expect(step.found, "the authorize appears in the Audit view without a keypress:\n\(step.screen)")
        tmux.send("q")
        #expect(await tmux.waitFor("CONSOLE-EXITED 0").found)
    }

    @Test func anOperatorDisablesForAMinuteSeesTheStrandedJobAndTheServerEnablesAgain() async throws {
        let server = try ServerProcess()
        defer { server.stop(); server.removeData() }
        let agent = try AgentUnderTest(server: server, name: "gpu-01", extra: ["--resources", "gpu"])
        defer { agent.stop() }
        let admin = AdminAPI.live(serverURL: server.url, token: server.token)
        #expect(await eventually(20) { ((try? await admin.listAgents()) ?? []).count == 1 })
        let uuid = try #require(try await admin.listAgents().first?.uuid)
        _ = try await admin.patchAgent(uuid, AgentPatch(configState: .enabled))
        #expect(await eventually(20) { (try? await admin.getAgent(uuid))?.status == .idle })
        // The agent is busy with a long job; a second gpu job waits for it: disabling it strands that one.
        let long = try await admin.createJob(JobSpec(name: "long-render", commands: ["sleep 300"], resources: ["gpu"]))
        #expect(await eventually(20) { (try? await admin.getJob(long.id))?.state == .building })
        let waiting = try await admin.createJob(JobSpec(name: "build-gpu", commands: ["true"], resources: ["gpu"]))
        defer { Task { _ = try? await admin.cancelJob(long.id); _ = try? await admin.cancelJob(waiting.id) } }

        let token = try await Self.addOperator(server, "otto", .operator)
        let tmux = try Self.console(server, token: token)
        defer { tmux.kill() }
        var step = await tmux.waitUntil(seconds: 20) { $0.contains("gpu-01") && $0.contains("Building") }
        #expect(step.found, "busy agent listed:\n\(step.screen)")
        tmux.send("d")
        step = await tmux.waitFor("Disable gpu-01")
        #expect(step.found, "d asks for a reason:\n\(step.screen)")
        tmux.send("rack move", literal: true)
        tmux.send("Tab")
        tmux.send("1m", literal: true)
        tmux.send("Enter")
        step = await tmux.waitFor("#\(waiting.id) build-gpu")
        #expect(step.found && step.screen.contains("1 job would have no agent"), "the impact names the job:\n\(step.screen)")
        tmux.send("y")
        step = await tmux.waitUntil { $0.contains("otto: rack move") && $0.contains("left") }
        #expect(step.found, "the row says by whom, why and until when:\n\(step.screen)")
        let held = try await admin.getAgent(uuid)
        #expect(held.configState == .disabled && held.disabledBy == "otto" && held.disabledReason == "rack move")

        // At the end of the minute the server enables it again, and the row loses the hold by itself.
        step = await tmux.waitUntil(seconds: 120) { !$0.contains("rack move") && $0.contains("gpu-01") }
        #expect(step.found, "re-enabled without a keypress:\n\(step.screen)")
        #expect(try await admin.getAgent(uuid).configState == .enabled)
        let audit = try await admin.listAudit(nil, 50, uuid)
        #expect(audit.contains { $0.actor == "server" && $0.action == "agent.enable" }, "\(audit.map { "\($0.actor) \($0.action)" })")
        tmux.send("q")
        #expect(await tmux.waitFor("CONSOLE-EXITED 0").found)
    }
}
