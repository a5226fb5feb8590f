import Foundation
import MMSCrypto
import MonitorHTTP
import MonitorModels
import Synchronization

/// `mms-agent serve` once the flags are read: holds at most one job, runs it exactly as `start` does,
/// and answers the push API (`ServeRoutes`). Callers are checked by their HS256 JWT.
public final class ServeAgent: Sendable {
    let options: ServeOptions
    let log: AgentLogger
    let statsd: StatsD?
    let runnerOptions: RunnerOptions
    /// The working container runtime found at start (`--container-runtime`), nil when none.
    let containerRuntime: ContainerRuntime?
    let jobsDir: String
    private let secret: [UInt8]
    private let state = Mutex<(current: ServeJob?, task: Task<Void, Never>?, stopping: Bool)>((nil, nil, false))
    private let hub = Mutex<LongPollHub?>(nil)
    /// Clock of the JWT checks (tests move it).
    let now: @Sendable () -> Date

    /// A push agent for `options`; `grace` is the SIGTERM-to-SIGKILL wait of a stopped job.
    public init(options: ServeOptions, log: AgentLogger = .stderr, statsd: StatsD? = nil, grace: Duration = .seconds(10),
                containerRuntime: ContainerRuntime? = nil, now: @escaping @Sendable () -> Date = { Date() }) {
        self.options = options
        self.containerRuntime = containerRuntime
        self.log = log
        self.statsd = statsd
        self.now = now
        secret = Array(options.authTokenSecret.utf8)
        jobsDir = options.workDir + "/jobs"
        var r = RunnerOptions()
        r.grace = grace
        r.pgidFile = options.workDir + "/job.pgid"
        r.watchdog = JobWatchdog(grace: grace)
        r.jumpPoint = options.jobHost.jumpPointSettings(workDir: options.workDir)
        runnerOptions = r
    }

    /// Wires the HTTP front's long polls (set once the server runs).
    func attach(_ hub: LongPollHub) { self.hub.withLock { $0 = hub } }

    func wakeLog(_ id: Int64) { hub.withLock { $0 }?.wake([.log(id)]) }

    /// Checks the request's bearer JWT; 401 with the reason otherwise.
    func authorize(_ req: Request) throws(APIError) {
        guard let token = req.bearerToken else {
            throw APIError(.unauthorized, "this endpoint needs 'Authorization: Bearer JWT', an HS256 token signed with the agent's auth token secret")
        }
        do {
            _ = try JWT.verifyHS256(token, secret: secret, now: now(), leeway: 60)
        } catch {
            throw APIError(.unauthorized, error.message)
        }
    }

    /// The job with this id (the current or last one), else 404.
    func job(_ idText: String) throws(APIError) -> ServeJob {
        guard let id = Int64(idText), let job = state.withLock({ $0.current }), job.id == id else {
            throw APIError(.notFound, "job \(idText) is not on this agent (it holds only its current or last job)")
        }
        return job
    }

    /// What `GET /status` answers.
    func status() -> PushAgentStatus {
        guard let job = state.withLock({ $0.current }) else { return PushAgentStatus(state: .idle) }
        guard let outcome = job.outcome else { return PushAgentStatus(state: .running, jobId: job.id) }
        return PushAgentStatus(state: .finished, jobId: job.id, result: outcome.result)
    }

    /// Takes a job: the same id and attempt again is accepted without running twice; another while one runs is
    /// 409 `agent_busy`. Starting it replaces the last job's log and dirs. `host` is the name the caller reached
    /// this agent by (the ssh command names it unless `--ssh-host` does).
    func accept(_ request: PushJobRequest, host: String? = nil) throws(APIError) -> PushJobAccepted {
        let job = request.job
        if let problem = Validation.jobSpecProblem(job.spec) { throw APIError(.badRequest, problem) }
        guard job.id > 0, job.attempt >= 1 else { throw APIError(.badRequest, "field 'id' and field 'attempt' must be positive") }
        let env = JobEnvironment.build(agent: ProcessInfo.processInfo.environment, config: request.config.agentConfig, spec: job.spec)
        let (taken, isNew) = try state.withLock { s throws(APIError) -> (ServeJob, Bool) in
            if s.stopping { throw APIError(.serviceUnavailable, "the agent is stopping and takes no new work") }
            if let cur = s.current {
                if cur.id == job.id && cur.attempt == job.attempt { return (cur, false) }
                if !cur.isComplete {
                    throw APIError(.agentBusy, "this agent is running job \(cur.id) (attempt \(cur.attempt)); "
                        + "cancel it or wait until it has finished")
                }
            }
            do {
                try FileManager.default.createDirectory(atPath: jobsDir, withIntermediateDirectories: true)
            } catch {
                throw APIError(.internalError, "the agent cannot make \(jobsDir): \(error.localizedDescription)")
            }
            let id = job.id
            let fresh: ServeJob
            do {
                fresh = try ServeJob(request, jobsDir: jobsDir, environment: env, options: runnerOptions(for: request, host: host),
                                     setup: needsSetup(job.spec), wake: { [weak self] in self?.wakeLog(id) })
            } catch {
                throw APIError(.internalError, "the agent cannot start the job: \(error)")
            }
            s.current = fresh
            s.task = Task { await self.run(fresh) }
            return (fresh, true)
        }
        if isNew {
            log("job \(job.id) '\(job.name)' (attempt \(job.attempt)) started")
            statsd?.jobStarted(job.name, createdAt: taken.createdAt, now: taken.startedAt)
        }
        return PushJobAccepted(jobId: job.id, phase: taken.isComplete ? nil : taken.phase)
    }

    private func run(_ job: ServeJob) async {
        AgentSession.removeOldJobDirs(jobsDir, keeping: job.id)  // the last job's log and dirs
        let clock = ContinuousClock()
        let began = clock.now
        let outcome = await job.runner.run()
        try? FileManager.default.removeItem(atPath: jobsDir + "/\(job.id).mms")
        job.sink.finish()
        job.finished(outcome)
        wakeLog(job.id)
        statsd?.jobEnded(job.name, result: outcome.result.rawValue, duration: clock.now - began)
        log("job \(job.id) \(outcome.result.rawValue)\(outcome.failureReason.map { ": \($0)" } ?? "")")
    }

    /// Stops the job if it is still running ("cancelled by admin"); a finished job is left as it is.
    func cancel(_ job: ServeJob) {
        guard !job.isComplete else { return }
        job.runner.cancel(reason: "cancelled by admin")
        log("job \(job.id) cancelled by admin: stopping it")
    }

    /// SIGTERM: takes no new work, stops the running job ("agent stopped") and returns once it ended and its
    /// result was read (or `linger` passed), so the server that drives this agent can record it.
    public func stop(linger: Duration = .seconds(5)) async {
        let (job, task) = state.withLock { s -> (ServeJob?, Task<Void, Never>?) in
            s.stopping = true
            return (s.current, s.task)
        }
        guard let job, !job.isComplete else { return }
        log("stopping: no new work; cancelling job \(job.id)")
        job.runner.cancel(reason: "agent stopped")
        await task?.value
        let until = ContinuousClock.now + linger
        while !job.statusWasRead && ContinuousClock.now < until { try? await Task.sleep(for: .milliseconds(20)) }
    }

    /// The watchdog process ends with the agent.
    func shutDown() { runnerOptions.watchdog?.shutDown() }
}
