import Foundation
import MMSTestSupport
import MonitorModels
import ServerAPIClient
import Testing

/// The whole operator story of the README, at 80x24 as over ssh: a server, two pending agents, the
/// sample jobs from assets/jobs; the operator authorizes both agents, watches a job pass, opens
/// the long job's live log, cancels it, quits, and no process of the cancelled job is left.
@Suite(.serialized) struct OperatorStoryTests {
    static let assets = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../assets/jobs")

    static func sampleJob(_ name: String) throws -> JobSpec {
        try MMSJSON.decode(JobSpec.self, from: Data(contentsOf: assets.appendingPathComponent("\(name).json")))
    }

    /// Processes whose working directory is inside `dir` (a job's processes run in WORK_DIR/jobs/ID).
    /// The highest "segment NNNN" number on the screen (-1 when none).
    static func lastSegment(_ screen: String) -> Int {
        screen.matches(of: /segment (\d{4})/).compactMap { Int($0.output.1) }.max() ?? -1
    }

    static func processes(under dir: String) -> [String] {
        let resolved = URL(fileURLWithPath: dir).resolvingSymlinksInPath().path
        let pids = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return pids.filter { Int($0) != nil }.compactMap { pid in
            guard let cwd = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/cwd"),
                  cwd.hasPrefix(resolved) else { return nil }
            let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
            return stat.contains(") Z ") ? nil : pid  // zombies hold no resources; nothing here reaps them
        }
    }

    @Test func operatorAuthorizesTwoAgentsWatchesJobsCancelsTheLongOneAndQuits() async throws {
        let server = try ServerProcess()
        defer { server.stop(); server.removeData() }
        let recorder = try AgentUnderTest(server: server, name: "rec-01", extra: ["--resources", "recorder,ffmpeg"])
        defer { recorder.stop() }
        let builder = try AgentUnderTest(server: server, name: "build-01", extra: ["--resources", "docker,linux"])
        defer { builder.stop() }
        let admin = AdminAPI.live(serverURL: server.url, token: server.token)

        let console = ServerProcess.productsDir.appendingPathComponent("mms-console").path
        let tmux = try Tmux(width: 80, height: 24, command:
            "env TERM=tmux-256color MMS_ADMIN_TOKEN=\(server.token) \(console) --server \(server.url.absoluteString); "
            + "echo CONSOLE-EXITED $?; stty -a; sleep 30")
        defer { tmux.kill() }

        var step = await tmux.waitUntil(seconds: 20) { $0.contains("rec-01") && $0.contains("build-01") }
        #expect(step.found, "both agents listed:\n\(step.screen)")
        step = await tmux.waitFor("2 Pending")
        #expect(step.found, "both pending:\n\(step.screen)")

        // Authorize each: select it (its name leads the status line), press a, read the answer.
        for name in ["build-01", "rec-01"] {
            tmux.send(name == "build-01" ? "Home" : "End")
            step = await tmux.waitFor("\(name) · Pending")
            #expect(step.found, "\(name) selected:\n\(step.screen)")
            tmux.send("a")
            step = await tmux.waitFor("authorized \(name)")
            #expect(step.found, "authorize \(name):\n\(step.screen)")
        }
        step = await tmux.waitFor("2 Idle", seconds: 30)
        #expect(step.found, "both idle without a keypress:\n\(step.screen)")

        let passing = try await admin.createJob(try Self.sampleJob("passing"))
        let long = try await admin.createJob(try Self.sampleJob("long"))
        tmux.send("2")
        step = await tmux.waitFor("passed", seconds: 30)
        #expect(step.found, "the passing job passes, live:\n\(step.screen)")

        // Newest first: the long job is on top. Its log follows live.
        tmux.send("Home", "Enter")
        step = await tmux.waitFor("Log · job \(long.id)")
        #expect(step.found, "log opened:\n\(step.screen)")
        // The log opens at its end (how many segments there are by then depends on the machine's load),
        // then a later segment appears without a keypress.
        step = await tmux.waitFor("segment 0", seconds: 20)
        let first = Self.lastSegment(step.screen)
        step = await tmux.waitUntil(seconds: 20) { Self.lastSegment($0) > first }
        #expect(step.found, "live log lines arrive:\n\(step.screen)")
        tmux.send("Escape")
        step = await tmux.waitFor("WAITING REASON")
        #expect(step.found, "back to the jobs:\n\(step.screen)")

        tmux.send("c")
        step = await tmux.waitFor("Cancel job \(long.id)")
        #expect(step.found, "cancel asks first:\n\(step.screen)")
        tmux.send("y")
        step = await tmux.waitFor("cancelled", seconds: 30)
        #expect(step.found, "the long job shows cancelled:\n\(step.screen)")
        let cancelled = try await admin.getJob(long.id)
        let done = try await admin.getJob(passing.id)
        #expect(cancelled.result == .cancelled && cancelled.failureReason == "cancelled by admin")
        #expect(done.result == .passed)
        #expect(await eventually(15) { Self.processes(under: recorder.workDir + "/jobs").isEmpty },
                "no process of the cancelled job is left: \(Self.processes(under: recorder.workDir + "/jobs"))")

        tmux.send("q")
        step = await tmux.waitFor("CONSOLE-EXITED 0")
        #expect(step.found, "q exits 0:\n\(step.screen)")
        let modes = await tmux.waitFor(" icanon").screen
        #expect(modes.contains(" icanon") && modes.contains(" echo "), "terminal restored:\n\(modes)")
    }
}
