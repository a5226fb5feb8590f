import Foundation
import MonitorModels
import ServerAPIClient
import Testing
@testable import ConsoleUI

/// The ssh command in a job's detail: `→` or a click selects its line, Enter copies it; `y` copies it
/// whenever the detail (pane or full-screen) shows a job that has one, else the job id.
@Suite struct DetailSSHTests {
    static let ssh = "ssh -t -p 2222 job-41@mms.studio.lan"

    /// DetailTests' fleet (job 41 has an ssh command) with job 41 selected in Jobs.
    static func onJob41(_ size: Size) -> AppState {
        var s = DetailTests.state(size)
        _ = s.press(.char("2"), .home, .down, .down)
        #expect(s.selectedJob?.id == 41)
        return s
    }

    @Test func yInThePaneCopiesTheSSHCommandElseTheJobId() {
        var s = Self.onJob41(DetailTests.wide)
        #expect(s.detailShown && !s.detailOpen)
        #expect(s.press(.char("y")) == [.copy(Self.ssh)])
        #expect(s.message?.text == "copied the ssh command of job 41: \(Self.ssh)")
        _ = s.press(.down)  // job 40: no ssh command
        #expect(s.press(.char("y")) == [.copy("40")])
        #expect(s.message?.text == "copied job id 40")
        // Below 140 columns without the detail: the id, as before.
        var narrow = Self.onJob41(Fixtures.small)
        #expect(narrow.press(.char("y")) == [.copy("41")])
    }

    @Test func rightSelectsTheSSHLineInThePaneAndEnterCopiesIt() {
        var s = Self.onJob41(DetailTests.wide)
        #expect(!s.sshLineSelected)
        #expect(s.press(.right) == [])
        #expect(s.sshLineSelected)
        #expect(s.press(.enter) == [.copy(Self.ssh)], "Enter copies instead of opening the log")
        #expect(s.view == .jobs)
        #expect(s.press(.left) == [] && !s.sshLineSelected)
        #expect(s.press(.enter).contains(.fetchLog(jobId: 41, .tail(sizeHint: 4000))), "Enter opens the log again")
    }

    @Test func theFullScreenDetailSelectsItTooAndEscLeavesTheLineFirst() {
        var s = Self.onJob41(Fixtures.small)
        _ = s.press(.char("i"))
        #expect(s.detailOpen)
        _ = s.press(.right)
        #expect(s.sshLineSelected)
        #expect(KeyHints.footer(s).contains(KeyHint("Enter", "copy ssh command")))
        #expect(s.press(.enter) == [.copy(Self.ssh)])
        _ = s.press(.escape)
        #expect(s.detailOpen && !s.sshLineSelected)
        _ = s.press(.escape)
        #expect(!s.detailOpen)
    }

    @Test func aJobWithoutAnSSHCommandHasNoLineToSelect() {
        var s = Self.onJob41(DetailTests.wide)
        _ = s.press(.down)
        #expect(s.press(.right) == [] && !s.sshLineSelected)
        #expect(!KeyHints.footer(s).contains { $0.key == "→" })
        _ = s.press(.up)
        #expect(KeyHints.footer(s).contains(KeyHint("→", "ssh line")))
    }

    @Test func aClickOnTheSSHLineSelectsItAndADoubleClickCopiesIt() {
        var s = Self.onJob41(DetailTests.wide)
        guard let (y, xs) = s.sshLineRow() else { Issue.record("no ssh line on screen"); return }
        #expect(render(s, DetailTests.wide).text.split(separator: "\n", omittingEmptySubsequences: false)[y].contains(Self.ssh))
        #expect(s.update(.mouse(MouseEvent(.click, x: xs.lowerBound + 15, y: y))) == [])
        #expect(s.sshLineSelected && s.selectedJob?.id == 41)
        #expect(render(s, DetailTests.wide)[y, xs.lowerBound + 15].style == .selected, "the selected line is drawn selected")
        #expect(s.update(.mouse(MouseEvent(.doubleClick, x: xs.lowerBound + 15, y: y))) == [.copy(Self.ssh)])
        _ = s.update(.mouse(MouseEvent(.click, x: 5, y: Layout.listTop)))
        #expect(!s.sshLineSelected, "a click in the list leaves the line")
    }

    @Test func snapshotsWithTheSSHLineSelected() {
        assertSnapshots({ size in
            var s = Self.onJob41(size)
            if DetailLayout.listWidth(size) == nil { _ = s.press(.char("i")) }
            _ = s.press(.right)
            return s
        }, named: "detail-ssh-selected", wide: true)
    }
}
