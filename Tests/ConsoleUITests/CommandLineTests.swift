import Foundation
import MonitorModels
import Testing
@testable import ConsoleUI

/// Issue 16 item 4: the `:` command line.
@Suite struct CommandLineTests {
    static func state(_ role: OperatorRole = .operator) -> AppState {
        var s = Fixtures.state()
        _ = s.update(.whoami(OperatorIdentity(name: "alice", role: role)))
        return s
    }

    @Test func disableWithPatternDurationAndReason() {
        var s = Self.state()
        _ = s.press(.char(":"))
        _ = s.type("disable rec-0* 2h replacing disks")
        #expect(s.press(.enter) == [])
        guard case .confirm(let c) = s.modal else { Issue.record("asks y/n: \(String(describing: s.modal))"); return }
        #expect(c.question.hasPrefix("Disable 3 agents for 2h (replacing disks)?"))
        #expect(s.press(.char("y")) == [.disable(uuids: ["u-01", "u-02", "u-06"], reason: "replacing disks", until: Fixtures.now.addingTimeInterval(7200))])
    }

    @Test func jobsFilterGotoAndSort() {
        var s = Self.state()
        _ = s.press(.char(":"))
        _ = s.type("jobs state=building agent=rec-0?")
        _ = s.press(.enter)
        #expect(s.view == .jobs && s.jobRows == [41] && s.modal == nil)
        _ = s.press(.char(":"))
        _ = s.type("goto 39")
        _ = s.press(.enter)
        #expect(s.selectedJob?.id == 39 && s.jobFilter.isEmpty)
        _ = s.press(.char("1"), .char(":"))
        _ = s.type("sort last-seen")
        _ = s.press(.enter)
        #expect(s.agentSort == .lastSeen && s.agentRows.first == "u-02")
        _ = s.press(.char(":"))
        _ = s.type("goto old-box")
        _ = s.press(.enter)
        #expect(s.selectedAgent?.name == "old-box")
    }

    @Test func errorsStayInlineWithTheLineOpen() {
        var s = Self.state()
        _ = s.press(.char(":"))
        _ = s.type("jobs state=flying")
        _ = s.press(.enter)
        guard case .command(let c) = s.modal else { Issue.record("the line stays open"); return }
        #expect(c.error?.hasPrefix("no state 'flying'") == true)
        #expect(render(s, Fixtures.small).line(22).contains("no state 'flying'"))
        _ = s.press(.escape, .char(":"))
        _ = s.type("frobnicate")
        _ = s.press(.enter)
        if case .command(let c) = s.modal { #expect(c.error == "unknown command 'frobnicate'; Tab lists the commands") }
        _ = s.press(.escape, .char(":"))
        _ = s.type("disable nobody*")
        _ = s.press(.enter)
        if case .command(let c) = s.modal { #expect(c.error == "no agent's name matches 'nobody*'") }
    }

    @Test func aViewerIsRefusedInline() {
        var s = Self.state(.viewer)
        _ = s.press(.char(":"))
        _ = s.type("disable rec-01")
        #expect(s.press(.enter) == [])
        guard case .command(let c) = s.modal else { Issue.record("the line stays open"); return }
        #expect(c.error == "cannot disable agents: that needs the operator role; you are alice (viewer)")
    }

    @Test func tabCompletesCommandsAgentsAndColumns() {
        var s = Self.state()
        _ = s.press(.char(":"))
        _ = s.type("dis")
        _ = s.press(.tab)
        #expect(s.commandText == "disable ")
        _ = s.type("old")
        _ = s.press(.tab)
        #expect(s.commandText == "disable old-box ")
        _ = s.press(.escape, .char(":"))
        _ = s.type("sort la")
        _ = s.press(.tab)
        #expect(s.commandText == "sort last-seen ")
        _ = s.press(.escape, .char(":"))
        _ = s.type("disable rec-0")
        _ = s.press(.tab)
        guard case .command(let c) = s.modal else { return }
        #expect(c.text == "disable rec-0" && c.hint == "rec-01 rec-02 rec-06")
        _ = s.press(.escape, .char(":"))
        _ = s.type("jobs state=bu")
        _ = s.press(.tab)
        #expect(s.commandText == "jobs state=building ")
    }

    @Test func historyWalksBack() {
        var s = Self.state()
        for cmd in ["jobs", "agents"] {
            _ = s.press(.char(":"))
            _ = s.type(cmd)
            _ = s.press(.enter)
        }
        _ = s.press(.char(":"), .up)
        #expect(s.commandText == "agents")
        _ = s.press(.up)
        #expect(s.commandText == "jobs")
        _ = s.press(.down, .down)
        #expect(s.commandText == "")
    }

    @Test func globs() {
        #expect(ConsoleCommand.glob("rec-0*", "rec-01"))
        #expect(ConsoleCommand.glob("*", ""))
        #expect(ConsoleCommand.glob("r?c-*1", "rec-0001"))
        #expect(!ConsoleCommand.glob("rec-0?", "rec-001"))
        #expect(!ConsoleCommand.glob("rec", "rec-01"))
    }

    @Test func snapshots() {
        assertSnapshots({ size in
            var s = Self.state()
            s.size = size
            _ = s.press(.char(":"))
            _ = s.type("disable rec-0")
            _ = s.press(.tab)
            return s
        }, named: "command-completion", wide: true)
        assertSnapshots({ size in
            var s = Self.state()
            s.size = size
            _ = s.press(.char(":"))
            _ = s.type("jobs state=flying")
            _ = s.press(.enter)
            return s
        }, named: "command-error", wide: true)
    }
}

extension AppState {
    /// The text of the open command line ("" when none).
    var commandText: String {
        if case .command(let c) = modal { return c.text }
        return ""
    }
}
