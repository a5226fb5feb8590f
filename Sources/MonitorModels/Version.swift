/// The version every MMS program reports, and the rule for which versions may talk.
public enum MMSVersion {
    /// The version of this build, shared by mms-server, mms-agent and mms-console.
    public static let current = "0.1.0"
    /// The HTTP API version served under /api/v1.
    public static let apiVersion = 1

    /// True when two versions share MAJOR.MINOR (the contract's compatibility rule).
    public static func compatible(_ a: String, _ b: String) -> Bool {
        guard let x = majorMinor(a), let y = majorMinor(b) else { return false }
        return x == y
    }

    /// MAJOR.MINOR of a version string such as "1.4.2", or nil when it is not one.
    public static func majorMinor(_ version: String) -> String? {
        let parts = version.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count >= 2, let major = Int(parts[0]), let minor = Int(parts[1]), major >= 0, minor >= 0 else {
            return nil
        }
        return "\(major).\(minor)"
    }
}

/// Answer of GET /api/v1/version.
public struct VersionInfo: Codable, Sendable, Equatable {
    public var version: String
    public var apiVersion: Int
    /// SHA-256 of the agent binary the server offers (version 2); null when it offers none.
    public var agentSHA256: String?
    public init(version: String = MMSVersion.current, apiVersion: Int = MMSVersion.apiVersion, agentSHA256: String? = nil) {
        self.version = version
        self.apiVersion = apiVersion
        self.agentSHA256 = agentSHA256
    }

    enum CodingKeys: String, CodingKey { case version, apiVersion, agentSHA256 }

    /// Encodes every field, `agentSHA256` as null when there is none.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(version, forKey: .version)
        try c.encode(apiVersion, forKey: .apiVersion)
        try c.encode(agentSHA256, forKey: .agentSHA256)
    }
}

/// The agent binary a server offers (GET /api/v1/agent-binary) and how its headers are named.
public enum AgentBinaryHeaders {
    /// SHA-256 (lower-case hex) of the served bytes.
    public static let sha256 = "X-MMS-Agent-SHA256"
    /// The version the binary's `version` command prints.
    public static let version = "X-MMS-Agent-Version"

    /// The version in a `mms-agent version` output line ("mms-agent 1.2.3"), or nil when it is not one.
    public static func parseVersionOutput(_ text: String) -> String? {
        let line = text.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
        let parts = line.split(separator: " ")
        guard parts.count == 2, parts[0] == "mms-agent", MMSVersion.majorMinor(String(parts[1])) != nil else { return nil }
        return String(parts[1])
    }
}
