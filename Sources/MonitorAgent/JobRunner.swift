import Foundation
import MonitorModels
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// How a job ended, as reported to the server.
public struct JobOutcome: Sendable, Equatable {
    public var result: JobResult
    public var exitCode: Int?
    public var failureReason: String?
    public init(result: JobResult, exitCode: Int? = nil, failureReason: String? = nil) {
        self.result = result
        self.exitCode = exitCode
        self.failureReason = failureReason
    }

    /// The exit status `mms-agent run` ends with: 0, the failing code, 124 on timeout, 130 on cancel.
    public var processExitCode: Int32 {
        switch result {
        case .passed: 0
        case .failed: Int32(truncatingIfNeeded: exitCode ?? 1)
        case .cancelled: 130
        }
    }
}

/// Tunables of the runner; tests shorten the grace period.
public struct RunnerOptions: Sendable {
    /// Time between SIGTERM and SIGKILL to the job's process group (contract: 10 s).
    public var grace: Duration = .seconds(10)
    /// Longest an epilogue may run after a timeout stopped the job.
    public var epilogueAfterTimeout: Duration = .seconds(600)
    /// How often the runner looks at its processes.
    public var pollInterval: Duration = .milliseconds(20)
    /// Where to record the running job's process group (WORK_DIR/job.pgid), if anywhere.
    public var pgidFile: String?
    /// The watchdog that stops a job whose agent died; nil: the runner starts its own for the run.
    public var watchdog: JobWatchdog?
    /// Called by the output thread before each read of the job's pipe; may block to hold a fast job back.
    public var waitForRoom: @Sendable () -> Void = {}
    /// The job's id as names and key comments carry it (`mms-job-ID`); `mms-agent run` uses its own.
    public var jobLabel = "local-\(getpid())"
    /// Set when the agent can run container jobs; a job with `containers` fails without it.
    public var containers: ContainerSettings?
    /// Set when the agent offers SSH jump points (`--ssh-jump-point`).
    public var jumpPoint: JumpPointSettings?
    /// The host the ssh command names when `--ssh-host` is not given (the agent's address as the server sees it).
    public var sshHost: String?
    /// Called after the containers and the jump point are ready, before the first command, with the ssh
    /// command (the agent reports `building` here); false stops the job there, cancelled.
    public var onCommandsStart: (@Sendable (_ sshCommand: String?) async -> Bool)?
    public init() {}
}

/// Runs one job against real processes: its dir and files, one bash session, timeout and cancel.
public final class JobRunner: Sendable {
    public let spec: JobSpec
    public let jobDir: String
    public let controlDir: String
    let environment: [String: String]
    public let options: RunnerOptions
    let output: @Sendable (Data) -> Void
    let clock = ContinuousClock()
    /// `options.watchdog`, or one of the runner's own (shut down when `run` returns).
    let watchdog: JobWatchdog
    /// True once `prepare` made the job dir.
    private let prepared = Mutex(false)
    /// The job's containers, when it runs in them and the agent has a runtime.
    let container: ContainerJob?
    /// The job's SSH jump point, when it carries keys and the agent offers jump points.
    let jumpPoint: JumpPoint?
    /// Why the job is being stopped (first reason wins), the running session's process group, and when
    /// that group got its SIGTERM: one lock, so a cancel and a session start never miss each other.
    let control = Mutex<(reason: String?, pgid: pid_t?, termSentAt: ContinuousClock.Instant?)>((nil, nil, nil))

    /// A runner for `spec` in `jobDir` (created fresh), keeping its scripts in `controlDir`.
    /// `output` receives the merged stdout/stderr and the runner's `[mms]` lines; it must be thread-safe.
    public init(
        spec: JobSpec, jobDir: String, controlDir: String, environment: [String: String],
        options: RunnerOptions = RunnerOptions(), output: @escaping @Sendable (Data) -> Void
    ) {
        self.spec = spec
        self.jobDir = jobDir
        self.controlDir = controlDir
        self.environment = environment
        self.options = options
        self.output = output
        self.watchdog = options.watchdog ?? JobWatchdog(grace: options.grace)
        self.container = spec.runsInContainers ? options.containers.map {
            ContainerJob(settings: $0, spec: spec, jobDir: jobDir, controlDir: controlDir,
                         agentEnvironment: ProcessInfo.processInfo.environment)
        } : nil
        let keys = spec.sshPublicKeys.compactMap { try? SSHPublicKey.parse($0).get() }
        self.jumpPoint = keys.isEmpty ? nil : options.jumpPoint.map {
            JumpPoint(settings: $0, jobId: options.jobLabel, jobDir: jobDir, keys: keys)
        }
    }

