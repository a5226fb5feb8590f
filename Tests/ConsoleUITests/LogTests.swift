import Foundation
import ServerAPIClient
import Testing
@testable import ConsoleUI

@Suite struct LogKeyTests {
    func opened(lines: Int = 100) -> AppState {
        var s = Fixtures.state()
        _ = s.press(.char("2"), .down, .down, .enter)
        _ = s.update(.logReceived(jobId: 41, Fixtures.logSlice(lines: lines)))
        return s
    }

    @Test func followsTheTailUntilScrolledUp() {
        var s = opened()
        #expect(s.log?.follow == true)
        #expect(render(s, s.size).text.contains("line 100:"))
        _ = s.press(.up)
        #expect(s.log?.follow == false)
        let more = Data("line 101: new\n".utf8)
        _ = s.update(.logReceived(jobId: 41, LogSlice(offset: s.log!.window.end, bytes: more, totalSize: 0, complete: false)))
        #expect(!render(s, s.size).text.contains("line 101:"), "paused view stays put")
        _ = s.press(.char("G"))
        #expect(s.log?.follow == true)
        #expect(render(s, s.size).text.contains("line 101: new"))
        _ = s.press(.char("f"))
        #expect(s.log?.follow == false)
        _ = s.press(.char("f"))
        #expect(s.log?.follow == true)
    }

    @Test func topAndBottom() {
        var s = opened()
        _ = s.press(.char("g"))
        #expect(s.log?.top == 0 && s.log?.follow == false)
        #expect(render(s, s.size).text.contains("line 1:"))
        _ = s.press(.pageDown)
        #expect(s.log?.top == Layout.logHeight(s.size))
        _ = s.press(.end)
        #expect(s.log?.follow == true)
    }

    @Test func searchNextPrevious() {
        var s = opened(lines: 100)
        _ = s.press(.char("/"))
        _ = s.type("module_5")
        _ = s.press(.enter)
        #expect(s.matchIndex == 49, "first match from the top: line 50")
        _ = s.press(.char("n"))
        #expect(s.matchIndex == 50)
        _ = s.press(.char("N"))
        #expect(s.matchIndex == 49)
        #expect(s.press(.char("N")) == [.searchLog(jobId: 41, LogSearchRequest(
            text: "module_5", forward: false, from: s.log!.match!, wrapLimit: s.log!.match!, size: s.log!.window.end))],
            "no earlier match in the window: the runtime searches the whole log")
        #expect(s.log?.searching != nil)
        _ = s.press(.char("/"))
        _ = s.type("x")
        #expect(s.press(.enter).first == .cancelSearch, "a new search replaces the running one")
    }

    @Test func highlightMarksMatches() {
        var s = opened(lines: 10)
        _ = s.press(.char("/"))
        _ = s.type("QUOTA")
        _ = s.press(.enter)
        let b = render(s, s.size)
        let y = (0..<b.size.height).first { b.line($0).contains("quota") }!
        let x = Array(b.line(y)).firstIndex(of: "q")!
        #expect(b[y, x].style == .currentMatch)
        #expect(b[y, 0].style == .normal)
    }

    @Test func wrapShowsLongLinesOnSeveralRows() {
        var s = Fixtures.state()
        _ = s.press(.char("2"), .down, .down, .enter)
        let long = String(repeating: "abcdefghij", count: 20) + "END\n"
        _ = s.update(.logReceived(jobId: 41, LogSlice(offset: 0, bytes: Data(long.utf8), totalSize: 0, complete: false)))
        #expect(!render(s, s.size).text.contains("END"))
        _ = s.press(.char("w"))
        #expect(render(s, s.size).text.contains("END"))
    }

    @Test func bytesSplitInsideACharacterAndALine() {
        var s = Fixtures.state()
        _ = s.press(.char("2"), .down, .down, .enter)
        let bytes = Array("déjà vu\nsecond".utf8)
        _ = s.update(.logReceived(jobId: 41, LogSlice(offset: 0, bytes: Data(bytes[0..<2]), totalSize: 0, complete: false)))
        _ = s.update(.logReceived(jobId: 41, LogSlice(offset: 2, bytes: Data(bytes[2...]), totalSize: 0, complete: false)))
        #expect(s.log?.line(0) == "déjà vu")
        #expect(s.log?.line(1) == "second")
        _ = s.update(.logReceived(jobId: 99, LogSlice(offset: 0, bytes: Data("other\n".utf8), totalSize: 0, complete: false)))
        _ = s.update(.logReceived(jobId: 41, LogSlice(offset: 3, bytes: Data("dup\n".utf8), totalSize: 0, complete: false)))
        #expect(s.log?.lineCount == 2, "other jobs' bytes and repeated offsets are ignored")
    }

    @Test func escapeSequencesAreRemoved() {
        #expect(LogText.clean("\u{1B}[1;31mred\u{1B}[0m\tx\r") == "red     x")
    }
}
