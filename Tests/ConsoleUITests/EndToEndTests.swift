import Foundation
import MonitorModels
import ServerAPIClient
import Testing

/// The real mms-console in tmux against a real mms-server and an agent: authorize, post a job, read its log, quit.
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

/// The agent for the end-to-end test: the real `mms-agent` binary when it is built, else a scripted agent
/// speaking the agent API (register, poll, report, ship the log) so the console path is the same.
final class AgentUnderTest: @unchecked Sendable {
    private var process: Process?
    private var task: Task<Void, Never>?
    let workDir = FileManager.default.temporaryDirectory.appendingPathComponent("mms-e2e-agent-\(UUID().uuidString)").path

    init(server: ServerProcess, name: String) throws {
        let binary = ServerProcess.productsDir.appendingPathComponent("mms-agent")
        if Self.isReal(binary) {
            let p = Process()
            p.executableURL = binary
            p.arguments = ["start", "--server", server.url.absoluteString, "--name", name, "--work-dir", workDir]
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            process = p
        } else {
            task = Task { await Self.scripted(server: server, name: name) }
        }
    }

    func stop() {
        task?.cancel()
        if let p = process, p.isRunning {
            p.terminate()
            p.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: workDir)
    }

    /// True when `mms-agent version` works (the placeholder exits 1).
    static func isReal(_ binary: URL) -> Bool {
        guard FileManager.default.isExecutableFile(atPath: binary.path) else { return false }
        let p = Process()
        p.executableURL = binary
        p.arguments = ["version"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return false }
        p.waitUntilExit()
        return p.terminationStatus == 0
    }

    /// Registers, long-polls for work, runs nothing but reports the job as a shell would have: echo line and output.
    static func scripted(server: ServerProcess, name: String) async {
        let uuid = UUID().uuidString.lowercased()
        let api = AgentAPI.live(serverURL: server.url, secret: String(repeating: "ab", count: 32))
        _ = try? await api.register(RegisterRequest(uuid: uuid, name: name, hostname: "e2e-host", os: "linux"))
        while !Task.isCancelled {
            guard case .job(let job)? = try? await api.next(uuid, 2) else { continue }
            _ = try? await api.reportState(job.id, JobStateReport(attempt: job.attempt, state: .preparing))
            _ = try? await api.reportState(job.id, JobStateReport(attempt: job.attempt, state: .building))
            let log = job.spec.commands.map { "$ \($0)\n\($0.replacingOccurrences(of: "echo ", with: ""))\n" }.joined()
            _ = try? await api.appendLog(job.id, job.attempt, job.logSize, Data(log.utf8))
            _ = try? await api.reportState(job.id, JobStateReport(attempt: job.attempt, state: .completed, result: .passed, exitCode: 0))
        }
    }
}
