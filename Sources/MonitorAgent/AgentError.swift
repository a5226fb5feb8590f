import Foundation

/// Every failure of the agent that ends a command or a job, with a message that says what to do.
public enum AgentError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Bad flags or environment (exit 2).
    case usage(String)
    /// The `--ca-cert` file cannot be read, or its CA is not in the system trust store (exit 2).
    case caCertNotTrusted(String)
    /// A file named by a flag (a TLS certificate or key) is missing or unreadable (exit 2).
    case unreadableFile(String)
    /// A job file that cannot be read or is invalid (exit 2).
    case badJobFile(String)
    /// Another agent holds the work dir lock (exit 3).
    case locked(dir: String, pid: String)
    /// Agent and server versions do not share MAJOR.MINOR (exit 4).
    case versionMismatch(agent: String, server: String)
    /// The server refused this agent's identity (exit 5).
    case identityRejected(String)
    /// The work dir or a file in it could not be used (exit 1).
    case io(String)
    /// bash could not be started.
    case spawnFailed(String)
    /// A new agent binary is installed in WORK_DIR/bin; the agent proper exits so its supervisor starts it (exit 75).
    case upgraded(String)

    public var description: String {
        switch self {
        case .usage(let m), .caCertNotTrusted(let m), .unreadableFile(let m), .badJobFile(let m), .io(let m), .spawnFailed(let m), .identityRejected(let m),
             .upgraded(let m): m
        case .locked(let dir, let pid): "another agent is running in \(dir) (pid \(pid))"
        case .versionMismatch(let agent, let server):
            "agent version \(agent) cannot work with server version \(server) (MAJOR.MINOR must match); install mms-agent \(server)"
        }
    }

    /// The agent proper's exit status after installing a new binary (EX_TEMPFAIL): the supervisor starts it at once.
    public static let upgradedExitCode: Int32 = 75

    /// The process exit status the contract gives this error.
    public var exitCode: Int32 {
        switch self {
        case .usage, .caCertNotTrusted, .unreadableFile, .badJobFile: 2
        case .locked: 3
        case .versionMismatch: 4
        case .identityRejected: 5
        case .io, .spawnFailed: 1
        case .upgraded: Self.upgradedExitCode
        }
    }
}
