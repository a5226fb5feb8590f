import Foundation
import MonitorModels
import Synchronization
@testable import MonitorAgent

/// Collects a job's output for assertions.
final class OutputBox: Sendable {
    private let data = Mutex(Data())
    func append(_ d: Data) { data.withLock { $0.append(d) } }
    var text: String { data.withLock { String(decoding: $0, as: UTF8.self) } }
}

/// A fresh temp dir for one test.
func makeTempDir(_ label: String = "t") -> String {
    let path = NSTemporaryDirectory() + "mms-agent-tests-\(label)-\(UUID().uuidString.prefix(8))"
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// Polls `condition` until it holds or `seconds` pass; returns whether it held.
func eventually(_ seconds: Double = 30, _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return try await condition()
}

/// True while a process with this pid exists and is not a zombie.
func processAlive(_ pid: Int32) -> Bool {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return false }
    guard let close = stat.lastIndex(of: ")") else { return false }
    let state = stat[stat.index(close, offsetBy: 2)]
    return state != "Z" && state != "X"
}

/// Runs `spec` with a short grace period; returns the runner (for cancel), outcome and output.
func runJob(
    _ spec: JobSpec, env: [String: String] = ["PATH": "/usr/bin:/bin"], grace: Duration = .milliseconds(500),
    during: (@Sendable (JobRunner, OutputBox, String) async -> Void)? = nil
) async throws -> (JobOutcome, String, String) {
    let dir = makeTempDir("job")
    var options = RunnerOptions()
    options.grace = grace
    let box = OutputBox()
    let runner = JobRunner(spec: spec, jobDir: dir + "/job", controlDir: dir + "/control", environment: env,
                           options: options, output: { box.append($0) })
    try runner.prepare()
    async let outcome = runner.run()
    if let during { await during(runner, box, dir + "/job") }
    return (await outcome, box.text, dir + "/job")
}

/// The pid a job wrote to `path`, once the file holds a whole line (a shell creates the file before
/// it writes to it); nil when none came within the time.
func waitForPid(atPath path: String, within seconds: Double = 30) async -> Int32? {
    var pid: Int32?
    _ = await eventually(seconds) {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        pid = text.hasSuffix("\n") ? Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)) : nil
        return pid != nil
    }
    return pid
}

/// Pids whose parent is `pid` (from /proc).
func childProcesses(of pid: Int32) -> [Int32] {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return entries.compactMap { Int32($0) }.filter { child in
        guard let stat = try? String(contentsOfFile: "/proc/\(child)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return false }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return fields.count > 1 && Int32(fields[1]) == pid
    }
}

/// Every process below `pid` (children, their children, …): `mms-agent start` is a supervisor, so an agent's
/// watchdog is its grandchild.
func descendants(of pid: Int32) -> [Int32] {
    var found: [Int32] = []
    var frontier = [pid]
    while let next = frontier.popLast() {
        let children = childProcesses(of: next)
        found += children
        frontier += children
    }
    return found
}

/// A process's command line with spaces between its arguments.
func commandLine(_ pid: Int32) -> String {
    guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return "" }
    return String(decoding: data.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self)
}
