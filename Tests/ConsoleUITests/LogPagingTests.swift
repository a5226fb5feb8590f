import Foundation
import MonitorModels
import ServerAPIClient
import Testing
@testable import ConsoleUI

/// The log view pages a big log by byte offset against a fake server: it opens at the tail, `g` and `G`
/// jump, scrolling reads the next page and trims the window, and search reads the whole log page by page.
@Suite struct LogPagingTests {
    static let big = FakeLog.numbered(300_000) // 3.9 MB: more than a window holds

    /// Job 41's log opened against `log`, at `size` (a tall terminal pages quickly).
    func open(_ log: FakeLog, size: Size = Fixtures.small) async -> AppState {
        var s = Fixtures.state(size)
        _ = s.press(.char("2"), .down, .down)
        await s.settle(s.update(.key(.enter)), log.api())
        return s
    }

    func number(_ line: String?) -> Int? { line.flatMap { Int($0.dropFirst(5)) } }

    @Test func opensAtTheTailReadingOnlyTheEnd() async {
        let log = FakeLog(Self.big)
        let s = await open(log)
        #expect(s.shownLines.last == "line 0300000")
        let l = s.log!
        #expect(l.atTail && l.follow && l.window.end == log.size)
        #expect(l.window.bytes.count <= Int(LogFetch.tailBytes))
        #expect(log.readOffsets == [log.size - LogFetch.tailBytes, log.size], "the tail page, then the live tail from its end")
        #expect(render(s, s.size).line(0).hasSuffix("follow · 3.7 MiB of 3.7 MiB · 100% · end"))
    }

    @Test func gReadsTheFirstPageAndGReturnsToTheTail() async {
        let log = FakeLog(Self.big)
        var s = await open(log)
        let g = await s.pressSettled(log.api(), .char("g"))
        #expect(g.effects.first == .fetchLog(jobId: 41, .top))
        #expect(s.shownLines.first == "line 0000001" && s.log?.follow == false && s.log?.atTail == false)
        #expect(render(s, s.size).line(0).contains("273 B of 3.7 MiB · 0%"))
        let end = await s.pressSettled(log.api(), .char("G"))
        #expect(end.effects.contains(.tailLog(jobId: 41, offset: log.size)), "the live tail goes on from the end")
        #expect(s.shownLines.last == "line 0300000" && s.log?.follow == true && s.log?.atTail == true)
    }

    @Test func pagingDownFromTheTopReadsOnAndTrimsTheWindow() async {
        let log = FakeLog(Self.big, shortReads: true)
        var s = await open(log, size: Size(width: 80, height: 1003))
        await s.pressSettled(log.api(), .char("g"))
        var first = 1
        while s.shownLines.last != "line 0300000" {
            await s.pressSettled(log.api(), .pageDown)
            let now = number(s.shownLines.first) ?? 0
            #expect(now == min(first + 1000, 300_000 - 999), "screens follow on line by line")
            #expect(s.log!.window.bytes.count <= LogWindow.maxBytes)
            guard now > first else { break }
            first = now
        }
        #expect(s.log?.atTail == true, "reaching the end joins the live tail")
        #expect(s.log!.window.start > 0, "the first pages were dropped")
    }

    @Test func pagingUpFromTheTailJoinsPagesAtLineBoundaries() async {
        let log = FakeLog(Self.big, maxAnswer: 300_000)
        var s = await open(log, size: Size(width: 80, height: 1003))
        var first = number(s.shownLines.first) ?? 0
        while first > 1 {
            await s.pressSettled(log.api(), .pageUp)
            let now = number(s.shownLines.first) ?? 0
            #expect(now == max(1, first - 1000), "no line lost or doubled at a page join")
            #expect(s.log!.window.bytes.count <= LogWindow.maxBytes)
            guard now < first else { break }
            first = now
        }
        #expect(s.log?.atTail == false, "the end was trimmed away")
        await s.pressSettled(log.api(), .end)
        #expect(s.shownLines.last == "line 0300000" && s.log?.atTail == true)
    }

    @Test func searchReadsTheWholeLogAndMovesTheWindowToTheMatch() async {
        let log = FakeLog(Self.big)
        var s = await open(log)
        _ = s.press(.char("/"))
        _ = s.type("LINE 0080660") // straddles the first 1 MiB page boundary
        let found = await s.pressSettled(log.api(), .enter)
        #expect(found.effects.contains(.fetchLog(jobId: 41, .around(80659 * 13))))
        #expect(s.matchIndex.map { s.log!.line($0) } == "line 0080660")
        #expect(s.shownLines.contains("line 0080660") && s.log?.follow == false)
        #expect(!found.progress.isEmpty)

        let again = await s.pressSettled(log.api(), .char("n"))
        #expect(s.message?.text == "search reached the end and went on from the top")
        #expect(s.matchIndex.map { s.log!.line($0) } == "line 0080660", "the only match, found again after wrapping")
        #expect(again.progress.last ?? 0 > 0.9, "progress went through the whole log")

        await s.pressSettled(log.api(), .char("N"))
        #expect(s.message?.text == "search reached the top and went on from the end")
        #expect(s.matchIndex.map { s.log!.line($0) } == "line 0080660")

        _ = s.press(.char("/"))
        for _ in "LINE 0080660" { _ = s.press(.backspace) } // the prompt starts with the last search
        _ = s.type("no such line")
        await s.pressSettled(log.api(), .enter)
        #expect(s.message == Message("no match for \"no such line\"", isError: true))
        #expect(s.log?.match == nil)
    }

