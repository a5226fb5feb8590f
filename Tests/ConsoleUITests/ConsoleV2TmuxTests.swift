import Foundation
import MMSTestSupport
import MonitorModels
import ServerAPIClient
import Testing

/// Issue 16 in the real console (tmux): the detail pane follows a live job, every column sorts, a `:`
/// command disables two agents with a reason, a mouse click selects, a lost agent rings the bell, and `E`
/// writes the list to a file.
@Suite(.serialized) struct ConsoleV2TmuxTests {
    static let console = ServerProcess.productsDir.appendingPathComponent("mms-console").path

    /// Registers an agent with a fresh identity (it never polls, so it loses contact on its own) and enables it.
    static func register(_ server: ServerProcess, _ name: String) async throws -> String {
        let uuid = UUID().uuidString.lowercased()
        let api = AgentAPI.live(serverURL: server.url, secret: uuid.replacingOccurrences(of: "-", with: "") + "ef")
        _ = try await api.register(RegisterRequest(uuid: uuid, name: name, hostname: "host-\(name)", os: "linux"))
        _ = try await AdminAPI.live(serverURL: server.url, token: server.token).patchAgent(uuid, AgentPatch(configState: .enabled))
        return uuid
    }

    @Test func theDetailPaneFollowsALiveJobAndEveryColumnSorts() async throws {
        let server = try ServerProcess()
        defer { server.stop(); server.removeData() }
        let agent = try AgentUnderTest(server: server, name: "rec-01")
        defer { agent.stop() }
        let admin = AdminAPI.live(serverURL: server.url, token: server.token)
        #expect(await eventually(20) { ((try? await admin.listAgents()) ?? []).count == 1 })
        let uuid = try #require(try await admin.listAgents().first?.uuid)
        _ = try await admin.patchAgent(uuid, AgentPatch(configState: .enabled))
        let job = try await admin.createJob(JobSpec(name: "ticker", commands: ["for i in $(seq 1 600); do echo tick-$i; sleep 0.1; done"]))
        defer { Task { _ = try? await admin.cancelJob(job.id) } }

        let tmux = try Tmux(width: 160, height: 48, command:
            "env LANG=C.UTF-8 TERM=tmux-256color MMS_ADMIN_TOKEN=\(server.token) \(Self.console) --server \(server.url.absoluteString); sleep 30")
        defer { tmux.kill() }
        var step = await tmux.waitFor("rec-01")
        #expect(step.found, "console up:\n\(step.screen)")
        tmux.send("2")
        step = await tmux.waitUntil { $0.contains("#\(job.id) ticker") && $0.contains("tick-") }
        #expect(step.found, "the job's detail with its log tail beside the list:\n\(step.screen)")
        let first = Self.lastTick(step.screen)
        step = await tmux.waitUntil { Self.lastTick($0) > first + 5 }
        #expect(step.found, "the tail moves on without a keypress (from tick-\(first)):\n\(step.screen)")

        // Every column of both lists, with `>`; `s` turns the order around.
        for title in ["NAME", "STATE", "AGENT", "TRY", "ID"] {
            tmux.send(">")
            step = await tmux.waitFor("\(title)▼")
            #expect(step.found, "jobs sorted by \(title):\n\(step.screen)")
        }
        tmux.send("1")
        for title in ["STATUS", "KIND", "HOST", "VERSION", "RESOURCES", "ENVS", "JOB", "LAST SEEN", "NAME"] {
            tmux.send(">")
            step = await tmux.waitFor("\(title)▼")
            #expect(step.found, "agents sorted by \(title):\n\(step.screen)")
        }
        tmux.send("s")
        step = await tmux.waitFor("NAME▲")
        #expect(step.found, "s reverses:\n\(step.screen)")
    }

    @Test func noMouseLeavesTheMouseToTheTerminalAndNoBellStaysSilent() async throws {
        let server = try ServerProcess(extra: ["--lost-contact-after", "2"])
        defer { server.stop(); server.removeData() }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mms-v2-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for quiet in [false, true] {
            let typescript = dir + "/typescript-\(quiet)"
            let flags = quiet ? " --no-mouse --no-bell" : ""
            let tmux = try Tmux(width: 80, height: 24, command:
                "script -qfc 'env LANG=C.UTF-8 TERM=tmux-256color MMS_ADMIN_TOKEN=\(server.token) \(Self.console) "
                + "--server \(server.url.absoluteString)\(flags)' \(typescript); sleep 30")
            defer { tmux.kill() }
            #expect(await tmux.waitFor("? help").found)
            #expect(tmux.display("#{mouse_standard_flag}") == (quiet ? "0" : "1"), "mouse asked for: \(!quiet)")
            let name = quiet ? "quiet-01" : "loud-01"
            _ = try await Self.register(server, name)
            let step = await tmux.waitFor("⚠ \(name) lost contact", seconds: 30)
            #expect(step.found, "the alert line either way:\n\(step.screen)")
            // The console writes the bell before it draws the alert, so by now it is in the typescript or never.
            let rang = await eventually(quiet ? 0 : 10) { ((try? Data(contentsOf: URL(fileURLWithPath: typescript))) ?? Data()).contains(7) }
            #expect(rang == !quiet, quiet ? "--no-bell: no BEL written" : "the bell rang")
            tmux.send("q")
        }
    }

