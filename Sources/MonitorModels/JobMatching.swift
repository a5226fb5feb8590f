/// Which agents can run which jobs: the one rule the server's dispatcher uses and the console's
/// impact preview ("2 jobs would have no agent") repeats, so both judge alike.
public enum JobMatching {
    /// True when `agent` has what `spec` needs (its config state and status aside): every resource the spec
    /// asks for, its environment when it names one, and a container runtime for a container job.
    public static func canRun(_ spec: JobSpec, on agent: Agent) -> Bool {
        if let env = spec.environment, !agent.environments.contains(env) { return false }
        if spec.runsInContainers && agent.containerRuntime == nil { return false }
        return spec.resources.allSatisfy { agent.resources.contains($0) }
    }

    /// True when some enabled agent among `agents` could run `spec`.
    public static func hasEnabledAgent(_ spec: JobSpec, among agents: some Sequence<Agent>) -> Bool {
        agents.contains { $0.configState == .enabled && canRun(spec, on: $0) }
    }

    /// The scheduled jobs that an enabled agent could run now but none could once the agents in `removed`
    /// are disabled or deleted, oldest first.
    public static func stranded(jobs: some Sequence<Job>, agents: some Collection<Agent>, removing removed: Set<String>) -> [Job] {
        let before = agents.filter { $0.configState == .enabled }
        let after = before.filter { !removed.contains($0.uuid) }
        return jobs.filter { j in
            j.state == .scheduled && hasEnabledAgent(j.spec, among: before) && !hasEnabledAgent(j.spec, among: after)
        }.sorted { $0.id < $1.id }
    }
}
