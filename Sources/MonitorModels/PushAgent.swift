import Foundation

/// What a job may see of the server's configuration, as the server hands it to a push agent
/// (`POST /jobs`): every non-secret entry and the secret entries the job names; `secret` lists the
/// names whose values the agent masks in the log.
public struct PushJobConfig: Codable, Sendable, Equatable {
    public var entries: [String: String]
    public var secret: [String]
    public init(entries: [String: String] = [:], secret: [String] = []) {
        self.entries = entries
        self.secret = secret
    }

    enum CodingKeys: String, CodingKey { case entries, secret }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        entries = try c.decodeIfPresent([String: String].self, forKey: .entries) ?? [:]
        secret = try c.decodeIfPresent([String].self, forKey: .secret) ?? []
    }

    /// The same entries in the shape `mms-agent start` reads them in.
    public var agentConfig: AgentConfig { AgentConfig(version: 0, entries: entries, secret: secret) }
}

/// Body of a push agent's `POST /jobs`: the job as `next` delivers it (flat, as JOB), plus `config`.
public struct PushJobRequest: Codable, Sendable, Equatable {
    public var job: Job
    public var config: PushJobConfig

    public init(job: Job, config: PushJobConfig = PushJobConfig()) {
        self.job = job
        self.config = config
    }

    enum CodingKeys: String, CodingKey { case config }

    public init(from decoder: Decoder) throws {
        job = try Job(from: decoder)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        config = try c.decodeIfPresent(PushJobConfig.self, forKey: .config) ?? PushJobConfig()
    }

    public func encode(to encoder: Encoder) throws {
        try job.encode(to: encoder)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(config, forKey: .config)
    }
}

/// Answer of a push agent's `POST /jobs`.
public struct PushJobAccepted: Codable, Sendable, Equatable {
    public var jobId: Int64
    /// Where the job is: `preparing` while its containers or its SSH jump point are set up, else `building`
    /// (absent from agents before this field: `building`).
    public var phase: PushJobPhase?
    public init(jobId: Int64, phase: PushJobPhase? = nil) {
        self.jobId = jobId
        self.phase = phase
    }
}

/// Where a running job on a push agent is, as the server records it: `preparing` (containers pulled and
/// started, the SSH jump point opened) or `building` (its commands run).
public enum PushJobPhase: String, Codable, Sendable, Equatable {
    case preparing, building
}

/// Answer of a push agent's `GET /is_alive`.
public struct PushAgentAlive: Codable, Sendable, Equatable {
    public var status: String
    public var version: String
    /// The agent's working container runtime (e.g. `podman 4.3.1`); nil when it has none (AGENT's `containerRuntime`).
    public var containerRuntime: String?
    public init(status: String = "ok", version: String = MMSVersion.current, containerRuntime: String? = nil) {
        self.status = status
        self.version = version
        self.containerRuntime = containerRuntime
    }
}

/// What a push agent is doing (`GET /status`).
public enum PushAgentState: String, Codable, Sendable, Equatable {
    case idle, running, finished
}

/// Answer of a push agent's `GET /status`.
public struct PushAgentStatus: Codable, Sendable, Equatable {
    public var state: PushAgentState
    public var jobId: Int64?
    public var result: JobResult?
    public var version: String
    public init(state: PushAgentState, jobId: Int64? = nil, result: JobResult? = nil, version: String = MMSVersion.current) {
        self.state = state
        self.jobId = jobId
        self.result = result
        self.version = version
    }
}

/// Where a job on a push agent is: `running` or `completed`.
public enum PushJobState: String, Codable, Sendable, Equatable {
    case running, completed
}

/// Answer of a push agent's `GET /jobs/{id}` (and of its cancel). `attempt` is the attempt it runs and
/// `logBase` the `logSize` the job arrived with: byte 0 of the agent's log is that offset of the server's.
public struct PushJobStatus: Codable, Sendable, Equatable {
    public var id: Int64
    public var attempt: Int
    public var logBase: Int64
    public var state: PushJobState
    public var result: JobResult?
    public var exitCode: Int?
    public var failureReason: String?
    public var startedAt: Date
    public var finishedAt: Date?
    /// While running: `preparing` or `building` (see `PushJobPhase`).
    public var phase: PushJobPhase?
    /// The ssh command of the job's SSH jump point, once it is open (while the job runs).
    public var sshCommand: String?

    public init(id: Int64, attempt: Int, logBase: Int64 = 0, state: PushJobState, result: JobResult? = nil, exitCode: Int? = nil,
                failureReason: String? = nil, startedAt: Date, finishedAt: Date? = nil, phase: PushJobPhase? = nil,
                sshCommand: String? = nil) {
        self.phase = phase
        self.sshCommand = sshCommand
        self.id = id
        self.attempt = attempt
        self.logBase = logBase
        self.state = state
        self.result = result
        self.exitCode = exitCode
        self.failureReason = failureReason
        self.startedAt = startedAt
        self.finishedAt = finishedAt
    }
}

/// Body of `POST /api/v1/agents/push` (admin): a push agent the server reaches at `url`.
public struct PushAgentRequest: Codable, Sendable, Equatable {
    public var name: String
    public var url: String
    public var authTokenSecret: String
    public var resources: [String]
    public var environments: [String]
    /// PEM text of the CA that signed the agent's certificate, when it is not in the system store.
    public var caCert: String?

    public init(name: String, url: String, authTokenSecret: String, resources: [String] = [], environments: [String] = [],
                caCert: String? = nil) {
        self.name = name
        self.url = url
        self.authTokenSecret = authTokenSecret
        self.resources = resources
        self.environments = environments
        self.caCert = caCert
    }

    enum CodingKeys: String, CodingKey { case name, url, authTokenSecret, resources, environments, caCert }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        url = try c.decode(String.self, forKey: .url)
        authTokenSecret = try c.decode(String.self, forKey: .authTokenSecret)
        resources = try c.decodeIfPresent([String].self, forKey: .resources) ?? []
        environments = try c.decodeIfPresent([String].self, forKey: .environments) ?? []
        caCert = try c.decodeIfPresent(String.self, forKey: .caCert)
    }

    /// The shortest secret a push agent accepts (contract: at least 16 bytes).
    public static let minimumSecretBytes = 16
}
