import Foundation
import MMSTestSupport
import MonitorModels
import Synchronization
import Testing
@testable import ServerAPIClient

/// Long polls the server at `url` holds now (its `mms_long_polls_parked` gauge), 0 when it cannot be read.
func parkedPolls(_ url: URL) async -> Int {
    guard let reply = try? await HTTPTransport(baseURL: url, token: "").send("GET", "/metrics", timeout: 5) else { return 0 }
    let line = String(decoding: reply.body, as: UTF8.self).split(separator: "\n").first { $0.hasPrefix("mms_long_polls_parked ") }
    return line.flatMap { Int($0.split(separator: " ").last ?? "") } ?? 0
}

/// The client side of failover against real mms-server processes: refused connections, kill -9 mid long poll,
/// and the event stream listing again from the server it moved to.
@Suite(.serialized) struct FailoverLiveTests {
    @Test func aRefusedFirstServerIsSkippedAndItsReasonSaid() async throws {
        let (a, b) = try ServerProcess.pair("refused")
        defer { b.stop(); a.removeData(); b.removeData() }
        a.stop()
        let pool = ServerPool(ServerList(a.url, [b.url]))
        let moves = Mutex<[ServerPoolEvent]>([])
        pool.observe { e in moves.withLock { $0.append(e) } }
        let api = AdminAPI.live(servers: pool, token: "failover-token")
        #expect(try await api.listAgents().isEmpty)
        #expect(moves.withLock { $0 } == [.moved(from: a.url, to: b.url, reason: "connection refused")])
        #expect(pool.inUse == b.url)
        // A job is created once even though it could not be sent to a: "refused" means it never got there.
        _ = try await api.createJob(JobSpec(name: "once", commands: ["true"]))
        #expect(try await api.listJobs(nil, nil).map(\.name) == ["once"])
    }

    @Test func killMinus9DuringALongPollMovesTheNextCallAtOnce() async throws {
        let (a, b) = try ServerProcess.pair("kill")
        defer { a.stop(); b.stop(); a.removeData(); b.removeData() }
        let pool = ServerPool(ServerList(a.url, [b.url]))
        let events = Mutex<[ServerPoolEvent]>([])
        pool.observe { e in events.withLock { $0.append(e) } }
        let api = AdminAPI.live(servers: pool, token: "failover-token")
        let cursor = try await api.events(nil, 0).next
        let poll = Task { () async throws(ClientError) -> EventBatch in try await api.events(cursor, 20) }
        #expect(await eventually(10) { await parkedPolls(a.url) == 1 }, "the poll waits on a")
        let killed = ContinuousClock.now
        kill(a.process.processIdentifier, SIGKILL)
        // The poll fails on a and is asked again of b, which answers: at once with 410 `gone` (a's cursor means
        // nothing to an independent server; replicas of one database share it), else within its wait.
        do {
            _ = try await poll.value
        } catch {
            #expect((error as? ClientError)?.code == .gone, "b answered: \(error)")
        }
        let moved = ContinuousClock.now - killed
        #expect(pool.inUse == b.url && pool.moves == 1)
        #expect(moved < .seconds(25), "b answered the poll \(moved) after the kill (its own 20 s wait included)")
        print("kill -9 of a during a long poll: b answered the poll \(moved) later (\(events.withLock { $0 }.last.map { "\($0)" } ?? "no move"))")
        // Later calls go straight to b: no new pool event (a try of a would be one) and no second move.
        let seen = events.withLock { $0.count }
        _ = try await api.listAgents()
        #expect(events.withLock { $0.count } == seen && pool.inUse == b.url && pool.moves == 1, "later calls go straight to b")
    }

    @Test func theEventStreamListsAgainFromTheServerItMovedTo() async throws {
        let (a, b) = try ServerProcess.pair("stream")
        defer { a.stop(); b.stop(); a.removeData(); b.removeData() }
        let onB = AdminAPI.live(serverURL: b.url, token: "failover-token")
        _ = try await onB.createJob(JobSpec(name: "only-on-b", commands: ["true"]))
        let pool = ServerPool(ServerList(a.url, [b.url]))
        let api = AdminAPI.live(servers: pool, token: "failover-token")
        let stream = ReconnectingEventStream(api: api, servers: pool, waitSeconds: 20, firstDelay: .milliseconds(50))
        let start = try await stream.snapshot()
        #expect(start.jobs.isEmpty, "a has no jobs")
        let out = Emitted()
        let task = Task { await stream.run(from: start.cursor) { out.add($0) } }
        defer { task.cancel() }
        #expect(await eventually(10) { await parkedPolls(a.url) == 1 }, "the stream's poll waits on a")
        let killed = ContinuousClock.now
        kill(a.process.processIdentifier, SIGKILL)
        #expect(await eventually(15) {
            out.all.contains { if case .snapshot(_, let jobs) = $0 { jobs.map(\.name) == ["only-on-b"] } else { false } }
        }, "listed again from b: \(out.all.map { "\($0)".prefix(60) })")
        #expect(await eventually(5) { out.all.last == .connected })
        #expect(ContinuousClock.now - killed < .seconds(10))
        #expect(pool.inUse == b.url)
    }
}
