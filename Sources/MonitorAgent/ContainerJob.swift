import Foundation
import MonitorModels
#if canImport(Glibc)
import Glibc
#endif

/// Where a container job's containers come from: the runtime, the label that marks them as this
/// agent's, the prefix of their names, and the registry credentials of `imagePullSecret`.
public struct ContainerSettings: Sendable {
    public var runtime: ContainerRuntime
    /// Value of the `mms.owner` label on every container and network (the agent's work dir), so a restart finds them.
    public var owner: String
    /// Names are `PREFIX-NAME` and the network is `PREFIX` (`mms-1a2b3c4d-job-42`, see `prefix(owner:job:)`).
    public var prefix: String
    /// `REGISTRY USER PASSWORD` from the job's `imagePullSecret`, when it names one.
    public var pullSecret: String?
    /// The main container's variables before its own `env`: configuration, named secrets, the job's env
    /// (`JobEnvironment.build` without the agent's own: the host's PATH or HOME mean nothing in a container).
    public var jobEnvironment: [String: String] = [:]
    /// Called after each pull with the image, its duration and whether it failed (StatsD hooks in here).
    public var pulled: @Sendable (_ image: String, _ duration: Duration, _ failed: Bool) -> Void = { _, _, _ in }

    /// The prefix of job `job`'s names for the agent in `owner`: `mms-OWNERHASH-job-ID`, so two agents on one
    /// box (or two servers' jobs with the same id) never share a container or network name.
    public static func prefix(owner: String, job: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a 64 of the work dir
        for byte in owner.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return "mms-\(String(hash >> 32, radix: 16))-job-\(job)"
    }

    public init(runtime: ContainerRuntime, owner: String, prefix: String, pullSecret: String? = nil) {
        self.runtime = runtime
        self.owner = owner
        self.prefix = prefix
        self.pullSecret = pullSecret
    }
}

/// The containers and the network of one container job: pulled and started before the first command,
/// the sessions run in the main one through `RUNTIME exec`, everything removed when the job ends.
struct ContainerJob: Sendable {
    let settings: ContainerSettings
    let spec: JobSpec
    let jobDir: String
    let controlDir: String
    /// The variables of the main container: configuration, named secrets, the job's env, the main container's env.
    let mainEnvironment: [String: String]
    let call: RuntimeCall

    init(settings: ContainerSettings, spec: JobSpec, jobDir: String, controlDir: String, agentEnvironment: [String: String]) {
        self.settings = settings
        self.spec = spec
        self.jobDir = jobDir
        self.controlDir = controlDir
        var env = settings.jobEnvironment
        for (k, v) in spec.containers.first?.env ?? [:] { env[k] = v }
        self.mainEnvironment = env
        self.call = RuntimeCall(executable: settings.runtime.path, environment: agentEnvironment)
    }

    var network: String { settings.prefix }
    var mainName: String { name(of: spec.containers[0]) }
    func name(of c: ContainerSpec) -> String { settings.prefix + "-" + c.name }
    var labels: [String] { ["--label", "mms.owner=\(settings.owner)", "--label", "mms.job=\(settings.prefix)"] }

    /// Pulls the missing images, makes the network, starts the services, then the main container. Returns
    /// nil when all run, else the failure reason (the runtime's own message); `note` writes to the job log.
    func start(note: @Sendable (String) -> Void, shouldStop: @escaping @Sendable () -> String?) async -> String? {
        for image in Set(spec.containers.map(\.image)).sorted() {
            if let problem = await pullIfMissing(image, note: note, shouldStop: shouldStop) { return problem }
        }
        let net = await call.run(["network", "create"] + labels + [network], shouldStop: shouldStop)
        if !net.ok { return net.stopped ?? "cannot create the network \(network): \(net.message)" }
        for service in spec.containers.dropFirst() {
            var args = ["run", "-d", "--name", name(of: service), "--network", network, "--network-alias", service.name] + labels
            if let user = service.user { args += ["--user", user] }
            for k in service.env.keys.sorted() { args += ["-e", k] }
            args.append(service.image)
            if let command = service.command { args += ["sh", "-c", command] }
            let run = await call.run(args, extraEnvironment: service.env, shouldStop: shouldStop)
            if !run.ok { return run.stopped ?? "cannot start the service container \(service.name): \(run.message)" }
            note("service container \(service.name) (\(service.image)) started")
        }
        let main = spec.containers[0]
        var args = ["run", "-d", "--name", mainName, "--network", network, "--network-alias", main.name] + labels
        args += ["-v", "\(jobDir):\(jobDir)", "-v", "\(controlDir):\(controlDir)", "-w", jobDir]
        if let user = main.user { args += ["--user", user] }
        for k in mainEnvironment.keys.sorted() { args += ["-e", k] }
        args += ["--entrypoint", "sleep", main.image, "infinity"]  // kept alive; the sessions come in through exec
        let run = await call.run(args, extraEnvironment: mainEnvironment, shouldStop: shouldStop)
        if !run.ok { return run.stopped ?? "cannot start the main container \(main.name): \(run.message)" }
        note("main container \(main.name) (\(main.image)) started with \(settings.runtime.description)")
        return nil
    }

