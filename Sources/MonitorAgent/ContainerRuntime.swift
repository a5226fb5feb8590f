import Foundation

/// The container runtime an agent runs container jobs with (`--container-runtime docker|podman`): its
/// executable, checked at start, and the name and version it reports at registration (`podman 4.3.1`).
public struct ContainerRuntime: Sendable, Equatable {
    /// `docker` or `podman`: both take the same flags for everything the agent does.
    public let kind: String
    /// Absolute path of the executable.
    public let path: String
    /// What AGENT's `containerRuntime` says, e.g. `podman 4.3.1`.
    public let description: String

    /// The runtimes the flag accepts.
    public static let kinds = ["docker", "podman"]

    /// The runtime `--container-runtime` names (nil: `docker` if on PATH, else `podman`), checked by asking it
    /// for its version (docker asks its daemon, so a CLI without a daemon does not count). Returns the
    /// runtime or why none works.
    public static func detect(_ requested: String?, environment: [String: String]) async -> Result<ContainerRuntime, AgentError> {
        let kind = requested ?? (which("docker", environment) != nil ? "docker" : "podman")
        guard let path = which(kind, environment) else { return .failure(.usage("\(kind) is not on PATH")) }
        let call = RuntimeCall(executable: path, environment: environment)
        let args = kind == "docker" ? ["version", "--format", "{{.Server.Version}}"] : ["version", "--format", "{{.Version}}"]
        let answer = await call.run(args, shouldStop: timeLimit(.seconds(20)))
        guard answer.ok else { return .failure(.usage("\(path) \(args.joined(separator: " ")) failed: \(answer.message)")) }
        let version = answer.output.split(separator: "\n").last.map(String.init)?.trimmingCharacters(in: .whitespaces) ?? ""
        return .success(ContainerRuntime(kind: kind, path: path, description: version.isEmpty ? kind : "\(kind) \(version)"))
    }

    /// The first executable named `name` in PATH (or `name` itself when it is a path).
    static func which(_ name: String, _ environment: [String: String]) -> String? {
        if name.contains("/") { return FileManager.default.isExecutableFile(atPath: name) ? name : nil }
        let path = environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for dir in path.split(separator: ":") where FileManager.default.isExecutableFile(atPath: "\(dir)/\(name)") {
            return "\(dir)/\(name)"
        }
        return nil
    }

    /// A `shouldStop` that answers once `limit` has passed.
    static func timeLimit(_ limit: Duration) -> @Sendable () -> String? {
        let end = ContinuousClock.now + limit
        return { ContinuousClock.now >= end ? "no answer within \(limit)" : nil }
    }
}
