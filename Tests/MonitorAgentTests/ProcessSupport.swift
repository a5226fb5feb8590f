import Foundation
import MMSTestSupport
import MonitorModels
import ServerAPIClient
@testable import MonitorAgent

/// Path of a built executable (mms-server, mms-agent) next to the test bundle, or under .build/debug.
func builtBinary(_ name: String) -> String {
    var candidates: [URL] = []
    let argv0 = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    candidates.append(argv0.appendingPathComponent(name))
    candidates.append(Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent(name))
    var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    for _ in 0..<4 {
        candidates.append(dir.appendingPathComponent(".build/debug/\(name)"))
        dir = dir.deletingLastPathComponent()
    }
    return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) }?.path ?? name
}

/// A child process whose stdout and stderr go to files in a temp dir, so tests can poll what it wrote
/// (spawned with posix_spawn: see `SpawnedChild` for why not Foundation's `Process`).
final class ChildProcess: @unchecked Sendable {  // set once in init
    let outPath: String
    let errPath: String
    let process: SpawnedChild
    var pid: Int32 { process.processIdentifier }

    init(_ binary: String, _ args: [String], env: [String: String] = [:], dir: String) throws {
        outPath = dir + "/\(UUID().uuidString.prefix(6)).out"
        errPath = dir + "/\(UUID().uuidString.prefix(6)).err"
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        var environment = ProcessInfo.processInfo.environment
        for (k, v) in env { environment[k] = v }
        process = try SpawnedChild(builtBinary(binary), args, environment: environment, stdout: .file(outPath), stderr: .file(errPath))
    }

    var stdout: String { (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "" }
    func signal(_ sig: Int32) { process.signal(sig) }

    /// Waits (polling) for the process to end; returns its exit status, or nil if it did not end in time.
    func exitStatus(within seconds: Double = 20) async -> Int32? {
        guard await eventually(seconds, { !process.isRunning }) else { return nil }
        return process.terminationStatus
    }

    /// Ends the process if it still runs (SIGKILL after SIGTERM did not do it).
    func stop() async {
        if process.isRunning { signal(SIGTERM) }
        if await exitStatus(within: 15) == nil { signal(SIGKILL); _ = await exitStatus(within: 5) }
    }
}

/// A real mms-server on 127.0.0.1 with its data dir, and an admin client for it.
final class TestServer: @unchecked Sendable {
    let dataDir: String
    var child: ChildProcess
    var url: URL
    let admin: AdminAPI

    static func start(dir: String, port: Int = 0, extra: [String] = []) async throws -> TestServer {
        let dataDir = dir + "/data"
        let (child, url) = try await launch(dataDir: dataDir, dir: dir, port: port, extra: extra)
        let token = try String(contentsOfFile: dataDir + "/admin.token", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        return TestServer(dataDir: dataDir, child: child, url: url, admin: .live(serverURL: url, token: token))
    }

    private init(dataDir: String, child: ChildProcess, url: URL, admin: AdminAPI) {
        self.dataDir = dataDir
        self.child = child
        self.url = url
        self.admin = admin
    }

    static func launch(dataDir: String, dir: String, port: Int, extra: [String] = []) async throws -> (ChildProcess, URL) {
        let child = try ChildProcess("mms-server", ["--port", String(port), "--data-dir", dataDir, "--ping-interval", "1"] + extra,
                                     dir: dir)
        var url: URL?
        _ = await eventually(15) {
            if let line = child.stdout.split(separator: "\n").first(where: { $0.hasPrefix("mms-server listening on ") }) {
                url = URL(string: String(line.dropFirst("mms-server listening on ".count)))
            }
            return url != nil
        }
        guard let url else { throw TestFailure("mms-server did not start: \(child.stderr)") }
        return (child, url)
    }

    /// Stops the server (SIGTERM) and starts it again on the same port and data dir.
    func restart(dir: String) async throws {
        await child.stop()
        let (fresh, _) = try await Self.launch(dataDir: dataDir, dir: dir, port: url.port ?? 0)
        child = fresh
    }

    func authorize(_ uuid: String) async throws {
        _ = try await admin.patchAgent(uuid, AgentPatch(configState: .enabled))
    }

    /// Polls a job until `condition` holds; returns the last state seen.
    func job(_ id: Int64, within seconds: Double = 30, until condition: @escaping (Job) -> Bool) async throws -> Job {
        var last = try await admin.getJob(id)
        _ = await eventually(seconds) {
            if let j = try? await admin.getJob(id) { last = j }
            return condition(last)
        }
        return last
    }

    /// The whole log of a job.
    func log(_ id: Int64) async throws -> String {
        try await Self.readWholeLog(admin, id)
    }

    /// The whole log of a job, read in 1 MiB answers through any admin client.
    static func readWholeLog(_ admin: AdminAPI, _ id: Int64) async throws -> String {
        var data = Data()
        while true {
            let slice = try await admin.readLog(id, Int64(data.count), 0)
            data.append(slice.bytes)
            if slice.bytes.isEmpty || Int64(data.count) >= slice.totalSize { break }
        }
        return String(decoding: data, as: UTF8.self)
    }
}

/// An mms-agent start process on a work dir.
func startAgent(_ server: TestServer, workDir: String, name: String = "agent", dir: String,
                extraEnv: [String: String] = [:]) throws -> ChildProcess {
    try ChildProcess("mms-agent", ["start", "--server", server.url.absoluteString, "--name", name, "--work-dir", workDir],
                     env: ["MMS_AGENT_KILL_GRACE_MS": "500"].merging(extraEnv) { $1 }, dir: dir)
}

/// The UUID in a work dir's identity file, once it exists.
func agentUUID(_ workDir: String) async -> String? {
    var uuid: String?
    _ = await eventually(10) {
        uuid = (try? String(contentsOfFile: workDir + "/config.properties", encoding: .utf8)).flatMap { AgentIdentity.parse($0)?.uuid }
        return uuid != nil
    }
    return uuid
}

/// Waits for the agent's registration (its pending log line), then authorizes it.
func authorizeWhenRegistered(_ server: TestServer, _ agent: ChildProcess, workDir: String) async throws {
    guard let uuid = await agentUUID(workDir), await eventually(10, { agent.stderr.contains("waiting for authorization") }) else {
        throw TestFailure("the agent did not register: \(agent.stderr)")
    }
    try await server.authorize(uuid)
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}
