import Foundation
import MonitorModels

/// Copies one job attempt's log from a push agent into the job's log as it grows (long polls with offsets:
/// byte N of the agent's log goes at `base + N`), then records the agent's result. Resumable: the offset
/// comes from the job's stored log size each round, and `base` from the agent when not known.
struct PushLogCopy {
    let driver: PushDriver
    let core: ServiceCore
    let uuid: String
    let jobId: Int64
    let attempt: Int
    var base: Int64?

    /// The attempt as the server has it while it is still this agent's: its log size and state.
    private func serverJob() -> (logSize: Int64, state: JobState)? {
        guard let job = core.pushWork(uuid)?.job, job.id == jobId, job.attempt == attempt else { return nil }
        return (job.logSize, job.state)
    }

    mutating func run(_ work: PushWork, _ c: PushAgentCalls) {
        while driver.keepsGoing {
            guard let (size, state) = serverJob() else { return }  // completed, rescheduled or given to another agent
            do {
                if base == nil {
                    let s = try c.job(jobId)
                    if s.attempt != attempt {  // it runs another attempt of this job: not the one given to it now
                        core.pushLostJob(uuid)
                        return
                    }
                    base = s.logBase
                }
                let from = size - (base ?? 0)
                guard from >= 0 else { throw PushCallError.misbehaved("its job \(jobId) started at log offset \(base ?? 0), past the log's end") }
                let preparing = state == .preparing
                let slice = try c.log(jobId, from: from, wait: 20, phase: preparing ? .preparing : nil)
                guard driver.isTrusted else { _ = driver.failed(.misbehaved("untrusted"), work); continue }
                if preparing && slice.phase == .building { try building(c) }
                if slice.bytes.isEmpty {
                    core.pushContact(uuid)
                } else {
                    _ = try core.pushAppendLog(jobId, attempt: attempt, uuid: uuid, offset: size, slice.bytes)
                }
                if slice.complete && from + Int64(slice.bytes.count) >= slice.size {
                    try finish(c)
                    return
                }
            } catch let error as PushCallError {
                if case .notFound = error {
                    core.pushLostJob(uuid)  // the agent does not hold the job: it was restarted
                    return
                }
                if !driver.failed(error, work) { return }
            } catch let error as APIError {
                if error.knownCode == .logGap { continue }
                if error.knownCode == .serviceUnavailable { _ = driver.failed(.unreachable(error.message), work); continue }
                return  // the job is no longer this agent's
            } catch {
                return
            }
        }
    }

    /// The job left `preparing` on the agent: record `building` with its ssh command (from `GET /jobs/{id}`).
    private func building(_ c: PushAgentCalls) throws {
        let s = try c.job(jobId)
        guard s.attempt == attempt else { throw PushCallError.misbehaved("it answered job \(jobId) about attempt \(s.attempt)") }
        guard s.state == .running, s.phase == .building else { return }  // it ended meanwhile: the result follows
        if let ssh = s.sshCommand, let problem = Validation.nameProblem(ssh, field: "sshCommand") {
            throw PushCallError.misbehaved("its job \(jobId) answer is not what the push API says (\(problem))")
        }
        try core.pushBuilding(jobId, attempt: attempt, uuid: uuid, sshCommand: s.sshCommand)
    }

    /// The log is whole: record the agent's result (it must be about this job and attempt, and completed).
    private func finish(_ c: PushAgentCalls) throws {
        let s = try c.job(jobId)
        guard s.attempt == attempt, s.state == .completed, s.result != nil else {
            throw PushCallError.misbehaved("its log of job \(jobId) is complete but the job is \(s.state.rawValue) (attempt \(s.attempt))")
        }
        try core.pushCompleted(jobId, attempt: attempt, uuid: uuid, s)
    }
}
