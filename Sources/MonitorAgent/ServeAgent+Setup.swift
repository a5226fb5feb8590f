import Foundation
import MonitorModels

/// A push job's containers and SSH jump point, set up as `start` sets them up for a pulled job.
extension ServeAgent {
    /// True when the job has something to set up before its first command: containers, or keys this agent honours.
    func needsSetup(_ spec: JobSpec) -> Bool {
        spec.runsInContainers || (!spec.sshPublicKeys.isEmpty && runnerOptions.jumpPoint != nil)
    }

    /// The runner options of `request`'s job: its label, its containers (with the configuration it may see)
    /// and the host its ssh command names (`--ssh-host`, else `host`: how the server reached this agent).
    func runnerOptions(for request: PushJobRequest, host: String?) -> RunnerOptions {
        let job = request.job
        var o = runnerOptions
        o.jobLabel = "\(job.id)"
        o.sshHost = host  // `--ssh-host` (in the jump point settings) wins over it
        if let runtime = containerRuntime, job.spec.runsInContainers {
            let config = request.config.agentConfig
            var settings = ContainerSettings(runtime: runtime, owner: options.workDir,
                                             prefix: ContainerSettings.prefix(owner: options.workDir, job: "\(job.id)"))
            if let name = job.spec.imagePullSecret { settings.pullSecret = config.entries[name] }
            settings.jobEnvironment = JobEnvironment.build(agent: [:], config: config, spec: job.spec)
            if let statsd {
                settings.pulled = { statsd.containerPull(image: $0, duration: $1, failed: $2, job: job.name) }
            }
            o.containers = settings
        }
        return o
    }
}