    private func pullIfMissing(_ image: String, note: @Sendable (String) -> Void,
                               shouldStop: @escaping @Sendable () -> String?) async -> String? {
        if await call.run(["image", "inspect", image], shouldStop: shouldStop).ok { return nil }
        if let reason = shouldStop() { return reason }
        note("pulling \(image)")
        var args = ["pull"]
        var extra: [String: String] = [:]
        if let auth = writeAuthFile() {
            if settings.runtime.kind == "podman" { args += ["--authfile", auth.file] } else { extra["DOCKER_CONFIG"] = auth.dir }
        }
        let began = ContinuousClock.now
        let pull = await call.run(args + [image], extraEnvironment: extra, shouldStop: shouldStop)
        settings.pulled(image, ContinuousClock.now - began, !pull.ok)
        if let stopped = pull.stopped { return stopped }
        return pull.ok ? nil : "cannot pull \(image): \(pull.message)"
    }

    /// Writes the pull secret as a registry auth file (the format both runtimes read) in the control dir, 0600.
    private func writeAuthFile() -> (dir: String, file: String)? {
        guard let secret = settings.pullSecret else { return nil }
        let parts = secret.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" }).map(String.init)
        guard parts.count >= 3 else { return nil }
        let token = Data("\(parts[1]):\(parts[2...].joined(separator: " "))".utf8).base64EncodedString()
        let json = "{\"auths\":{\"\(parts[0])\":{\"auth\":\"\(token)\"}}}\n"
        let dir = controlDir + "/registry-auth"
        let file = dir + "/config.json"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        guard JobFiles.writeScratch(file, json) == nil else { return nil }
        chmod(file, 0o600)
        return (dir, file)
    }

    /// The host-side script of a session: waits at the gate when `gated`, then runs `script` (a path in the
    /// control dir, mounted at the same path) with bash in the main container.
    func sessionWrapper(script: String, gated: Bool) -> String {
        var s = "# generated by mms-agent: this session runs in container \(mainName)\n"
        if gated { s += JobScript.gate }
        var args = [settings.runtime.path, "exec", "-w", jobDir]
        if let user = spec.containers[0].user { args += ["-u", user] }
        args += [mainName, "bash", "--noprofile", "--norc", script]
        return s + "exec " + args.map(JobScript.quote).joined(separator: " ") + "\n"
    }

    /// Sends `signal` to every process in the main container but its keep-alive (PID 1); does not wait.
    func signalAll(_ signal: Int32) {
        call.fireAndForget(["exec", "-u", "0", mainName, "bash", "-c", "kill -s \(signal) -1 2>/dev/null; true"])
    }

    /// Removes the job's containers (with their anonymous volumes) and its network; returns a problem, or nil.
    func remove() async -> String? {
        let names = spec.containers.map(name(of:))
        let rm = await call.run(["rm", "-f", "-v"] + (settings.runtime.kind == "podman" ? ["-t", "0"] : []) + names)
        let net = await call.run(["network", "rm", network])
        ProcessControl.reapZombies(named: "conmon")
        let gone = await Self.leftovers(call: call, filter: "mms.job=\(settings.prefix)", owner: settings.owner)
        if gone.isEmpty { return nil }
        return "could not remove \(gone.joined(separator: ", ")): \(rm.ok ? net.message : rm.message)"
    }

    /// Removes every container and network labelled with `owner` (what a crashed run of the agent left);
    /// returns what was removed.
    static func removeLeftovers(runtime: ContainerRuntime, owner: String, environment: [String: String]) async -> [String] {
        let call = RuntimeCall(executable: runtime.path, environment: environment)
        let left = await leftovers(call: call, filter: nil, owner: owner)
        if left.isEmpty { return [] }
        let containers = await ids(call, ["ps", "-a", "-q", "--filter", "label=mms.owner=\(owner)"])
        if !containers.isEmpty { _ = await call.run(["rm", "-f", "-v"] + (runtime.kind == "podman" ? ["-t", "0"] : []) + containers) }
        let networks = await ids(call, ["network", "ls", "-q", "--filter", "label=mms.owner=\(owner)"])
        if !networks.isEmpty { _ = await call.run(["network", "rm"] + networks) }
        return left
    }

    /// Names of the containers and networks with `owner`'s label (and `filter`'s, when given) still present.
    static func leftovers(call: RuntimeCall, filter: String?, owner: String) async -> [String] {
        var filters = ["--filter", "label=mms.owner=\(owner)"]
        if let filter { filters += ["--filter", "label=\(filter)"] }
        let c = await ids(call, ["ps", "-a", "--format", "{{.Names}}"] + filters)
        let n = await ids(call, ["network", "ls", "--format", "{{.Name}}"] + filters)
        return c.map { "container \($0)" } + n.map { "network \($0)" }
    }

    private static func ids(_ call: RuntimeCall, _ args: [String]) async -> [String] {
        let answer = await call.run(args, shouldStop: ContainerRuntime.timeLimit(.seconds(30)))
        guard answer.ok else { return [] }
        return answer.output.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("failed to connect to syslog") }
    }
}
