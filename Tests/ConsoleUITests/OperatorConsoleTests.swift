import Foundation
import MonitorModels
import Testing
@testable import ConsoleUI

/// Issue 12 in the console: who you are, what your role may do, disable with a reason and an end,
/// the impact preview, the Audit view.
@Suite struct OperatorConsoleTests {
    static let gpuJob = Job(id: 44, spec: JobSpec(name: "build-gpu", commands: ["make"], resources: ["gpu"]),
                            waitingReason: "1 matching agent is busy", createdAt: Fixtures.ago(20))

    static func entry(_ seq: Int64, _ actor: String, _ action: String, _ name: String, reason: String? = nil) -> AuditEntry {
        AuditEntry(seq: seq, at: Fixtures.ago(Double(100 - seq) * 60), actor: actor, action: action,
                   target: AuditTarget(kind: "agent", id: "u-\(seq)", name: name), reason: reason, from: "10.0.0.7")
    }

    static let entries = [
        entry(12, "alice", "agent.disable", "rec-01", reason: "replacing disks"),
        entry(11, "server", "agent.lost_contact", "録画-04"),
        entry(10, "bob", "job.create", "nightly-render"),
        entry(9, "admin", "agent.authorize", "rec-02"),
    ]

    static func state(_ size: Size = Fixtures.small, role: OperatorRole, name: String = "bob") -> AppState {
        var s = Fixtures.state(size)
        _ = s.update(.whoami(OperatorIdentity(name: name, role: role)))
        return s
    }

    @Test func aViewerIsToldWhichRoleAKeyNeeds() {
        var s = Self.state(role: .viewer)
        #expect(s.press(.char("a")) == [])
        #expect(s.message?.text == "cannot authorize agents: that needs the operator role; you are bob (viewer)")
        #expect(s.message?.isError == true)
        #expect(s.press(.char("d")) == [] && s.modal == nil)
        #expect(s.press(.char("2"), .char("n")) == [] && s.modal == nil)
        #expect(s.message?.text.contains("needs the operator role") == true)
    }

    @Test func anOperatorMayDisableButNotDelete() {
        var s = Self.state(role: .operator)
        _ = s.press(.char("d"))
        guard case .form = s.modal else { Issue.record("an operator may disable"); return }
        _ = s.press(.escape, .char("x"))
        #expect(s.modal == nil)
        #expect(s.message?.text == "cannot delete agents: that needs the admin role; you are bob (operator)")
        _ = s.press(.char("3"), .char("n"))
        #expect(s.modal == nil && s.message?.text.contains("needs the admin role") == true)
    }

    @Test func deniedKeysAreDimmedInFooterAndHelp() {
        var s = Self.state(role: .viewer)
        let b = render(s, Fixtures.small)
        let footer = (0..<80).map { b[23, $0] }
        let a = footer.firstIndex { $0.text == "a" } ?? 0
        #expect(footer[a].style == .denied, "a authorize is dimmed for a viewer")
        let slash = footer.firstIndex { $0.text == "/" } ?? 0
        #expect(footer[slash].style == .key, "/ filter is not")
        _ = s.press(.char("?"))
        #expect(render(s, Fixtures.small).text.contains("(operator role)"))
        var admin = Self.state(role: .admin)
        let ab = render(admin, Fixtures.small)
        #expect(!(0..<80).contains { ab[23, $0].style == .denied })
        _ = admin.press(.char("?"))
        #expect(!render(admin, Fixtures.small).text.contains("role)"))
    }

    @Test func headerShowsWhoYouAre() {
        let s = Self.state(role: .operator, name: "alice")
        #expect(render(s, Fixtures.small).line(0).contains("alice (operator)"))
    }

    @Test func disableAsksReasonAndDuration() {
        var s = Self.state(role: .operator)
        _ = s.press(.down, .down, .char("d"))
        _ = s.type("replacing disks")
        _ = s.press(.tab)
        _ = s.type("2h")
        _ = s.press(.enter)
        guard case .confirm(let c) = s.modal else { Issue.record("asks y/n"); return }
        #expect(c.question.hasPrefix("Disable rec-01 for 2h (replacing disks)?"))
        #expect(s.press(.char("y")) == [.disable(uuids: ["u-01"], reason: "replacing disks", until: Fixtures.now.addingTimeInterval(7200))])
    }

