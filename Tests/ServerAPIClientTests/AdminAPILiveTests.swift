import Foundation
import MMSTestSupport
import MonitorModels
import Testing
@testable import ServerAPIClient

/// The admin client against a real mms-server process on port 0.
@Suite(.serialized) struct AdminAPILiveTests {
    let server: ServerProcess
    let api: AdminAPI

    init() throws {
        server = try ServerProcess()
        api = AdminAPI.live(serverURL: server.url, token: server.token)
    }

    func registerAgent(_ name: String, resources: [String] = []) async throws -> Agent {
        let uuid = UUID().uuidString.lowercased()
        let agentAPI = AgentAPI.live(serverURL: server.url, secret: "secret-\(uuid)")
        return try await agentAPI.register(RegisterRequest(uuid: uuid, name: name, hostname: "h-\(name)", os: "linux", resources: resources)).agent
    }

    @Test func agentsListGetPatchBulkDelete() async throws {
        let a = try await registerAgent("rec-a", resources: ["gpu"])
        let b = try await registerAgent("rec-b")
        #expect(try await api.listAgents().map(\.name) == ["rec-a", "rec-b"])
        #expect(try await api.getAgent(a.uuid).status == .pending)
        let edited = try await api.patchAgent(a.uuid, AgentPatch(resources: ["gpu", "arm64"], environments: ["prod"]))
        #expect(edited.resources == ["gpu", "arm64"] && edited.environments == ["prod"])
        let both = try await api.bulkPatchAgents(BulkAgentPatch(uuids: [a.uuid, b.uuid], configState: .enabled))
        #expect(both.allSatisfy { $0.configState == .enabled })
        await #expect(throws: ClientError.self) { try await api.bulkPatchAgents(BulkAgentPatch(uuids: [a.uuid, "nope"], configState: .disabled)) }
        #expect(try await api.getAgent(a.uuid).configState == .enabled, "bulk patch is all or nothing")
        _ = try await api.patchAgent(b.uuid, AgentPatch(configState: .disabled))
        try await api.deleteAgent(b.uuid)
        #expect(try await api.listAgents().map(\.name) == ["rec-a"])
    }

    @Test func jobsCreateListGetCancelRerun() async throws {
        let job = try await api.createJob(JobSpec(name: "smoke", commands: ["echo hi"], resources: ["gpu"]))
        #expect(job.state == .scheduled && job.waitingReason != nil)
        #expect(try await api.listJobs(nil, nil).first?.id == job.id)
        #expect(try await api.listJobs(.completed, 10).isEmpty)
        #expect(try await api.listJobs(state: .scheduled, limit: 5).map(\.id) == [job.id])
        #expect(try await api.listJobs(agent: UUID().uuidString.lowercased(), limit: 50).isEmpty, "a scheduled job is on no agent")
        await #expect(throws: ClientError.self) { try await api.listJobs(agent: "not-a-uuid") }
        #expect(try await api.getJob(job.id).name == "smoke")
        let cancelled = try await api.cancelJob(job.id)
        #expect(cancelled.state == .completed && cancelled.result == .cancelled, "a scheduled job is cancelled at once")
        do {
            _ = try await api.cancelJob(job.id)
            Issue.record("cancelling a finished job must fail")
        } catch {
            #expect(error.code == .jobFinished && error.status == 409 && !error.description.isEmpty)
        }
        let rerun = try await api.rerunJob(job.id)
        #expect(rerun.id != job.id && rerun.name == "smoke" && rerun.attempt == 1)
    }

    @Test func configPutListDeleteHidesSecrets() async throws {
        _ = try await api.putConfig("ENDPOINT", ConfigEntryInput(value: "rtmp://x", secret: false))
        let secret = try await api.putConfig("PASSWORD", ConfigEntryInput(value: "hunter2", secret: true))
        #expect(secret.value == nil)
        let entries = try await api.listConfig()
        #expect(entries.map(\.name) == ["ENDPOINT", "PASSWORD"])
        #expect(entries.first { $0.name == "PASSWORD" }?.value == nil)
        #expect(entries.first { $0.name == "ENDPOINT" }?.value == "rtmp://x")
        try await api.deleteConfig("ENDPOINT")
        #expect(try await api.listConfig().map(\.name) == ["PASSWORD"])
    }

    @Test func logReadOfACompletedJob() async throws {
        let job = try await api.createJob(JobSpec(name: "quiet", commands: ["true"]))
        _ = try await api.cancelJob(job.id)
        let slice = try await api.readLog(job.id, 0, 5)
        #expect(slice.complete && slice.offset == 0)
    }

    @Test func logTimestampsOfARunningJob() async throws {
        let uuid = UUID().uuidString.lowercased()
        let agentAPI = AgentAPI.live(serverURL: server.url, secret: "secret-\(uuid)")
        _ = try await agentAPI.register(RegisterRequest(uuid: uuid, name: "stamper", hostname: "h", os: "linux"))
        _ = try await api.patchAgent(uuid, AgentPatch(configState: .enabled))
        let job = try await api.createJob(JobSpec(name: "stamped", commands: ["true"]))
        guard case .job(let delivered)? = try await agentAPI.next(uuid, 5), delivered.id == job.id else {
            Issue.record("the job was not delivered")
            return
        }
        _ = try await agentAPI.reportState(job.id, JobStateReport(attempt: 1, state: .building))
        let before = Date().addingTimeInterval(-1)
        _ = try await agentAPI.appendLog(job.id, 1, 0, Data("one\n\nthree\npart".utf8))
        let page = try await api.readLogTimestamps(job.id, 0, 100)
        #expect(page.stamps.map(\.offset) == [0, 4, 5], "empty lines count; the unfinished last line waits")
        #expect(page.nextOffset == 11)
        #expect(page.stamps.allSatisfy { ($0.at ?? .distantPast) > before })
        let first = try await api.readLogTimestamps(job.id, 0, 2)
        #expect(first.stamps.map(\.offset) == [0, 4] && first.nextOffset == 5, "only the lines asked for are decoded")
    }

    @Test func eventsLongPoll() async throws {
        let start = try await api.events(nil, 0)
        #expect(start.events.isEmpty)
        let job = try await api.createJob(JobSpec(name: "evented", commands: ["true"]))
        let batch = try await api.events(start.next, 5)
        #expect(batch.events.contains { $0.type == .jobUpdated && $0.job?.id == job.id })
        #expect(batch.next > start.next)
    }

    @Test func typedErrors() async throws {
        do {
            _ = try await api.getJob(999_999)
            Issue.record("expected 404")
        } catch {
            #expect(error.code == .notFound && !error.isTransient)
        }
        let wrong = AdminAPI.live(serverURL: server.url, token: "not-the-token")
        do {
            _ = try await wrong.listAgents()
            Issue.record("expected 401")
        } catch {
            #expect(error.code == .unauthorized && error.status == 401)
        }
        let nowhere = AdminAPI.live(serverURL: URL(string: "http://127.0.0.1:1")!, token: "x")
        do {
            _ = try await nowhere.listAgents()
            Issue.record("expected unreachable")
        } catch {
            guard case .unreachable(let message) = error else { Issue.record("got \(error)"); return }
            #expect(error.isTransient && message.contains("127.0.0.1:1"))
        }
    }
}
