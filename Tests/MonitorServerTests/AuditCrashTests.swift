import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import MMSTestSupport
import Testing
import MonitorModels
@testable import MonitorServer

/// A change and its audit entry commit together: `kill -9` of a real server in the middle of a stream
/// of changes never leaves one without the other (SQLite and PostgreSQL).
@Suite(.serialized, .enabled(if: !TestServer.onPostgres, "covers both stores in the default pass"))
struct AuditCrashTests {
    static let kills = 3

    private func send(_ base: URL, _ method: String, _ path: String, _ token: String, _ json: String? = nil) async throws -> (Int, Data) {
        var req = URLRequest(url: URL(string: base.absoluteString.trimmingCharacters(in: CharacterSet(charactersIn: "/")) + path)!)
        req.httpMethod = method
        req.timeoutInterval = 10
        req.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        if let json {
            req.httpBody = Data(json.utf8)
            req.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let (data, resp) = try await TestServer.session.data(for: req)
        return ((resp as? HTTPURLResponse)?.statusCode ?? 0, data)
    }

    @Test(arguments: Backend.allCases) func killNineNeverLeavesAChangeWithoutItsEntryOrTheReverse(_ backend: Backend) async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mms-auditcrash-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let extra = backend == .postgres ? ["--database", try PostgresCluster.shared().createDatabase()] : []
        var server = try ServerProcess(dataDir: dir, extra: extra)
        defer { server.stop() }
        let uuid = UUID().uuidString.lowercased()
        let reg = try await send(server.url, "POST", "/api/v1/agents/register", "agent-secret-\(uuid)", """
            {"uuid":"\(uuid)","name":"rec-crash","hostname":"h","os":"linux","version":"\(MMSVersion.current)","resources":[],"environments":[]}
            """)
        #expect(reg.0 == 202)
        let acknowledged = AckCounter()
        var rng = SystemRandomNumberGenerator()
        for round in 0..<Self.kills {
            let base = server.url, token = server.token
            let before = acknowledged.value
            let writer = Task {
                var i = 0
                while !Task.isCancelled {
                    i += 1
                    let body = i % 2 == 0 ? #"{"configState":"enabled"}"# : #"{"configState":"disabled","reason":"round \#(round) change \#(i)"}"#
                    guard (try? await send(base, "PATCH", "/api/v1/agents/\(uuid)", token, body)) != nil else { break }
                    if let r = try? await send(base, "POST", "/api/v1/jobs", token, #"{"name":"j\#(i)","commands":["true"],"resources":["none"]}"#),
                       r.0 == 201 { acknowledged.add() } else { break }
                }
            }
            // Changes are flowing (a loaded machine may take a while to answer the first), then a random moment.
            #expect(await eventually(20) { acknowledged.value > before })
            try await Task.sleep(for: .milliseconds(Int.random(in: 50...400, using: &rng)))
            kill(server.process.processIdentifier, SIGKILL)
            server.process.waitUntilExit()
            await writer.value
            server = try ServerProcess(dataDir: dir, extra: extra)
        }
        // Every entry about the agent matches the agent as stored: the last one says what it is now.
        let (_, agentData) = try await send(server.url, "GET", "/api/v1/agents/\(uuid)", server.token)
        let agent = try MMSJSON.decoder().decode(Agent.self, from: agentData)
        var entries: [AuditEntry] = []
        var since: Int64 = 0
        while true {
            let (_, page) = try await send(server.url, "GET", "/api/v1/audit?limit=1000&since=\(since)", server.token)
            let got = try MMSJSON.decoder().decode(AuditPage.self, from: page).entries
            if got.isEmpty { break }
            entries += got
            since = got.map(\.seq).max() ?? since
        }
        entries.sort { $0.seq < $1.seq }
        #expect(zip(entries, entries.dropFirst()).allSatisfy { $1.seq == $0.seq + 1 }, "gap-free")
        let aboutAgent = entries.filter { $0.target.id == uuid }
        let last = try #require(aboutAgent.last)
        if last.action == "agent.disable" {
            #expect(agent.configState == .disabled && agent.disabledReason == last.reason, "\(agent.configState) \(agent.disabledReason ?? "-") vs \(last.reason ?? "-")")
        } else {
            #expect(agent.configState == .enabled && agent.disabledReason == nil, "last entry \(last.action), agent \(agent.configState)")
        }
        // Every stored job has its job.create entry and every entry its job: no more, no fewer.
        let (_, jobsData) = try await send(server.url, "GET", "/api/v1/jobs?limit=1000", server.token)
        let jobs = try MMSJSON.decoder().decode(JobList.self, from: jobsData).jobs
        let created = Set(entries.filter { $0.action == "job.create" }.map(\.target.id))
        #expect(Set(jobs.map { String($0.id) }) == created)
        let acknowledgedJobs = acknowledged.value
        #expect(jobs.count >= acknowledgedJobs && jobs.count <= acknowledgedJobs + Self.kills, "\(jobs.count) stored, \(acknowledgedJobs) acknowledged")
        #expect(acknowledgedJobs > 0)
    }
}

/// Job creations that got a 201, counted across the writer task and the test.
private final class AckCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    var value: Int { lock.withLock { count } }
    func add() { lock.withLock { count += 1 } }
}
