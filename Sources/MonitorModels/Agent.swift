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

    public var id: String { uuid }

    public init(
        uuid: String, name: String, hostname: String = "", os: String = "", version: String = "",
        ipAddress: String? = nil, configState: AgentConfigState = .pending, status: AgentStatus = .pending,
        resources: [String] = [], environments: [String] = [], currentJobId: Int64? = nil,
        registeredAt: Date = Date(timeIntervalSince1970: 0), lastSeenAt: Date? = nil
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
    }

    enum CodingKeys: String, CodingKey {
        case uuid, name, hostname, os, version, ipAddress, configState, status, resources, environments
        case currentJobId, registeredAt, lastSeenAt
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
    }
}

/// Body of GET /api/v1/agents and of the bulk PATCH answer.
public struct AgentList: Codable, Sendable, Equatable {
    public var agents: [Agent]
    public init(agents: [Agent]) { self.agents = agents }
}

/// Body of PATCH /api/v1/agents/{uuid}: every field optional.
public struct AgentPatch: Codable, Sendable, Equatable {
    public var configState: AgentConfigState?
    public var name: String?
    public var resources: [String]?
    public var environments: [String]?
    public init(configState: AgentConfigState? = nil, name: String? = nil, resources: [String]? = nil, environments: [String]? = nil) {
        self.configState = configState
        self.name = name
        self.resources = resources
        self.environments = environments
    }
}

/// Body of PATCH /api/v1/agents: one config state for many agents, all or nothing.
public struct BulkAgentPatch: Codable, Sendable, Equatable {
    public var uuids: [String]
    public var configState: AgentConfigState
    public init(uuids: [String], configState: AgentConfigState) {
        self.uuids = uuids
        self.configState = configState
    }
}
