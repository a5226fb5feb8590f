import Foundation
import MonitorModels
import Testing
@testable import ConsoleUI

/// A job's ssh command in the console: shown on the selected job's line; `y` copies the job id in the
/// list (its detail copies the ssh command), through OSC 52.
@Suite struct SSHCommandTests {
    @Test func theSelectedJobShowsItsSSHCommandAndYCopiesIt() throws {
        var s = Fixtures.state(Fixtures.large)
        var job = try #require(Fixtures.jobs.first { $0.state == .building })
        job.sshCommand = "ssh -t -p 2222 ci@10.0.0.5"
        _ = s.update(.snapshot(agents: Fixtures.agents, jobs: Fixtures.jobs.map { $0.id == job.id ? job : $0 }))
        _ = s.press(.char("2"))
        while s.selectedJob?.id != job.id, s.press(.down) == [] { if s.selectedJob?.id == job.id { break } }
        #expect(s.selectedJob?.id == job.id)
        let screen = render(s, Fixtures.large).text
        #expect(screen.contains("ssh: ssh -t -p 2222 ci@10.0.0.5"))
        #expect(s.press(.char("y")) == [.copy(String(job.id))])
        #expect(OSC52.sequence("ssh -t -p 2222 ci@10.0.0.5") == "\u{1B}]52;c;c3NoIC10IC1wIDIyMjIgY2lAMTAuMC4wLjU=\u{07}")
    }
}
