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

    /// A job for `request` in `jobsDir`; `wake` is told whenever its log grows or it ends.
    init(_ request: PushJobRequest, jobsDir: String, environment: [String: String], options: RunnerOptions,
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
        runner = JobRunner(spec: job.spec, jobDir: jobsDir + "/\(job.id)", controlDir: jobsDir + "/\(job.id).mms",
                           environment: environment, options: options, output: { data in
                               sink.write(data)
                               wake()
                           })
    }

    /// The job's outcome once it ended (its log complete), else nil.
    var outcome: JobOutcome? { end.withLock { $0.outcome } }
    var isComplete: Bool { outcome != nil }

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
            guard let o = e.outcome else { return PushJobStatus(id: id, attempt: attempt, logBase: logBase, state: .running, startedAt: startedAt) }
            return PushJobStatus(id: id, attempt: attempt, logBase: logBase, state: .completed, result: o.result,
                                 exitCode: o.result == .cancelled ? nil : o.exitCode, failureReason: o.failureReason,
                                 startedAt: startedAt, finishedAt: e.finishedAt)
        }
    }
}
