import Foundation

/// Body of GET /api/v1/stats?window=30m: fleet history, oldest sample first, one per `step` seconds;
/// nil where no server was running (contract, "Console, version 2").
public struct FleetStats: Codable, Sendable, Equatable {
    /// Seconds between samples.
    public var step: Int
    /// Jobs scheduled and not yet handed to an agent.
    public var waiting: [Int?]
    /// Jobs an agent holds (assigned, preparing, building, cancelling).
    public var running: [Int?]
    /// Agents per status (`AgentStatus` raw values as keys).
    public var agents: [String: [Int?]]

    public init(step: Int, waiting: [Int?], running: [Int?], agents: [String: [Int?]]) {
        self.step = step
        self.waiting = waiting
        self.running = running
        self.agents = agents
    }

    /// Encodes every series, missing samples as JSON null (the synthesized encoder would drop them).
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(step, forKey: .step)
        try c.encode(waiting.map(NullableInt.init), forKey: .waiting)
        try c.encode(running.map(NullableInt.init), forKey: .running)
        try c.encode(agents.mapValues { $0.map(NullableInt.init) }, forKey: .agents)
    }

    enum CodingKeys: String, CodingKey { case step, waiting, running, agents }
}

/// One sample of a series: a number, or null.
struct NullableInt: Encodable {
    var value: Int?
    init(_ value: Int?) { self.value = value }
    func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        if let value { try c.encode(value) } else { try c.encodeNil() }
    }
}

/// What the server records once a minute for the fleet history.
public struct StatsSample: Codable, Sendable, Equatable {
    public var waiting: Int
    public var running: Int
    /// Agents per status (`AgentStatus` raw values as keys), statuses with none left out.
    public var agents: [String: Int]
    public init(waiting: Int, running: Int, agents: [String: Int]) {
        self.waiting = waiting
        self.running = running
        self.agents = agents
    }
}
