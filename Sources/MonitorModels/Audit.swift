import Foundation

/// What an audit entry is about.
public struct AuditTarget: Codable, Sendable, Equatable {
    /// `agent`, `job`, `config` or `operator`.
    public var kind: String
    /// The agent's uuid, the job's id, the entry's or the operator's name.
    public var id: String
    /// A name an operator recognises (agent or job name), when there is one.
    public var name: String?
    public init(kind: String, id: String, name: String? = nil) {
        self.kind = kind
        self.id = id
        self.name = name
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(kind, forKey: .kind)
        try c.encode(id, forKey: .id)
        try c.encode(name, forKey: .name)
    }
}

/// One change, as the audit log keeps it: who did what to which target, when, why and from where.
public struct AuditEntry: Codable, Sendable, Equatable {
    /// Gap-free, increasing; 0 until the store numbers it.
    public var seq: Int64
    public var at: Date
    /// An operator's name, `server` for the server's own changes, `local` for `mms-server operator`.
    public var actor: String
    /// E.g. `agent.disable`, `job.create`, `operator.add`.
    public var action: String
    public var target: AuditTarget
    public var reason: String?
    /// The caller's IP address (API changes only).
    public var from: String?

    public init(seq: Int64 = 0, at: Date, actor: String, action: String, target: AuditTarget,
                reason: String? = nil, from: String? = nil) {
        self.seq = seq
        self.at = at
        self.actor = actor
        self.action = action
        self.target = target
        self.reason = reason
        self.from = from
    }

    /// Every field, absent values as null.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(seq, forKey: .seq)
        try c.encode(at, forKey: .at)
        try c.encode(actor, forKey: .actor)
        try c.encode(action, forKey: .action)
        try c.encode(target, forKey: .target)
        try c.encode(reason, forKey: .reason)
        try c.encode(from, forKey: .from)
    }
}

/// Body of GET /api/v1/audit: entries newest first.
public struct AuditPage: Codable, Sendable, Equatable {
    public var entries: [AuditEntry]
    public init(entries: [AuditEntry]) { self.entries = entries }
}
