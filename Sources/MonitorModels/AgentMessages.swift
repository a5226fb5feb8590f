/// Body of POST /api/v1/agents/register.
public struct RegisterRequest: Codable, Sendable, Equatable {
    public var uuid: String
    public var name: String
    public var hostname: String
    public var os: String
    public var version: String
    public var resources: [String]
    public var environments: [String]
    public var autoRegisterKey: String?
    /// SHA-256 (lower-case hex) of the agent binary that sends this (version 2; absent from older agents).
    public var binarySHA256: String?
    /// Version 2: the container runtime that works on the agent (`podman 4.3.1`), nil when none.
    public var containerRuntime: String?

    public init(
        uuid: String, name: String, hostname: String, os: String, version: String = MMSVersion.current,
        resources: [String] = [], environments: [String] = [], autoRegisterKey: String? = nil,
        containerRuntime: String? = nil, binarySHA256: String? = nil
    ) {
        self.uuid = uuid
        self.name = name
        self.hostname = hostname
        self.os = os
        self.version = version
        self.resources = resources
        self.environments = environments
        self.autoRegisterKey = autoRegisterKey
        self.containerRuntime = containerRuntime
        self.binarySHA256 = binarySHA256
    }
}

/// Body of POST /api/v1/agents/{uuid}/ping.
public struct PingRequest: Codable, Sendable, Equatable {
    public var runtimeState: RuntimeState
    public var jobId: Int64?
    public var freeSpaceBytes: Int64?
    /// SHA-256 (lower-case hex) of the binary the agent runs (version 2).
    public var binarySHA256: String?
    public init(runtimeState: RuntimeState, jobId: Int64? = nil, freeSpaceBytes: Int64? = nil, binarySHA256: String? = nil) {
        self.runtimeState = runtimeState
        self.jobId = jobId
        self.freeSpaceBytes = freeSpaceBytes
        self.binarySHA256 = binarySHA256
    }
}

/// Answer to a ping.
public struct PingResponse: Codable, Sendable, Equatable {
    public var configState: AgentConfigState
    public var pingIntervalSeconds: Int
    public var serverVersion: String
    public var configVersion: Int64
    /// SHA-256 of the agent binary the server offers at GET /api/v1/agent-binary; null when it offers none.
    public var agentSHA256: String?
    public init(configState: AgentConfigState, pingIntervalSeconds: Int, serverVersion: String, configVersion: Int64,
                agentSHA256: String? = nil) {
        self.configState = configState
        self.pingIntervalSeconds = pingIntervalSeconds
        self.serverVersion = serverVersion
        self.configVersion = configVersion
        self.agentSHA256 = agentSHA256
    }

    enum CodingKeys: String, CodingKey { case configState, pingIntervalSeconds, serverVersion, configVersion, agentSHA256 }

    /// Encodes every field, `agentSHA256` as null when the server offers no binary.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(configState, forKey: .configState)
        try c.encode(pingIntervalSeconds, forKey: .pingIntervalSeconds)
        try c.encode(serverVersion, forKey: .serverVersion)
        try c.encode(configVersion, forKey: .configVersion)
        try c.encode(agentSHA256, forKey: .agentSHA256)
    }
}

/// What a `next` long poll brings: a job to run or a cancel of the running one.
public enum NextMessage: Codable, Sendable, Equatable {
    case job(Job)
    case cancel(jobId: Int64, attempt: Int)

    enum CodingKeys: String, CodingKey { case type, job, jobId, attempt }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let type = try c.decode(String.self, forKey: .type)
        switch type {
        case "job": self = .job(try c.decode(Job.self, forKey: .job))
        case "cancel":
            self = .cancel(jobId: try c.decode(Int64.self, forKey: .jobId), attempt: try c.decode(Int.self, forKey: .attempt))
        default:
            throw DecodingError.dataCorruptedError(forKey: .type, in: c, debugDescription: "unknown type \(type)")
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .job(let job):
            try c.encode("job", forKey: .type)
            try c.encode(job, forKey: .job)
        case .cancel(let jobId, let attempt):
            try c.encode("cancel", forKey: .type)
            try c.encode(jobId, forKey: .jobId)
            try c.encode(attempt, forKey: .attempt)
        }
    }
}

/// Body of POST /api/v1/jobs/{id}/state.
public struct JobStateReport: Codable, Sendable, Equatable {
    public var attempt: Int
    public var state: ReportedJobState
    public var result: JobResult?
    public var exitCode: Int?
    public var failureReason: String?
    /// Version 2: with `building`, the command that opens the job's SSH jump point, when it has one.
    public var sshCommand: String?
    public init(attempt: Int, state: ReportedJobState, result: JobResult? = nil, exitCode: Int? = nil, failureReason: String? = nil,
                sshCommand: String? = nil) {
        self.attempt = attempt
        self.state = state
        self.result = result
        self.exitCode = exitCode
        self.failureReason = failureReason
        self.sshCommand = sshCommand
    }
}

/// Answer to a log append: the log's total size after it.
public struct LogAppendResponse: Codable, Sendable, Equatable {
    public var size: Int64
    public init(size: Int64) { self.size = size }
}

/// GET /api/v1/agents/{uuid}/config: every entry's value, and which are secret (to be masked).
public struct AgentConfig: Codable, Sendable, Equatable {
    public var version: Int64
    public var entries: [String: String]
    public var secret: [String]
    public init(version: Int64, entries: [String: String], secret: [String]) {
        self.version = version
        self.entries = entries
        self.secret = secret
    }
}
