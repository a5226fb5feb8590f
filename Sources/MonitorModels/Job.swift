import Foundation

/// A file the agent writes into the job dir before the commands run.
public struct JobFile: Codable, Sendable, Equatable {
    public var path: String
    public var content: String
    public var mode: String
    public init(path: String, content: String, mode: String = "0644") {
        self.path = path
        self.content = content
        self.mode = mode
    }

    enum CodingKeys: String, CodingKey { case path, content, mode }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        path = try c.decode(String.self, forKey: .path)
        content = try c.decode(String.self, forKey: .content)
        mode = try c.decodeIfPresent(String.self, forKey: .mode) ?? "0644"
    }
}

/// Commands run after the main commands, in the same shell session.
public struct Epilogue: Codable, Sendable, Equatable {
    public var always: [String]
    public var onPass: [String]
    public var onFail: [String]
    public init(always: [String] = [], onPass: [String] = [], onFail: [String] = []) {
        self.always = always
        self.onPass = onPass
        self.onFail = onFail
    }

    enum CodingKeys: String, CodingKey { case always, onPass, onFail }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        always = try c.decodeIfPresent([String].self, forKey: .always) ?? []
        onPass = try c.decodeIfPresent([String].self, forKey: .onPass) ?? []
        onFail = try c.decodeIfPresent([String].self, forKey: .onFail) ?? []
    }

    /// True when no epilogue line is set.
    public var isEmpty: Bool { always.isEmpty && onPass.isEmpty && onFail.isEmpty }
}

/// What a client submits to create a job (POST /api/v1/jobs), and what `mms-agent run` reads.
public struct JobSpec: Codable, Sendable, Equatable {
    public static let defaultTimeoutSeconds = 3600

    public var name: String
    public var commands: [String]
    public var env: [String: String]
    public var files: [JobFile]
    public var epilogue: Epilogue
    public var resources: [String]
    public var environment: String?
    public var timeoutSeconds: Int
    public var secrets: [String]
    /// Version 2: the job's containers (the first is the main one); empty for a job on the host.
    public var containers: [ContainerSpec]
    /// Version 2: the secret configuration entry holding `REGISTRY USER PASSWORD` for pulling the images.
    public var imagePullSecret: String?
    /// Version 2: OpenSSH public keys that may open the job's SSH jump point.
    public var sshPublicKeys: [String]

    public init(
        name: String, commands: [String], env: [String: String] = [:], files: [JobFile] = [],
        epilogue: Epilogue = Epilogue(), resources: [String] = [], environment: String? = nil,
        timeoutSeconds: Int = JobSpec.defaultTimeoutSeconds, secrets: [String] = [],
        containers: [ContainerSpec] = [], imagePullSecret: String? = nil, sshPublicKeys: [String] = []
    ) {
        self.name = name
        self.commands = commands
        self.env = env
        self.files = files
        self.epilogue = epilogue
        self.resources = resources
        self.environment = environment
        self.timeoutSeconds = timeoutSeconds
        self.secrets = secrets
        self.containers = containers
        self.imagePullSecret = imagePullSecret
        self.sshPublicKeys = sshPublicKeys
    }

    /// True when the job runs in containers.
    public var runsInContainers: Bool { !containers.isEmpty }

    enum CodingKeys: String, CodingKey {
        case name, commands, env, files, epilogue, resources, environment, timeoutSeconds, secrets
        case containers, imagePullSecret, sshPublicKeys
    }

    /// Decodes a spec: `name` and `commands` are required, everything else has its contract default.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        commands = try c.decode([String].self, forKey: .commands)
        env = try c.decodeIfPresent([String: String].self, forKey: .env) ?? [:]
        files = try c.decodeIfPresent([JobFile].self, forKey: .files) ?? []
        epilogue = try c.decodeIfPresent(Epilogue.self, forKey: .epilogue) ?? Epilogue()
        resources = try c.decodeIfPresent([String].self, forKey: .resources) ?? []
        environment = try c.decodeIfPresent(String.self, forKey: .environment)
        timeoutSeconds = try c.decodeIfPresent(Int.self, forKey: .timeoutSeconds) ?? JobSpec.defaultTimeoutSeconds
        secrets = try c.decodeIfPresent([String].self, forKey: .secrets) ?? []
        containers = try c.decodeIfPresent([ContainerSpec].self, forKey: .containers) ?? []
        imagePullSecret = try c.decodeIfPresent(String.self, forKey: .imagePullSecret)
        sshPublicKeys = try c.decodeIfPresent([String].self, forKey: .sshPublicKeys) ?? []
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try encodeFields(into: &c)
    }

    /// Writes the spec's fields (a Job writes them flat beside its own).
    func encodeFields(into c: inout KeyedEncodingContainer<CodingKeys>) throws {
        try c.encode(name, forKey: .name)
        try c.encode(commands, forKey: .commands)
        try c.encode(env, forKey: .env)
        try c.encode(files, forKey: .files)
        try c.encode(epilogue, forKey: .epilogue)
        try c.encode(resources, forKey: .resources)
        try c.encode(environment, forKey: .environment)
        try c.encode(timeoutSeconds, forKey: .timeoutSeconds)
        try c.encode(secrets, forKey: .secrets)
        try c.encode(containers, forKey: .containers)
        try c.encode(imagePullSecret, forKey: .imagePullSecret)
        try c.encode(sshPublicKeys, forKey: .sshPublicKeys)
    }
}

