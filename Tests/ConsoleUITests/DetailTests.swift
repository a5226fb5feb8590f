import Foundation
import MonitorModels
import ServerAPIClient
import Testing
@testable import ConsoleUI

/// Issue 16: the detail pane, the fleet history sparklines.
@Suite struct DetailTests {
    static let wide = Size(width: 160, height: 48)

    static func state(_ size: Size) -> AppState {
        var s = Fixtures.state(size)
        _ = s.update(.whoami(OperatorIdentity(name: "alice", role: .operator)))
        // rec-01 failed three jobs that passed on rec-02: flaky.
        var extra: [Job] = []
        for (i, name) in ["render-a", "render-b", "render-c"].enumerated() {
            let id = Int64(30 - 2 * i)
            extra.append(Job(id: id, spec: JobSpec(name: name, commands: ["make"]), state: .completed, result: .failed, exitCode: 1,
                             agentUuid: "u-01", agentName: "rec-01", createdAt: Fixtures.ago(9000), startedAt: Fixtures.ago(8000),
                             finishedAt: Fixtures.ago(7900)))
            extra.append(Job(id: id - 1, spec: JobSpec(name: name, commands: ["make"]), state: .completed, result: .passed,
                             agentUuid: "u-02", agentName: "rec-02", createdAt: Fixtures.ago(9000), startedAt: Fixtures.ago(8000),
                             finishedAt: Fixtures.ago(7950)))
        }
        var build = Fixtures.jobs.first { $0.id == 41 }!
        build.sshCommand = "ssh -t -p 2222 job-41@mms.studio.lan"
        build.logSize = 4000
        _ = s.update(.events((extra + [build]).map { Event(seq: 1, type: .jobUpdated, job: $0) }))
        s.message = nil  // the failed history jobs raised an alert; these screens are about the detail
        s.agents["u-01"]?.freeSpaceBytes = 13_207_024_435  // from its last ping
        _ = s.update(.statsLoaded(FleetStats(step: 60, waiting: [nil, nil] + (0..<28).map { $0 % 7 }, running: [nil, nil] + (0..<28).map { $0 / 4 }, agents: [:])))
        return s
    }

    @Test func theDetailTailsTheSelectedJobAndMovesWithTheCursor() {
        var s = Self.state(Self.wide)
        #expect(s.detailShown)
        _ = s.press(.home)
        var effects = s.press(.char("2"))
        #expect(effects == [.tailDetail(jobId: 43, offset: 0)], "the newest job is selected")
        effects = s.press(.down, .down)
        #expect(effects == [.tailDetail(jobId: 42, offset: 0), .tailDetail(jobId: 41, offset: 0)])
        _ = s.update(.detailLog(jobId: 41, LogSlice(offset: 0, bytes: Data("one\ntwo\nthr".utf8), totalSize: 11, complete: false)))
        _ = s.update(.detailLog(jobId: 41, LogSlice(offset: 11, bytes: Data("ee\n".utf8), totalSize: 14, complete: false)))
        #expect(s.detailTail?.lines == ["one", "two", "three"])
        #expect(render(s, Self.wide).text.contains(" three"))
        #expect(s.press(.char("3")) == [.loadConfig, .stopDetailTail])
    }

    @Test func belowTheSplitIOpensTheDetailFullScreen() {
        var s = Self.state(Fixtures.small)
        #expect(!s.detailShown)
        _ = s.press(.down, .down, .down)  // rec-02, building job 41
        #expect(s.press(.char("i")) == [.tailDetail(jobId: 41, offset: 0), .fetchAgentJobs(uuid: "u-02")])
        #expect(render(s, Fixtures.small).text.contains("rec-02 · Building"))
        #expect(s.press(.escape) == [.stopDetailTail])
        #expect(s.press(.enter) == [.tailDetail(jobId: 41, offset: 0), .fetchAgentJobs(uuid: "u-02")], "Enter on an agent opens its detail")
        #expect(s.press(.enter) == [.fetchLog(jobId: 41, .tail(sizeHint: 4000)), .stopDetailTail], "Enter again opens its job's log")
        #expect(s.view == .log)
    }

