import Foundation
import MonitorModels
import ServerAPIClient
import Synchronization
import Testing
@testable import MonitorAgent

@Suite struct SecretMaskerTests {
    static let secrets = ["hunter2pw", "abcd", "abcdefgh", "xyz"]

    static func maskWhole(_ text: String) -> String {
        var m = SecretMasker(values: secrets)
        return String(decoding: m.feed(Array(text.utf8)) + m.flush(), as: UTF8.self)
    }

    @Test func masksEveryValueOfFourOrMoreCharacters() {
        #expect(Self.maskWhole("pw=hunter2pw; abcdefgh abcdef abcd xyz") == "pw=********; ******** ********ef ******** xyz")
    }

    @Test func masksValuesSplitAtEveryPossibleChunkBoundary() {
        let text = "start hunter2pw mid abcdefgh abcdefg end hunter2p"
        let expected = Self.maskWhole(text)
        #expect(!expected.contains("hunter2pw") && !expected.contains("abcd"))
        let bytes = Array(text.utf8)
        for cut in 0...bytes.count {
            for cut2 in cut...bytes.count where cut2 == cut || cut2 == bytes.count || (cut2 - cut) % 3 == 0 {
                var m = SecretMasker(values: Self.secrets)
                var out = m.feed(Array(bytes[..<cut]))
                out += m.feed(Array(bytes[cut..<cut2]))
                out += m.feed(Array(bytes[cut2...]))
                out += m.flush()
                #expect(String(decoding: out, as: UTF8.self) == expected, "cuts \(cut) \(cut2)")
            }
        }
    }

    @Test func holdsBackOnlyWhatCouldStartASecret() {
        var m = SecretMasker(values: ["password"])
        #expect(String(decoding: m.feed(Array("log line pass".utf8)), as: UTF8.self) == "log line ")
        #expect(m.heldCount == 4)
        #expect(String(decoding: m.feed(Array("port\n".utf8)), as: UTF8.self) == "passport\n")
        #expect(m.heldCount == 0)
    }
}

/// A log endpoint that follows the contract's offset rules, with failures to inject.
final class FakeLogServer: Sendable {
    struct State { var data = Data(); var chunkSizes: [Int] = []; var failures: [ClientError] = [] }
    let state = Mutex(State())

    func append(_ offset: Int64, _ bytes: Data) throws(ClientError) -> Int64 {
        let failure = state.withLock { s -> ClientError? in s.failures.isEmpty ? nil : s.failures.removeFirst() }
        if let failure { throw failure }
        return try state.withLock { s throws(ClientError) -> Int64 in
            s.chunkSizes.append(bytes.count)
            let size = Int64(s.data.count)
            if offset > size { throw .api(status: 409, error: APIError(.logGap, "gap", size: size)) }
            let skip = Int(size - offset)
            if skip < bytes.count { s.data.append(bytes.dropFirst(skip)) }
            return Int64(s.data.count)
        }
    }
}

@Suite struct LogShipperTests {
    func ship(_ server: FakeLogServer, writes: (LogSink) -> Void, secrets: [String] = []) async throws -> LogSpool {
        let spool = try LogSpool(path: makeTempDir("spool") + "/log", limit: 1 << 20)
        let sink = LogSink(secrets: secrets, spool: spool)
        let shipper = LogShipper(spool: spool, jobId: 1, attempt: 1, base: 0, monitor: nil, interval: .milliseconds(50)) {
            (_, _, offset, bytes) async throws(ClientError) in try server.append(offset, bytes)
        }
        let task = Task { await shipper.run(onFatal: { _ in }) }
        writes(sink)
        sink.finish()
        shipper.finish()
        await task.value
        return spool
    }

    @Test func everyByteArrivesOnceInOrderInBoundedChunks() async throws {
        let server = FakeLogServer()
        var expected = Data()
        let spool = try await ship(server) { sink in
            for i in 0..<3000 {
                let line = Data("line \(i) \(String(repeating: "x", count: i % 200))\n".utf8)
                expected.append(line)
                sink.write(line)
            }
        }
        let s = server.state.withLock { $0 }
        #expect(s.data == expected)
        #expect(s.chunkSizes.allSatisfy { $0 <= LogShipper.chunkLimit })
        #expect(spool.acked == Int64(expected.count))
    }

    @Test func retriesTransientFailuresAndResendsFromTheServersSizeOnAGap() async throws {
        let server = FakeLogServer()
        server.state.withLock {
            $0.failures = [.unreachable("down"), .api(status: 503, error: APIError(.serviceUnavailable, "busy"))]
        }
        var expected = Data()
        _ = try await ship(server) { sink in
            for i in 0..<200 {
                let line = Data("row \(i)\n".utf8)
                expected.append(line)
                sink.write(line)
                if i == 100 { server.state.withLock { $0.data = $0.data.prefix(10) } }  // the server lost bytes
            }
        }
        #expect(server.state.withLock { $0.data } == expected)
    }

    @Test func secretsNeverReachTheServerEvenAcrossWrites() async throws {
        let server = FakeLogServer()
        _ = try await ship(server, writes: { sink in
            sink.write(Data("token=s3cr".utf8))
            sink.write(Data("et-value done\n".utf8))
        }, secrets: ["s3cret-value"])
        #expect(String(decoding: server.state.withLock { $0.data }, as: UTF8.self) == "token=******** done\n")
    }

    @Test func aFastWriterIsHeldToTheSpoolLimit() async throws {
        let spool = try LogSpool(path: makeTempDir("limit") + "/log", limit: 1 << 20)
        let wrote = Atomic<Int>(0)
        let chunk = [UInt8](repeating: 65, count: 64 * 1024)
        let writer = Thread {
            for _ in 0..<64 { spool.waitForRoom(); spool.append(chunk); wrote.add(1, ordering: .relaxed) }
        }
        writer.start()
        #expect(await eventually(5) { wrote.load(ordering: .relaxed) >= 16 })
        try await Task.sleep(for: .milliseconds(100))
        #expect(spool.written - spool.acked <= (1 << 20) + Int64(chunk.count))
        spool.acknowledge(upTo: spool.written)
        spool.stopWaiting()
        #expect(await eventually(5) { wrote.load(ordering: .relaxed) == 64 })
    }
}

@Suite struct BackoffAndStatusTests {
    @Test func backoffDoublesWithJitterAndStaysUnderTheCap() {
        var b = Backoff(initial: .milliseconds(100), cap: .seconds(2))
        #expect(b.next(random: 0) == .milliseconds(50))
        #expect(b.next(random: 0.999_999) > .milliseconds(199))
        for _ in 0..<30 { #expect(b.next(random: 1) <= .seconds(2)) }
        b.reset()
        #expect(b.next(random: 1) == .milliseconds(100))
    }

    @Test func statusRecordsTellHowFarTheSessionGot() {
        let s = ScriptStatus(parsing: "cmd 0 0\ncmd 1 0\nexit 2 5\nepi 0\nepi 1\ngarbage\n")
        #expect(s.commandsOutcome(commandCount: 4) == 5)
        #expect(s.lastEpilogueStarted == 1 && !s.epilogueDone)
        #expect(ScriptStatus(parsing: "cmd 0 0\n").commandsOutcome(commandCount: 2) == nil)
        #expect(ScriptStatus(parsing: "cmd 0 0\ncmd 1 0\nepi 0\ndone\n").commandsOutcome(commandCount: 2) == 0)
        #expect(ScriptStatus(parsing: "").commandsOutcome(commandCount: 0) == 0)
    }
}
