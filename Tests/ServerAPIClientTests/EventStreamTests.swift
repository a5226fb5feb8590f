import Foundation
import MMSTestSupport
import MonitorModels
import Testing
@testable import ServerAPIClient

/// Collects what a stream emits, for tests.
final class Emitted: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [EventStreamUpdate] = []
    func add(_ u: EventStreamUpdate) { lock.lock(); items.append(u); lock.unlock() }
    var all: [EventStreamUpdate] { lock.lock(); defer { lock.unlock() }; return items }
}

/// A fake events endpoint: answers a scripted sequence, then waits.
final class ScriptedEvents: @unchecked Sendable {
    private let lock = NSLock()
    private var script: [Result<EventBatch, ClientError>]
    private(set) var sinces: [Int64?] = []
    init(_ script: [Result<EventBatch, ClientError>]) { self.script = script }
    func next(_ since: Int64?) async throws(ClientError) -> EventBatch {
        let r: Result<EventBatch, ClientError>?? = lock.withLock {
            sinces.append(since)
            if since == nil { return .some(nil) }
            return script.isEmpty ? nil : .some(script.removeFirst())
        }
        if case .some(nil) = r { return EventBatch(events: [], next: 100) }
        guard let r = r.flatMap({ $0 }) else {
            try? await Task.sleep(for: .seconds(60))
            return EventBatch(events: [], next: since ?? 0)
        }
        return try r.get()
    }
}

func fakeAPI(events: ScriptedEvents, agents: [Agent]) -> AdminAPI {
    let unused = ClientError.badResponse("unused")
    return AdminAPI(
        listAgents: { agents }, getAgent: { _ throws(ClientError) in throw unused }, patchAgent: { _, _ throws(ClientError) in throw unused },
        bulkPatchAgents: { _ throws(ClientError) in throw unused }, deleteAgent: { _ throws(ClientError) in throw unused },
        createJob: { _ throws(ClientError) in throw unused }, listJobs: { _, _ in [] }, getJob: { _ throws(ClientError) in throw unused },
        cancelJob: { _ throws(ClientError) in throw unused }, rerunJob: { _ throws(ClientError) in throw unused },
        listConfig: { [] }, putConfig: { _, _ throws(ClientError) in throw unused }, deleteConfig: { _ throws(ClientError) in throw unused },
        readLog: { _, _, _ throws(ClientError) in throw unused },
        events: { since, _ throws(ClientError) in try await events.next(since) },
        version: { VersionInfo() })
}

@Suite struct EventStreamTests {
    let agent = Agent(uuid: "u1", name: "rec-01")

    @Test func relistsOnGoneAndAfterAnOutage() async throws {
        let gone = ClientError.api(status: 410, error: APIError(.gone, "too old"))
        let down = ClientError.unreachable("cannot reach the server at http://x: connection refused")
        let ev = Event(seq: 101, type: .agentUpdated, agent: agent)
        let script = ScriptedEvents([.success(EventBatch(events: [ev], next: 101)), .failure(gone), .failure(down)])
        let stream = ReconnectingEventStream(api: fakeAPI(events: script, agents: [agent]), sleep: { _ in })
        let out = Emitted()
        let task = Task { await stream.run(from: 100) { out.add($0) } }
        let ok = await eventually { out.all.contains(.connected) }
        task.cancel()
        #expect(ok)
        let kinds = out.all.map { u -> String in
            switch u {
            case .events: "events"
            case .snapshot: "snapshot"
            case .disconnected: "disconnected"
            case .connected: "connected"
            }
        }
        #expect(kinds == ["events", "snapshot", "disconnected", "snapshot", "connected"])
        #expect(script.sinces.prefix(3) == [100, 101, nil], "after 410 the stream asks for a fresh cursor")
    }

    @Test func followsARealServerThroughARestart() async throws {
        let first = try ServerProcess()
        let api = AdminAPI.live(serverURL: first.url, token: first.token)
        let stream = ReconnectingEventStream(api: api, waitSeconds: 5, firstDelay: .milliseconds(50), maxDelay: .milliseconds(200))
        let start = try await stream.snapshot()
        let out = Emitted()
        let task = Task { await stream.run(from: start.cursor) { out.add($0) } }
        defer { task.cancel() }
        let job = try await api.createJob(JobSpec(name: "live", commands: ["true"]))
        #expect(await eventually { out.all.contains { if case .events(let e) = $0 { e.contains { $0.job?.id == job.id } } else { false } } })
        first.stop()
        #expect(await eventually { out.all.contains { if case .disconnected = $0 { true } else { false } } })
        let second = try ServerProcess(dataDir: first.dataDir, port: first.port)
        defer { second.stop(); second.removeData() }
        #expect(await eventually(15) {
            let all = out.all
            guard let down = all.firstIndex(where: { if case .disconnected = $0 { true } else { false } }) else { return false }
            return all[down...].contains(.connected)
        }, "recovered after the restart: \(out.all.map { "\($0)".prefix(40) })")
        #expect(out.all.contains { if case .snapshot(_, let jobs) = $0 { jobs.contains { $0.id == job.id } } else { false } })
    }
}
