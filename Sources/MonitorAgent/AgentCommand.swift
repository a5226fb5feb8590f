import Foundation
import MonitorModels
import ServerAPIClient
#if canImport(Glibc)
import Glibc
#endif

/// The `mms-agent` command line: `start`, `run JOB.json`, `version`. Returns the process exit status.
public enum AgentCommand {
    /// Runs the command named by `args` (without the program name).
    public static func main(_ args: [String]) async -> Int32 {
        signal(SIGPIPE, SIG_IGN)  // a closed log pipe must not kill the agent; jobs get the default back
        guard let command = args.first else {
            LocalRun.writeAll(2, Data("mms-agent: missing command\n\(StartOptions.usage)\n".utf8))
            return 2
        }
        switch command {
        case "version", "--version":
            print("mms-agent \(MMSVersion.current)")
            return 0
        case "help", "--help", "-h":
            print(StartOptions.usage)
            return 0
        case "run":
            guard args.count == 2 else {
                LocalRun.writeAll(2, Data("mms-agent: run needs exactly one job file\n\(StartOptions.usage)\n".utf8))
                return 2
            }
            return await LocalRun.run(path: args[1])
        case "serve":
            do {
                try await serve(Array(args.dropFirst()))
                return 0
            } catch {
                LocalRun.writeAll(2, Data("mms-agent: \(error.description)\n".utf8))
                if case .usage = error { LocalRun.writeAll(2, Data("\(ServeOptions.usage)\n".utf8)) }
                return error.exitCode
            }
        case "start":
            return await startCommand(Array(args.dropFirst()))
        default:
            LocalRun.writeAll(2, Data("mms-agent: unknown command '\(command)'\n\(StartOptions.usage)\n".utf8))
            return 2
        }
    }

    /// `mms-agent start`: the supervisor (it takes the work-dir lock and runs the agent proper as its child),
    /// or, in that child, the agent proper. Returns the exit status.
    static func startCommand(_ args: [String]) async -> Int32 {
        let supervised = SupervisorLink.adopt()
        do throws(AgentError) {
            let options = try StartOptions.parse(args, env: ProcessInfo.processInfo.environment, hostname: Host.name)
            if let ca = options.caCert {
                do { try TrustStore().check(caCertPath: ca) } catch { throw AgentError.caCertNotTrusted(error.description) }
            }
            if supervised {
                try await agentProper(options)
                return 0
            }
            let lock = try WorkDirLock.acquire(workDir: options.workDir)
            defer { withExtendedLifetime(lock) {} }
            return await Supervisor(arguments: args, workDir: options.workDir, log: .stderr).run()
        } catch {
            if case .upgraded = error { return error.exitCode }  // logged already; the supervisor takes it from here
            LocalRun.writeAll(2, Data("mms-agent: \(error.description)\n".utf8))
            if case .usage = error { LocalRun.writeAll(2, Data("\(StartOptions.usage)\n".utf8)) }
            return error.exitCode
        }
    }

    /// The agent proper (under its supervisor, which holds the lock): leftovers of a crashed run, identity,
    /// the registration file, then the session until SIGTERM.
    static func agentProper(_ flags: StartOptions) async throws(AgentError) {
        var options = flags
        let log = AgentLogger.stderr
        if let pgid = PgidFile.killLeftovers(at: options.workDir + "/job.pgid") {
            log("killed process group \(pgid) left by an earlier run of the agent")
        }
        let runtime = try await checkContainerRuntime(options.jobHost, workDir: options.workDir, log: log)
        let (identity, created) = try AgentIdentity.loadOrCreate(workDir: options.workDir)
        if let file = try RegistrationFile.load(workDir: options.workDir) { try file.apply(to: &options) }
        let statsd = try StatsD.make(options.statsd, agentName: options.name)
        let executable = AgentBinaryDir.ownExecutable()
        let sha = AgentBinaryDir.sha256(ofFile: executable)
        log("mms-agent \(MMSVersion.current) starting: \(created ? "new" : "known") agent \(identity.uuid), "
            + "work dir \(options.workDir), server \(options.servers), binary \(executable) (SHA-256 \(sha ?? "unreadable"))")
        ProcessControl.becomeSubreaper()
        // One pool for every call (a new identity after a delete keeps it): they all move together.
        let servers = ServerPool(options.servers)
        servers.observe { log.serverMoves($0) }
        let session = AgentSession(options: options, identity: identity, log: log, grace: graceFromEnvironment(),
                                   statsd: statsd, containerRuntime: runtime,
                                   binary: sha.map { (executable, $0) }) { id in
            AgentAPI.live(servers: servers, secret: id.secret)
        }
        let signals = SignalWatcher(signals: [SIGTERM, SIGINT]) { _ in Task { await session.stop() } }
        defer { signals.cancel() }
        try await session.run()
        log("stopped")
    }

    /// The container runtime of `--container-runtime` (or the default one), checked now: when the flag named
    /// one that does not work the agent exits 2; without the flag it runs with none and says so. Then what a
    /// crashed run left: containers and networks labelled with this work dir, open SSH jump points.
    static func checkContainerRuntime(_ jobHost: JobHostOptions, workDir: String, log: AgentLogger) async throws(AgentError) -> ContainerRuntime? {
        for job in JumpPoint.closeLeftovers(stateDir: workDir + "/ssh") {
            log("closed the SSH jump point of job \(job) left by an earlier run of the agent")
        }
        let env = ProcessInfo.processInfo.environment
        let runtime: ContainerRuntime
        switch await ContainerRuntime.detect(jobHost.containerRuntime, environment: env) {
        case .success(let found): runtime = found
        case .failure(let problem):
            if jobHost.containerRuntime != nil { throw .usage("flag --container-runtime: \(problem.description)") }
            log("no container runtime: \(problem.description); container jobs will not come to this agent")
            return nil
        }
        log("container runtime: \(runtime.description) (\(runtime.path))")
        let removed = await ContainerJob.removeLeftovers(runtime: runtime, owner: workDir, environment: env)
        if !removed.isEmpty { log("removed \(removed.joined(separator: ", ")) left by an earlier run of the agent") }
        return runtime
    }

    /// The SIGTERM-to-SIGKILL grace period: 10 s, or MMS_AGENT_KILL_GRACE_MS (for tests).
    static func graceFromEnvironment() -> Duration {
        if let text = ProcessInfo.processInfo.environment["MMS_AGENT_KILL_GRACE_MS"], let ms = Int(text), ms >= 0 {
            return .milliseconds(ms)
        }
        return .seconds(10)
    }
}
