import Foundation
import MonitorModels
import Testing
@testable import ConsoleUI

@Suite struct ScreenBufferTests {
    @Test func wideCharactersTakeTwoColumnsAndClip() {
        var b = ScreenBuffer(Size(width: 6, height: 1))
        #expect(b.put("録画ab", y: 0, x: 0) == 6)
        #expect(b[0, 1].isContinuation && b[0, 4].text == "a")
        var c = ScreenBuffer(Size(width: 5, height: 2))
        c.put("ab録画", y: 0, x: 0)
        #expect(c.line(0) == "ab録", "a wide character that does not fit becomes a space")
        #expect(c.line(1) == "", "text never wraps into the next row")
        c.put("x", y: 0, x: 3)
        #expect(c.line(0) == "ab x", "overwriting half of a wide character blanks the other half")
    }

    @Test func controlCharactersCannotMoveTheCursor() {
        var b = ScreenBuffer(Size(width: 10, height: 1))
        b.put("a\u{1B}[2Jb\n", y: 0, x: 0)
        #expect(b.line(0) == "a?[2Jb?")
    }

    @Test func clippedAndPadded() {
        #expect("abcdef".clipped(to: 4) == "abc…")
        #expect("ab".padded(to: 4) == "ab  ")
        #expect("録画録画".clipped(to: 5) == "録画…")
    }
}

@Suite struct LiveUpdateTests {
    @Test func eventsChangeTheListsAndCounts() {
        var s = Fixtures.state()
        #expect(s.agentCounts[.pending] == 1)
        let authorized = Agent(uuid: "u-03", name: "build-ärm-03", configState: .enabled, status: .idle)
        let new = Agent(uuid: "u-99", name: "aaa-new", status: .pending)
        let job = Job(id: 44, spec: JobSpec(name: "fresh", commands: ["true"]), waitingReason: "no agents are enabled")
        _ = s.update(.events([
            Event(seq: 1, type: .agentUpdated, agent: authorized),
            Event(seq: 2, type: .agentUpdated, agent: new),
            Event(seq: 3, type: .agentDeleted, uuid: "u-06"),
            Event(seq: 4, type: .jobUpdated, job: job),
        ]))
        #expect(s.agentCounts[.pending] == 1 && s.agentCounts[.idle] == 2 && s.agentCounts[.missing] == nil)
        #expect(s.agentRows.first == "u-99")
        #expect(s.jobRows.first == 44 && s.jobsWaiting == 3)
        let screen = render(s, Fixtures.large).text
        #expect(screen.contains("aaa-new") && !screen.contains("rec-06"))
    }

    @Test func cursorStaysOnTheSameAgentWhenRowsMove() {
        var s = Fixtures.state()
        _ = s.press(.down, .down)
        #expect(s.selectedAgent?.uuid == "u-01")
        _ = s.update(.events([Event(seq: 1, type: .agentUpdated, agent: Agent(uuid: "u-00", name: "aaa"))]))
        #expect(s.selectedAgent?.uuid == "u-01")
    }

    @Test func connectionBannerComesAndGoes() {
        var s = Fixtures.state()
        _ = s.update(.connection(.reconnecting(reason: "connection refused; retrying in 1.0 s")))
        #expect(render(s, Fixtures.small).text.contains("reconnecting…"))
        _ = s.update(.connection(.connected))
        #expect(!render(s, Fixtures.small).text.contains("reconnecting…"))
        #expect(s.message?.text.contains("reconnected") == true)
    }

    @Test func serverErrorsAreShownAsTheyAre() {
        var s = Fixtures.state()
        _ = s.update(.failed("agent rec-02 is building job 41; disable it and wait, or cancel the job"))
        #expect(render(s, Fixtures.small).text.contains("agent rec-02 is building job 41"))
        #expect(s.message?.isError == true)
    }

    @Test func footerFitsAt80AndStartsWithHelpAndQuit() {
        for view in [View.agents, .jobs, .config, .audit, .log] {
            let hints = KeyHints.footer({ var s = Fixtures.state(); s.view = view; return s }())
            #expect(hints.prefix(2).map(\.key) == ["?", "q"])
            let width = hints.reduce(0) { $0 + CharWidth.of(text: $1.key) + 1 + CharWidth.of(text: $1.word) } + hints.count - 1
            #expect(width <= 80, "footer of \(view) is \(width) columns")
        }
    }

    @Test func tenThousandAgentsRenderOnlyVisibleRows() {
        var s = AppState(serverURL: "x", now: Fixtures.now, size: Fixtures.large)
        let many = (0..<10_000).map { Agent(uuid: "u\($0)", name: String(format: "agent-%05d", $0), status: .idle) }
        _ = s.update(.snapshot(agents: many, jobs: []))
        _ = s.press(.end)
        let screen = render(s, Fixtures.large).text
        #expect(screen.contains("agent-09999") && screen.contains("10000/10000"), "row 10000 of 10000")
        #expect(screen.contains("10000 Idle"))
    }
}

