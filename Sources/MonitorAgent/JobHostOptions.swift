import Foundation

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

    /// Flags that take a value.
    public static let valueFlags = ["--container-runtime", "--authorized-keys", "--ssh-host", "--ssh-port"]
    /// Flags without a value.
    public static let switches = ["--ssh-jump-point"]

    /// Turns a switch on.
    public mutating func set(switch flag: String) {
        if flag == "--ssh-jump-point" { sshJumpPoint = true }
    }

    /// Reads the value flags from `flags` (flag → value); errors name the flag.
    public mutating func take(_ flags: [String: String], env: [String: String]) throws(AgentError) {
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
            guard let home = env["HOME"] ?? FileManager.default.homeDirectoryForCurrentUser.path as String?, !home.isEmpty else {
                throw .usage("flag --ssh-jump-point: no home dir; give --authorized-keys")
            }
            authorizedKeys = home + "/.ssh/authorized_keys"
        }
    }

    /// The jump point settings for an agent whose work dir is `workDir`, nil without `--ssh-jump-point`.
    public func jumpPointSettings(workDir: String) -> JumpPointSettings? {
        guard sshJumpPoint, let keys = authorizedKeys else { return nil }
        return JumpPointSettings(keysFile: keys, host: sshHost, port: sshPort, stateDir: workDir + "/ssh")
    }
}
