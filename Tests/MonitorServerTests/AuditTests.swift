import Foundation
import MMSTestSupport
import Testing
import MonitorModels
@testable import MonitorServer

/// The audit log: an entry for every kind of change, from operators and from the server itself, and
/// disables with a reason and an end.
@Suite struct AuditTests {
    private func audit(_ s: TestServer, _ query: String = "") async throws -> [AuditEntry] {
        try await s.call("GET", "/api/v1/audit\(query)", token: s.admin).decode(AuditPage.self).entries
    }

    @Test func everyKindOfAPIChangeIsAuditedWithWhoWhatAndWhere() async throws {
        let s = try TestServer()
        let bob = try await s.call("POST", "/api/v1/operators", token: s.admin, value: NewOperator(name: "bob", role: .operator))
            .decode(CreatedOperator.self).token
        let events = try await s.call("GET", "/api/v1/events", token: s.admin).decode(EventBatch.self).next
        let (uuid, _) = try await s.registerAgent("rec-01", enable: false)
        #expect(try await s.call("PATCH", "/api/v1/agents/\(uuid)", token: bob, json: #"{"configState":"enabled"}"#).status == 200)
        #expect(try await s.call("PATCH", "/api/v1/agents/\(uuid)", token: bob,
                                 json: #"{"configState":"disabled","reason":"replacing disks"}"#).status == 200)
        #expect(try await s.call("PATCH", "/api/v1/agents/\(uuid)", token: bob, json: #"{"name":"rec-01b","resources":["gpu"]}"#).status == 200)
        let job = try await s.call("POST", "/api/v1/jobs", token: bob, json: #"{"name":"build","commands":["true"]}"#).decode(Job.self)
        #expect(try await s.call("POST", "/api/v1/jobs/\(job.id)/cancel", token: bob).status == 202)
        let rerun = try await s.call("POST", "/api/v1/jobs/\(job.id)/rerun", token: bob).decode(Job.self)
        #expect(try await s.call("PUT", "/api/v1/config/API_KEY", token: s.admin, json: #"{"value":"hunter22","secret":true}"#).status == 200)
        #expect(try await s.call("DELETE", "/api/v1/config/API_KEY", token: s.admin).status == 204)
        #expect(try await s.call("DELETE", "/api/v1/agents/\(uuid)", token: s.admin).status == 204)

        let entries = try await audit(s)
        #expect(entries.map(\.action) == ["agent.delete", "config.delete", "config.put", "job.rerun", "job.cancel", "job.create",
                                          "agent.edit", "agent.disable", "agent.authorize", "operator.add"])
        #expect(entries.map(\.actor) == ["admin", "admin", "admin", "bob", "bob", "bob", "bob", "bob", "bob", "admin"])
        #expect(zip(entries, entries.dropFirst()).allSatisfy { $0.seq == $1.seq + 1 }, "gap-free, newest first")
        #expect(entries.allSatisfy { $0.from == "127.0.0.1" }, "\(entries.map { "\($0.action) \($0.from ?? "nil")" })")
        #expect(entries[1].target == AuditTarget(kind: "config", id: "API_KEY", name: "API_KEY"))
        #expect(!(try await s.call("GET", "/api/v1/audit", token: s.admin).text.contains("hunter22")), "no secret value in the log")
        #expect(entries[3].target.id == String(rerun.id) && entries[3].reason == "rerun of job \(job.id)")
        #expect(entries[6].reason == "name rec-01 -> rec-01b; resources [] -> [gpu]")
        #expect(entries[7].reason == "replacing disks" && entries[7].target == AuditTarget(kind: "agent", id: uuid, name: "rec-01"))

        let about = try await audit(s, "?target=\(uuid)")
        #expect(about.map(\.action) == ["agent.delete", "agent.edit", "agent.disable", "agent.authorize"])
        let newer = try await audit(s, "?since=\(entries[2].seq)&limit=1")
        #expect(newer.map(\.seq) == [entries[0].seq])
        #expect(try await s.call("GET", "/api/v1/audit?limit=0", token: s.admin).status == 400)
        #expect(try await s.call("GET", "/api/v1/audit?since=x", token: s.admin).status == 400)

