import Foundation
import MonitorModels
import ServerAPIClient
import Synchronization
import Testing
@testable import MonitorAgent

/// A scripted agent-side server for AgentSession, to reach answers a real server rarely gives.
final class FakeAgentServer: Sendable {
    struct State {
        var jobs: [Job] = []
        var reports: [JobStateReport] = []
        var logCalls = 0
        var reassignAfterLogCalls: Int?
        var configCalls = 0
    }
    let state = Mutex(State())
    let lines = Mutex<[String]>([])
    let registerError: ClientError?

    init(registerError: ClientError? = nil) { self.registerError = registerError }

    var logger: AgentLogger { AgentLogger { line in self.lines.withLock { $0.append(line) } } }
    var logText: String { lines.withLock { $0.joined(separator: "\n") } }

    func api() -> AgentAPI {
        AgentAPI(
            register: { (req) async throws(ClientError) in
                if let e = self.registerError { throw e }
                return (Agent(uuid: req.uuid, name: req.name, configState: .enabled, status: .idle), false)
            },
            ping: { (_, _) async throws(ClientError) in
                PingResponse(configState: .enabled, pingIntervalSeconds: 1, serverVersion: MMSVersion.current, configVersion: 1)
            },
            next: { (_, _) async throws(ClientError) in
                let job = self.state.withLock { s -> Job? in s.jobs.isEmpty ? nil : s.jobs.removeFirst() }
                if let job { return .job(job) }
                try? await Task.sleep(for: .milliseconds(50))
                return nil
            },
            config: { (_) async throws(ClientError) in
                self.state.withLock { $0.configCalls += 1 }
                throw .api(status: 403, error: APIError(.agentNotAuthorized, "not enabled"))
            },
            reportState: { (id, report) async throws(ClientError) in
                self.state.withLock { $0.reports.append(report) }
                return Job(id: id, spec: JobSpec(name: "x", commands: []))
            },
            appendLog: { (_, _, offset, bytes) async throws(ClientError) in
                let reassign = self.state.withLock { s -> Bool in
                    s.logCalls += 1
                    return s.reassignAfterLogCalls.map { s.logCalls > $0 } ?? false
                }
                if reassign { throw .api(status: 409, error: APIError(.jobReassigned, "job 5 now runs elsewhere")) }
                return offset + Int64(bytes.count)
            },
            version: { () async throws(ClientError) in VersionInfo(version: "9.9.0") }
        )
    }
}

@Suite struct SessionTests {
    func options(_ dir: String) throws -> StartOptions {
        try StartOptions.parse(["--server", "http://127.0.0.1:1", "--name", "fake", "--work-dir", dir], env: [:], hostname: "h")
    }

    @Test func versionMismatchNamesBothVersionsAndExitsWith4() async throws {
        let fake = FakeAgentServer(registerError: .api(status: 409, error: APIError(.versionMismatch, "versions differ")))
        let session = AgentSession(options: try options(makeTempDir("vm")), identity: .generate(), log: fake.logger) { _ in fake.api() }
        await #expect(throws: AgentError.versionMismatch(agent: MMSVersion.current, server: "9.9.0")) { try await session.run() }
        let error = AgentError.versionMismatch(agent: MMSVersion.current, server: "9.9.0")
        #expect(error.exitCode == 4)
        #expect(error.description.contains(MMSVersion.current) && error.description.contains("9.9.0"))
    }

    @Test func aReassignedJobIsKilledAndNotReported() async throws {
        let dir = makeTempDir("reassign")
        let fake = FakeAgentServer()
        let spec = JobSpec(name: "long", commands: ["echo $$ > ../../shell.pid; while true; do echo tick; sleep 0.05; done"])
        fake.state.withLock {
            $0.jobs = [Job(id: 5, spec: spec, state: .assigned, attempt: 1, configVersion: 1)]
            $0.reassignAfterLogCalls = 2
        }
        let session = AgentSession(options: try options(dir), identity: .generate(), log: fake.logger,
                                   grace: .milliseconds(300)) { _ in fake.api() }
        let running = Task { try await session.run() }
        #expect(await eventually(60) { fake.logText.contains("job 5 is no longer this agent's") })
        let pid = try #require(Int32((try String(contentsOfFile: dir + "/shell.pid", encoding: .utf8))
            .trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(await eventually { !processAlive(pid) })
        let reports = fake.state.withLock { $0.reports.map(\.state) }
        #expect(reports == [.building])  // one start report: building implies preparing
        #expect(fake.logText.contains("configuration not readable: this agent is not enabled on the server"))
        await session.stop()
        try await running.value
    }
}
