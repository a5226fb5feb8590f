import Foundation
import Testing
@testable import MonitorModels
@testable import MonitorServer

extension DispatcherTests {
    /// A report judged and applied on one state (`acceptReport`, what a change runs under the cluster lock):
    /// after a reschedule the old attempt's report is refused and is no contact, so the silent agent is not
    /// handed the new attempt; a job completed meanwhile is job_finished; the current attempt applies.
    @Test func aReportIsJudgedOnTheStateItIsAppliedTo() {
        var d = makeDispatcher()
        let a = addAgent(&d, "a", at: at(0))
        _ = addJob(&d, 1, at: at(0))
        #expect(throws: Never.self) { _ = try d.acceptReport(1, from: a, JobStateReport(attempt: 1, state: .building), now: at(1)) }
        #expect(d.jobs[1]?.state == .building)
        _ = d.tick(now: at(62))  // lost contact: attempt 2 waits
        #expect(d.jobs[1]?.state == .scheduled && d.jobs[1]?.attempt == 2)
        let stale = #expect(throws: APIError.self) { try d.acceptReport(1, from: a, JobStateReport(attempt: 1, state: .building), now: at(63)) }
        #expect(stale?.knownCode == .jobReassigned)
        #expect(d.status(d.agents[a]!) == .lostContact && d.jobs[1]?.state == .scheduled && d.jobs[1]?.agentUuid == nil)
        _ = d.complete(1, result: .cancelled, exitCode: nil, reason: "cancelled by admin", now: at(64))
        let late = #expect(throws: APIError.self) { try d.acceptReport(1, from: a, JobStateReport(attempt: 2, state: .completed), now: at(65)) }
        #expect(late?.knownCode == .jobFinished)
    }
}