    @Test func aBadDurationIsShownInTheForm() {
        var s = Self.state(role: .operator)
        _ = s.press(.char("d"), .tab)
        _ = s.type("soon")
        #expect(s.press(.enter) == [])
        guard case .form(let f) = s.modal else { Issue.record("the form stays"); return }
        #expect(f.error == "\"soon\" is not a duration: type 30m, 2h or 1d, or leave it blank")
    }

    @Test func durations() throws {
        #expect(try HoldDuration.parse("30m") == 1800)
        #expect(try HoldDuration.parse(" 2H ") == 7200)
        #expect(try HoldDuration.parse("1d") == 86400)
        #expect(try HoldDuration.parse("1h30m") == 5400)
        #expect(try HoldDuration.parse("") == nil)
        for bad in ["5", "m", "2x", "0m", "-1h", "400d", "1.5h"] {
            #expect(throws: HoldDurationError.self) { try HoldDuration.parse(bad) }
        }
        #expect(HoldDuration.said(5400) == "1h 30m")
        #expect(HoldDuration.said(59) == "59s")
        #expect(HoldDuration.said(2 * 86400) == "2d")
    }

    @Test func disableAndDeleteListTheJobsLeftWithoutAnAgent() {
        var s = Self.state(role: .admin)
        _ = s.update(.events([Event(seq: 1, type: .jobUpdated, job: Self.gpuJob)]))
        // rec-01 and rec-02 are the enabled agents with gpu (rec-06 too, missing but enabled).
        _ = s.press(.home)
        while s.selectedAgent?.name != "rec-01" { _ = s.press(.down) }
        _ = s.press(.char(" "), .char(" "))
        while s.selectedAgent?.name != "rec-06" { _ = s.press(.down) }
        _ = s.press(.char(" "), .char("d"), .enter, .enter)
        guard case .confirm(let c) = s.modal else { Issue.record("asks y/n"); return }
        #expect(c.question.hasSuffix("1 job would have no agent: #44 build-gpu."), "\(c.question)")
        _ = s.press(.char("n"))
        while s.selectedAgent?.name != "rec-01" { _ = s.press(.up) }
        _ = s.press(.char("x"))
        guard case .confirm(let d) = s.modal else { Issue.record("asks y/n"); return }
        #expect(!d.question.contains("would have no agent"), "rec-02 and rec-06 still have gpu: \(d.question)")
    }

    @Test func strandedJudgesLikeTheServer() {
        let agents = [
            Agent(uuid: "a", name: "a", configState: .enabled, resources: ["gpu"], environments: ["prod"]),
            Agent(uuid: "b", name: "b", configState: .enabled, resources: ["gpu"]),
            Agent(uuid: "c", name: "c", configState: .disabled, resources: ["gpu"], environments: ["prod"]),
        ]
        let prod = Job(id: 1, spec: JobSpec(name: "p", commands: ["x"], resources: ["gpu"], environment: "prod"))
        let any = Job(id: 2, spec: JobSpec(name: "q", commands: ["x"], resources: ["gpu"]))
        let done = Job(id: 3, spec: prod.spec, state: .completed)
        #expect(JobMatching.stranded(jobs: [prod, any, done], agents: agents, removing: ["a"]).map(\.id) == [1])
        #expect(JobMatching.stranded(jobs: [prod, any, done], agents: agents, removing: ["a", "b"]).map(\.id) == [1, 2])
        #expect(JobMatching.stranded(jobs: [prod, any], agents: agents, removing: ["c"]).isEmpty, "c was not enabled")
    }

