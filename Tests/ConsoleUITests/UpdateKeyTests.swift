import Foundation
import MonitorModels
import Testing
@testable import ConsoleUI

/// Every key of the contract's "mms-console" section, through `update`.
@Suite struct GlobalKeyTests {
    @Test func viewKeysAndTab() {
        var s = Fixtures.state()
        #expect(s.view == .agents)
        #expect(s.press(.char("2")) == [])
        #expect(s.view == .jobs)
        #expect(s.press(.char("3")) == [.loadConfig])
        #expect(s.view == .config)
        _ = s.press(.char("1"))
        #expect(s.view == .agents)
        _ = s.press(.tab)
        #expect(s.view == .jobs)
        _ = s.press(.tab)
        #expect(s.view == .config)
        #expect(s.press(.tab) == [.loadAudit(since: nil)])
        #expect(s.view == .audit)
        _ = s.press(.tab)
        #expect(s.view == .agents)
        _ = s.press(.backTab)
        #expect(s.view == .audit)
    }

    @Test func quitKeys() {
        var s = Fixtures.state()
        #expect(s.press(.char("q")) == [.quit])
        #expect(s.press(.ctrlC) == [.quit])
        _ = s.press(.char("2"), .char("n"))
        #expect(s.press(.char("q")) == [], "q is typed into a form, not a quit")
        #expect(s.press(.ctrlC) == [.quit], "Ctrl-C always quits")
    }

    @Test func helpOpensAndCloses() {
        var s = Fixtures.state()
        _ = s.press(.char("?"))
        #expect(s.showHelp)
        #expect(s.press(.char("a")) == [], "keys do nothing behind help")
        _ = s.press(.escape)
        #expect(!s.showHelp)
        _ = s.press(.char("?"), .char("?"))
        #expect(!s.showHelp)
        let words = KeyHints.help(.agents)[0].keys.map { "\($0.key) \($0.word)" }
        #expect(words.contains { $0.hasPrefix("a authorize") })
    }

    @Test func navigation() {
        var s = Fixtures.state()
        _ = s.press(.down, .char("j"))
        #expect(s.agentCursor.index == 2)
        _ = s.press(.up, .char("k"), .char("k"))
        #expect(s.agentCursor.index == 0)
        _ = s.press(.end)
        #expect(s.agentCursor.index == Fixtures.agents.count - 1)
        _ = s.press(.home)
        #expect(s.agentCursor.index == 0)
        _ = s.press(.pageDown)
        #expect(s.agentCursor.index == Fixtures.agents.count - 1)
        _ = s.press(.pageUp)
        #expect(s.agentCursor.index == 0)
    }

    @Test func pagingScrollsLongLists() {
        var s = AppState(serverURL: "x", now: Fixtures.now, size: Fixtures.small)
        let many = (0..<100).map { Agent(uuid: String(format: "u%03d", $0), name: String(format: "a%03d", $0)) }
        _ = s.update(.snapshot(agents: many, jobs: []))
        let page = Layout.listHeight(Fixtures.small)
        _ = s.press(.pageDown)
        #expect(s.agentCursor.index == page)
        #expect(s.agentCursor.top <= page && s.agentCursor.index < s.agentCursor.top + page)
        _ = s.press(.end)
        #expect(s.agentCursor.index == 99 && s.agentCursor.top == 100 - page)
        let screen = render(s, Fixtures.small).text
        #expect(screen.contains("a099") && !screen.contains("a000"))
    }

    @Test func readOnlyRefusesEveryChange() {
        var s = Fixtures.state(readOnly: true)
        for key: Character in ["a", "d", "x", "e"] {
            #expect(s.press(.char(key)) == [])
            #expect(s.modal == nil)
            #expect(s.message?.text.contains("read-only") == true, "agents key \(key)")
        }
        _ = s.press(.char("2"))
        for key: Character in ["n", "c", "r"] {
            #expect(s.press(.char(key)) == [])
            #expect(s.modal == nil)
            #expect(s.message?.text.contains("read-only") == true, "jobs key \(key)")
        }
        _ = s.press(.char("3"))
        for key: Character in ["n", "e", "x"] {
            #expect(s.press(.char(key)) == [])
            #expect(s.modal == nil)
            #expect(s.message?.text.contains("read-only") == true, "config key \(key)")
        }
        _ = s.press(.char("2"), .enter)
        #expect(s.view == .log, "reading a log is not a change")
    }
}

