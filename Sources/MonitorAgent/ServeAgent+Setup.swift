import Foundation
import MonitorModels

/// A push job's containers and SSH jump point, set up as `start` sets them up for a pulled job.
extension ServeAgent {
    /// True when the job has something to set up before its first command: containers, or keys this agent honours.
    func needsSetup(_ spec: JobSpec) -> Bool { runnerOptions.needsSetup(spec) }

    /// The runner options of `request`'s job: its label, its containers (with the configuration it may see)
    /// and the host its ssh command names (`--ssh-host`, else `host`: how the server reached this agent).
    func runnerOptions(for request: PushJobRequest, host: String?) -> RunnerOptions {
        var o = runnerOptions
        o.configure(for: request.job, config: request.config.agentConfig, runtime: containerRuntime, workDir: options.workDir,
                    sshHost: host, statsd: statsd)  // `--ssh-host` (in the jump point settings) wins over `host`
        return o
    }
}
