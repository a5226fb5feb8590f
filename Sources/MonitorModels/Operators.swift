import Foundation

/// What an operator may do: `viewer` reads, `operator` also changes agents and jobs, `admin` everything.
public enum OperatorRole: String, Codable, Sendable, CaseIterable, Comparable {
    case viewer, `operator`, admin

    /// Roles in order of power: viewer < operator < admin.
    public static func < (a: OperatorRole, b: OperatorRole) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// Body of GET /api/v1/whoami: the operator the token belongs to.
public struct Whoami: Codable, Sendable, Equatable {
    public var name: String
    public var role: OperatorRole
    public init(name: String, role: OperatorRole) {
        self.name = name
        self.role = role
    }
}

/// What an audit entry is about: an agent, a job, a configuration entry, an operator.
public struct AuditTarget: Codable, Sendable, Equatable {
    public var kind: String
    public var id: String
    public var name: String?
    public init(kind: String, id: String, name: String? = nil) {
        self.kind = kind
        self.id = id
        self.name = name
    }
}

/// One line of the audit log: who did what to which thing, when, and why.
public struct AuditEntry: Codable, Sendable, Equatable, Identifiable {
    public var seq: Int64
    public var at: Date
    /// The operator's name, "server" for the server's own changes, "local" for `mms-server operator`.
    public var actor: String
    /// e.g. "agent.disable".
    public var action: String
    public var target: AuditTarget
    public var reason: String?
    /// The caller's IP address, when the change came over HTTP.
    public var from: String?

    public var id: Int64 { seq }

    public init(seq: Int64, at: Date, actor: String, action: String, target: AuditTarget, reason: String? = nil, from: String? = nil) {
        self.seq = seq
        self.at = at
        self.actor = actor
        self.action = action
        self.target = target
        self.reason = reason
        self.from = from
    }
}

/// Body of GET /api/v1/audit: entries newest first.
public struct AuditPage: Codable, Sendable, Equatable {
    public var entries: [AuditEntry]
    public init(entries: [AuditEntry]) { self.entries = entries }
}