@Suite struct AgentKeyTests {
    /// Agents in name order: build-ärm-03, old-box, rec-01, rec-02, rec-06, 録画-04.
    @Test func authorizeSelected() {
        var s = Fixtures.state()
        #expect(s.press(.char("a")) == [.authorize(uuids: ["u-03"])])
        _ = s.press(.down, .down)
        #expect(s.press(.char("a")) == [])
        #expect(s.message?.text == "rec-01 is already authorized")
    }

    @Test func markSeveralThenAuthorizeAndDisable() {
        var s = Fixtures.state()
        _ = s.press(.char(" "), .char(" "))
        #expect(s.marked == ["u-03", "u-05"])
        #expect(s.agentCursor.index == 2, "space moves down")
        #expect(s.press(.char("a")) == [.authorize(uuids: ["u-03", "u-05"])])
        #expect(s.marked.isEmpty)
        _ = s.press(.home, .char(" "), .char(" "), .char("d"))
        guard case .form(let f) = s.modal else { Issue.record("d must ask for a reason"); return }
        #expect(f.title == "Disable 2 agents")
        _ = s.press(.enter, .enter)
        guard case .confirm(let c) = s.modal else { Issue.record("then y/n"); return }
        #expect(c.question.hasPrefix("Disable 2 agents until enabled again?"))
        #expect(s.press(.char("y")) == [.disable(uuids: ["u-03", "u-05"], reason: nil, until: nil)])
        #expect(s.marked.isEmpty && s.modal == nil)
    }

    @Test func disableAndDeleteAskFirst() {
        var s = Fixtures.state()
        #expect(s.press(.char("d"), .enter, .enter) == [])
        #expect(s.press(.char("n")) == [])
        #expect(s.modal == nil)
        _ = s.press(.char("x"))
        #expect(s.press(.escape) == [])
        _ = s.press(.char("x"))
        #expect(s.press(.char("y")) == [.deleteAgent(uuid: "u-03", name: "build-ärm-03")])
    }

    @Test func editResourcesAndEnvironments() {
        var s = Fixtures.state()
        _ = s.press(.down, .down, .char("e"))
        guard case .form(let f) = s.modal else { Issue.record("e must open the form"); return }
        #expect(f.value("Resources") == "gpu,arm64" && f.value("Environments") == "prod")
        _ = s.type(",cuda12")
        _ = s.press(.tab, .backspace, .backspace, .backspace, .backspace)
        _ = s.type("staging, dev")
        #expect(s.press(.enter) == [.editAgent(uuid: "u-01", AgentPatch(resources: ["gpu", "arm64", "cuda12"], environments: ["staging", "dev"]))])
        _ = s.press(.char("e"), .tab)
        _ = s.type(" bad name!")
        #expect(s.press(.enter) == [])
        guard case .form(let bad) = s.modal else { Issue.record("a bad name keeps the form open"); return }
        #expect(bad.error?.contains("environments") == true)
    }

    @Test func filterAndSort() {
        var s = Fixtures.state()
        _ = s.press(.char("/"))
        _ = s.type("gpu")
        #expect(s.agentRows == ["u-01", "u-02", "u-06"])
        _ = s.press(.enter)
        #expect(s.modal == nil && s.agentFilter == "gpu")
        _ = s.press(.escape)
        #expect(s.agentFilter.isEmpty && s.agentRows.count == 6)
        _ = s.press(.char(">"))
        #expect(s.agentSort == .status)
        #expect(s.agentRows.first == "u-04", "lost contact first")
        _ = s.press(.char("s"))
        #expect(s.agentSortReversed && s.agentRows.last == "u-04", "s reverses")
        _ = s.press(.char("<"))
        #expect(s.agentSort == .name && !s.agentSortReversed)
        _ = s.press(.char("<"))
        #expect(s.agentSort == .lastSeen, "wraps around")
    }

