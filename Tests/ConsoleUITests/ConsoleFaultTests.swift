import Foundation
import MMSTestSupport
import MonitorModels
import ServerAPIClient
import Testing

/// The console under faults, in tmux: the server killed and restarted under it (banner, then recovery
/// without a keypress), a terminal shrunk to 20x5 and back, and SIGHUP (terminal restored).
@Suite(.serialized) struct ConsoleFaultTests {
    @Test func serverKilledAndRestartedTinyTerminalAndSighup() async throws {
        let first = try ServerProcess()
        let dataDir = first.dataDir, port = first.port, token = first.token
        var current = first
        defer { current.stop(); current.removeData() }
        let console = ServerProcess.productsDir.appendingPathComponent("mms-console").path
        let pidFile = FileManager.default.temporaryDirectory.appendingPathComponent("mms-fault-\(UUID().uuidString).pid").path
        defer { try? FileManager.default.removeItem(atPath: pidFile) }
        let tmux = try Tmux(width: 80, height: 24, command:
            "sh -c 'echo $$ > \(pidFile); exec env TERM=tmux-256color MMS_ADMIN_TOKEN=\(token) \(console) --server \(first.url.absoluteString)'; "
            + "echo CONSOLE-EXITED $?; stty -a; sleep 30")
        defer { tmux.kill() }
        var step = await tmux.waitFor("connected")
        #expect(step.found, "console up:\n\(step.screen)")

        // The server dies hard: the console says so and keeps retrying.
        kill(first.process.processIdentifier, SIGKILL)
        first.process.waitUntilExit()
        step = await tmux.waitFor("reconnecting", seconds: 20)
        #expect(step.found, "banner while the server is down:\n\(step.screen)")

        // It comes back on the same port and data dir, with a new job: recovery needs no keypress.
        current = try ServerProcess(dataDir: dataDir, port: port)
        let admin = AdminAPI.live(serverURL: current.url, token: token)
        _ = try await admin.createJob(JobSpec(name: "after-restart", commands: ["true"]))
        tmux.send("2")
        step = await tmux.waitUntil(seconds: 30) { $0.contains("after-restart") && !$0.contains("reconnecting") }
        #expect(step.found, "recovered and re-listed:\n\(step.screen)")

        // A tiny terminal, then back: no crash, the screen is whole again.
        tmux.resize(width: 20, height: 5)
        step = await tmux.waitUntil { !$0.contains("WAITING REASON") }
        #expect(step.found, "redrawn at 20x5:\n\(step.screen)")
        tmux.resize(width: 80, height: 24)
        step = await tmux.waitFor("WAITING REASON")
        #expect(step.found && step.screen.contains("after-restart"), "back at 80x24:\n\(step.screen)")

        let text = try String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let pid = try #require(Int32(text))
        kill(pid, SIGHUP)
        step = await tmux.waitFor("CONSOLE-EXITED")
        #expect(step.found, "SIGHUP ends the console:\n\(step.screen)")
        let modes = await tmux.waitFor(" icanon").screen
        #expect(modes.contains(" icanon") && modes.contains(" echo "), "terminal restored after SIGHUP:\n\(modes)")
    }
}
