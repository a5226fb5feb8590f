import Foundation
import MonitorModels
import ServerAPIClient
#if canImport(Glibc)
import Glibc
#endif

/// `mms-agent start` once the flags are read: registers, waits for authorization, pings on the server's
/// interval, keeps one `next` long poll open, runs the jobs it is given, and stops cleanly on SIGTERM.
public actor AgentSession {
    let options: StartOptions
    let log: AgentLogger
    let makeAPI: @Sendable (AgentIdentity) -> AgentAPI
    let monitor: ConnectionMonitor
    var runnerOptions = RunnerOptions()
    var identity: AgentIdentity
    var api: AgentAPI
    var configState: AgentConfigState = .pending
    var pingInterval: Duration = .seconds(5)
    var config: AgentConfig?
    var current: RunningJob?
    var holdPolls = false
    /// Wakes the poll loop when a running job's start report was answered (or the job ended).
    let startAnswers = WakeSignal()
    /// Removal of earlier jobs' dirs, begun at a job's start beside its commands; the next job waits for it.
    var cleanup: Task<Void, Never>?
    var stopping = false
    /// A ping that says "no job" is on its way to the server (a job accepted meanwhile waits for its
    /// answer, so the server never reads that ping after the job's start report as a restart).
    var pingWithoutJobInFlight = false
    var fatal: AgentError?
    var reregistering = false
    /// The running binary and any upgrade under way (AgentSession+Upgrade).
    var upgrade = UpgradeState()
    /// The container runtime checked at start (nil: container jobs fail here, and the server sends none).
    let containerRuntime: ContainerRuntime?
    /// This agent's address as the server saw it at registration (the default host of ssh commands).
    var serverSeenAddress: String?
    /// Where job counters, durations, ping round trips and server errors go (nil: nowhere).
    let statsd: StatsD?

    /// A session for `identity`; `makeAPI` builds the client for an identity (live or fake).
    /// `binary` is the running executable and its SHA-256 (sent to the server; upgrades need it).
    public init(options: StartOptions, identity: AgentIdentity, log: AgentLogger = .stderr, grace: Duration = .seconds(10),
                statsd: StatsD? = nil, containerRuntime: ContainerRuntime? = nil,
                binary: (path: String, sha256: String)? = nil,
                makeAPI: @escaping @Sendable (AgentIdentity) -> AgentAPI) {
        self.options = options
        self.containerRuntime = containerRuntime
        self.identity = identity
        self.log = log
        self.makeAPI = makeAPI
        self.api = makeAPI(identity)
        self.statsd = statsd
        self.monitor = ConnectionMonitor(serverURL: options.servers.description, log: log, statsd: statsd)
        self.runnerOptions.grace = grace
        self.runnerOptions.pgidFile = options.workDir + "/job.pgid"
        self.runnerOptions.watchdog = JobWatchdog(grace: grace)
        self.upgrade.runningPath = binary?.path
        self.upgrade.runningSHA256 = binary?.sha256
        self.runnerOptions.jumpPoint = options.jobHost.jumpPointSettings(workDir: options.workDir)
    }

    /// Runs until SIGTERM (`stop`) or a fatal answer; returns normally for exit 0, throws for other exits.
    public func run() async throws(AgentError) {
        runnerOptions.watchdog?.watch(0)  // started now, so a job's start does not wait for it
        try await register()
        if configState == .enabled { await loadConfig() }
        // The poll is never cancelled: cancelling an in-flight URLSession call can leave it hanging for ever
        // (swift-corelibs-foundation). It ends within its wait and sees `stopping`; the process exits first.
        Task { await self.pollLoop() }
        await pingLoop()
        if let job = current { await job.task?.value }
        runnerOptions.watchdog?.shutDown()
        if let fatal { throw fatal }
    }

    /// Stops taking work, cancels the running job ("agent stopped") and lets `run` return once it is reported.
    public func stop() {
        if stopping { return }
        stopping = true
        log("stopping: no new work\(current.map { "; cancelling job \($0.jobId)" } ?? "")")
        current?.stopForShutdown()
    }

    // MARK: registration

    func register() async throws(AgentError) {
        var backoff = Backoff()
        while !stopping {
            let request = RegisterRequest(
                uuid: identity.uuid, name: options.name, hostname: Host.name, os: Host.os, version: MMSVersion.current,
                resources: options.resources, environments: options.environments, autoRegisterKey: options.autoRegisterKey,
                containerRuntime: containerRuntime?.description, binarySHA256: upgrade.runningSHA256)
            do {
                let (agent, pending) = try await api.register(request)
                monitor.succeeded()
                configState = pending ? .pending : agent.configState
                serverSeenAddress = agent.ipAddress
                if pending {
                    log("waiting for authorization: authorize \(options.name) (\(identity.uuid)) in mms-console")
                } else {
                    log("registered as \(agent.name) (\(identity.uuid)), \(agent.configState.rawValue)")
                    keyAccepted()
                }
                return
            } catch {
                if error.isTransient {
                    monitor.failed(error)
                    try? await Task.sleep(for: backoff.next())
                    continue
                }
                throw await registrationError(error)
            }
        }
    }

    private func registrationError(_ error: ClientError) async -> AgentError {
        switch error.code {
        case .versionMismatch:
            let server = (try? await api.version().version) ?? "unknown"
            if let upgraded = await upgradeForVersionMismatch(serverVersion: server) { return upgraded }
            return .versionMismatch(agent: MMSVersion.current, server: server)
        case .unauthorized:
            return .identityRejected("the server refused agent \(identity.uuid): it knows this UUID with another secret. "
                + "To register this box as a new agent, remove \(AgentIdentity.path(in: options.workDir)) and start again")
        case .badRequest:
            return .usage("the server refused the registration: \(error.description)")
        default:
            return .identityRejected("registration failed: \(error.description)")
        }
    }

    /// The server deleted this agent (404): start over with a new identity.
    func reregisterAsNew(deleted uuid: String) async {
        guard uuid == identity.uuid, !reregistering, !stopping else { return }
        reregistering = true
        defer { reregistering = false }
        let fresh = AgentIdentity.generate()
        do {
            try fresh.save(workDir: options.workDir)
        } catch {
            log("cannot save the new identity: \(error.description)")
            return
        }
        log("agent \(uuid) was deleted on the server; registering again as a new agent \(fresh.uuid)")
        identity = fresh
        api = makeAPI(fresh)
        config = nil
        do {
            try await register()
        } catch {
            fatal = error
            stop()
        }
    }

    // MARK: ping

    func pingLoop() async {
        var backoff = Backoff()
        while !stopping {
            let uuid = identity.uuid
            let request = PingRequest(runtimeState: reportedRuntimeState, jobId: current?.jobId,
                                      freeSpaceBytes: Host.freeSpace(options.workDir), binarySHA256: upgrade.runningSHA256)
            pingWithoutJobInFlight = request.jobId == nil
            do {
                let sent = ContinuousClock.now
                let answer = try await api.ping(uuid, request)
                pingWithoutJobInFlight = false
                statsd?.timing("server.rtt", milliseconds: (ContinuousClock.now - sent).milliseconds)
                statsd?.gauge("up", 1)
                monitor.succeeded()
                backoff.reset()
                await handle(answer)
            } catch {
                pingWithoutJobInFlight = false
                if error.code == .notFound {
                    await reregisterAsNew(deleted: uuid)
                    continue
                }
                if error.isTransient { monitor.failed(error) } else { refused("ping", error) }
                await sleepUnlessStopping(backoff.next())
                continue
            }
            await sleepUnlessStopping(pingInterval)
        }
    }

    func handle(_ answer: PingResponse) async {
        pingInterval = .seconds(max(1, answer.pingIntervalSeconds))
        if !MMSVersion.compatible(MMSVersion.current, answer.serverVersion) {
            considerUpgrade(offered: answer.agentSHA256, serverVersion: answer.serverVersion)
            if isUpgrading { return }
            let mismatch = AgentError.versionMismatch(agent: MMSVersion.current, server: answer.serverVersion)
            fatal = mismatch
            log(mismatch.description)
            stop()
            return
        }
        let old = configState
        configState = answer.configState
        if old != answer.configState {
            switch answer.configState {
            case .enabled: log(old == .pending ? "authorized: taking jobs" : "enabled again: taking jobs")
            case .disabled: log("disabled on the server: finishing the running job, taking no new work")
            case .pending: log("waiting for authorization: authorize \(options.name) (\(identity.uuid)) in mms-console")
            }
        }
        if answer.configState == .enabled && answer.configVersion > (config?.version ?? -1) {
            await loadConfig()
        }
        considerUpgrade(offered: answer.agentSHA256, serverVersion: answer.serverVersion)
    }

    /// The server accepted a registration whose key came from WORK_DIR/agent-registration.properties: that
    /// key line is removed (the other lines stay as they are).
    func keyAccepted() {
        guard options.autoRegisterKey != nil, !options.explicit.contains("autoRegisterKey") else { return }
        let file = RegistrationFile.path(in: options.workDir)
        switch RegistrationFile.removeKeyLine(workDir: options.workDir) {
        case .removed: log("the server accepted the auto-register key; removed its line from \(file)")
        case .failed: log("cannot remove the auto-register key line from \(file); remove it by hand")
        case .absent: break
        }
    }

    /// Reads the configuration entries; keeps the ones held when the server refuses.
    func loadConfig() async {
        do {
            let fresh = try await api.config(identity.uuid)
            config = fresh
        } catch {
            if error.code == .agentNotAuthorized {
                log("configuration not readable: this agent is not enabled on the server")
            } else {
                log("cannot read configuration: \(error.description)")
            }
        }
    }

    /// The server refused a call (a 4xx): logged, and counted as `server.errors`.
    func refused(_ what: String, _ error: ClientError) {
        statsd?.count("server.errors")
        log("\(what) refused: \(error.description)")
    }

    func sleepUnlessStopping(_ duration: Duration) async {
        let until = ContinuousClock.now + duration
        while !stopping && ContinuousClock.now < until {
            try? await Task.sleep(for: min(.milliseconds(100), until - .now))
        }
    }
}

/// Facts about this box sent at registration.
enum Host {
    static var name: String {
        var buf = [CChar](repeating: 0, count: 256)
        gethostname(&buf, buf.count - 1)
        return String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static var os: String {
        var u = utsname()
        uname(&u)
        let sys = withUnsafeBytes(of: &u.sysname) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let rel = withUnsafeBytes(of: &u.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        return "\(sys) \(rel)"
    }

    static func freeSpace(_ path: String) -> Int64? {
        var s = statvfs()
        guard statvfs(path, &s) == 0 else { return nil }
        return Int64(s.f_bavail) * Int64(s.f_frsize)
    }
}
