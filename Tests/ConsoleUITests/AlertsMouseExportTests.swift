import Foundation
import MonitorModels
import Testing
@testable import ConsoleUI

/// Issue 16 items 5 and 6: alerts and the bell, mouse, CSV export, OSC 52 copy.
@Suite struct AlertsMouseExportTests {
    @Test func lostContactAndFailedJobsRingAndAreHighlighted() {
        var s = Fixtures.state()
        var a = Fixtures.agents[0]
        a.status = .lostContact
        #expect(s.update(.events([Event(seq: 1, type: .agentUpdated, agent: a)])) == [.bell])
        #expect(s.message == Message("⚠ rec-01 lost contact", isAlert: true))
        #expect(s.update(.events([Event(seq: 2, type: .agentUpdated, agent: a)])) == [], "only the change rings")
        var j = Fixtures.jobs[2]  // 41, building on rec-02
        j.state = .completed
        j.result = .failed
        j.failureReason = "command exited with 1"
        _ = s.press(.char("b"))
        #expect(s.bell == false)
        #expect(s.update(.events([Event(seq: 3, type: .jobUpdated, job: j)])) == [], "bell off: shown, silent")
        #expect(s.message?.text == "⚠ job 41 build-firmware failed on rec-02: command exited with 1")
        let b = render(s, Fixtures.small)
        #expect(b[22, 1].style == .alert)
        var passed = Fixtures.jobs[1]
        passed.state = .completed
        passed.result = .passed
        #expect(s.update(.events([Event(seq: 4, type: .jobUpdated, job: passed)])) == [])
        _ = s.press(.char("b"))
        let quick = Job(id: 77, spec: JobSpec(name: "quick", commands: ["false"]), state: .completed, result: .failed, exitCode: 1)
        let events = [Event(seq: 5, type: .jobUpdated, job: quick), Event(seq: 6, type: .jobUpdated, job: quick)]
        #expect(s.update(.events(events)) == [.bell], "a job created and failed between two polls rings, once")
        #expect(s.message?.text == "⚠ job 77 quick failed")
    }

    @Test func clicksSelectDoubleClicksOpenWheelScrollsTabsSwitch() {
        var s = Fixtures.state()
        #expect(s.update(.mouse(MouseEvent(.click, x: 10, y: Layout.listTop + 2))) == [])
        #expect(s.selectedAgent?.name == "rec-01")
        #expect(s.update(.mouse(MouseEvent(.wheelDown, x: 10, y: 8))) == [])
        #expect(s.selectedAgent?.name == "録画-04")
        #expect(s.update(.mouse(MouseEvent(.doubleClick, x: 10, y: Layout.listTop + 3))) == [.tailDetail(jobId: 41, offset: 0), .fetchAgentJobs(uuid: "u-02")])
        #expect(s.detailOpen && s.selectedAgent?.name == "rec-02")
        _ = s.press(.escape)
        _ = s.update(.mouse(MouseEvent(.click, x: 13, y: 2)))
        #expect(s.view == .jobs, "the Jobs tab")
        _ = s.update(.mouse(MouseEvent(.click, x: 36, y: 2)))
        #expect(s.view == .audit)
        _ = s.update(.mouse(MouseEvent(.click, x: 2, y: 2)))
        #expect(s.view == .agents)
        #expect(s.update(.mouse(MouseEvent(.click, x: 10, y: 20))) == [] && s.selectedAgent?.name == "rec-02", "below the rows: nothing")
    }

    @Test func exportWritesTheFilteredListAsCSV() throws {
        var s = Fixtures.state()
        s.exportDirectory = "/tmp/x"
        _ = s.press(.char("/"))
        _ = s.type("rec-0")
        _ = s.press(.enter)
        let effects = s.press(.char("E"))
        guard case .export(let path, let csv, let rows) = effects.first else { Issue.record("E exports"); return }
        #expect(path == "/tmp/x/mms-agents-20261118-110640.csv" && rows == 3)
        let lines = csv.components(separatedBy: "\r\n")
        #expect(lines[0].hasPrefix("name,status,config,host,"))
        #expect(lines[1].hasPrefix("rec-01,Idle,enabled,rec-01.studio.lan,0.1.0,gpu arm64,prod,,2026-11-18T11:06:37"))
        #expect(lines.count == 5 && lines[4] == "")
        #expect(CSVExport.field("a,\"b\"\nc") == "\"a,\"\"b\"\"\nc\"")
    }

    @Test func exportNeverOverwrites() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mms-export-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/a.csv"
        #expect(Runtime.write("x\r\n", to: path, rows: 1) == .exported(path: path, rows: 1))
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "x\r\n")
        #expect(Runtime.write("y\r\n", to: path, rows: 1) == .failed("not exported: \(path) already exists"))
    }

    @Test func copyTakesTheUuidTheIdOrTheSSHCommand() {
        var s = Fixtures.state()
        #expect(s.press(.char("y")) == [.copy("u-03")])
        var j = Fixtures.jobs[2]
        j.sshCommand = "ssh -p 2222 job-41@mms"
        _ = s.update(.events([Event(seq: 1, type: .jobUpdated, job: j)]))
        _ = s.press(.char("2"), .down, .down)
        #expect(s.press(.char("y")) == [.copy("41")])
        _ = s.press(.char("i"))
        #expect(s.press(.char("y")) == [.copy("ssh -p 2222 job-41@mms")])
    }
}
