import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The flags of `mms-agent start` (and `serve`) about where jobs run: `--container-runtime`,
/// `--ssh-jump-point`, `--authorized-keys`, `--ssh-host`, `--ssh-port`.
public struct JobHostOptions: Sendable, Equatable {
    /// `--container-runtime docker|podman`; nil: `docker` if on PATH, else `podman`.
    public var containerRuntime: String?
    /// `--ssh-jump-point`: honour the `sshPublicKeys` of jobs.
    public var sshJumpPoint = false
    /// `--authorized-keys PATH`; nil: `~/.ssh/authorized_keys` of the user the agent runs as.
    public var authorizedKeys: String?
    /// `--ssh-host HOST`; nil: the agent's address as the server sees it.
    public var sshHost: String?
    /// `--ssh-port`, 22 by default.
    public var sshPort = 22

    public init() {}

    /// The usage line of these flags.
    static let usage = "[--container-runtime docker|podman] [--ssh-jump-point [--authorized-keys PATH] [--ssh-host HOST] [--ssh-port 22]]"
    /// Flags that take a value.
    static let valuedFlags: Set<String> = ["--container-runtime", "--authorized-keys", "--ssh-host", "--ssh-port"]
    /// Flags without a value.
    static let switches: Set<String> = ["--ssh-jump-point"]

    /// Reads these flags from what `Flags.parse` found; errors name the flag.
    static func from(_ flags: [String: String], env: [String: String]) throws(AgentError) -> JobHostOptions {
        var o = JobHostOptions()
        o.sshJumpPoint = flags["--ssh-jump-point"] != nil
        try o.take(flags, env: env)
        return o
    }

    private mutating func take(_ flags: [String: String], env: [String: String]) throws(AgentError) {
        if let runtime = flags["--container-runtime"] {
            guard ContainerRuntime.kinds.contains(runtime) else { throw .usage("flag --container-runtime must be docker or podman") }
            containerRuntime = runtime
        }
        if let port = flags["--ssh-port"] {
            guard let p = Int(port), (1...65535).contains(p) else { throw .usage("flag --ssh-port must be a port number (1-65535)") }
            sshPort = p
        }
        if let host = flags["--ssh-host"] {
            guard !host.isEmpty, !host.contains(where: { $0 == " " || $0 == "@" || $0.isNewline }) else {
                throw .usage("flag --ssh-host must be a host name or address")
            }
            sshHost = host
        }
        if let keys = flags["--authorized-keys"] {
            guard !keys.isEmpty else { throw .usage("flag --authorized-keys must not be empty") }
            authorizedKeys = URL(fileURLWithPath: keys).standardizedFileURL.path
        }
        let sshFlags = ["--authorized-keys", "--ssh-host", "--ssh-port"].filter { flags[$0] != nil }
        if !sshJumpPoint, let first = sshFlags.first { throw .usage("flag \(first) needs --ssh-jump-point") }
        if sshJumpPoint && authorizedKeys == nil {
            guard let home = Self.homeDir(env), !home.isEmpty else {
                throw .usage("flag --ssh-jump-point: no home dir; give --authorized-keys")
            }
            authorizedKeys = home + "/.ssh/authorized_keys"
        }
    }

    /// The home dir of the user the agent runs as (the password database first, then HOME).
    static func homeDir(_ env: [String: String]) -> String? {
        if let pw = getpwuid(geteuid()), let dir = pw.pointee.pw_dir { return String(cString: dir) }
        return env["HOME"]
    }

    /// The jump point settings for an agent whose work dir is `workDir`, nil without `--ssh-jump-point`.
    public func jumpPointSettings(workDir: String) -> JumpPointSettings? {
        guard sshJumpPoint, let keys = authorizedKeys else { return nil }
        return JumpPointSettings(keysFile: keys, host: sshHost, port: sshPort, stateDir: workDir + "/ssh")
    }
}
