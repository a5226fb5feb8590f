import Foundation
import Testing
@testable import ConsoleUI

/// The byte window of a log: lines by offset, joins at line boundaries, trimming that keeps offsets exact.
@Suite struct LogWindowTests {
    func texts(_ w: LogWindow) -> [String] { (0..<w.lineCount).map { w.text($0) } }
    func offsets(_ w: LogWindow) -> [Int64] { (0..<w.lineCount).map { w.offset(of: $0) } }

    @Test func appendSplitsLinesAndContinuesTheUnfinishedOne() {
        var w = LogWindow(at: 100)
        w.append(Array("ab\ncd".utf8))
        #expect(texts(w) == ["ab", "cd"] && w.endsMidLine)
        w.append(Array("e\n\nf\n".utf8))
        #expect(texts(w) == ["ab", "cde", "", "f"])
        #expect(offsets(w) == [100, 103, 107, 108])
        #expect(w.end == 110 && !w.endsMidLine)
        #expect(w.endOffset(of: 3) == 110 && w.endOffset(of: 1) == 107)
        #expect(w.line(containing: 104) == 1 && w.line(containing: 107) == 2 && w.line(containing: 110) == nil)
    }

    @Test func aPageReadFromTheMiddleOfALineDropsItsStart() {
        let w = LogWindow(page: Array("tail of a line\nwhole\nnext".utf8), at: 50)
        #expect(w.start == 65 && texts(w) == ["whole", "next"])
        let fromZero = LogWindow(page: Array("first\nsecond\n".utf8), at: 0)
        #expect(texts(fromZero) == ["first", "second"], "offset 0 is a line start")
        let oneLong = LogWindow(page: Array("no newline at all".utf8), at: 9)
        #expect(oneLong.start == 9 && oneLong.lineCount == 1, "a line longer than the page is kept as it is")
    }

    @Test func backwardPageJoinsAtALineBoundary() {
        let log = Array("l1\nl2 long\nl3\nl4\nl5\n".utf8)
        // A read from offset 14 > 0 cannot know it began at a line start, so "l4" goes; "l5" stays.
        var w = LogWindow(page: log[14...], at: 14)
        #expect(texts(w) == ["l5"] && w.start == 17)
        w.prepend(log[4..<17], at: 4) // from the middle of "l2 long"
        #expect(texts(w) == ["l3", "l4", "l5"])
        #expect(offsets(w) == [11, 14, 17])
        w.prepend(log[0..<11], at: 0)
        #expect(texts(w) == ["l1", "l2 long", "l3", "l4", "l5"])
        #expect(offsets(w) == [0, 3, 11, 14, 17] && w.end == 20)
        w.prepend(Array("nope\n".utf8), at: 100)
        #expect(w.lineCount == 5, "a page that does not end at the window's start is not joined")
    }

    @Test func trimmingKeepsOffsetsExactAndNeverDropsTheKeptLine() {
        let data = FakeLog.numbered(100) // 13 bytes a line
        var w = LogWindow(page: data, at: 0)
        let dropped = w.trimFront(toBytes: 13 * 40, keep: 80)
        #expect(dropped == 60 && w.lineCount == 40 && w.start == 13 * 60)
        #expect(w.text(0) == "line 0000061" && w.offset(of: 0) == 780 && w.offset(of: 39) == 13 * 99)
        let more = w.trimFront(toBytes: 13, keep: 5)
        #expect(more == 5, "stops at the kept line")
        #expect(w.text(0) == "line 0000066")
        let trimmed = w.trimBack(toBytes: 13 * 10, keep: 3)
        #expect(trimmed)
        #expect(w.lineCount == 10 && w.text(9) == "line 0000075" && w.end == 13 * 75)
        let again = w.trimBack(toBytes: 13 * 2, keep: 9)
        #expect(!again, "the kept line is the last one")
        w.append(Array("line 0000076\n".utf8))
        #expect(w.text(10) == "line 0000076" && w.offset(of: 10) == 13 * 75)
    }
}
