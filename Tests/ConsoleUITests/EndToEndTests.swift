import Foundation
import MMSTestSupport
import MonitorModels
import ServerAPIClient
import Testing

/// The real mms-console in tmux against a real mms-server and a real mms-agent: authorize, post a job, read its log, quit.
@Suite(.serialized) struct EndToEndTests {
    @Test func operatorAuthorizesAnAgentRunsAJobAndReadsItsLog() async throws {
        let server = try ServerProcess()
        defer { server.stop(); server.removeData() }
        let agent = try AgentUnderTest(server: server, name: "e2e-agent")
        defer { agent.stop() }

        let console = ServerProcess.productsDir.appendingPathComponent("mms-console").path
        let tmux = try Tmux(width: 120, height: 40, command:
            "env TERM=tmux-256color MMS_ADMIN_TOKEN=\(server.token) \(console) --server \(server.url.absoluteString); "
            + "echo CONSOLE-EXITED $?; stty -a; sleep 20")
        defer { tmux.kill() }

        var step = await tmux.waitFor("e2e-agent")
        #expect(step.found, "agent listed:\n\(step.screen)")
        step = await tmux.waitFor("Pending")
        #expect(step.found && step.screen.contains("connected"), "pending agent, connected:\n\(step.screen)")

        tmux.send("a")
        step = await tmux.waitFor("authorized e2e-agent")
        #expect(step.found, "authorize:\n\(step.screen)")
        step = await tmux.waitFor("Idle", seconds: 30)
        #expect(step.found, "the agent turns idle without a keypress:\n\(step.screen)")

        tmux.send("2", "n")
        tmux.send("e2e-job", literal: true)
        tmux.send("Enter")
        tmux.send("echo hello-from-e2e", literal: true)
        tmux.send("Enter", "Enter", "Enter")
        // Wait for the answer, not the name: the name is also in the form until it closes.
        step = await tmux.waitFor("e2e-job created")
        #expect(step.found, "job created:\n\(step.screen)")

        tmux.send("Enter")
        step = await tmux.waitFor("Log · job")
        #expect(step.found, "log opened:\n\(step.screen)")
        step = await tmux.waitFor("hello-from-e2e", seconds: 30)
        #expect(step.found, "log output:\n\(step.screen)")
        step = await tmux.waitFor("passed", seconds: 30)
        #expect(step.found, "job passed:\n\(step.screen)")

        tmux.send("Escape")
        step = await tmux.waitFor("WAITING REASON")
        #expect(step.found, "Esc returns to the jobs list:\n\(step.screen)")

        tmux.send("q")
        step = await tmux.waitFor("CONSOLE-EXITED 0")
        #expect(step.found, "q exits 0:\n\(step.screen)")
        let modes = await tmux.waitFor(" icanon").screen
        #expect(modes.contains(" icanon") && modes.contains(" echo "), "terminal restored (canonical mode, echo):\n\(modes)")
        #expect(!modes.contains("MMS  http"), "the console's screen is gone after quitting:\n\(modes)")
    }

    @Test func sigtermRestoresTheTerminalAndExitsZero() async throws {
        let server = try ServerProcess()
        defer { server.stop(); server.removeData() }
        let console = ServerProcess.productsDir.appendingPathComponent("mms-console").path
        let pidFile = FileManager.default.temporaryDirectory.appendingPathComponent("mms-e2e-\(UUID().uuidString).pid").path
        defer { try? FileManager.default.removeItem(atPath: pidFile) }
        let tmux = try Tmux(width: 80, height: 24, command:
            "sh -c 'echo $$ > \(pidFile); exec env TERM=tmux-256color MMS_ADMIN_TOKEN=\(server.token) \(console) --server \(server.url.absoluteString)'; "
            + "echo CONSOLE-EXITED $?; stty -a; sleep 20")
        defer { tmux.kill() }
        let screen = await tmux.waitFor("? help")
        #expect(screen.found, "console up at 80x24:\n\(screen.screen)")
        let text = try String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let pid = try #require(Int32(text))
        kill(pid, SIGTERM)
        let after = await tmux.waitFor("CONSOLE-EXITED 0")
        #expect(after.found, "SIGTERM exits 0:\n\(after.screen)")
        let modes = await tmux.waitFor(" icanon").screen
        #expect(modes.contains(" icanon") && modes.contains(" echo "), "terminal restored:\n\(modes)")
    }
}

/// The real `mms-agent` for the end-to-end test, in its own temporary work dir.
final class AgentUnderTest: @unchecked Sendable {
    private let process = Process()
    let workDir = FileManager.default.temporaryDirectory.appendingPathComponent("mms-e2e-agent-\(UUID().uuidString)").path

    init(server: ServerProcess, name: String, extra: [String] = []) throws {
        process.executableURL = ServerProcess.productsDir.appendingPathComponent("mms-agent")
        process.arguments = ["start", "--server", server.url.absoluteString, "--name", name, "--work-dir", workDir] + extra
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
    }

    /// SIGTERM (the agent cancels and reports any job), wait, remove the work dir.
    func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: workDir)
    }
}