@Suite struct IncrementalUpdateTests {
    @Test func statusChangeWithoutResortKeepsCountsRight() {
        var s = Fixtures.state()
        var a = Fixtures.agents[0]
        a.status = .building
        a.lastSeenAt = Fixtures.now
        _ = s.update(.events([Event(seq: 1, type: .agentUpdated, agent: a)]))
        #expect(s.agentCounts[.idle] == 0 && s.agentCounts[.building] == 2)
        #expect(s.agentRows == ["u-03", "u-05", "u-01", "u-02", "u-06", "u-04"])
        _ = s.press(.char(">"))
        a.status = .lostContact
        _ = s.update(.events([Event(seq: 2, type: .agentUpdated, agent: a)]))
        #expect(s.agentRows.prefix(2) == ["u-01", "u-04"] || s.agentRows.prefix(2) == ["u-04", "u-01"], "status sort re-sorts on a status change")
        _ = s.press(.char("/"))
        _ = s.type("building")
        a.status = .building
        _ = s.update(.events([Event(seq: 3, type: .agentUpdated, agent: a)]))
        #expect(s.agentRows.contains("u-01"), "an agent that starts matching the filter appears")
    }
}

@Suite struct InsertionTests {
    @Test func newAgentsLandWhereASortWouldPutThem() {
        for (sort, reversed) in AgentSort.allCases.flatMap({ [($0, false), ($0, true)] }) {
            var s = Fixtures.state()
            while s.agentSort != sort { _ = s.press(.char(">")) }
            if reversed { _ = s.press(.char("s")) }
            _ = s.press(.down)
            let selected = s.selectedAgent?.uuid
            let new = Agent(uuid: "u-07", name: "rec-015", hostname: "m", status: .preparing, lastSeenAt: Fixtures.ago(30))
            _ = s.update(.events([Event(seq: 1, type: .agentUpdated, agent: new)]))
            let inserted = s.agentRows
            s.recomputeAgents()
            #expect(inserted == s.agentRows, "sort \(sort) reversed \(reversed)")
            #expect(s.selectedAgent?.uuid == selected, "cursor stays on its agent")
            #expect(s.agentCounts[.preparing] == 1)
        }
    }
}

@Suite struct TinyTerminalTests {
    /// Every view and overlay renders at sizes far below 80x24 without trapping.
    @Test func everythingRendersAtAnySize() {
        let setups: [(inout AppState) -> Void] = [
            { _ in },
            { _ = $0.press(.char("?")) },
            { _ = $0.press(.char("d")) },
            { _ = $0.press(.char("e")) },
            { _ = $0.press(.char("/")) },
            { _ = $0.press(.char("2"), .char("n")) },
            { _ = $0.press(.char("3"), .char("n"), .tab, .char(" ")) },
            { s in
                _ = s.press(.char("2"), .down, .down, .enter)
                _ = s.update(.logReceived(jobId: 41, Fixtures.logSlice(lines: 30)))
                _ = s.press(.char("w"), .char("/"))
            },
        ]
        for (w, h) in [(0, 0), (1, 1), (5, 3), (12, 6), (30, 8), (79, 23), (200, 60)] {
            let size = Size(width: w, height: h)
            for setup in setups {
                var s = Fixtures.state(size)
                setup(&s)
                _ = s.update(.resized(size))
                let b = render(s, size)
                #expect(b.size == size)
            }
        }
    }
}

@Suite struct WaitingReasonTests {
    @Test func atLeastFortyCharactersOfTheReasonAt120Columns() {
        var s = Fixtures.state(Fixtures.large)
        let reason = "no agent has resources [gpu, cuda12, arm64]; 4 agents are busy and 2 are disabled"
        let job = Job(id: 99, spec: JobSpec(name: "a-rather-long-job-name-for-rendering", commands: ["x"]), waitingReason: reason)
        _ = s.update(.events([Event(seq: 1, type: .jobUpdated, job: job)]))
        _ = s.press(.char("2"))
        let row = render(s, Fixtures.large).text.split(separator: "\n").first { $0.contains("99 ") }
        #expect(row?.contains(String(reason.prefix(40))) == true, "row: \(row ?? "none")")
    }
}

@Suite struct DiffTests {
    @Test func onlyChangedCellsAreRedrawn() {
        let s = Fixtures.state()
        let a = render(s, Fixtures.small)
        #expect(a.changedSpans(since: nil).count == 24, "first frame: every row")
        #expect(a.changedSpans(since: a).isEmpty, "same frame: nothing")
        var later = s
        _ = later.update(.tick(Fixtures.now.addingTimeInterval(60)))
        let b = render(later, Fixtures.small)
        let spans = b.changedSpans(since: a)
        #expect(spans.allSatisfy { $0.first >= 70 }, "a minute later only the LAST SEEN column changes: \(spans)")
        var moved = s
        _ = moved.press(.down)
        #expect(render(moved, Fixtures.small).changedSpans(since: a).map(\.y).sorted() == [2, 4, 5, 22], "row position, the two cursor rows, the status line")
    }

    @Test func aSpanStartsOnTheLeftHalfOfAWideCharacter() {
        var a = ScreenBuffer(Size(width: 6, height: 1))
        a.put("ab録c", y: 0, x: 0)
        var b = a
        b.put("d", y: 0, x: 5)
        b.restyle(y: 0, x: 3, width: 1, style: .bold)
        #expect(b.changedSpans(since: a).first?.first == 2)
    }
}
