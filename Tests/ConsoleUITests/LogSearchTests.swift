import Foundation
import ServerAPIClient
import Testing
@testable import ConsoleUI

/// The paged log search finds what a search over all lines at once finds, whatever the page size,
/// short answers, starting line and direction; and it matches text ignoring case.
@Suite struct LogSearchTests {
    /// A deterministic log of `n` lines of varying length, some holding one of a few tokens.
    static func log(_ n: Int, seed: UInt64) -> (data: Data, lines: [(offset: Int64, text: String)]) {
        var rng = seed
        func next() -> Int {
            rng = rng &* 6364136223846793005 &+ 1442695040888963407
            return Int(rng >> 33)
        }
        var data = Data(), lines: [(Int64, String)] = []
        for i in 0..<n {
            var text = String(repeating: "x", count: next() % 30) + "\(i)"
            if next() % 9 == 0 { text += ["Alpha", "beta", "GAMMA"][next() % 3] + String(repeating: "y", count: next() % 5) }
            lines.append((Int64(data.count), text))
            data.append(contentsOf: Array(text.utf8) + [0x0A])
        }
        return (data, lines)
    }

    /// The expected line: the first (or last) matching line after (before) the start, else around the end.
    static func expected(_ lines: [(offset: Int64, text: String)], _ needle: String, start: Int, forward: Bool, skip: Bool) -> LogSearchOutcome {
        let hits = lines.indices.filter { lines[$0].text.range(of: needle, options: .caseInsensitive) != nil }
        if forward {
            if let i = hits.first(where: { skip ? $0 > start : $0 >= start }) { return .found(lines[i].offset, wrapped: false) }
            if let i = hits.first(where: { skip ? $0 <= start : $0 < start }) { return .found(lines[i].offset, wrapped: true) }
        } else {
            if let i = hits.last(where: { $0 < start }) { return .found(lines[i].offset, wrapped: false) }
            if let i = hits.last(where: { $0 >= start }) { return .found(lines[i].offset, wrapped: true) }
        }
        return .notFound
    }

    @Test(arguments: [(48, 1 << 20), (64, 17), (96, 40), (500, 1000)])
    func pagedSearchAgreesWithAWholeLogSearch(page: Int64, answer: Int) async {
        let (data, lines) = Self.log(400, seed: UInt64(page) * 31 + UInt64(answer))
        let api = FakeLog(data, maxAnswer: answer, shortReads: true).api()
        let read: LogPagedSearch.Read = { (from, to) async throws(ClientError) in
            let got = try await Runtime.readRange(api, 41, from: from, to: to)
            return (got.bytes, got.totalSize)
        }
        for needle in ["alpha", "BETA", "gamma", "zzz"] {
            for start in stride(from: 0, to: lines.count, by: 37) {
                let at = lines[start].offset
                let cases = [
                    (LogSearchRequest(text: needle, forward: true, from: at, wrapLimit: at, size: 0), true, false),
                    (LogSearchRequest(text: needle, forward: true, from: at, skipFirstLine: true, wrapLimit: at + 1, size: 0), true, true),
                    (LogSearchRequest(text: needle, forward: false, from: at, wrapLimit: at, size: 0), false, false),
                ]
                for (request, forward, skip) in cases {
                    let got = await (try? LogPagedSearch(request, read: read, pageBytes: page).run()) ?? .failed("error")
                    let want = Self.expected(lines, needle, start: start, forward: forward, skip: skip)
                    #expect(got == want, "\(needle) from line \(start) forward \(forward) skip \(skip), page \(page)")
                }
            }
        }
    }

    @Test func progressReachesTheWholeLogWhenNothingMatches() async {
        let data = FakeLog.numbered(2000)
        let api = FakeLog(data).api()
        let seen = LockedList<Double>()
        let outcome = await Runtime.search(api, 41, LogSearchRequest(text: "nope", forward: true, from: 13 * 500, wrapLimit: 13 * 500, size: 0),
                                           progress: { seen.append($0) })
        #expect(outcome == .notFound)
        #expect(seen.items.last == 1 && seen.items == seen.items.sorted())
    }

    @Test func matchingIgnoresCaseAlsoBeyondASCII() {
        let bytes = Array("first\nsaved to ÄRM-05 ok\nlast ärm\n".utf8)
        #expect(LogMatcher("ärm").firstLine(in: bytes, 0, bytes.count) == 6)
        #expect(LogMatcher("ärm").lastLine(in: bytes, 0, bytes.count) == 26)
        #expect(LogMatcher("SAVED").firstLine(in: bytes, 0, bytes.count) == 6)
        #expect(LogMatcher("first").lastLine(in: bytes, 6, bytes.count) == nil, "only the range given")
        #expect(LogMatcher("").firstLine(in: bytes, 0, bytes.count) == nil)
    }
}
