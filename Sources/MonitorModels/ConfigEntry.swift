import Foundation

/// A configuration entry as the admin API shows it; `value` is nil for secret entries.
public struct ConfigEntry: Codable, Sendable, Equatable, Identifiable {
    public var name: String
    public var secret: Bool
    public var value: String?
    public var updatedAt: Date

    public var id: String { name }

    public init(name: String, secret: Bool, value: String?, updatedAt: Date) {
        self.name = name
        self.secret = secret
        self.value = value
        self.updatedAt = updatedAt
    }
}

/// Body of GET /api/v1/config.
public struct ConfigEntryList: Codable, Sendable, Equatable {
    public var entries: [ConfigEntry]
    public init(entries: [ConfigEntry]) { self.entries = entries }
}

/// Body of PUT /api/v1/config/{name}.
public struct ConfigEntryInput: Codable, Sendable, Equatable {
    public var value: String
    public var secret: Bool
    public init(value: String, secret: Bool) {
        self.value = value
        self.secret = secret
    }

    enum CodingKeys: String, CodingKey { case value, secret }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        value = try c.decode(String.self, forKey: .value)
        secret = try c.decodeIfPresent(Bool.self, forKey: .secret) ?? false
    }
}

/// Body of GET /healthz.
public struct HealthStatus: Codable, Sendable, Equatable {
    /// `ok`, or `unavailable` while the database cannot be reached.
    public var status: String
    /// `ok` or `unreachable`.
    public var database: String
    public init(status: String = "ok", database: String = "ok") {
        self.status = status
        self.database = database
    }
}
