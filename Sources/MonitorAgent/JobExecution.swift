import Foundation
import MonitorModels
import ServerAPIClient
import Synchronization

/// The job an agent is running: what pings report, and the handle to cancel it.
final class RunningJob: Sendable {
    let jobId: Int64
    let attempt: Int
    private let state = Mutex<(runtime: RuntimeState, runner: JobRunner?, cancel: String?, lost: Bool, startAnswered: Bool)>(
        (.preparing, nil, nil, false, false))
    private let taskBox = Mutex<Task<Void, Never>?>(nil)
    private let shipperBox = Mutex<LogShipper?>(nil)

    init(jobId: Int64, attempt: Int) {
        self.jobId = jobId
        self.attempt = attempt
    }

    var runtimeState: RuntimeState { state.withLock { $0.runtime } }
    var task: Task<Void, Never>? { taskBox.withLock { $0 } }
    var isLost: Bool { state.withLock { $0.lost } }
    /// True once the server answered the job's start report (or the job ended without one).
    var startAnswered: Bool { state.withLock { $0.startAnswered } }
    func markStartAnswered() { state.withLock { $0.startAnswered = true } }

    func setTask(_ t: Task<Void, Never>) { taskBox.withLock { $0 = t } }
    func setShipper(_ s: LogShipper) { shipperBox.withLock { $0 = s } }

    /// The agent is stopping: cancel the job, and do not wait for an unreachable server for ever.
    func stopForShutdown() {
        cancel(reason: "agent stopped")
        shipperBox.withLock { $0 }?.giveUpWhenUnreachable(after: .seconds(15))
    }
    func setRuntime(_ r: RuntimeState) { state.withLock { if $0.cancel == nil { $0.runtime = r } } }

    /// Hands over the runner; a cancel that came earlier reaches it now.
    func attach(_ runner: JobRunner) {
        let reason = state.withLock { s -> String? in
            s.runner = runner
            return s.cancel
        }
        if let reason { runner.cancel(reason: reason) }
    }

    /// Cancels the job (first reason wins).
    func cancel(reason: String) {
        let runner = state.withLock { s -> JobRunner? in
            if s.cancel == nil { s.cancel = reason; s.runtime = .cancelling }
            return s.runner
        }
        runner?.cancel(reason: reason)
    }

    /// The server says the job is no longer ours: kill it and report nothing.
    func lose() {
        state.withLock { $0.lost = true }
        cancel(reason: "job reassigned by the server")
    }
}

extension AgentSession {
    /// Keeps one `next` long poll open; after a cancel it holds polls until the job has ended. After a job
    /// arrives it polls again once the server has answered the job's start: until then a poll could only
    /// bring the same job again (and a cancel of a job not yet started completes on the server at once).
    func pollLoop() async {
        var backoff = Backoff()
        while !stopping && !Task.isCancelled {
            if let running = current, !running.startAnswered {
                await startAnswers.wait()
                continue
            }
            if isUpgrading && current == nil {  // no new work: the upgrade goes ahead once the job is over
                await sleepUnlessStopping(.milliseconds(50))
                continue
            }
            if holdPolls {
                if current == nil { holdPolls = false } else { await sleepUnlessStopping(.milliseconds(50)); continue }
            }
            let uuid = identity.uuid
            do {
                let message = try await api.next(uuid, 20)
                monitor.succeeded()
                backoff.reset()
                switch message {
                case nil: continue
                case .job(let job): await accept(job)
                case .cancel(let jobId, let attempt): await cancelFromServer(jobId: jobId, attempt: attempt)
                }
            } catch {
                if stopping || Task.isCancelled { return }
                if error.code == .notFound {
                    await reregisterAsNew(deleted: uuid)
                    continue
                }
                if error.isTransient { monitor.failed(error) } else { refused("poll", error) }
                await sleepUnlessStopping(backoff.next())
            }
        }
    }

    func accept(_ job: Job) async {
        if stopping { return }
        if let running = current {
            if running.jobId != job.id {
                log("the server offered job \(job.id) while job \(running.jobId) runs; ignoring it")
                await sleepUnlessStopping(.seconds(1))
            }
            return
        }
        let running = RunningJob(jobId: job.id, attempt: job.attempt)
        current = running
        // A ping sent before this job was taken says "no job": let its answer come back first (at most
        // 2 s), or the server could read it after the job's start report and take the agent for restarted.
        let until = ContinuousClock.now + .seconds(2)
        while pingWithoutJobInFlight && ContinuousClock.now < until { try? await Task.sleep(for: .milliseconds(2)) }
        log("job \(job.id) '\(job.name)' (attempt \(job.attempt)) started")
        running.setTask(Task { await self.execute(job, running) })
    }

    func cancelFromServer(jobId: Int64, attempt: Int) async {
        if let running = current, running.jobId == jobId {
            running.cancel(reason: "cancelled by admin")  // first: the SIGTERM does not wait for the log line
            log("job \(jobId) cancelled by admin: stopping it")
            holdPolls = true
            return
        }
        // A cancel for a job this agent does not run: say it is over, so the server stops asking.
        let report = JobStateReport(attempt: attempt, state: .completed, result: .cancelled, failureReason: "cancelled by admin")
        _ = try? await api.reportState(jobId, report)
        await sleepUnlessStopping(.seconds(1))
    }