    @Test func escapeCancelsARunningSearchThenLeaves() async {
        let log = FakeLog(Self.big)
        var s = await open(log)
        _ = s.press(.char("/"))
        _ = s.type("line 0000007")
        let effects = s.press(.enter)
        guard case .searchLog(41, let r) = effects.first else { return #expect(Bool(false), "a search starts: \(effects)") }
        _ = s.update(.logSearchProgress(jobId: 41, r, 0.34))
        #expect(render(s, s.size).text.contains("searching \"line 0000007\"… 34%"))
        #expect(s.press(.escape) == [.cancelSearch])
        #expect(s.view == .log && s.log?.searching == nil && s.message?.text == "search cancelled")
        _ = s.update(.logSearchDone(jobId: 41, r, .found(78, wrapped: false)))
        #expect(s.log?.match == nil, "a cancelled search's answer is ignored")
        #expect(s.press(.escape) == [.stopLog] && s.view == .jobs)
    }

    @Test func theLiveTailKeepsTheWindowSmall() async {
        let log = FakeLog(FakeLog.numbered(10), complete: false)
        var s = await open(log)
        let chunk = FakeLog.numbered(100_000) // 1.3 MB a slice
        for _ in 0..<4 {
            let end = s.log!.window.end
            _ = s.update(.logReceived(jobId: 41, LogSlice(offset: end, bytes: chunk, totalSize: end + Int64(chunk.count), complete: false)))
        }
        #expect(s.log!.window.bytes.count <= LogWindow.maxBytes && s.log!.window.start > 0)
        #expect(s.shownLines.last == "line 0100000" && s.log?.atTail == true)
        #expect(s.log!.size == Int64(130 + 4 * 1_300_000))
    }

    @Test func aPausedViewStopsTakingTheLiveTailWhenTheWindowFills() async {
        let log = FakeLog(FakeLog.numbered(1000), complete: false)
        var s = await open(log)
        _ = s.press(.up)
        let shown = s.shownLines
        let chunk = FakeLog.numbered(100_000)
        var tail = log.size
        for _ in 0..<4 {
            _ = s.update(.logReceived(jobId: 41, LogSlice(offset: tail, bytes: chunk, totalSize: tail + Int64(chunk.count), complete: false)))
            tail += Int64(chunk.count)
        }
        #expect(s.shownLines == shown, "the paused view stays where it was")
        #expect(s.log?.atTail == false && s.log!.window.bytes.count <= LogWindow.maxBytes)
        #expect(s.log!.size == Int64(13_000 + 4 * 1_300_000), "the size still follows the tail")
        _ = s.press(.char("G"))
        #expect(s.log?.pending == .tail(sizeHint: 13_000 + 4 * 1_300_000), "G reads the end again")
    }

    @Test func timestampsAreReadForTheLinesOnScreenOnly() async {
        let data = FakeLog.numbered(5000) + Data("unfinished".utf8)
        let log = FakeLog(data, complete: false)
        var s = await open(log)
        let asked = await s.pressSettled(log.api(), .char("t"))
        let shown = s.log!.shown(height: Layout.logHeight(s.size))
        let requests = asked.effects.compactMap { if case .fetchStamps(_, let r) = $0 { r } else { nil } }
        #expect(requests == [LogStampRequest(from: s.log!.window.offset(of: shown.lowerBound), to: 13 * 5000)],
                "from the first line on screen to the end of the last whole one")
        #expect(s.log!.stamps.count == shown.count - 1, "the unfinished last line has no time yet")
        #expect(render(s, s.size).line(1).wholeMatch(of: /\d\d:\d\d:\d\d line 0004981/) != nil, "times shown")
        #expect(await s.pressSettled(log.api(), .char("w")).effects.isEmpty, "nothing new on screen: nothing asked")
        await s.pressSettled(log.api(), .pageUp)
        #expect(s.log!.stamps.count >= 2 * (shown.count - 1), "a new screen asks for its own lines")
    }

    @Test func timestampsTheServerCannotGiveTurnThemOff() async {
        let log = FakeLog(FakeLog.numbered(100))
        var api = log.api()
        api.readLogTimestamps = { _, _, _ throws(ClientError) in throw .badResponse("the server does not send log timestamps") }
        var s = await open(log)
        await s.pressSettled(api, .char("t"))
        #expect(s.log?.showTimes == false && s.message?.text == "timestamps: the server does not send log timestamps")
    }

    @Test func aRemovedLogShowsTheServersSentence() async {
        let log = FakeLog(Data(), gone: "the log of job 41 was removed after 30 days (retention)")
        let s = await open(log)
        #expect(s.log?.gone == "the log of job 41 was removed after 30 days (retention)")
        let screen = render(s, s.size)
        #expect(screen.line(1).contains("the log of job 41 was removed after 30 days (retention)"))
        #expect(!screen.text.contains("loading"))
    }
}
