import Foundation
import MonitorModels
import Synchronization
import MMSTestSupport
import Testing
@testable import ServerAPIClient

/// A fake transport: each server answers from its own script (or a default), and every try is recorded.
final class FakeServers: Sendable {
    enum Answer: Sendable { case ok(String), refused, lost, status(Int, APIErrorCode) }
    private let state = Mutex<(answers: [String: Answer], calls: [String])>(([:], []))

    /// Sets how `host` answers from now on.
    func set(_ host: String, _ answer: Answer) { state.withLock { $0.answers[host] = answer } }
    /// The hosts tried, in order.
    var calls: [String] { state.withLock { $0.calls } }
    func clearCalls() { state.withLock { $0.calls = [] } }

    /// One try at `url`, as HTTPTransport would end it.
    func call(_ url: URL) async throws(ClientError) -> String {
        let host = url.host ?? "?"
        let answer = state.withLock { s -> Answer in
            s.calls.append(host)
            return s.answers[host] ?? .ok(host)
        }
        switch answer {
        case .ok(let body): return body
        case .refused: throw .unreachable("cannot reach the server at \(url.absoluteString): connection refused")
        case .lost: throw .unreachable("cannot reach the server at \(url.absoluteString): connection lost")
        case .status(let status, let code): throw .api(status: status, error: APIError(code, "said \(status)"))
        }
    }
}

/// Records a pool's events.
final class PoolEvents: Sendable {
    private let items = Mutex<[ServerPoolEvent]>([])
    init(_ pool: ServerPool) { pool.observe { e in self.items.withLock { $0.append(e) } } }
    var all: [ServerPoolEvent] { items.withLock { $0 } }
}

func url(_ host: String) -> URL { URL(string: "http://\(host):8765")! }

func pool(_ hosts: String...) -> ServerPool {
    ServerPool(ServerList(url(hosts[0]), hosts.dropFirst().map(url)))
}