    /// Runs a delivered job: the start report goes out first, and while it is in flight the agent reads
    /// newer configuration if the job asks for it, makes the job dir, and starts bash, which waits at its
    /// gate for the answer; then log shipping and the final report.
    func execute(_ job: Job, _ running: RunningJob) async {
        defer {
            if current === running { current = nil }
            running.markStartAnswered()
            startAnswers.notify()
        }
        let jobsDir = options.workDir + "/jobs"
        await cleanup?.value  // an earlier job's cleanup must not see this job's dirs
        let setup = needsSetup(job.spec)
        let start = startJob(job, running, jobsDir: jobsDir, state: setup ? .preparing : .building)
        if let wanted = job.configVersion, wanted > (config?.version ?? -1) { await loadConfig() }
        let spool: LogSpool
        do {
            try FileManager.default.createDirectory(atPath: jobsDir, withIntermediateDirectories: true)
            spool = try LogSpool(path: jobsDir + "/\(job.id).log")
        } catch {
            log("job \(job.id): \(error)")
            guard await start.value else { return }
            _ = await report(job, JobStateReport(attempt: job.attempt, state: .completed, result: .failed, exitCode: nil,
                                                 failureReason: "the agent cannot write its work dir"), running)
            return
        }
        defer { try? FileManager.default.removeItem(atPath: spool.path) }
        let sink = LogSink(secrets: JobEnvironment.maskedValues(config), spool: spool)
        let env = JobEnvironment.build(agent: ProcessInfo.processInfo.environment, config: config, spec: job.spec)
        var jobOptions = runnerOptions
        jobOptions.waitForRoom = { spool.waitForRoom() }
        configureSetup(&jobOptions, job, running, setup: setup)
        let runner = JobRunner(spec: job.spec, jobDir: jobsDir + "/\(job.id)", controlDir: jobsDir + "/\(job.id).mms",
                               environment: env, options: jobOptions, output: { sink.write($0) })
        let statsd = statsd
        let shipper = LogShipper(spool: spool, jobId: job.id, attempt: job.attempt, base: job.logSize, monitor: monitor,
                                 shipped: { statsd?.count("log.bytes", $0, job: job.name) }, append: api.appendLog)
        running.setShipper(shipper)
        if stopping { running.stopForShutdown() }
        let shipping = Task { await shipper.run(onFatal: { _ in running.lose() }) }
        running.attach(runner)
        statsd?.jobStarted(job.name, createdAt: job.createdAt)
        let began = ContinuousClock.now
        let outcome = await runner.run(startGate: { await start.value })
        let duration = ContinuousClock.now - began  // it writes the job's files while bash starts
        try? FileManager.default.removeItem(atPath: jobsDir + "/\(job.id).mms")
        sink.finish()
        shipper.finish()
        await shipping.value
        if let refused = shipper.abandonedError {
            log("job \(job.id): the server kept refusing its log (\(refused.description)); the log is incomplete")
        }
        if running.isLost {
            log("job \(job.id) is no longer this agent's (reassigned or finished on the server); stopped it")
            return
        }
        let final = JobStateReport(attempt: job.attempt, state: .completed, result: outcome.result,
                                   exitCode: outcome.result == .cancelled ? nil : outcome.exitCode,
                                   failureReason: outcome.failureReason)
        if await report(job, final, running) {
            statsd?.jobEnded(job.name, result: outcome.result.rawValue, duration: duration)
            log("job \(job.id) \(outcome.result.rawValue)\(outcome.failureReason.map { ": \($0)" } ?? "")")
        }
    }

    /// The job's start, beside its bash starting: sends its start report, `building` (it implies
    /// `preparing`, which here is writing a few files; the poll loop waits for the answer) or, for a job
    /// with containers or a jump point, `preparing` (`building` follows from `onCommandsStart`), then begins
    /// removing the dirs of earlier jobs (in the background: FileManager takes ~1 ms even for an empty
    /// dir, and the job need not wait for it). True once the server has the report, false when the job
    /// is no longer ours.
    func startJob(_ job: Job, _ running: RunningJob, jobsDir: String, state: ReportedJobState) -> Task<Bool, Never> {
        Task {
            let started = await report(job, JobStateReport(attempt: job.attempt, state: state), running)
            if started && state == .building { running.setRuntime(.building) }
            running.markStartAnswered()
            startAnswers.notify()
            cleanup = Task.detached(priority: .background) { Self.removeOldJobDirs(jobsDir, keeping: job.id) }
            return started
        }
    }

    /// Sends a state report, retrying while the server is unreachable; false when the job is no longer ours.
    func report(_ job: Job, _ report: JobStateReport, _ running: RunningJob) async -> Bool {
        var backoff = Backoff()
        let started = ContinuousClock.now
        while true {
            do {
                _ = try await api.reportState(job.id, report)
                monitor.succeeded()
                return true
            } catch {
                if LogShipper.isFatal(error) {
                    running.lose()
                    return false
                }
                if error.isTransient { monitor.failed(error) } else { refused("job \(job.id): report", error) }
                if stopping && ContinuousClock.now - started > .seconds(15) {
                    log("job \(job.id): giving up reporting '\(report.state.rawValue)' while stopping")
                    return false
                }
                if !error.isTransient && ContinuousClock.now - started > .seconds(30) { return false }
                await sleepUnlessStopping(backoff.next())
                if stopping { try? await Task.sleep(for: .milliseconds(200)) }
            }
        }
    }

    /// Removes job dirs of earlier jobs (everything in `jobsDir` but job `id`'s dir, control dir and
    /// spool), so the work dir does not grow without bound.
    static func removeOldJobDirs(_ jobsDir: String, keeping id: Int64) {
        let fm = FileManager.default
        let current: Set<String> = ["\(id)", "\(id).mms", "\(id).log"]
        for name in (try? fm.contentsOfDirectory(atPath: jobsDir)) ?? [] where !current.contains(name) {
            try? fm.removeItem(atPath: jobsDir + "/" + name)
        }
    }
}
