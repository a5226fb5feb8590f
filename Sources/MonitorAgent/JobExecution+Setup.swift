import Foundation
import MonitorModels

/// A delivered job's containers and SSH jump point, as the session sets them up for its runner.
extension AgentSession {
    /// True when the job has something to set up before its first command: containers, or keys this agent honours.
    func needsSetup(_ spec: JobSpec) -> Bool {
        spec.runsInContainers || (!spec.sshPublicKeys.isEmpty && runnerOptions.jumpPoint != nil)
    }

    /// Names, containers and jump point for `job`'s runner; with `setup`, `building` (with the ssh command)
    /// is reported once the containers and the jump point are ready.
    func configureSetup(_ jobOptions: inout RunnerOptions, _ job: Job, _ running: RunningJob, setup: Bool) {
        jobOptions.jobLabel = "\(job.id)"
        jobOptions.sshHost = serverSeenAddress
        if let runtime = containerRuntime, job.spec.runsInContainers {
            var settings = ContainerSettings(runtime: runtime, owner: options.workDir, prefix: ContainerSettings.prefix(owner: options.workDir, job: "\(job.id)"))
            if let name = job.spec.imagePullSecret { settings.pullSecret = config?.entries[name] }
            settings.jobEnvironment = JobEnvironment.build(agent: [:], config: config, spec: job.spec)
            if let statsd {
                settings.pulled = { statsd.containerPull(image: $0, duration: $1, failed: $2, job: job.name) }
            }
            jobOptions.containers = settings
        }
        guard setup else { return }
        jobOptions.onCommandsStart = { [weak self] sshCommand in
            guard let self else { return false }
            let report = JobStateReport(attempt: job.attempt, state: .building, sshCommand: sshCommand)
            let ok = await self.report(job, report, running)
            if ok { running.setRuntime(.building) }
            return ok
        }
    }
}