    @Test func aTailStartingMidLogDropsTheCutLine() {
        var t = DetailTail(jobId: 1, offset: 100)
        t.take(LogSlice(offset: 100, bytes: Data("cut line\nwhole\n".utf8), totalSize: 115, complete: false))
        #expect(t.lines == ["whole"])
        t.take(LogSlice(offset: 50, bytes: Data("stale\n".utf8), totalSize: 115, complete: false))
        #expect(t.lines == ["whole"] && t.offset == 115)
    }

    @Test func aPushAgentWithNoOSShowsItsVersionAndRuntimeOnly() {
        let s = Self.state(Self.wide)
        var a = s.agents["u-01"]!
        (a.os, a.kind, a.containerRuntime) = ("", .push, "podman 4.3.1")
        let line = agentDetailLines(a, s).first { $0.label == "os" }
        #expect(line?.value == "version \(a.version) · podman 4.3.1", "\(String(describing: line))")
        a.version = ""
        a.containerRuntime = nil
        #expect(agentDetailLines(a, s).first { $0.label == "os" }?.value == "-")
    }

    @Test func flakyAgentsAreFlagged() {
        let s = Self.state(Self.wide)
        let rec01 = AgentRecord(s.agents["u-01"]!, jobs: s.jobs)
        #expect(rec01.suspectFailures == 3 && rec01.flaky)
        #expect(!AgentRecord(s.agents["u-02"]!, jobs: s.jobs).flaky)
        #expect(rec01.recent.first?.id == 40 || rec01.recent.contains { $0.id == 30 })
        #expect(render(s, Self.wide).text.contains("12.3 GiB free") == (s.selectedAgent?.uuid == "u-01"))
    }

    @Test func theShownAgentsLastJobsAreReadAndReadAgainOnItsJobEventsAtMostOnceASecond() {
        var s = Self.state(Fixtures.small)
        _ = s.press(.down, .down, .down)  // rec-02
        #expect(s.press(.char("i")) == [.tailDetail(jobId: 41, offset: 0), .fetchAgentJobs(uuid: "u-02")])
        #expect(s.agentJobs?.inFlight == true)
        // Its own history from the server: an old failure the console does not hold.
        let old = Job(id: 3, spec: JobSpec(name: "old-one", commands: ["true"]), state: .completed, result: .failed, exitCode: 2,
                      agentUuid: "u-02", agentName: "rec-02", createdAt: Fixtures.ago(90000), startedAt: Fixtures.ago(89000),
                      finishedAt: Fixtures.ago(88880))
        let stranger = Job(id: 4, spec: JobSpec(name: "not-mine", commands: ["true"]), agentUuid: "u-01", agentName: "rec-01")
        #expect(s.update(.agentJobsLoaded(uuid: "u-02", .success([old, stranger]))) == [])
        #expect(s.agentJobs?.jobs == [old], "an older server ignoring agent= lists others' jobs: dropped")
        #expect(render(s, Fixtures.small).text.contains("#3"))
        // A job event for rec-02 asks for a new read, but not within a second of the last one.
        var moved = s.jobs[41]!
        moved.state = .completed
        moved.result = .passed
        #expect(s.update(.events([Event(seq: 2, type: .jobUpdated, job: moved)])) == [])
        #expect(s.agentJobs?.stale == true)
        #expect(s.update(.tick(Fixtures.now.addingTimeInterval(0.5))) == [], "within a second of the last read")
        #expect(s.update(.tick(Fixtures.now.addingTimeInterval(1.5))) == [.fetchAgentJobs(uuid: "u-02")])
        #expect(s.update(.tick(Fixtures.now.addingTimeInterval(1.7))) == [], "nothing new since")
        // A job of another agent does not; a failed read keeps the console's own jobs on screen.
        _ = s.update(.events([Event(seq: 3, type: .jobUpdated, job: stranger)]))
        _ = s.update(.agentJobsLoaded(uuid: "u-02", .failure(AgentJobsError("server busy"))))
        #expect(s.agentJobs?.stale == false && s.agentJobs?.jobs == [old])
        #expect(s.update(.tick(Fixtures.now.addingTimeInterval(5))) == [])
        #expect(render(s, Fixtures.small).text.contains("server busy"))
        #expect(s.press(.escape) == [.stopDetailTail] && s.agentJobs == nil)
    }

