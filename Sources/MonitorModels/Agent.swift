import Foundation

/// An agent as the admin API shows it (contract, GET /api/v1/agents).
public struct Agent: Codable, Sendable, Equatable, Identifiable {
    public var uuid: String
    public var name: String
    public var hostname: String
    public var os: String
    public var version: String
    public var ipAddress: String?
    public var configState: AgentConfigState
    public var status: AgentStatus
    public var resources: [String]
    public var environments: [String]
    public var currentJobId: Int64?
    public var registeredAt: Date
    public var lastSeenAt: Date?
    /// `pull` (polls the server) or `push` (`mms-agent serve`, driven by the server at `url`).
    public var kind: AgentKind
    /// Where the server reaches a push agent; nil for pull agents.
    public var url: String?
    /// The container runtime the agent reported, e.g. "podman 4.3.1"; nil when it has none that works.
    public var containerRuntime: String?
    /// Lower-case hex SHA-256 of the agent binary it runs (sent at registration and in pings).
    public var binarySHA256: String?
    /// Why, by whom, since and until when the agent is disabled (nil when not disabled or not said).
    public var disabledReason: String?
    public var disabledBy: String?
    public var disabledAt: Date?
    public var disabledUntil: Date?
    /// Free bytes in the agent's work directory as of the last ping this server received; nil when
    /// unknown (not stored: null after a server restart until the next ping, and on another replica).
    public var freeSpaceBytes: Int64?

    public var id: String { uuid }

    public init(
        uuid: String, name: String, hostname: String = "", os: String = "", version: String = "",
        ipAddress: String? = nil, configState: AgentConfigState = .pending, status: AgentStatus = .pending,
        resources: [String] = [], environments: [String] = [], currentJobId: Int64? = nil,
        registeredAt: Date = Date(timeIntervalSince1970: 0), lastSeenAt: Date? = nil,
        kind: AgentKind = .pull, url: String? = nil, containerRuntime: String? = nil, binarySHA256: String? = nil,
        disabledReason: String? = nil, disabledBy: String? = nil, disabledAt: Date? = nil, disabledUntil: Date? = nil,
        freeSpaceBytes: Int64? = nil
    ) {
        self.uuid = uuid
        self.name = name
        self.hostname = hostname
        self.os = os
        self.version = version
        self.ipAddress = ipAddress
        self.configState = configState
        self.status = status
        self.resources = resources
        self.environments = environments
        self.currentJobId = currentJobId
        self.registeredAt = registeredAt
        self.lastSeenAt = lastSeenAt
        self.kind = kind
        self.url = url
        self.containerRuntime = containerRuntime
        self.binarySHA256 = binarySHA256
        self.disabledReason = disabledReason
        self.disabledBy = disabledBy
        self.disabledAt = disabledAt
        self.disabledUntil = disabledUntil
        self.freeSpaceBytes = freeSpaceBytes
    }

    enum CodingKeys: String, CodingKey {
        case uuid, name, hostname, os, version, ipAddress, configState, status, resources, environments
        case currentJobId, registeredAt, lastSeenAt
        case kind, url, containerRuntime, binarySHA256, disabledReason, disabledBy, disabledAt, disabledUntil
        case freeSpaceBytes
    }

