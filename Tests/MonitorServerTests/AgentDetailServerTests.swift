import Foundation
import Testing
import MonitorModels
@testable import MonitorServer

/// What the console's agent detail reads: an agent's free space (from its pings, in memory) and its own
/// last jobs (GET /api/v1/jobs?agent=UUID).
@Suite struct AgentDetailServerTests {
    @Test func freeSpaceFromAPingIsShownAndAnnouncesNothingByItself() async throws {
        let s = try TestServer()
        let registering = Date()
        let (uuid, secret) = try await s.registerAgent("rec")
        #expect(try await s.call("GET", "/api/v1/agents/\(uuid)", token: s.admin).json.keys.contains("freeSpaceBytes"))
        #expect(try await s.call("GET", "/api/v1/agents/\(uuid)", token: s.admin).decode(Agent.self).freeSpaceBytes == nil)
        let first = try await s.call("POST", "/api/v1/agents/\(uuid)/ping", token: secret,
                                     json: #"{"runtimeState":"idle","freeSpaceBytes":1000}"#)
        #expect(first.status == 200)
        #expect(try await s.call("GET", "/api/v1/agents/\(uuid)", token: s.admin).decode(Agent.self).freeSpaceBytes == 1000)
        let since = try await s.call("GET", "/api/v1/events", token: s.admin).decode(EventBatch.self).next
        // Only the free space changes: no event (contact is announced at most every 10 s) and no store write.
        let second = try await s.call("POST", "/api/v1/agents/\(uuid)/ping", token: secret,
                                      json: #"{"runtimeState":"idle","freeSpaceBytes":13207024435}"#)
        #expect(second.status == 200)
        let agent = try await s.call("GET", "/api/v1/agents/\(uuid)", token: s.admin).decode(Agent.self)
        #expect(agent.freeSpaceBytes == 13_207_024_435)
        let batch = try await s.call("GET", "/api/v1/events?since=\(since)&wait=0", token: s.admin).decode(EventBatch.self)
        if Date().timeIntervalSince(registering) < 9 {
            #expect(batch.events.isEmpty)
        } else {  // a loaded machine took 10 s to get here: the throttled contact announcement is due, nothing else
            #expect(batch.events.allSatisfy { $0.type == .agentUpdated && $0.agent?.uuid == uuid }, "\(batch.events)")
        }
        let list = try await s.call("GET", "/api/v1/agents", token: s.admin).decode(AgentList.self)
        #expect(list.agents.first { $0.uuid == uuid }?.freeSpaceBytes == 13_207_024_435)
    }

    @Test func jobsListsOneAgentsJobsWithStateAndLimit() async throws {
        let s = try TestServer()
        let (a, _) = try await s.registerAgent("a", resources: ["ra"])
        let (b, _) = try await s.registerAgent("b", resources: ["rb"])
        let ja = try await s.createJob(JobSpec(name: "for a", commands: ["true"], resources: ["ra"]))
        let waiting = try await s.createJob(JobSpec(name: "for a too", commands: ["true"], resources: ["ra"]))
        let jb = try await s.createJob(JobSpec(name: "for b", commands: ["true"], resources: ["rb"]))
        func list(_ query: String) async throws -> [Int64] {
            try await s.call("GET", "/api/v1/jobs?\(query)", token: s.admin).decode(JobList.self).jobs.map(\.id)
        }
        #expect(try await eventually {
            let ofA = try await list("agent=\(a)"), ofB = try await list("agent=\(b)")
            return ofA == [ja.id] && ofB == [jb.id]
        })
        #expect(try await list("agent=\(a)&state=assigned") == [ja.id])
        #expect(try await list("agent=\(a)&state=scheduled").isEmpty)
        #expect(try await list("state=scheduled") == [waiting.id])
        #expect(try await list("agent=\(a)&limit=1") == [ja.id])
        #expect(try await list("agent=\(UUID().uuidString.lowercased())").isEmpty)
        let bad = try await s.call("GET", "/api/v1/jobs?agent=not-a-uuid", token: s.admin)
        #expect(bad.status == 400 && bad.errorMessage?.contains("'agent'") == true)
    }
}