    @Test func aDisabledRowSaysByWhomWhyAndUntilWhen() {
        var s = Self.state(role: .operator)
        var a = s.agents["u-05"]!
        a.disabledBy = "alice"
        a.disabledReason = "replacing disks"
        a.disabledAt = Fixtures.ago(60)
        a.disabledUntil = Fixtures.now.addingTimeInterval(7080)
        _ = s.update(.events([Event(seq: 2, type: .agentUpdated, agent: a)]))
        let text = render(s, Size(width: 120, height: 40)).text
        #expect(text.contains("alice: replacing disks · 1h 58m left"), "\(text)")
        a.disabledUntil = nil
        #expect(holdText(a, now: Fixtures.now) == "alice: replacing disks · until enabled")
    }

    @Test func auditViewLoadsThenFollowsEvents() {
        var s = Self.state(role: .viewer)
        #expect(s.press(.char("4")) == [.loadAudit(since: nil)])
        #expect(s.view == .audit)
        #expect(s.update(.auditLoaded(Array(Self.entries.dropFirst()))) == [])
        #expect(s.audit.rows.count == 3)
        #expect(s.update(.events([Event(seq: 5, type: .auditAppended)])) == [.loadAudit(since: 11)])
        #expect(s.update(.events([Event(seq: 6, type: .auditAppended)])) == [], "one read at a time")
        #expect(s.update(.auditLoaded([Self.entries[0]])) == [.loadAudit(since: 12)], "the second event is read after")
        #expect(s.update(.auditLoaded([])) == [])
        #expect(s.selectedAuditEntry?.seq == 12, "newest first")
        _ = s.press(.char("/"))
        _ = s.type("disks")
        #expect(s.audit.rows.count == 1)
        _ = s.press(.enter, .escape)
        #expect(s.audit.rows.count == 4)
    }

    @Test func auditEventsCarryingTheNextEntryNeedNoRead() {
        var s = Self.state(role: .viewer)
        _ = s.press(.char("4"))
        _ = s.update(.auditLoaded(Self.entries))
        let next = Self.entry(13, "alice", "agent.enable", "rec-01")
        #expect(s.update(.events([Event(seq: 7, type: .auditAppended, audit: next)])) == [])
        #expect(s.selectedAuditEntry?.seq == 13 || s.audit.entries.first?.seq == 13)
        let gap = Self.entry(15, "alice", "agent.enable", "rec-02")
        #expect(s.update(.events([Event(seq: 8, type: .auditAppended, audit: gap)])) == [.loadAudit(since: 13)], "14 was missed")
    }

    @Test func auditEventsBeforeTheViewOpensReadNothing() {
        var s = Self.state(role: .viewer)
        #expect(s.update(.events([Event(seq: 5, type: .auditAppended)])) == [])
    }

    @Test func snapshots() {
        assertSnapshots({ size in
            var s = Self.state(size, role: .viewer, name: "carol")
            _ = s.press(.char("a"))
            return s
        }, named: "agents-viewer-refused", wide: true)
        assertSnapshots({ size in
            var s = Self.state(size, role: .operator)
            _ = s.press(.down, .down, .char("d"))
            _ = s.type("replacing disks")
            _ = s.press(.tab)
            _ = s.type("2h")
            return s
        }, named: "form-disable", wide: true)
        assertSnapshots({ size in
            var s = Self.state(size, role: .operator)
            _ = s.update(.events([Event(seq: 1, type: .jobUpdated, job: Self.gpuJob)]))
            for name in ["rec-01", "rec-02", "rec-06"] {
                while s.selectedAgent?.name != name { _ = s.press(.down) }
                _ = s.press(.char(" "))
                _ = s.press(.home)
            }
            _ = s.press(.char("d"))
            _ = s.type("rack move")
            _ = s.press(.enter, .enter)
            return s
        }, named: "confirm-disable-impact", wide: true)
        assertSnapshots({ size in
            var s = Self.state(size, role: .viewer)
            _ = s.press(.char("4"))
            _ = s.update(.auditLoaded(Self.entries))
            return s
        }, named: "audit", wide: true)
        assertSnapshots({ size in
            var s = Self.state(size, role: .viewer)
            _ = s.press(.char("?"))
            return s
        }, named: "help-agents-viewer", wide: true)
    }
}
