import Foundation
import MonitorModels
import ServerAPIClient
import Synchronization
import Testing
@testable import MonitorAgent

/// Two fake servers over one shared state, which is what two replicas of one database are to an agent.
/// Replica A can be killed: from then on every call to it is refused.
final class FakeReplicas: Sendable {
    static let a = URL(string: "http://replica-a:8765")!
    static let b = URL(string: "http://replica-b:8765")!
    struct State {
        var jobs: [Job] = []
        var reports: [JobStateReport] = []
        var aDead = false
        /// "HOST CALL" per call that reached a server.
        var calls: [String] = []
    }
    let state = Mutex(State())
    let log = FakeLogServer()
    let lines = Mutex<[String]>([])
    let pool = ServerPool(ServerList(FakeReplicas.a, [FakeReplicas.b]))

    var logger: AgentLogger { AgentLogger { line in self.lines.withLock { $0.append(line) } } }
    var logText: String { lines.withLock { $0.joined(separator: "\n") } }

    /// Runs `body` as the server at `url`: refused when that is A and A is dead.
    func at<T>(_ url: URL, _ call: String, _ body: () async throws(ClientError) -> T) async throws(ClientError) -> T {
        let dead = state.withLock { s -> Bool in
            let dead = s.aDead && url == Self.a
            if !dead { s.calls.append("\(url.host ?? "?") \(call)") }
            return dead
        }
        if dead { throw .unreachable("cannot reach the server at \(url.absoluteString): connection refused") }
        return try await body()
    }

    /// The agent's client: every call through the pool, as AgentAPI.live does it.
    func api() -> AgentAPI {
        AgentAPI(
            register: { (req) async throws(ClientError) in
                try await self.pool.run { (u) async throws(ClientError) in
                    try await self.at(u, "register") { (Agent(uuid: req.uuid, name: req.name, configState: .enabled, status: .idle), false) }
                }
            },
            ping: { (_, _) async throws(ClientError) in
                try await self.pool.run { (u) async throws(ClientError) in
                    try await self.at(u, "ping") {
                        PingResponse(configState: .enabled, pingIntervalSeconds: 1, serverVersion: MMSVersion.current, configVersion: 0)
                    }
                }
            },
            next: { (_, _) async throws(ClientError) in
                try await self.pool.run { (u) async throws(ClientError) -> NextMessage? in
                    try await self.at(u, "next") { () async throws(ClientError) -> NextMessage? in
                        if let job = self.state.withLock({ s -> Job? in s.jobs.isEmpty ? nil : s.jobs.removeFirst() }) { return .job(job) }
                        try? await Task.sleep(for: .milliseconds(50))
                        return nil
                    }
                }
            },
            config: { (_) async throws(ClientError) in
                throw .api(status: 403, error: APIError(.agentNotAuthorized, "not enabled"))
            },
            reportState: { (id, report) async throws(ClientError) in
                try await self.pool.run { (u) async throws(ClientError) in
                    try await self.at(u, "report \(report.state.rawValue)") { () -> Job in
                        self.state.withLock { $0.reports.append(report) }
                        return Job(id: id, spec: JobSpec(name: "x", commands: []))
                    }
                }
            },
            appendLog: { (_, _, offset, bytes) async throws(ClientError) in
                try await self.pool.run { (u) async throws(ClientError) in
                    try await self.at(u, "log") { () throws(ClientError) -> Int64 in try self.log.append(offset, bytes) }
                }
            },
            version: { () async throws(ClientError) in VersionInfo() }
        )
    }
}

@Suite struct SessionFailoverTests {
    @Test func aJobCarriesOnWhenItsServerDiesAndTheRestGoesToTheNext() async throws {
        let dir = makeTempDir("session-failover")
        let fake = FakeReplicas()
        fake.pool.observe { fake.logger.serverMoves($0) }
        // The job prints, waits for the test to kill replica a, then prints the rest: its later bytes go to b.
        let gate = dir + "/go"
        let commands = ["for i in $(seq 1 5); do echo tick $i; done", "while [ ! -e \(gate) ]; do sleep 0.02; done",
                        "for i in $(seq 6 40); do echo tick $i; sleep 0.01; done"]
        let spec = JobSpec(name: "ticks", commands: commands)
        fake.state.withLock { $0.jobs = [Job(id: 5, spec: spec, state: .assigned, attempt: 1)] }
        let options = try StartOptions.parse(["--server", "\(FakeReplicas.a.absoluteString),\(FakeReplicas.b.absoluteString)",
                                              "--name", "rec", "--work-dir", dir], env: [:], hostname: "h")
        let session = AgentSession(options: options, identity: .generate(), log: fake.logger, grace: .milliseconds(300)) { _ in fake.api() }
        let running = Task { try await session.run() }

        let logText = { String(decoding: fake.log.state.withLock { $0.data }, as: UTF8.self) }
        #expect(await eventually(60) { logText().contains("tick 5\n") })
        let killedAt = fake.state.withLock { s -> Int in
            s.aDead = true
            return s.calls.count
        }
        _ = FileManager.default.createFile(atPath: gate, contents: nil)
        #expect(await eventually(30) { fake.state.withLock { $0.reports.last?.state == .completed } })
        let (reports, calls) = fake.state.withLock { ($0.reports, $0.calls) }
        #expect(reports.map(\.state) == [.building, .completed] && reports.last?.result == .passed,  // building implies preparing
                "the job went on to pass: \(reports)")
        let expected = "$ \(commands[0])\n" + (1...5).map { "tick \($0)\n" }.joined() + "$ \(commands[1])\n"
            + "$ \(commands[2])\n" + (6...40).map { "tick \($0)\n" }.joined()
        #expect(logText() == expected, "every log byte once, in order")
        #expect(calls[killedAt...].allSatisfy { $0.hasPrefix("replica-b ") } && calls[killedAt...].contains("replica-b log"),
                "after the kill everything went to b: \(calls[killedAt...])")
        #expect(fake.logText.components(separatedBy: "server http://replica-a:8765 unreachable (connection refused); "
                                        + "using http://replica-b:8765").count == 2, "one line for the move:\n\(fake.logText)")
        #expect(!fake.logText.contains("lost the server"))
        await session.stop()
        try await running.value
    }
}