    /// Stops the job: SIGTERM to its group at once (from the caller's thread, not at the runner's next look),
    /// SIGKILL after the grace period; the result is `cancelled`.
    public func cancel(reason: String) {
        let first = control.withLock { c -> Bool in
            if c.reason != nil { return false }
            c.reason = reason
            return true
        }
        guard first else { return }
        control.withLock { c in
            guard let pgid = c.pgid, c.termSentAt == nil else { return }  // no session yet: it sees the reason
            signalSession(pgid, SIGTERM)
            c.termSentAt = clock.now
        }
        note("\(reason): stopping the job")
    }

    /// True once `cancel` was called.
    public var isCancelled: Bool { control.withLock { $0.reason != nil } }

    var stopReason: String? { control.withLock { $0.reason } }

    /// Sends SIGTERM to the running session's group `pgid` unless it already got one; returns when it was sent.
    func terminate(_ pgid: pid_t) -> ContinuousClock.Instant {
        control.withLock { c -> ContinuousClock.Instant in
            if c.pgid == pgid, let sent = c.termSentAt { return sent }
            signalSession(pgid, SIGTERM)
            let now = clock.now
            if c.pgid == pgid { c.termSentAt = now }
            return now
        }
    }

    /// Signals the session whose host process group is `pgid`. In a container job the session's processes
    /// live in the main container, so the signal goes to them there (`kill -1` inside); SIGKILL also hits the
    /// host group (the runtime client), which otherwise ends by itself with its session.
    func signalSession(_ pgid: pid_t, _ signal: Int32) {
        guard let container else { return ProcessControl.signalGroup(pgid, signal) }
        container.signalAll(signal)
        if signal == SIGKILL { ProcessControl.signalGroup(pgid, SIGKILL) }
    }

    /// Makes the job dir (fresh) and writes the job's files with their modes (`run` does it otherwise).
    public func prepare() throws(AgentError) {
        try JobFiles.freshDir(controlDir)
        try prepareJobDir()
        prepared.withLock { $0 = true }
    }

    private func prepareJobDir() throws(AgentError) {
        try JobFiles.freshDir(jobDir)
        try JobFiles.write(spec.files, into: jobDir)
    }

    /// Runs the commands and epilogue; returns when no process of the job is left. Makes the job dir
    /// first unless `prepare` did; a failure there is a `failed` job ("cannot prepare the job: ...").
    /// With `startGate`, bash starts at once but runs no command before `startGate` answers (the agent asks
    /// the server meanwhile) and the job's files are written: bash's start-up, the files and the round
    /// trip overlap. A false answer ends the job there, `cancelled`, with nothing run. The timeout
    /// counts from the gate's opening.
    public func run(startGate: (@Sendable () async -> Bool)? = nil) async -> JobOutcome {
        // A job with containers or a jump point is always gated: its first command waits for them.
        let needsGate = startGate != nil || container != nil || jumpPoint != nil
        let gate = needsGate ? Task { await startGate?() ?? true } : nil  // first: the request goes out while bash starts
        defer { if options.watchdog == nil { watchdog.shutDown() } }
        let unprepared = !prepared.withLock { $0 }
        do {
            if unprepared {
                try JobFiles.freshDir(controlDir)
                if gate == nil { try prepareJobDir() }
            }
        } catch {
            return await notPrepared(error, gate: gate)
        }
        ProcessControl.becomeSubreaper()
        guard let fds = ProcessControl.cloexecPipe() else {
            _ = await gate?.value
            return JobOutcome(result: .failed, exitCode: 1, failureReason: "cannot make a pipe: \(String(cString: strerror(errno)))")
        }
        let pump = OutputPump(fd: fds.read, sink: output, waitForRoom: options.waitForRoom)
        pump.start()
        noteIgnoredFeatures()
        if spec.runsInContainers && container == nil {
            _ = await gate?.value
            close(fds.write)
            await pump.finish()
            return noContainerRuntime()
        }
        let outcome = await runSessions(outputFD: fds.write, gate: gate, prepareJobDir: unprepared && gate != nil)
        await tearDown()
        close(fds.write)
        await pump.finish()
        return outcome
    }

    /// The outcome of a job whose dir could not be made, said in its log too.
    private func notPrepared(_ error: AgentError, gate: Task<Bool, Never>?) async -> JobOutcome {
        _ = await gate?.value  // the start was reported: the failure is reported after it
        note("cannot prepare the job: \(error.description)")
        return JobOutcome(result: .failed, exitCode: nil, failureReason: "cannot prepare the job: \(error.description)")
    }

