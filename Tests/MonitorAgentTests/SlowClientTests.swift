import Foundation
import MMSTestSupport
import Testing

/// Slow-loris clients against the real mms-server process: a request head or body trickled a few bytes
/// at a time is cut at its deadline while everyone else is served; one address cannot hold more
/// connections than `--max-connections-per-ip`.
@Suite(.serialized) struct SlowClientTests {
    static let healthz = Data("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n".utf8)

    @Test func tricklingHeadsAndBodiesAreCutAtTheirDeadlineWhileOthersAreServed() async throws {
        let dir = makeTempDir("slowloris")
        let server = try await TestServer.start(dir: dir, extra: ["--header-timeout", "3", "--body-timeout", "3"])
        defer { server.child.signal(SIGTERM) }
        let port = server.url.port ?? 0

        // 200 clients send a request line, then one header line every 250 ms, never the blank line.
        var heads: [Int32] = []
        defer { for fd in heads { close(fd) } }
        for _ in 0..<200 {
            guard let fd = RawHTTP.connect(port: port) else { break }
            _ = RawHTTP.send(fd, Data("GET /healthz HTTP/1.1\r\nHost: x\r\n".utf8))
            heads.append(fd)
        }
        try #require(heads.count == 200)
        // One sends a whole head announcing a body, then trickles the body.
        let bodyFD = try #require(RawHTTP.connect(port: port))
        defer { close(bodyFD) }
        _ = RawHTTP.send(bodyFD, Data("POST /api/v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n{".utf8))
        // One well-behaved client keeps its connection alive with a request every round: never cut,
        // because each answer starts a new head deadline.
        let keptAlive = try #require(RawHTTP.connect(port: port))
        defer { close(keptAlive) }
        // The rounds run on a thread of their own: the test pool's threads may be held by blocking
        // tests running alongside, and a late round would let the kept-alive client idle past its deadline.
        let slowHeads = heads
        let rounds = await onOwnThread { Self.trickle(heads: slowHeads, body: bodyFD, keptAlive: keptAlive, port: port, seconds: 7) }
        #expect(rounds.count >= 3 && rounds.keptAliveAnswers == rounds.count,
                "the kept-alive client was answered \(rounds.keptAliveAnswers) of \(rounds.count) times (longest gap \(rounds.longestGap) s)")
        #expect(rounds.newClientAnswers == rounds.count, "new clients answered during the attack: \(rounds.newClientAnswers) of \(rounds.count)")
        // Every trickling head was cut (the deadline is 3 s; they kept sending for 7 s).
        let checkUntil = Date().addingTimeInterval(5)
        let cut = heads.filter { RawHTTP.closedByServer($0, seconds: max(0.05, checkUntil.timeIntervalSinceNow)) }.count
        #expect(cut == 200, "\(cut) of 200 trickling heads were cut")
        #expect(RawHTTP.closedByServer(bodyFD, seconds: 5), "the trickling body was cut")
        #expect(rounds.keptAliveStillOpen, "the kept-alive client is still connected after its last answer")
        // The server says what it did, and nothing of the half-sent job was stored.
        let metrics = RawHTTP.exchange(port: port, Data("GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8))
        #expect(metrics.contains("mms_http_connections_cut_total{waiting_for=\"head\"} "))
        #expect(try await server.admin.listJobs(nil, nil).isEmpty)
        #expect(server.child.process.isRunning)
    }

    struct Rounds: Sendable {
        var count = 0
        var keptAliveAnswers = 0
        var newClientAnswers = 0
        var longestGap = 0.0
        var keptAliveStillOpen = false
    }

    /// Rounds of the attack for `seconds`: a header line to each slow head, a byte of the slow body, a
    /// request on the kept-alive connection and one from a new client, then 250 ms of rest.
    static func trickle(heads: [Int32], body: Int32, keptAlive: Int32, port: Int, seconds: Double) -> Rounds {
        var r = Rounds()
        let start = Date()
        var lastAnswer = start
        while Date().timeIntervalSince(start) < seconds {
            r.count += 1
            for fd in heads { _ = RawHTTP.send(fd, Data("X-Slow-\(r.count): 1\r\n".utf8)) }
            _ = RawHTTP.send(body, Data("\"".utf8))
            if RawHTTP.send(keptAlive, healthz), RawHTTP.receive(keptAlive, seconds: 5).hasPrefix("HTTP/1.1 200") {
                r.keptAliveAnswers += 1
                r.longestGap = max(r.longestGap, Date().timeIntervalSince(lastAnswer))
                lastAnswer = Date()
            }
            let answer = RawHTTP.exchange(port: port, Data("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8))
            if answer.hasPrefix("HTTP/1.1 200") { r.newClientAnswers += 1 }
            usleep(250_000)
        }
        // Checked here, within the head deadline of its last answer (later it is cut for idling, rightly).
        r.keptAliveStillOpen = !RawHTTP.closedByServer(keptAlive, seconds: 0.1)
        return r
    }

    @Test func oneAddressCannotHoldMoreThanItsShare() async throws {
        let dir = makeTempDir("perip")
        let server = try await TestServer.start(dir: dir, extra: ["--max-connections-per-ip", "20"])
        defer { server.child.signal(SIGTERM) }
        let port = server.url.port ?? 0
        var held: [Int32] = []
        defer { for fd in held { close(fd) } }
        for _ in 0..<20 {
            held.append(try #require(RawHTTP.connect(port: port)))
        }
        // The 21st from the same address is closed without an answer.
        let extra = try #require(RawHTTP.connect(port: port))
        defer { close(extra) }
        _ = RawHTTP.send(extra, Self.healthz)
        #expect(RawHTTP.closedByServer(extra, seconds: 10), "a 21st connection from 127.0.0.1 is refused")
        // Another address is served, and so are the held connections.
        let other = RawHTTP.exchange(port: port, Self.healthz, from: "127.0.0.2")
        #expect(other.hasPrefix("HTTP/1.1 200"), "127.0.0.2 is served: \(other.prefix(80))")
        _ = RawHTTP.send(held[0], Self.healthz)
        #expect(RawHTTP.receive(held[0], seconds: 5).hasPrefix("HTTP/1.1 200"))
        // Once one closes, the address may connect again.
        close(held.removeLast())
        let again = await eventually {
            RawHTTP.exchange(port: port, Data("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8)).hasPrefix("HTTP/1.1 200")
        }
        #expect(again)
    }
}

/// Runs blocking work on a thread of its own and hands back its result.
func onOwnThread<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        Thread { continuation.resume(returning: work()) }.start()
    }
}