    @Test func theFlakyFlagCountsTheAgentsOwnLast50FromTheServer() {
        let s = Self.state(Self.wide)
        let rec02 = s.agents["u-02"]!
        #expect(!AgentRecord(rec02, jobs: s.jobs).flaky)
        // Three failures the console does not hold, of names that passed only on rec-02 itself: not flaky.
        let fails = (1...3).map { i in
            Job(id: Int64(i), spec: JobSpec(name: "render-\(["a", "b", "c"][i - 1])", commands: ["make"]), state: .completed,
                result: .failed, agentUuid: "u-02", agentName: "rec-02")
        }
        #expect(!AgentRecord(rec02, jobs: s.jobs, fetched: fails).flaky, "those names passed only on rec-02 itself")
        let elsewhere = fails.map { f in
            var j = f
            j.id += 100
            j.result = .passed
            j.agentUuid = "u-03"
            j.agentName = "rec-03"
            return j
        }
        var held = s.jobs
        for j in elsewhere { held[j.id] = j }
        let record = AgentRecord(rec02, jobs: held, fetched: fails)
        #expect(record.flaky && record.suspectFailures == 3)
        let busy = (200..<260).map {
            Job(id: Int64($0), spec: JobSpec(name: "x", commands: ["true"]), state: .completed, result: .passed, agentUuid: "u-02", agentName: "rec-02")
        }
        #expect(!AgentRecord(rec02, jobs: held, fetched: fails + busy).flaky, "older than its last 50")
        #expect(record.recent.count <= 20)
    }

    @Test func sparklines() {
        #expect(Sparkline.draw([nil, 0, 1, 2, 4, 8], width: 6, unicode: true) == " ▁▂▂▄█", "zero is the floor; any job shows above it")
        #expect(Sparkline.draw([nil, 0, 1, 2, 4, 8], width: 6, unicode: false) == " _::=@")
        #expect(Sparkline.draw(Array(repeating: 3, count: 30), width: 10, unicode: true) == String(repeating: "█", count: 10))
        #expect(Sparkline.bucket([1, 5, 2, 2, nil, nil], into: 3) == [5, 2, nil])
        #expect(AppState.withLive([1, 2, nil], 7) == [1, 2, 7])
    }

    @Test func historyIsReadOnceAMinute() {
        var s = Fixtures.state()
        #expect(s.update(.tick(Fixtures.now)) == [.loadStats])
        #expect(s.update(.tick(Fixtures.now.addingTimeInterval(30))) == [])
        #expect(s.update(.tick(Fixtures.now.addingTimeInterval(61))) == [.loadStats])
    }

    @Test func snapshots() {
        for size in [Self.wide, Fixtures.small] {
            let name = "\(size.width)x\(size.height)"
            var s = Self.state(size)
            while s.selectedAgent?.name != "rec-01" { _ = s.press(.down) }
            if size == Fixtures.small { _ = s.press(.char("i")) }
            assertSnapshot(render(s, size), named: "detail-agent-\(name)")
            s = Self.state(size)
            _ = s.press(.char("2"), .down, .down)
            if size == Fixtures.small { _ = s.press(.char("i")) }
            _ = s.update(.detailLog(jobId: 41, Fixtures.logSlice(lines: 40)))
            assertSnapshot(render(s, size), named: "detail-job-\(name)")
        }
        var ascii = Self.state(Self.wide)
        ascii.unicode = false
        assertSnapshot(render(ascii, Self.wide), named: "agents-ascii-sparklines-160x48")
    }
}