    static func lastTick(_ screen: String) -> Int {
        screen.matches(of: /tick-(\d+)/).compactMap { Int($0.output.1) }.max() ?? -1
    }

    @Test func aCommandDisablesTwoAgentsAClickSelectsALostAgentRingsAndExportWritesTheList() async throws {
        let server = try ServerProcess(extra: ["--lost-contact-after", "2"])
        defer { server.stop(); server.removeData() }
        let admin = AdminAPI.live(serverURL: server.url, token: server.token)
        let first = try await Self.register(server, "rec-01")
        let second = try await Self.register(server, "rec-02")
        // Both lose contact before the console opens, so the only alert it raises is rec-09's below.
        #expect(await eventually(30) { ((try? await admin.listAgents()) ?? []).allSatisfy { $0.status == .lostContact } })
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mms-v2-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // `script` keeps a copy of everything the console writes: the bell is a byte in it.
        let typescript = dir + "/typescript"
        let tmux = try Tmux(width: 80, height: 24, command:
            "cd \(dir) && script -qfc 'env LANG=C.UTF-8 TERM=tmux-256color MMS_ADMIN_TOKEN=\(server.token) \(Self.console) "
            + "--server \(server.url.absoluteString)' \(typescript); sleep 30")
        defer { tmux.kill() }
        var step = await tmux.waitUntil { $0.contains("rec-01") && $0.contains("rec-02") }
        #expect(step.found, "console up:\n\(step.screen)")

        tmux.send(":")
        tmux.send("disable rec-0* 2h maintenance window", literal: true)
        tmux.send("Enter")
        step = await tmux.waitFor("Disable 2 agents for 2h (maintenance window)?")
        #expect(step.found, "asks first:\n\(step.screen)")
        tmux.send("y")
        step = await tmux.waitFor("disabled 2 agents")
        #expect(step.found, "both disabled:\n\(step.screen)")
        for uuid in [first, second] {
            let a = try await admin.getAgent(uuid)
            #expect(a.configState == .disabled && a.disabledReason == "maintenance window" && a.disabledUntil != nil)
        }

        // A click on the second row (row 5 of the screen; X10 mouse: ESC [ M, button+32, column+33, row+33).
        tmux.send("\u{1B}[M %&\u{1B}[M#%&", literal: true)
        step = await tmux.waitFor(" rec-02 · ")
        #expect(step.found && !step.screen.contains("marked"), "the click selected rec-02:\n\(step.screen)")
        // And back up to the first row (keys could not move the cursor up here).
        tmux.send("\u{1B}[M %%\u{1B}[M#%%", literal: true)
        step = await tmux.waitFor(" rec-01 · ")
        #expect(step.found && !step.screen.contains("marked"), "the click selected rec-01:\n\(step.screen)")

        let before = (try? Data(contentsOf: URL(fileURLWithPath: typescript))) ?? Data()
        #expect(!before.contains(7), "no bell yet")
        _ = try await Self.register(server, "rec-09")
        step = await tmux.waitFor("⚠ rec-09 lost contact", seconds: 30)
        #expect(step.found, "the alert line:\n\(step.screen)")
        #expect(await eventually(10) { ((try? Data(contentsOf: URL(fileURLWithPath: typescript))) ?? Data()).contains(7) }, "the bell rang")

        tmux.send("E")
        step = await tmux.waitFor("exported 3 rows to \(dir)/mms-agents-")
        #expect(step.found, "export:\n\(step.screen)")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".csv") }
        let csv = try String(contentsOfFile: dir + "/" + (files.first ?? "none"), encoding: .utf8)
        let lines = csv.split(separator: "\r\n").map(String.init)
        #expect(lines.count == 4 && lines[0].hasPrefix("name,status,config,host,"), "\(csv)")
        #expect(lines.contains { $0.hasPrefix("rec-01,") && $0.contains(",disabled,") && $0.contains("maintenance window") }, "\(csv)")
        #expect(lines.contains { $0.hasPrefix("rec-09,Lost Contact,enabled,host-rec-09,") }, "\(csv)")
        tmux.send("q")
    }
}

extension Data {
    func contains(_ byte: UInt8) -> Bool { firstIndex(of: byte) != nil }
}
