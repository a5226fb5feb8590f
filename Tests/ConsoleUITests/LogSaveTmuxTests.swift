import Foundation
import MMSTestSupport
import MonitorModels
import ServerAPIClient
import Testing

/// The real mms-console in tmux saves a real job's multi-MiB log with `S`: the file holds exactly the
/// bytes `GET /api/v1/jobs/{id}/log` serves, read page by page.
@Suite(.serialized) struct LogSaveTmuxTests {
    /// Every byte of a job's log, read through the API 1 MiB at a time.
    static func wholeLog(_ api: AdminAPI, _ id: Int64) async throws -> Data {
        var out = Data()
        while true {
            let slice = try await api.readLog(id, Int64(out.count), 0)
            out.append(slice.bytes)
            if slice.bytes.isEmpty || Int64(out.count) >= slice.totalSize { return out }
        }
    }

    @Test func sSavesTheWholeLogOfARealJob() async throws {
        let server = try ServerProcess(extra: ["--auto-register-key", "save-log-key"])
        defer { server.stop(); server.removeData() }
        let agent = try AgentUnderTest(server: server, name: "save-agent", extra: ["--auto-register-key", "save-log-key"])
        defer { agent.stop() }
        let api = AdminAPI.live(serverURL: server.url, token: server.token)
        let job = try await api.createJob(JobSpec(name: "save-log", commands: ["echo first-line", "seq 1 600000"]))
        let done = await eventually(120) { (try? await api.getJob(job.id))?.state == .completed }
        #expect(done, "the job ran to its end")
        let expected = try await Self.wholeLog(api, job.id)
        #expect(expected.count > 3 << 20, "a log of several pages: \(expected.count) bytes")

        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mms-save-tmux-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let console = ServerProcess.productsDir.appendingPathComponent("mms-console").path
        let tmux = try Tmux(width: 120, height: 40, command:
            "sh -c 'cd \(dir) && exec env TERM=tmux-256color MMS_ADMIN_TOKEN=\(server.token) \(console) --server \(server.url.absoluteString)'; "
            + "echo CONSOLE-EXITED $?; sleep 20")
        defer { tmux.kill() }
        var step = await tmux.waitFor("? help")
        #expect(step.found, "console up:\n\(step.screen)")
        tmux.send("2")
        step = await tmux.waitFor("save-log")
        #expect(step.found, "the job is listed:\n\(step.screen)")
        tmux.send("Enter")
        step = await tmux.waitUntil { $0.split(separator: "\n").contains { $0.trimmingCharacters(in: .whitespaces) == "600000" } }
        #expect(step.found, "the log opens at its tail:\n\(step.screen)")
        tmux.send("S")
        step = await tmux.waitFor("saved ", seconds: 60)
        #expect(step.found && step.screen.contains("to ./mms-job-\(job.id)-"), "S says where it saved:\n\(step.screen)")

        let files = try FileManager.default.contentsOfDirectory(atPath: dir)
        #expect(files.count == 1 && files[0].wholeMatch(of: /mms-job-\d+-\d{8}-\d{6}\.log/) != nil, "one file: \(files)")
        let saved = try Data(contentsOf: URL(fileURLWithPath: dir + "/" + files[0]))
        #expect(saved.count == expected.count && saved == expected, "the file holds the whole log: \(saved.count) of \(expected.count) bytes")
        tmux.send("q")
        step = await tmux.waitFor("CONSOLE-EXITED 0")
        #expect(step.found, "q exits 0:\n\(step.screen)")
    }
}
