import Foundation
import MonitorModels

/// What a job's runner needs to know about the job itself, the same for pulled (`start`) and pushed
/// (`serve`) jobs: its label, the host its ssh command names, and its containers.
extension RunnerOptions {
    /// True when the job has something to set up before its first command: containers, or keys this agent honours.
    func needsSetup(_ spec: JobSpec) -> Bool {
        spec.runsInContainers || (!spec.sshPublicKeys.isEmpty && jumpPoint != nil)
    }

    /// These options for `job`: label `ID`, `sshHost` (unless `--ssh-host` names one), and, when it runs in
    /// containers and the agent has `runtime`, its containers with the configuration it may see (`config`).
    mutating func configure(for job: Job, config: AgentConfig?, runtime: ContainerRuntime?, workDir: String,
                            sshHost: String?, statsd: StatsD?) {
        jobLabel = "\(job.id)"
        self.sshHost = sshHost
        guard let runtime, job.spec.runsInContainers else { return }
        var settings = ContainerSettings(runtime: runtime, owner: workDir, prefix: ContainerSettings.prefix(owner: workDir, job: "\(job.id)"))
        if let name = job.spec.imagePullSecret { settings.pullSecret = config?.entries[name] }
        settings.jobEnvironment = JobEnvironment.build(agent: [:], config: config, spec: job.spec)
        if let statsd {
            settings.pulled = { statsd.containerPull(image: $0, duration: $1, failed: $2, job: job.name) }
        }
        containers = settings
    }
}