        let batch = try await s.call("GET", "/api/v1/events?since=\(events)", token: s.admin).decode(EventBatch.self)
        let announced = batch.events.filter { $0.type == .auditAppended }.compactMap(\.audit?.seq)
        #expect(announced == entries.dropLast().map(\.seq).reversed(), "one audit.appended event per entry, in order")
    }

    @Test func disableWithAReasonAndAnEndShowsOnTheAgentAndEndsByItself() async throws {
        let s = try TestServer()
        let (uuid, _) = try await s.registerAgent("rec-07")
        let until = Date().addingTimeInterval(1.5)
        let patched = try await s.call("PATCH", "/api/v1/agents/\(uuid)", token: s.admin, json: """
            {"configState":"disabled","reason":"replacing disks","until":"\(RFC3339.format(until))"}
            """).decode(Agent.self)
        #expect(patched.configState == .disabled && patched.disabledReason == "replacing disks" && patched.disabledBy == "admin")
        #expect(patched.disabledAt != nil && abs((patched.disabledUntil ?? .distantPast).timeIntervalSince(until)) < 0.01)
        #expect(try await eventually(15) {
            try await s.call("GET", "/api/v1/agents/\(uuid)", token: s.admin).decode(Agent.self).configState == .enabled
        })
        let back = try await s.call("GET", "/api/v1/agents/\(uuid)", token: s.admin).decode(Agent.self)
        #expect(back.disabledReason == nil && back.disabledBy == nil && back.disabledAt == nil && back.disabledUntil == nil)
        let last = try #require(try await audit(s, "?target=\(uuid)").first)
        #expect(last.action == "agent.enable" && last.actor == "server" && last.from == nil)
        #expect(last.reason?.contains("replacing disks") == true)
    }

    @Test func anEndThatPassesWhileTheServerIsDownEnablesTheAgentAtStart() async throws {
        let s = try TestServer()
        let (a, _) = try await s.registerAgent("rec-a")
        let (b, _) = try await s.registerAgent("rec-b")
        let until = Date().addingTimeInterval(1)
        let bulk = try await s.call("PATCH", "/api/v1/agents", token: s.admin, json: """
            {"uuids":["\(a)","\(b)"],"configState":"disabled","reason":"rack move","until":"\(RFC3339.format(until))"}
            """).decode(AgentList.self)
        #expect(bulk.agents.allSatisfy { $0.disabledReason == "rack move" && $0.disabledUntil != nil })
        s.stop()
        while Date() < until.addingTimeInterval(0.2) { try await Task.sleep(nanoseconds: 100_000_000) }
        try s.restart()
        #expect(try await eventually(10) {
            try await s.call("GET", "/api/v1/agents", token: s.admin).decode(AgentList.self).agents.allSatisfy { $0.configState == .enabled }
        })
        let entries = try await audit(s).filter { $0.action == "agent.enable" }
        #expect(entries.count == 2 && entries.allSatisfy { $0.actor == "server" })
    }

    @Test func holdsAreCheckedBeforeAnythingChanges() async throws {
        let s = try TestServer()
        let (uuid, _) = try await s.registerAgent("rec-09")
        let past = RFC3339.format(Date().addingTimeInterval(-60))
        for body in [#"{"configState":"enabled","reason":"x"}"#, #"{"configState":"disabled","until":"\#(past)"}"#,
                     #"{"configState":"disabled","until":"tomorrow"}"#, #"{"reason":"x"}"#,
                     #"{"configState":"disabled","reason":"\#(String(repeating: "x", count: 501))"}"#,
                     #"{"configState":"disabled","reason":"a\u0007b"}"#] {
            let r = try await s.call("PATCH", "/api/v1/agents/\(uuid)", token: s.admin, json: body)
            #expect(r.status == 400, "\(body.prefix(60)): \(r.status) \(r.text)")
        }
        let bulk = try await s.call("PATCH", "/api/v1/agents", token: s.admin,
                                    json: #"{"uuids":["\#(uuid)"],"configState":"disabled","until":"\#(past)"}"#)
        #expect(bulk.status == 400)
        #expect(try await s.call("GET", "/api/v1/agents/\(uuid)", token: s.admin).decode(Agent.self).configState == .enabled)
        #expect(try await audit(s).filter { $0.target.id == uuid }.map(\.action) == ["agent.authorize"])
    }

    @Test func lostContactAndTheRescheduleItCausesAreAuditedAsTheServer() async throws {
        let s = try TestServer(lostContactAfter: 1)
        let (uuid, secret) = try await s.registerAgent("rec-lost")
        let job = try await s.createJob(JobSpec(name: "long", commands: ["sleep 60"]))
        let next = try await s.call("GET", "/api/v1/agents/\(uuid)/next?wait=5", token: secret)
        #expect(next.status == 200)
        // The agent now goes silent with its job: after a second it has lost contact (even if that came
        // sooner on a loaded machine, the entries are the same).
        #expect(try await eventually(15) { try await audit(s).contains { $0.action == "job.reschedule" } })
        let entries = try await audit(s)
        let lost = try #require(entries.first { $0.action == "agent.lost_contact" })
        let resched = try #require(entries.first { $0.action == "job.reschedule" })
        #expect(lost.actor == "server" && lost.target.id == uuid && lost.target.name == "rec-lost")
        #expect(resched.actor == "server" && resched.target == AuditTarget(kind: "job", id: String(job.id), name: "long"))
        #expect(resched.reason == "agent rec-lost lost contact; job rescheduled")
    }
}

/// Which audit entries a SQLite server announces after another process (`mms-server operator`) wrote some.
@Suite struct AuditWatchTests {
    static func entry(_ seq: Int64) -> AuditEntry {
        AuditEntry(seq: seq, at: Date(), actor: "local", action: "operator.add", target: AuditTarget(kind: "operator", id: "o\(seq)"))
    }

    @Test func foreignEntriesBetweenOwnOnesAreAnnouncedOnceOldestFirst() {
        var w = AuditWatch(watermark: 10)
        w.announced = [12, 14]  // this server's own, announced as they committed
        let fresh = [15, 14, 13, 12, 11].map(Self.entry)  // newest first, as the store reads them
        #expect(w.unannounced(fresh).map(\.seq) == [11, 13, 15])
        #expect(w.watermark == 15 && w.announced.isEmpty)
        #expect(w.unannounced([]).isEmpty && w.watermark == 15)
        w.announced = [16]
        #expect(w.unannounced([Self.entry(16)]).isEmpty && w.watermark == 16)
    }
}
