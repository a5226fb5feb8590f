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
    /// Called by the output thread before each read of the job's pipe; may block to hold a fast job back.
    public var waitForRoom: @Sendable () -> Void = {}
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
    private let stopReason = Mutex<String?>(nil)

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
    }

    /// Stops the job: SIGTERM to its group, SIGKILL after the grace period; the result is `cancelled`.
    public func cancel(reason: String) {
        let first = stopReason.withLock { r -> Bool in
            if r != nil { return false }
            r = reason
            return true
        }
        if first { note("\(reason): stopping the job") }
    }

    /// True once `cancel` was called.
    public var isCancelled: Bool { stopReason.withLock { $0 != nil } }

    /// Makes the job dir (fresh) and writes the job's files with their modes.
    public func prepare() throws(AgentError) {
        try JobFiles.freshDir(jobDir)
        try JobFiles.freshDir(controlDir)
        try JobFiles.write(spec.files, into: jobDir)
    }

    /// Runs the commands and epilogue; returns when no process of the job is left.
    public func run() async -> JobOutcome {
        ProcessControl.becomeSubreaper()
        guard let fds = ProcessControl.cloexecPipe() else {
            return JobOutcome(result: .failed, exitCode: 1, failureReason: "cannot make a pipe: \(String(cString: strerror(errno)))")
        }
        let pump = OutputPump(fd: fds.read, sink: output, waitForRoom: options.waitForRoom)
        pump.start()
        let outcome = await runSessions(outputFD: fds.write)
        close(fds.write)
        await pump.finish()
        return outcome
    }

    private func runSessions(outputFD: Int32) async -> JobOutcome {
        let statusPath = controlDir + "/status"
        let deadline = clock.now + .seconds(spec.timeoutSeconds)
        let main = JobScript.main(spec: spec, jobDir: jobDir, statusPath: statusPath)
        let end: SessionEnd
        do {
            end = try await session(main, name: "job", outputFD: outputFD, deadline: deadline,
                                    deadlineNote: "timed out after \(spec.timeoutSeconds) s: stopping the job")
        } catch {
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
            if let reason = stopReason.withLock({ $0 }) { return JobOutcome(result: .cancelled, failureReason: reason) }
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

    enum SessionEnd: Equatable {
        case exited(ExitStatus)
        case timedOut
        case cancelled(String)
    }

    /// Runs one bash session to its end, or stops its group on cancel or at `deadline`.
    private func session(
        _ script: String, name: String, outputFD: Int32, deadline: ContinuousClock.Instant, deadlineNote: String
    ) async throws(AgentError) -> SessionEnd {
        let path = controlDir + "/" + name
        do {
            try script.write(toFile: path, atomically: true, encoding: .utf8)
        } catch {
            throw .io("cannot write \(path): \(error.localizedDescription)")
        }
        let pid = try ProcessControl.spawnBash(script: name, environment: environment, outputFD: outputFD, cwd: controlDir)
        let watchdog = ProcessControl.spawnWatchdog(pgid: pid, grace: options.grace)  // first: it costs one spawn
        PgidFile.record(pid, at: options.pgidFile)
        defer {
            watchdog?.dismiss()
            PgidFile.clear(at: options.pgidFile)
        }
        var shell: ExitStatus?
        while true {
            for (p, st) in ProcessControl.reapGroup(pid) where p == pid { shell = st }
            if let shell {
                if ProcessControl.groupAlive(pid) { _ = await stopGroup(pid) }
                return .exited(shell)
            }
            if let reason = stopReason.withLock({ $0 }) {
                _ = await stopGroup(pid)
                return .cancelled(reason)
            }
            if clock.now >= deadline {
                if !isCancelled { note(deadlineNote) }
                _ = await stopGroup(pid)
                if let reason = stopReason.withLock({ $0 }) { return .cancelled(reason) }
                return .timedOut
            }
            try? await Task.sleep(for: options.pollInterval)
        }
    }

    /// SIGTERM to the group, SIGKILL after the grace period; returns once the group is gone (or gives up).
    private func stopGroup(_ pgid: pid_t) async -> Bool {
        ProcessControl.signalGroup(pgid, SIGTERM)
        let killAt = clock.now + options.grace
        while clock.now < killAt {
            _ = ProcessControl.reapGroup(pgid)
            if !ProcessControl.groupAlive(pgid) { return true }
            try? await Task.sleep(for: options.pollInterval)
        }
        ProcessControl.signalGroup(pgid, SIGKILL)
        let giveUp = clock.now + .seconds(5)
        while clock.now < giveUp {
            _ = ProcessControl.reapGroup(pgid)
            if !ProcessControl.groupAlive(pgid) { return true }
            try? await Task.sleep(for: options.pollInterval)
        }
        return false
    }

    /// Writes an `[mms] ...` line into the job's log.
    func note(_ text: String) {
        output(Data("[mms] \(text)\n".utf8))
    }
}
