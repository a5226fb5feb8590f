import Foundation
import Testing
@testable import MonitorModels
@testable import MonitorServer

/// Container jobs in the dispatcher: only agents with a container runtime take them, the others leave them
/// waiting with a reason; a later registration updates the runtime; the building report's ssh command is kept
/// while the job runs.
@Suite struct ContainerDispatchTests {
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)
    func at(_ s: TimeInterval) -> Date { t0.addingTimeInterval(s) }

    func register(_ d: inout Dispatcher, _ name: String, runtime: String?, at time: Date) -> String {
        let req = RegisterRequest(uuid: "uuid-\(name)", name: name, hostname: name, os: "linux", containerRuntime: runtime)
        _ = d.register(req, secretHash: "h", ipAddress: nil, autoEnable: true, now: time)
        return req.uuid
    }

    func containerJob(_ id: Int64, resources: [String] = [], at time: Date) -> Job {
        Job(id: id, spec: JobSpec(name: "c\(id)", commands: ["true"], resources: resources,
                                  containers: [ContainerSpec(name: "main", image: "debian:12")]), createdAt: time)
    }

    @Test func containerJobsGoOnlyToAgentsWithARuntime() {
        var d = Dispatcher(lostContactAfter: 60, startedAt: t0)
        let plain = register(&d, "plain", runtime: nil, at: at(0))
        _ = d.add(containerJob(1, at: at(1)), now: at(1))
        #expect(d.jobs[1]?.state == .scheduled)
        #expect(d.waitingReason(d.jobs[1]!, now: at(1)) == "no agent can run containers")
        _ = d.add(containerJob(2, resources: ["big"], at: at(1)), now: at(1))
        #expect(d.waitingReason(d.jobs[2]!, now: at(1)) == "no agent has resources [big]")
        // The same agent registers again, now with podman: it takes the container job.
        _ = register(&d, "plain", runtime: "podman 4.3.1", at: at(2))
        #expect(d.agents[plain]?.agent.containerRuntime == "podman 4.3.1")
        #expect(d.jobs[1]?.agentUuid == plain)
        // Registering without one clears it.
        _ = d.report(1, JobStateReport(attempt: 1, state: .completed, exitCode: 0), now: at(3))
        _ = register(&d, "plain", runtime: nil, at: at(4))
        #expect(d.agents[plain]?.agent.containerRuntime == nil)
    }

    @Test func theSSHCommandComesWithBuildingAndGoesWithTheJob() {
        var d = Dispatcher(lostContactAfter: 60, startedAt: t0)
        let box = register(&d, "box", runtime: nil, at: at(0))
        _ = d.add(Job(id: 1, spec: JobSpec(name: "j", commands: ["true"]), createdAt: at(1)), now: at(1))
        #expect(d.jobs[1]?.agentUuid == box)
        _ = d.report(1, JobStateReport(attempt: 1, state: .preparing), now: at(2))
        #expect(d.jobs[1]?.sshCommand == nil)
        _ = d.report(1, JobStateReport(attempt: 1, state: .building, sshCommand: "ssh -t -p 22 ci@10.0.0.5"), now: at(3))
        #expect(d.jobs[1]?.sshCommand == "ssh -t -p 22 ci@10.0.0.5")
        let done = d.report(1, JobStateReport(attempt: 1, state: .completed, exitCode: 0), now: at(4))
        #expect(done.jobs[1]?.sshCommand == nil)
    }
}
