import Foundation
import MMSTestSupport
import MonitorModels
import ServerAPIClient
import Testing

/// The real mms-console in tmux on a real 1,000,000-line log (a job running `seq 1 1000000` on a real agent):
/// it opens at the tail, `g` shows the first line, `G` the last, `/` finds a line near the start, `n` reads
/// the whole log and wraps around, and the console stays small.
@Suite(.serialized) struct BigLogEndToEndTests {
    /// True when some row of the screen is exactly `text` (after trimming the blanks around it).
    static func row(_ text: String) -> (String) -> Bool {
        { screen in screen.split(separator: "\n").contains { $0.trimmingCharacters(in: .whitespaces) == text } }
    }

    /// The console's resident memory in KiB (VmRSS), nil when it cannot be read.
    static func rssKiB(_ pid: Int32) -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }) else { return nil }
        return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
    }

    @Test func aMillionLineLogPagesSearchesAndStaysSmall() async throws {
        let server = try ServerProcess(extra: ["--auto-register-key", "big-log-key"])
        defer { server.stop(); server.removeData() }
        let agent = try AgentUnderTest(server: server, name: "big-agent", extra: ["--auto-register-key", "big-log-key"])
        defer { agent.stop() }
        let api = AdminAPI.live(serverURL: server.url, token: server.token)
        let job = try await api.createJob(JobSpec(name: "big-log", commands: [
            "echo one", "echo early-marker-$((40+2))", "seq 1 1000000",
        ]))
        let done = await eventually(120) { (try? await api.getJob(job.id))?.state == .completed }
        #expect(done, "the job ran to its end")

        let console = ServerProcess.productsDir.appendingPathComponent("mms-console").path
        let pidFile = FileManager.default.temporaryDirectory.appendingPathComponent("mms-big-\(UUID().uuidString).pid").path
        defer { try? FileManager.default.removeItem(atPath: pidFile) }
        let tmux = try Tmux(width: 120, height: 40, command:
            "sh -c 'echo $$ > \(pidFile); exec env TERM=tmux-256color MMS_ADMIN_TOKEN=\(server.token) \(console) --server \(server.url.absoluteString)'; "
            + "echo CONSOLE-EXITED $?; sleep 20")
        defer { tmux.kill() }
        var step = await tmux.waitFor("? help")
        #expect(step.found, "console up:\n\(step.screen)")
        let pid = try #require(Int32(try String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))

        tmux.send("2")
        step = await tmux.waitFor("big-log")
        #expect(step.found, "the job is listed:\n\(step.screen)")
        tmux.send("Enter")
        step = await tmux.waitUntil(Self.row("1000000"))
        #expect(step.found && step.screen.contains("100%"), "opens at the tail:\n\(step.screen)")

        tmux.send("g")
        step = await tmux.waitUntil { Self.row("$ echo one")($0) && Self.row("1")($0) }
        #expect(step.found, "g shows the first lines:\n\(step.screen)")
        tmux.send("G")
        step = await tmux.waitUntil(Self.row("1000000"))
        #expect(step.found, "G returns to the tail:\n\(step.screen)")
        tmux.send("t")
        step = await tmux.waitUntil { screen in
            screen.split(separator: "\n").contains { $0.wholeMatch(of: /\d\d:\d\d:\d\d 1000000 */) != nil }
        }
        #expect(step.found, "t shows when each line reached the server:\n\(step.screen)")
        tmux.send("t")
        step = await tmux.waitUntil(Self.row("1000000"))
        #expect(step.found, "t again hides the times:\n\(step.screen)")

        tmux.send("/")
        tmux.send("early-marker-42", literal: true)
        tmux.send("Enter")
        step = await tmux.waitUntil(Self.row("early-marker-42"))
        #expect(step.found, "search finds the line near the start:\n\(step.screen)")
        tmux.send("n")
        step = await tmux.waitFor("went on from the top", seconds: 60)
        #expect(step.found && Self.row("early-marker-42")(step.screen), "n reads the whole log and wraps to the only match:\n\(step.screen)")

        let rss = Self.rssKiB(pid) ?? Int.max
        #expect(rss < 100 * 1024, "console RSS \(rss) KiB")
        tmux.send("q")
        step = await tmux.waitFor("CONSOLE-EXITED 0")
        #expect(step.found, "q exits 0:\n\(step.screen)")
    }
}