/// A job as the API shows it: its spec plus where it is in its life.
public struct Job: Codable, Sendable, Equatable, Identifiable {
    public var id: Int64
    public var spec: JobSpec
    public var state: JobState
    public var result: JobResult?
    public var exitCode: Int?
    public var failureReason: String?
    public var waitingReason: String?
    public var agentUuid: String?
    public var agentName: String?
    public var attempt: Int
    public var logSize: Int64
    public var createdAt: Date
    public var assignedAt: Date?
    public var startedAt: Date?
    public var finishedAt: Date?
    /// Set on jobs delivered to an agent: the configuration version the job expects.
    public var configVersion: Int64?
    /// When the server removed this job's log (`--log-retention`); nil while it is kept.
    public var logRemovedAt: Date?
    /// How to open a shell in the running job through the agent's SSH jump point; nil when none.
    public var sshCommand: String?

    public init(
        id: Int64, spec: JobSpec, state: JobState = .scheduled, result: JobResult? = nil, exitCode: Int? = nil,
        failureReason: String? = nil, waitingReason: String? = nil, agentUuid: String? = nil,
        agentName: String? = nil, attempt: Int = 1, logSize: Int64 = 0, createdAt: Date = Date(timeIntervalSince1970: 0),
        assignedAt: Date? = nil, startedAt: Date? = nil, finishedAt: Date? = nil, configVersion: Int64? = nil,
        logRemovedAt: Date? = nil, sshCommand: String? = nil
    ) {
        self.id = id
        self.spec = spec
        self.state = state
        self.result = result
        self.exitCode = exitCode
        self.failureReason = failureReason
        self.waitingReason = waitingReason
        self.agentUuid = agentUuid
        self.agentName = agentName
        self.attempt = attempt
        self.logSize = logSize
        self.createdAt = createdAt
        self.assignedAt = assignedAt
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.configVersion = configVersion
        self.logRemovedAt = logRemovedAt
        self.sshCommand = sshCommand
    }

    /// The job's name (from its spec).
    public var name: String { spec.name }

    enum CodingKeys: String, CodingKey {
        case id, state, result, exitCode, failureReason, waitingReason, agentUuid, agentName, attempt, logSize
        case createdAt, assignedAt, startedAt, finishedAt, configVersion, logRemovedAt, sshCommand
    }

    public init(from decoder: Decoder) throws {
        spec = try JobSpec(from: decoder)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(Int64.self, forKey: .id)
        state = try c.decode(JobState.self, forKey: .state)
        result = try c.decodeIfPresent(JobResult.self, forKey: .result)
        exitCode = try c.decodeIfPresent(Int.self, forKey: .exitCode)
        failureReason = try c.decodeIfPresent(String.self, forKey: .failureReason)
        waitingReason = try c.decodeIfPresent(String.self, forKey: .waitingReason)
        agentUuid = try c.decodeIfPresent(String.self, forKey: .agentUuid)
        agentName = try c.decodeIfPresent(String.self, forKey: .agentName)
        attempt = try c.decode(Int.self, forKey: .attempt)
        logSize = try c.decode(Int64.self, forKey: .logSize)
        createdAt = try c.decode(Date.self, forKey: .createdAt)
        assignedAt = try c.decodeIfPresent(Date.self, forKey: .assignedAt)
        startedAt = try c.decodeIfPresent(Date.self, forKey: .startedAt)
        finishedAt = try c.decodeIfPresent(Date.self, forKey: .finishedAt)
        configVersion = try c.decodeIfPresent(Int64.self, forKey: .configVersion)
        logRemovedAt = try c.decodeIfPresent(Date.self, forKey: .logRemovedAt)
        sshCommand = try c.decodeIfPresent(String.self, forKey: .sshCommand)
    }

    /// Encodes spec fields and state fields flat, absent values as null (configVersion only when set).
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        var s = encoder.container(keyedBy: JobSpec.CodingKeys.self)
        try spec.encodeFields(into: &s)
        try c.encode(state, forKey: .state)
        try c.encode(result, forKey: .result)
        try c.encode(exitCode, forKey: .exitCode)
        try c.encode(failureReason, forKey: .failureReason)
        try c.encode(waitingReason, forKey: .waitingReason)
        try c.encode(agentUuid, forKey: .agentUuid)
        try c.encode(agentName, forKey: .agentName)
        try c.encode(attempt, forKey: .attempt)
        try c.encode(logSize, forKey: .logSize)
        try c.encode(createdAt, forKey: .createdAt)
        try c.encode(assignedAt, forKey: .assignedAt)
        try c.encode(startedAt, forKey: .startedAt)
        try c.encode(finishedAt, forKey: .finishedAt)
        try c.encodeIfPresent(configVersion, forKey: .configVersion)
        try c.encode(logRemovedAt, forKey: .logRemovedAt)
        try c.encode(sshCommand, forKey: .sshCommand)
    }
}

/// Body of GET /api/v1/jobs.
public struct JobList: Codable, Sendable, Equatable {
    public var jobs: [Job]
    public init(jobs: [Job]) { self.jobs = jobs }
}