@Suite struct ServerPoolTests {
    @Test func oneServerFailsExactlyAsWithoutAPool() async {
        let fake = FakeServers(), p = pool("a"), events = PoolEvents(p)
        fake.set("a", .refused)
        await #expect(throws: ClientError.unreachable("cannot reach the server at http://a:8765: connection refused")) {
            try await p.run { (u) async throws(ClientError) in try await fake.call(u) }
        }
        #expect(fake.calls == ["a"] && events.all.isEmpty && p.inUse == url("a"))
    }

    @Test func unreachableMovesToTheNextAndStaysThere() async throws {
        let fake = FakeServers(), p = pool("a", "b", "c"), events = PoolEvents(p)
        #expect(try await p.run(fake.call) == "a")
        fake.set("a", .refused)
        #expect(try await p.run(fake.call) == "b")
        #expect(events.all == [
            .switching(from: url("a"), to: url("b"), reason: "connection refused"),
            .moved(from: url("a"), to: url("b"), reason: "connection refused"),
        ])
        #expect(p.inUse == url("b") && p.moves == 1)
        fake.set("a", .ok("a"))  // back, but b works: no flapping
        fake.clearCalls()
        #expect(try await p.run(fake.call) == "b")
        #expect(fake.calls == ["b"])
    }

    @Test func a503MovesOnButOtherAnswersAreTheServerSpeaking() async throws {
        let fake = FakeServers(), p = pool("a", "b")
        fake.set("a", .status(503, .serviceUnavailable))
        #expect(try await p.run(fake.call) == "b")
        #expect(p.inUse == url("b"))
        for (status, code) in [(404, APIErrorCode.notFound), (409, .logGap), (500, .internalError), (401, .unauthorized)] {
            fake.set("b", .status(status, code))
            fake.clearCalls()
            await #expect(throws: ClientError.self) { try await p.run(fake.call) }
            #expect(fake.calls == ["b"], "\(status) is an answer: not tried elsewhere")
            #expect(p.inUse == url("b"))
        }
    }

    @Test func allDownThrowsTheLastFailureAfterOneTryEach() async {
        let fake = FakeServers(), p = pool("a", "b", "c")
        for h in ["a", "b", "c"] { fake.set(h, .refused) }
        await #expect(throws: ClientError.unreachable("cannot reach the server at http://c:8765: connection refused")) {
            try await p.run(fake.call)
        }
        #expect(fake.calls == ["a", "b", "c"])
    }

    @Test func wrapsAroundToAnEarlierServerOnlyWhenTheOneInUseFails() async throws {
        let fake = FakeServers(), p = pool("a", "b", "c"), events = PoolEvents(p)
        fake.set("a", .refused)
        fake.set("b", .refused)
        #expect(try await p.run(fake.call) == "c")
        fake.set("a", .ok("a"))
        fake.set("b", .ok("b"))
        #expect(try await p.run(fake.call) == "c", "a and b are back, but c is in use")
        fake.set("c", .lost)
        fake.clearCalls()
        #expect(try await p.run(fake.call) == "a")
        #expect(fake.calls == ["c", "a"], "from c it wraps round to a")
        #expect(events.all.last == .moved(from: url("c"), to: url("a"), reason: "connection lost"))
        #expect(p.moves == 2)
    }

    @Test func aCallThatCreatesIsRepeatedElsewhereOnlyWhenItNeverArrived() async throws {
        let fake = FakeServers(), p = pool("a", "b")
        fake.set("a", .lost)
        await #expect(throws: ClientError.self) { try await p.run(repeatable: false, fake.call) }
        #expect(fake.calls == ["a"], "the request may have reached a: not sent again")
        fake.clearCalls()
        #expect(try await p.run(repeatable: false, fake.call) == "b", "the pool has moved on: the next call goes to b")
        fake.set("b", .refused)
        fake.set("a", .ok("a"))
        fake.clearCalls()
        #expect(try await p.run(repeatable: false, fake.call) == "a", "refused: never arrived, safe to send to a")
        #expect(fake.calls == ["b", "a"])
    }

    @Test func callsFailingTogetherMoveOnceAndALateAnswerDoesNotPullBack() async throws {
        let fake = FakeServers(), p = pool("a", "b"), events = PoolEvents(p)
        #expect(try await p.run(fake.call) == "a")
        fake.set("a", .refused)
        async let x = p.run(fake.call)
        async let y = p.run(fake.call)
        async let z = p.run(fake.call)
        #expect(try await [x, y, z] == ["b", "b", "b"])
        #expect(events.all.count == 2, "one switch, one move: \(events.all)")
        // A long poll begun on a before the move answers late: the pool stays on b.
        let late = ServerPool(ServerList(url("a"), [url("b")]))
        let lateEvents = PoolEvents(late)
        fake.set("a", .ok("a"))
        #expect(try await late.run(fake.call) == "a")
        let gate = Mutex((started: false, open: false))
        async let longPoll: String = late.run { (u) async throws(ClientError) -> String in
            gate.withLock { $0.started = true }
            while !gate.withLock({ $0.open }) { try? await Task.sleep(for: .milliseconds(5)) }
            return u.host ?? "?"
        }
        #expect(await eventually { gate.withLock { $0.started } })
        fake.set("a", .refused)
        #expect(try await late.run(fake.call) == "b")
        gate.withLock { $0.open = true }
        #expect(try await longPoll == "a")
        #expect(late.inUse == url("b") && lateEvents.all.count == 2)
    }

    @Test func aLongPollWaitingOnAServerThePoolLeftIsAskedAgainOfTheNewOne() async throws {
        let fake = FakeServers(), p = pool("a", "b")
        #expect(try await p.run(fake.call) == "a")
        let hung = Mutex(0)
        // A long poll on a that would hang for ever (a stopped server), answered at once by b.
        async let poll: String = p.runFollowingMoves { (u) async throws(ClientError) -> String in
            if u.host == "a" {
                hung.withLock { $0 += 1 }
                try? await Task.sleep(for: .seconds(3600))
            }
            return u.host ?? "?"
        }
        #expect(await eventually { hung.withLock { $0 } == 1 })
        fake.set("a", .refused)  // a ping finds a gone and moves the pool
        #expect(try await p.run(fake.call) == "b")
        #expect(try await poll == "b")
        #expect(p.inUse == url("b") && p.moves == 1)
        // Once moved, a long poll does not start on a again.
        #expect(try await p.runFollowingMoves { (u) async throws(ClientError) in u.host ?? "?" } == "b")
    }

    @Test func aCancelledCallIsNoSignOfADeadServer() async throws {
        let fake = FakeServers(), p = pool("a", "b"), events = PoolEvents(p)
        #expect(try await p.run(fake.call) == "a")
        let started = Mutex(0)
        // As URLSession ends a cancelled request: with a transport failure.
        let waitOnA: @Sendable (URL) async throws(ClientError) -> String = { u throws(ClientError) in
            started.withLock { $0 += 1 }
            try? await Task.sleep(for: .seconds(3600))
            throw .unreachable("cannot reach the server at \(u.absoluteString): cancelled")
        }
        let plain = Task { () async -> Bool in (try? await p.run(waitOnA)) == nil }
        let longPoll = Task { () async -> Bool in (try? await p.runFollowingMoves(waitOnA)) == nil }
        #expect(await eventually { started.withLock { $0 } == 2 })
        plain.cancel()
        longPoll.cancel()
        let ended = (await plain.value, await longPoll.value)
        #expect(ended == (true, true), "both ended by the cancel")
        #expect(events.all.isEmpty && p.inUse == url("a") && started.withLock { $0 } == 2, "nothing tried on b, no move")
    }

    @Test func serverListsAreCheckedEntryByEntry() throws {
        let one = try ServerList.parse("http://127.0.0.1:8765")
        #expect(one.all == [URL(string: "http://127.0.0.1:8765")!] && one.description == "http://127.0.0.1:8765")
        let three = try ServerList.parse("http://a:1 , https://b:2,http://c:3/mms")
        #expect(three.all.map(\.absoluteString) == ["http://a:1", "https://b:2", "http://c:3/mms"])
        #expect(three.description == "http://a:1, https://b:2, http://c:3/mms")
        #expect(throws: ServerListError("must be an http or https URL like http://127.0.0.1:8765, not 'ftp://b'")) {
            try ServerList.parse("http://a,ftp://b")
        }
        #expect(throws: ServerListError("must be an http or https URL like http://127.0.0.1:8765, not 'b:1'")) {
            try ServerList.parse("http://a, b:1")
        }
        #expect(throws: ServerListError("names 'http://a:1' twice; list each server once")) {
            try ServerList.parse("http://a:1,http://b:1,http://a:1")
        }
        #expect(throws: ServerListError("names the same server twice ('http://A' and 'http://a:80/'); list each server once")) {
            try ServerList.parse("http://A,http://a:80/")
        }
        #expect(throws: ServerListError("has an empty entry in 'http://a,,http://b'; separate the URLs with single commas")) {
            try ServerList.parse("http://a,,http://b")
        }
        #expect(throws: ServerListError.self) { try ServerList.parse("http://a,") }
        #expect(throws: ServerListError.self) { try ServerList.parse(" ") }
    }
}
