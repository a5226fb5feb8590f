import MonitorModels

/// The environment a job sees (contract, "Jobs"): the agent's own, then every non-secret configuration
/// entry, then the secret entries the job names, then the job's `env`; later wins.
public enum JobEnvironment {
    /// Agent variables that are the agent's own credentials and never reach a job.
    public static let withheld: Set<String> = ["MMS_AUTO_REGISTER_KEY", "MMS_AGENT_AUTH_TOKEN_SECRET"]

    /// Builds the layered environment for `spec`.
    public static func build(agent: [String: String], config: AgentConfig?, spec: JobSpec) -> [String: String] {
        var env = agent.filter { !withheld.contains($0.key) }
        if let config {
            let secret = Set(config.secret)
            for (name, value) in config.entries where !secret.contains(name) { env[name] = value }
            for name in spec.secrets { if secret.contains(name), let value = config.entries[name] { env[name] = value } }
        }
        for (name, value) in spec.env { env[name] = value }
        return env
    }

    /// The secret values to mask in logs: every value named secret, 4 characters or longer.
    public static func maskedValues(_ config: AgentConfig?) -> [String] {
        guard let config else { return [] }
        return config.secret.compactMap { config.entries[$0] }.filter { $0.count >= 4 }
    }
}
