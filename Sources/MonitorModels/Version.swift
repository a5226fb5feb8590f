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
    public init(version: String = MMSVersion.current, apiVersion: Int = MMSVersion.apiVersion) {
        self.version = version
        self.apiVersion = apiVersion
    }
}
