import Foundation
import MMSTestSupport
import MonitorModels
import ServerAPIClient
import Testing

/// The real mms-console in tmux with `--server A,B`: it shows A, and when A is killed it moves to B by itself,
/// says so, lists B's jobs and shows B in its header.
@Suite(.serialized) struct ConsoleFailoverTests {
    @Test func killMinus9OfTheServerInUseMovesTheConsoleToTheNext() async throws {
        let (a, b) = try ServerProcess.pair("console")
        defer { a.stop(); b.stop(); a.removeData(); b.removeData() }
        _ = try await AdminAPI.live(serverURL: a.url, token: a.token).createJob(JobSpec(name: "job-on-a", commands: ["true"]))
        _ = try await AdminAPI.live(serverURL: b.url, token: b.token).createJob(JobSpec(name: "job-on-b", commands: ["true"]))
        let console = ServerProcess.productsDir.appendingPathComponent("mms-console").path
        let tmux = try Tmux(width: 80, height: 24, command:
            "env TERM=tmux-256color MMS_ADMIN_TOKEN=\(a.token) MMS_SERVER_URL='\(a.url.absoluteString), \(b.url.absoluteString)' "
            + "\(console); echo CONSOLE-EXITED $?; sleep 30")
        defer { tmux.kill() }
        tmux.send("2")
        // The header names the server in use; at 80 columns beside who you are, without its scheme.
        let hostA = "\(a.url.host ?? ""):\(a.port)", hostB = "\(b.url.host ?? ""):\(b.port)"
        var step = await tmux.waitUntil { $0.contains("job-on-a") && $0.contains(hostA) && $0.contains("connected") }
        #expect(step.found, "on A:\n\(step.screen)")

        kill(a.process.processIdentifier, SIGKILL)
        a.process.waitUntilExit()
        step = await tmux.waitUntil(seconds: 20) {
            $0.contains("job-on-b") && !$0.contains("job-on-a") && $0.contains(hostB) && !$0.contains("reconnecting")
        }
        #expect(step.found, "moved to B, listed again, no banner left:\n\(step.screen)")
        #expect(step.screen.contains("now using \(b.url.absoluteString)"), "the move is said:\n\(step.screen)")
        tmux.send("q")
        step = await tmux.waitFor("CONSOLE-EXITED 0")
        #expect(step.found, "q quits:\n\(step.screen)")
    }
}