    private func runSessions(outputFD: Int32, gate: Task<Bool, Never>?, prepareJobDir writeFiles: Bool) async -> JobOutcome {
        let statusPath = controlDir + "/status"
        let main = JobScript.main(spec: spec, jobDir: jobDir, statusPath: statusPath, gated: gate != nil && container == nil)
        let end: SessionEnd
        let deadline: ContinuousClock.Instant
        do {
            let started = try startSession(main, name: "job", outputFD: outputFD, gated: gate != nil)
            if writeFiles {
                do {
                    try prepareJobDir()  // while bash starts; it waits at its gate
                } catch {
                    await abandon(started)
                    return await notPrepared(error, gate: gate)
                }
            }
            if let gate {
                var go = await gate.value
                let setupDeadline = clock.now + .seconds(spec.timeoutSeconds)  // pulling counts toward the timeout
                if go && !isCancelled, case .stop(let outcome) = await setUp(deadline: setupDeadline) {
                    await abandon(started)
                    return outcome
                }
                go = go && !isCancelled
                guard started.openGate(go) else {
                    await abandon(started)
                    return JobOutcome(result: .cancelled, failureReason: stopReason ?? "the server did not confirm the job's start")
                }
                deadline = setupDeadline
            } else {
                deadline = clock.now + .seconds(spec.timeoutSeconds)
            }
            end = await finish(started, deadline: deadline, deadlineNote: "timed out after \(spec.timeoutSeconds) s: stopping the job")
        } catch {
            _ = await gate?.value
            return JobOutcome(result: .failed, exitCode: 127, failureReason: error.description)
        }
        var status = ScriptStatus(parsing: (try? String(contentsOfFile: statusPath, encoding: .utf8)) ?? "")
        switch end {
        case .cancelled(let reason):
            return JobOutcome(result: .cancelled, failureReason: reason)
        case .timedOut:
            let reason = "timed out after \(spec.timeoutSeconds) s"
            if status.lastEpilogueStarted != nil, let rc = status.commandsOutcome(commandCount: spec.commands.count) {
                return outcomeOf(rc)  // the epilogue was running: it does not change the result
            }
            let lines = JobScript.chosenEpilogue(spec.epilogue, passed: false)
            let epilogueDeadline = clock.now + options.epilogueAfterTimeout
            _ = try? await continueEpilogue(lines, status: &status, rc: 124, statusPath: statusPath, outputFD: outputFD,
                                            deadline: epilogueDeadline, deadlineNote: "the epilogue timed out: stopping it")
            if let reason = stopReason { return JobOutcome(result: .cancelled, failureReason: reason) }
            return JobOutcome(result: .failed, exitCode: 124, failureReason: reason)
        case .exited(let shell):
            var rc = status.commandsOutcome(commandCount: spec.commands.count) ?? shell.shellCode
            if status.commandsOutcome(commandCount: spec.commands.count) == nil && rc == 0 { rc = 1 }
            let lines = JobScript.chosenEpilogue(spec.epilogue, passed: rc == 0)
            let cut = try? await continueEpilogue(
                lines, status: &status, rc: rc, statusPath: statusPath, outputFD: outputFD, deadline: deadline,
                deadlineNote: "timed out after \(spec.timeoutSeconds) s: stopping the epilogue")
            if case .cancelled(let reason) = cut { return JobOutcome(result: .cancelled, failureReason: reason) }
            return outcomeOf(rc)
        }
    }

    /// Runs the epilogue lines the status file shows as not started, each in a fresh session,
    /// until all ran (a line that ends the shell does not stop the ones after it).
    private func continueEpilogue(
        _ lines: [String], status: inout ScriptStatus, rc: Int32, statusPath: String, outputFD: Int32,
        deadline: ContinuousClock.Instant, deadlineNote: String
    ) async throws(AgentError) -> SessionEnd? {
        var round = 0
        while !status.epilogueDone {
            let next = (status.lastEpilogueStarted ?? -1) + 1
            if next >= lines.count { return nil }
            round += 1
            let script = JobScript.epilogueOnly(lines: Array(lines[next...]), from: next, jobDir: jobDir,
                                                statusPath: statusPath, rc: rc)
            let end = try await session(script, name: "epilogue-\(round)", outputFD: outputFD, deadline: deadline,
                                        deadlineNote: deadlineNote)
            status = ScriptStatus(parsing: (try? String(contentsOfFile: statusPath, encoding: .utf8)) ?? "")
            if case .exited = end { continue }
            return end
        }
        return nil
    }

    private func outcomeOf(_ rc: Int32) -> JobOutcome {
        rc == 0 ? JobOutcome(result: .passed, exitCode: 0)
            : JobOutcome(result: .failed, exitCode: Int(rc), failureReason: "command exited with \(rc)")
    }

    /// Writes an `[mms] ...` line into the job's log.
    func note(_ text: String) {
        output(Data("[mms] \(text)\n".utf8))
    }
}
