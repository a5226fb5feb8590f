import Foundation

/// What an operator may do: `viewer` reads, `operator` also acts on agents and jobs, `admin` also
/// deletes agents and manages configuration, push agents and operators.
public enum OperatorRole: String, Codable, Sendable, CaseIterable, Comparable {
    case viewer, `operator`, admin

    private var rank: Int {
        switch self {
        case .viewer: 0
        case .operator: 1
        case .admin: 2
        }
    }

    public static func < (a: OperatorRole, b: OperatorRole) -> Bool { a.rank < b.rank }
}

/// Who a token belongs to (GET /api/v1/whoami).
public struct OperatorIdentity: Codable, Sendable, Equatable {
    public var name: String
    public var role: OperatorRole
    public init(name: String, role: OperatorRole) {
        self.name = name
        self.role = role
    }
}

/// An operator as GET /api/v1/operators lists it (never with its token); the built-in `admin` has
/// no `createdAt`.
public struct OperatorSummary: Codable, Sendable, Equatable {
    public var name: String
    public var role: OperatorRole
    public var createdAt: Date?
    public init(name: String, role: OperatorRole, createdAt: Date?) {
        self.name = name
        self.role = role
        self.createdAt = createdAt
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(role, forKey: .role)
        try c.encode(createdAt, forKey: .createdAt)
    }
}

/// Body of GET /api/v1/operators.
public struct OperatorList: Codable, Sendable, Equatable {
    public var operators: [OperatorSummary]
    public init(operators: [OperatorSummary]) { self.operators = operators }
}

/// Body of POST /api/v1/operators.
public struct NewOperator: Codable, Sendable, Equatable {
    public var name: String
    public var role: OperatorRole
    public init(name: String, role: OperatorRole) {
        self.name = name
        self.role = role
    }
}

/// Answer to POST /api/v1/operators: the only time the token is shown.
public struct CreatedOperator: Codable, Sendable, Equatable {
    public var name: String
    public var role: OperatorRole
    public var createdAt: Date
    public var token: String
    public init(name: String, role: OperatorRole, createdAt: Date, token: String) {
        self.name = name
        self.role = role
        self.createdAt = createdAt
        self.token = token
    }
}

extension Validation {
    /// Actor names the server writes itself; no operator may take them.
    public static let reservedOperatorNames: Set<String> = ["admin", "server", "local"]

    /// An operator name: `[A-Za-z0-9_.@-]{1,64}`, not one of the reserved actor names. Returns the problem, or nil.
    public static func operatorNameProblem(_ name: String, field: String = "name") -> String? {
        guard !name.isEmpty, name.utf8.count <= 64,
              name.utf8.allSatisfy({ isAlnum($0) || $0 == 95 || $0 == 46 || $0 == 45 || $0 == 64 }) else {
            return "field '\(field)' must match [A-Za-z0-9_.@-]{1,64}"
        }
        if reservedOperatorNames.contains(name.lowercased()) {
            return "field '\(field)' must not be '\(name)': admin, server and local are names the server uses itself"
        }
        return nil
    }

    /// A free-text reason: at most 500 characters, no control characters. Returns the problem, or nil.
    public static func reasonProblem(_ reason: String, field: String = "reason") -> String? {
        if reason.count > 500 { return "field '\(field)' must be at most 500 characters" }
        if reason.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
            return "field '\(field)' must not contain control characters"
        }
        return nil
    }
}