    @Test func enterOpensTheCurrentJobsLog() {
        var s = Fixtures.state()
        _ = s.press(.down, .down, .down)
        #expect(s.press(.enter) == [.tailDetail(jobId: 41, offset: 0), .fetchAgentJobs(uuid: "u-02")], "the agent's detail first")
        #expect(s.press(.enter) == [.fetchLog(jobId: 41, .tail(sizeHint: 0)), .stopDetailTail])
        #expect(s.view == .log)
        #expect(s.press(.escape) == [.stopLog])
        #expect(s.view == .agents)
    }
}

@Suite struct JobKeyTests {
    @Test func newJobForm() {
        var s = Fixtures.state()
        _ = s.press(.char("2"), .char("n"))
        _ = s.type("smoke")
        _ = s.press(.enter)
        _ = s.type("echo one")
        _ = s.press(.enter)
        _ = s.type("echo two")
        _ = s.press(.enter, .enter)
        _ = s.type("gpu, arm64")
        #expect(s.press(.enter) == [.createJob(JobSpec(name: "smoke", commands: ["echo one", "echo two"], resources: ["gpu", "arm64"]))])
        #expect(s.modal == nil)
    }

    @Test func cancelAsksAndRerunDoesNot() {
        var s = Fixtures.state()
        _ = s.press(.char("2"), .down, .down, .char("c"))
        #expect(s.press(.char("y")) == [.cancelJob(41)])
        _ = s.press(.down)
        #expect(s.press(.char("c")) == [])
        #expect(s.modal == nil && s.message?.text.contains("already finished") == true)
        #expect(s.press(.char("r")) == [.rerunJob(40)])
    }

    @Test func enterOpensLogAndEscReturns() {
        var s = Fixtures.state()
        _ = s.press(.char("2"), .down)
        #expect(s.press(.enter) == [.fetchLog(jobId: 42, .tail(sizeHint: 0))])
        #expect(s.view == .log && s.log?.jobId == 42)
        #expect(s.press(.escape) == [.stopLog])
        #expect(s.view == .jobs && s.log == nil)
    }

    @Test func filterAndSortJobs() {
        var s = Fixtures.state()
        _ = s.press(.char("2"), .char("/"))
        _ = s.type("failed")
        #expect(s.jobRows == [40])
        _ = s.press(.escape)
        #expect(s.jobRows.count == 6)
        #expect(s.jobRows.first == 43, "newest first")
        _ = s.press(.char(">"), .char(">"))
        #expect(s.jobSort == .state && s.jobRows.first == 43)
        _ = s.press(.char("s"))
        #expect(s.jobRows.last == 43)
    }
}

@Suite struct ConfigKeyTests {
    @Test func addSecretEntry() {
        var s = Fixtures.state()
        _ = s.press(.char("3"), .char("n"))
        _ = s.type("TOKEN")
        _ = s.press(.tab, .char(" "), .tab)
        _ = s.type("hunter2")
        let screen = render(s, Fixtures.small).text
        #expect(!screen.contains("hunter2"), "secret input is not echoed")
        #expect(s.press(.enter) == [.putConfig(name: "TOKEN", ConfigEntryInput(value: "hunter2", secret: true))])
    }

    @Test func editAndDelete() {
        var s = Fixtures.state()
        _ = s.press(.char("3"), .end, .char("e"))
        guard case .form(let f) = s.modal else { Issue.record("e must open the form"); return }
        #expect(f.value("Value") == "rtmp://ingest.studio.lan/live")
        #expect(f.focus == 1, "the name of an existing entry is not editable")
        _ = s.press(.tab)
        _ = s.type("2")
        #expect(s.press(.enter) == [.putConfig(name: "STREAM_ENDPOINT", ConfigEntryInput(value: "rtmp://ingest.studio.lan/live2", secret: false))])
        _ = s.press(.home, .char("x"))
        #expect(s.press(.char("y")) == [.deleteConfig(name: "API_KEY")])
    }

    @Test func editingASecretNeedsANewValue() {
        var s = Fixtures.state()
        _ = s.press(.char("3"), .char("e"), .tab)
        #expect(s.press(.enter) == [])
        guard case .form(let f) = s.modal else { Issue.record("form must stay"); return }
        #expect(f.error?.contains("never shown") == true)
    }
}
