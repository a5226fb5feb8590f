import Foundation
import MonitorModels

/// A delivered job's containers and SSH jump point, as the session sets them up for its runner.
extension AgentSession {
    /// True when the job has something to set up before its first command: containers, or keys this agent honours.
    func needsSetup(_ spec: JobSpec) -> Bool { runnerOptions.needsSetup(spec) }

    /// Names, containers and jump point for `job`'s runner; with `setup`, `building` (with the ssh command)
    /// is reported once the containers and the jump point are ready.
    func configureSetup(_ jobOptions: inout RunnerOptions, _ job: Job, _ running: RunningJob, setup: Bool) {
        jobOptions.configure(for: job, config: config, runtime: containerRuntime, workDir: options.workDir,
                             sshHost: serverSeenAddress, statsd: statsd)
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
