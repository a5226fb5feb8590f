import Foundation
import MonitorModels
import ServerAPIClient
import Testing
@testable import ConsoleUI

/// A fake server for the runtime: records calls, answers from closures.
final class FakeServer: @unchecked Sendable {
    let lock = NSLock()
    var calls: [String] = []
    func note(_ s: String) { lock.withLock { calls.append(s) } }

    func api(log: [LogSlice] = [], failDelete: ClientError? = nil) -> AdminAPI {
        let slices = LockedQueue(log)
        let agent: @Sendable (String, AgentConfigState) -> Agent = { uuid, state in Agent(uuid: uuid, name: "name-\(uuid)", configState: state) }
        return AdminAPI(
            listAgents: { [] },
            getAgent: { uuid in agent(uuid, .pending) },
            patchAgent: { uuid, patch in self.note("patch \(uuid)"); return agent(uuid, patch.configState ?? .pending) },
            bulkPatchAgents: { p in self.note("bulk \(p.uuids)"); return p.uuids.map { agent($0, p.configState) } },
            deleteAgent: { uuid throws(ClientError) in
                self.note("delete \(uuid)")
                if let failDelete { throw failDelete }
            },
            createJob: { spec in Job(id: 7, spec: spec, waitingReason: "no agents are enabled") },
            listJobs: { _, _ in [] },
            getJob: { id in Job(id: id, spec: JobSpec(name: "j", commands: ["true"])) },
            cancelJob: { id in Job(id: id, spec: JobSpec(name: "j", commands: ["true"]), state: .completed, result: .cancelled) },
            rerunJob: { id in Job(id: id + 1, spec: JobSpec(name: "j", commands: ["true"])) },
            listConfig: { [] },
            putConfig: { name, input in ConfigEntry(name: name, secret: input.secret, value: nil, updatedAt: Date()) },
            deleteConfig: { _ in },
            readLog: { id, offset, _ throws(ClientError) in
                self.note("log \(id)@\(offset)")
                guard let next = slices.pop() else { throw .unreachable("no more") }
                return next
            },
            events: { _, _ in EventBatch(events: [], next: 0) },
            version: { VersionInfo() })
    }
}

final class LockedQueue<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [T]
    init(_ items: [T]) { self.items = items }
    func pop() -> T? { lock.withLock { items.isEmpty ? nil : items.removeFirst() } }
}

@Suite struct RuntimeTests {
    @Test func effectsBecomeCallsAndMessages() async {
        let fake = FakeServer()
        let api = fake.api()
        #expect(await Runtime.call(.authorize(uuids: ["u1"]), api) == .agentsChanged([Agent(uuid: "u1", name: "name-u1", configState: .enabled)], message: "authorized name-u1"))
        if case .agentsChanged(let list, let message) = await Runtime.call(.disable(uuids: ["u1", "u2"], reason: nil, until: nil), api) {
            #expect(list.allSatisfy { $0.configState == .disabled } && message == "disabled 2 agents")
        } else {
            Issue.record("bulk disable")
        }
        #expect(fake.calls == ["patch u1", "bulk [\"u1\", \"u2\"]"])
        if case .jobChanged(let job, let message) = await Runtime.call(.createJob(JobSpec(name: "n", commands: ["c"])), api) {
            #expect(job.id == 7 && message == "job 7 n created; waiting: no agents are enabled")
        } else {
            Issue.record("create job")
        }
        #expect(await Runtime.call(.putConfig(name: "K", ConfigEntryInput(value: "v", secret: true)), api)
                == .configChanged(message: "saved K (secret: its value is never shown)"))
    }

    @Test func serverRefusalsAreShownAsTheServerSaidThem() async {
        let busy = ClientError.api(status: 409, error: APIError(.agentBusy, "agent rec-07 is building job 42; disable it and wait, or cancel the job"))
        let api = FakeServer().api(failDelete: busy)
        #expect(await Runtime.call(.deleteAgent(uuid: "u", name: "rec-07"), api) == .failed("agent rec-07 is building job 42; disable it and wait, or cancel the job"))
    }

    @Test func logTailFollowsOffsetsUntilComplete() async {
        let fake = FakeServer()
        let api = fake.api(log: [
            LogSlice(offset: 0, bytes: Data("ab\n".utf8), totalSize: 3, complete: false),
            LogSlice(offset: 3, bytes: Data("cd\n".utf8), totalSize: 6, complete: true),
        ])
        let runtime = Runtime(api: api, queue: ActionQueue())
        _ = runtime.perform([.tailLog(jobId: 5, offset: 0)])
        var got: [Action] = []
        let deadline = Date().addingTimeInterval(30)  // generous: the whole suite runs in parallel on 2 cores
        while Date() < deadline, got.filter({ if case .logReceived = $0 { true } else { false } }).count < 2 {
            got += runtime.queue.drain()
            try? await Task.sleep(for: .milliseconds(10))
        }
        runtime.stop()
        let offsets = got.compactMap { if case .logReceived(_, let s) = $0 { s.offset } else { nil } }
        #expect(offsets == [0, 3])
        #expect(fake.calls.filter { $0.hasPrefix("log") } == ["log 5@0", "log 5@3"], "stops once the log is complete")
    }
}