    /// Decodes an agent; the version 2 fields may be absent (a version 1 server), with their defaults.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        uuid = try c.decode(String.self, forKey: .uuid)
        name = try c.decode(String.self, forKey: .name)
        hostname = try c.decode(String.self, forKey: .hostname)
        os = try c.decode(String.self, forKey: .os)
        version = try c.decode(String.self, forKey: .version)
        ipAddress = try c.decodeIfPresent(String.self, forKey: .ipAddress)
        configState = try c.decode(AgentConfigState.self, forKey: .configState)
        status = try c.decode(AgentStatus.self, forKey: .status)
        resources = try c.decode([String].self, forKey: .resources)
        environments = try c.decode([String].self, forKey: .environments)
        currentJobId = try c.decodeIfPresent(Int64.self, forKey: .currentJobId)
        registeredAt = try c.decode(Date.self, forKey: .registeredAt)
        lastSeenAt = try c.decodeIfPresent(Date.self, forKey: .lastSeenAt)
        kind = try c.decodeIfPresent(AgentKind.self, forKey: .kind) ?? .pull
        url = try c.decodeIfPresent(String.self, forKey: .url)
        containerRuntime = try c.decodeIfPresent(String.self, forKey: .containerRuntime)
        binarySHA256 = try c.decodeIfPresent(String.self, forKey: .binarySHA256)
        disabledReason = try c.decodeIfPresent(String.self, forKey: .disabledReason)
        disabledBy = try c.decodeIfPresent(String.self, forKey: .disabledBy)
        disabledAt = try c.decodeIfPresent(Date.self, forKey: .disabledAt)
        disabledUntil = try c.decodeIfPresent(Date.self, forKey: .disabledUntil)
        freeSpaceBytes = try c.decodeIfPresent(Int64.self, forKey: .freeSpaceBytes)
    }

    /// Encodes every field, absent values as JSON null, so clients see the full shape.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(uuid, forKey: .uuid)
        try c.encode(name, forKey: .name)
        try c.encode(hostname, forKey: .hostname)
        try c.encode(os, forKey: .os)
        try c.encode(version, forKey: .version)
        try c.encode(ipAddress, forKey: .ipAddress)
        try c.encode(configState, forKey: .configState)
        try c.encode(status, forKey: .status)
        try c.encode(resources, forKey: .resources)
        try c.encode(environments, forKey: .environments)
        try c.encode(currentJobId, forKey: .currentJobId)
        try c.encode(registeredAt, forKey: .registeredAt)
        try c.encode(lastSeenAt, forKey: .lastSeenAt)
        try c.encode(kind, forKey: .kind)
        try c.encode(url, forKey: .url)
        try c.encode(containerRuntime, forKey: .containerRuntime)
        try c.encode(binarySHA256, forKey: .binarySHA256)
        try c.encode(disabledReason, forKey: .disabledReason)
        try c.encode(disabledBy, forKey: .disabledBy)
        try c.encode(disabledAt, forKey: .disabledAt)
        try c.encode(disabledUntil, forKey: .disabledUntil)
        try c.encode(freeSpaceBytes, forKey: .freeSpaceBytes)
    }
}

/// Body of GET /api/v1/agents and of the bulk PATCH answer.
public struct AgentList: Codable, Sendable, Equatable {
    public var agents: [Agent]
    public init(agents: [Agent]) { self.agents = agents }
}

/// Body of PATCH /api/v1/agents/{uuid}: every field optional; `reason` and `until` go with
/// `configState: disabled` (the server enables the agent again at `until`).
public struct AgentPatch: Codable, Sendable, Equatable {
    public var configState: AgentConfigState?
    public var name: String?
    public var resources: [String]?
    public var environments: [String]?
    public var reason: String?
    public var until: Date?
    public init(configState: AgentConfigState? = nil, name: String? = nil, resources: [String]? = nil,
                environments: [String]? = nil, reason: String? = nil, until: Date? = nil) {
        self.configState = configState
        self.name = name
        self.resources = resources
        self.environments = environments
        self.reason = reason
        self.until = until
    }
}

/// Body of PATCH /api/v1/agents: one config state for many agents, all or nothing.
public struct BulkAgentPatch: Codable, Sendable, Equatable {
    public var uuids: [String]
    public var configState: AgentConfigState
    public var reason: String?
    public var until: Date?
    public init(uuids: [String], configState: AgentConfigState, reason: String? = nil, until: Date? = nil) {
        self.uuids = uuids
        self.configState = configState
        self.reason = reason
        self.until = until
    }
}
