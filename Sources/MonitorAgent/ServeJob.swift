import Foundation
import MonitorModels
import Synchronization

/// One job a push agent accepted: its runner, its masked log on disk (kept whole, readable at any offset
/// until the next job is accepted), and how it ended.
final class ServeJob: Sendable {
    let id: Int64
    let attempt: Int
    let logBase: Int64
    let name: String
    let createdAt: Date
    let startedAt: Date
    let spool: LogSpool
    let sink: LogSink
    let runner: JobRunner
    /// Set once the job ended and every log byte is in the spool; `statusRead` once a caller saw that.
    private let end = Mutex<(outcome: JobOutcome?, finishedAt: Date?, statusRead: Bool)>((nil, nil, false))
    /// `preparing` until its containers and jump point are ready, then `building`, with the ssh command.
    private let progress: ServeJobProgress

    /// A job for `request` in `jobsDir`; `wake` is told whenever its log grows, its phase changes or it ends.
    /// `options` are the job's own (`ServeAgent.runnerOptions(for:)`); `setup` says it starts `preparing`.
    init(_ request: PushJobRequest, jobsDir: String, environment: [String: String], options: RunnerOptions, setup: Bool,
         wake: @escaping @Sendable () -> Void) throws(AgentError) {
        let job = request.job
        id = job.id
        attempt = job.attempt
        logBase = job.logSize
        name = job.name
        createdAt = job.createdAt
        startedAt = Date()
        spool = try LogSpool(path: jobsDir + "/\(job.id).log", limit: .max)  // the server reads it; nothing is released
        let sink = LogSink(secrets: JobEnvironment.maskedValues(request.config.agentConfig), spool: spool)
        self.sink = sink
        let progress = ServeJobProgress(phase: setup ? .preparing : .building)
        self.progress = progress
        var jobOptions = options
        if setup {
            jobOptions.onCommandsStart = { sshCommand in
                progress.building(sshCommand)
                wake()
                return true
            }
        }
        runner = JobRunner(spec: job.spec, jobDir: jobsDir + "/\(job.id)", controlDir: jobsDir + "/\(job.id).mms",
                           environment: environment, options: jobOptions, output: { data in
                               sink.write(data)
                               wake()
                           })
    }

    /// The job's outcome once it ended (its log complete), else nil.
    var outcome: JobOutcome? { end.withLock { $0.outcome } }
    var isComplete: Bool { outcome != nil }
    /// `preparing` or `building` (meaningful while the job runs).
    var phase: PushJobPhase { progress.now.phase }

    /// Records the end: called after the sink flushed, so a complete job's log is whole.
    func finished(_ outcome: JobOutcome) {
        end.withLock {
            $0.outcome = outcome
            $0.finishedAt = Date()
        }
    }

    /// True once someone read the completed job's status (the agent lingers for that when stopping).
    var statusWasRead: Bool { end.withLock { $0.statusRead } }

    /// What `GET /jobs/{id}` answers.
    func status() -> PushJobStatus {
        end.withLock { e in
            if e.outcome != nil { e.statusRead = true }
            guard let o = e.outcome else {
                let p = progress.now
                return PushJobStatus(id: id, attempt: attempt, logBase: logBase, state: .running, startedAt: startedAt,
                                     phase: p.phase, sshCommand: p.sshCommand)
            }
            return PushJobStatus(id: id, attempt: attempt, logBase: logBase, state: .completed, result: o.result,
                                 exitCode: o.result == .cancelled ? nil : o.exitCode, failureReason: o.failureReason,
                                 startedAt: startedAt, finishedAt: e.finishedAt)
        }
    }
}

/// A push job's phase and ssh command, shared with its runner's `onCommandsStart`.
final class ServeJobProgress: Sendable {
    private let state: Mutex<(phase: PushJobPhase, sshCommand: String?)>

    init(phase: PushJobPhase) { state = Mutex((phase, nil)) }

    var now: (phase: PushJobPhase, sshCommand: String?) { state.withLock { $0 } }

    /// The first command runs now; `sshCommand` opens the job's jump point, if it has one.
    func building(_ sshCommand: String?) { state.withLock { $0 = (.building, sshCommand) } }
}
