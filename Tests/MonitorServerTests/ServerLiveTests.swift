import Foundation
import Testing
import MonitorModels
@testable import MonitorServer

/// Long polls, events, restarts and the spec, against the real server.
@Suite struct ServerLiveTests {
    @Test func nextIsAnsweredWhenAJobArrives() async throws {
        let s = try TestServer()
        let (uuid, secret) = try await s.registerAgent("a")
        async let poll = s.call("GET", "/api/v1/agents/\(uuid)/next?wait=20", token: secret)
        // Wait until the poll is parked, then create the job.
        #expect(await eventually { s.server.core.http?.hub.count == 1 })
        let started = Date()
        let job = try await s.createJob(JobSpec(name: "j", commands: ["true"]))
        let r = try await poll
        #expect(r.status == 200 && Date().timeIntervalSince(started) < 19, "answered by the job, not by the poll's 20 s deadline")
        guard case .job(let j) = try r.decode(NextMessage.self) else { Issue.record("no job"); return }
        #expect(j.id == job.id)
        // A cancel reaches the held poll too.
        _ = try await s.call("POST", "/api/v1/jobs/\(job.id)/state", token: secret, json: #"{"attempt":1,"state":"building"}"#)
        async let cancelPoll = s.call("GET", "/api/v1/agents/\(uuid)/next?wait=20", token: secret)
        #expect(await eventually { s.server.core.http?.hub.count == 1 })
        let c = try await s.call("POST", "/api/v1/jobs/\(job.id)/cancel", token: s.admin)
        #expect(c.json["state"] as? String == "cancelling")
        #expect(try await cancelPoll.decode(NextMessage.self) == .cancel(jobId: job.id, attempt: 1))
    }

    @Test func nextTimesOutWith204() async throws {
        let s = try TestServer()
        let (uuid, secret) = try await s.registerAgent("a")
        let r = try await s.call("GET", "/api/v1/agents/\(uuid)/next?wait=1", token: secret)
        #expect(r.status == 204 && r.body.isEmpty)
    }

    @Test func logWaitWakesOnAppendAndCompletion() async throws {
        let s = try TestServer()
        let (uuid, secret) = try await s.registerAgent("a")
        let job = try await s.createJob(JobSpec(name: "j", commands: ["true"]))
        _ = try await s.call("GET", "/api/v1/agents/\(uuid)/next?wait=1", token: secret)
        async let read = s.call("GET", "/api/v1/jobs/\(job.id)/log?offset=0&wait=20", token: s.admin)
        #expect(await eventually { s.server.core.http?.hub.count == 1 })
        _ = try await s.call("POST", "/api/v1/jobs/\(job.id)/log?attempt=1&offset=0", token: secret, body: Data("line\n".utf8))
        let r = try await read
        #expect(r.text == "line\n" && r.headers["x-log-complete"] == "false")
        async let end = s.call("GET", "/api/v1/jobs/\(job.id)/log?offset=5&wait=20", token: s.admin)
        #expect(await eventually { s.server.core.http?.hub.count == 1 })
        _ = try await s.call("POST", "/api/v1/jobs/\(job.id)/state", token: secret, json: #"{"attempt":1,"state":"completed","exitCode":0}"#)
        let e = try await end
        #expect(e.body.isEmpty && e.headers["x-log-complete"] == "true" && e.headers["x-log-size"] == "5")
    }

    @Test func eventsFeedAndGone() async throws {
        let s = try TestServer()
        let start = try await s.call("GET", "/api/v1/events", token: s.admin).decode(EventBatch.self)
        #expect(start.events.isEmpty)
        let (uuid, _) = try await s.registerAgent("a", enable: false)
        let batch = try await s.call("GET", "/api/v1/events?since=\(start.next)&wait=5", token: s.admin).decode(EventBatch.self)
        #expect(batch.events.first?.type == .agentUpdated && batch.events.first?.agent?.uuid == uuid)
        #expect(batch.next == batch.events.last?.seq)
        _ = try await s.call("DELETE", "/api/v1/agents/\(uuid)", token: s.admin)
        let del = try await s.call("GET", "/api/v1/events?since=\(batch.next)&wait=5", token: s.admin).decode(EventBatch.self)
        #expect(del.events.map(\.type) == [.agentDeleted, .auditAppended] && del.events.first?.uuid == uuid)
        #expect(del.events.last?.audit?.action == "agent.delete")
        let gone = try await s.call("GET", "/api/v1/events?since=1&wait=0", token: s.admin)
        #expect(gone.status == 410 && gone.errorCode == "gone")
        let quiet = try await s.call("GET", "/api/v1/events?since=\(del.next)&wait=1", token: s.admin).decode(EventBatch.self)
        #expect(quiet.events.isEmpty && quiet.next == del.next)
    }

    @Test func hundredsOfLongPollsWokenByOneChange() async throws {
        let s = try TestServer()
        let since = try await s.call("GET", "/api/v1/events", token: s.admin).decode(EventBatch.self).next
        let count = 300
        try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<count {
                group.addTask {
                    let r = try await s.call("GET", "/api/v1/events?since=\(since)&wait=30", token: s.admin)
                    return try r.decode(EventBatch.self).events.count
                }
            }
            #expect(await eventually(20) { (s.server.core.http?.hub.count ?? 0) >= count })
            _ = try await s.createJob(JobSpec(name: "wake", commands: ["true"]))
            var woken = 0
            for try await n in group where n >= 1 { woken += 1 }
            #expect(woken == count)
        }
    }

    @Test func stoppingAnswersEveryParkedPoll() async throws {
        let s = try TestServer()
        let (uuid, secret) = try await s.registerAgent("a")
        let since = try await s.call("GET", "/api/v1/events", token: s.admin).decode(EventBatch.self).next
        let started = Date()
        try await withThrowingTaskGroup(of: Int.self) { group in
            for i in 0..<40 {
                group.addTask {
                    let path = i % 2 == 0 ? "/api/v1/agents/\(uuid)/next?wait=60" : "/api/v1/events?since=\(since)&wait=60"
                    return try await s.call("GET", path, token: i % 2 == 0 ? secret : s.admin).status
                }
            }
            #expect(await eventually(10) { s.server.core.http?.hub.count == 40 })
            s.stop()
            var statuses: [Int] = []
            for try await status in group { statuses.append(status) }
            #expect(statuses.filter { $0 == 204 }.count == 20 && statuses.filter { $0 == 200 }.count == 20)
        }
        #expect(Date().timeIntervalSince(started) < 55, "answered at stop, not at the polls' 60 s deadline")
    }

    @Test func aRestartKeepsEverything() async throws {
        let s = try TestServer()
        let (uuid, secret) = try await s.registerAgent("keeper", resources: ["gpu"])
        _ = try await s.call("PUT", "/api/v1/config/TOKEN", token: s.admin, json: #"{"value":"abcd1234","secret":true}"#)
        let job = try await s.createJob(JobSpec(name: "j", commands: ["true"], resources: ["gpu"]))
        _ = try await s.call("POST", "/api/v1/jobs/\(job.id)/state", token: secret, json: #"{"attempt":1,"state":"building"}"#)
        _ = try await s.call("POST", "/api/v1/jobs/\(job.id)/log?attempt=1&offset=0", token: secret, body: Data("before\n".utf8))
        let queued = try await s.createJob(JobSpec(name: "queued", commands: ["true"], resources: ["tpu"]))
        let sinceBefore = try await s.call("GET", "/api/v1/events", token: s.admin).decode(EventBatch.self).next
        try s.restart()
        let agent = try await s.call("GET", "/api/v1/agents/\(uuid)", token: s.admin).decode(Agent.self)
        #expect(agent.name == "keeper" && agent.configState == .enabled && agent.status == .missing && agent.currentJobId == job.id)
        let j = try await s.call("GET", "/api/v1/jobs/\(job.id)", token: s.admin).decode(Job.self)
        #expect(j.state == .building && j.logSize == 7)
        #expect(try await s.call("GET", "/api/v1/jobs/\(queued.id)", token: s.admin).json["waitingReason"] as? String
                == "no agent has resources [tpu]")
        #expect(try await s.call("GET", "/api/v1/jobs/\(job.id)/log", token: s.admin).text == "before\n")
        #expect(try await s.call("GET", "/api/v1/config", token: s.admin).text.contains("TOKEN"))
        // SQLite: the events of the earlier run are gone, the console lists again. PostgreSQL keeps the
        // feed in the database (servers share it), so the cursor still holds.
        #expect(try await s.call("GET", "/api/v1/events?since=\(sinceBefore)", token: s.admin).status == (TestServer.onPostgres ? 200 : 410))
        // The agent carries on: it pings with its job, keeps the same secret, and logs continue at the offset.
        let ping = try await s.call("POST", "/api/v1/agents/\(uuid)/ping", token: secret, json: #"{"runtimeState":"building","jobId":\#(job.id)}"#)
        #expect(ping.status == 200)
        #expect(try await s.call("GET", "/api/v1/agents/\(uuid)", token: s.admin).json["status"] as? String == "building")
        let more = try await s.call("POST", "/api/v1/jobs/\(job.id)/log?attempt=1&offset=7", token: secret, body: Data("after\n".utf8))
        #expect(more.json["size"] as? Int == 13)
        #expect(FileManager.default.fileExists(atPath: s.dataDir + "/admin.token"))
        let mode = try FileManager.default.attributesOfItem(atPath: s.dataDir + "/admin.token")[.posixPermissions] as? Int
        #expect(mode == 0o600)
    }

    @Test func everyRouteIsInTheSpecAndBack() throws {
        let s = try TestServer()
        let specURL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../docs/openapi.yaml")
        let spec = try String(contentsOf: specURL, encoding: .utf8)
        var inSpec: Set<String> = []
        var path: String?
        var inPaths = false
        for line in spec.split(separator: "\n", omittingEmptySubsequences: false) {
            if line == "paths:" { inPaths = true; continue }
            if inPaths, !line.isEmpty, !line.hasPrefix(" ") { inPaths = false }
            guard inPaths else { continue }
            if line.hasPrefix("  /"), line.hasSuffix(":"), !line.hasPrefix("   ") {
                path = String(line.dropFirst(2).dropLast()).trimmingCharacters(in: CharacterSet(charactersIn: "\"'"))
            } else if let p = path, line.hasPrefix("    "), !line.hasPrefix("     "),
                      let m = ["get", "post", "put", "patch", "delete"].first(where: { line == "    \($0):" }) {
                inSpec.insert("\(m.uppercased()) \(p)")
            }
        }
        let inServer = Set(s.server.routeTable)
        #expect(inServer.subtracting(inSpec).isEmpty, "routes missing from docs/openapi.yaml: \(inServer.subtracting(inSpec).sorted())")
        #expect(inSpec.subtracting(inServer).isEmpty, "routes in the spec the server lacks: \(inSpec.subtracting(inServer).sorted())")
        #expect(inServer.count == 32)
    }
}
