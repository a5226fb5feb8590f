import Foundation
import MonitorModels

extension Dispatcher {
    // MARK: - Dispatch

    /// Can this agent take new work now?
    func isAvailable(_ r: AgentRecord, now: Date) -> Bool {
        r.agent.configState == .enabled && r.currentJobId == nil && r.heardSinceStart && !r.lostContact && !r.upgrading
            && isReachable(r, now: now)
    }

    /// Does the agent have everything the job asks for? (The rule lives in MonitorModels so the console's
    /// impact preview judges alike.)
    static func matches(_ r: AgentRecord, _ spec: JobSpec) -> Bool {
        JobMatching.canRun(spec, on: r.agent)
    }

    /// Oldest scheduled job first, each to the matching available agent that has been idle longest.
    mutating func dispatch(now: Date) -> Changes {
        var changes = Changes()
        let waiting = jobs.values.filter { $0.state == .scheduled }.sorted { $0.id < $1.id }
        guard !waiting.isEmpty else { return changes }
        var free = agents.values.filter { isAvailable($0, now: now) }
        guard !free.isEmpty else { return changes }
        free.sort { ($0.idleSince, $0.agent.uuid) < ($1.idleSince, $1.agent.uuid) }
        for job in waiting {
            guard let index = free.firstIndex(where: { Self.matches($0, job.spec) }) else { continue }
            let uuid = free.remove(at: index).agent.uuid
            changes.merge(assign(job.id, to: uuid, now: now))
            if free.isEmpty { break }
        }
        return changes
    }

    private mutating func assign(_ jobId: Int64, to uuid: String, now: Date) -> Changes {
        guard var job = jobs[jobId], var r = agents[uuid] else { return Changes() }
        job.state = .assigned
        job.agentUuid = uuid
        job.agentName = r.agent.name
        job.assignedAt = now
        job.waitingReason = nil
        r.currentJobId = jobId
        jobs[jobId] = job
        agents[uuid] = r
        attemptOwners[jobId, default: [:]][job.attempt] = uuid
        var changes = Changes()
        changes.jobs[jobId] = job
        changes.agents.insert(uuid)
        changes.wake.insert(uuid)
        return changes
    }

    /// A new job enters the queue.
    mutating func add(_ job: Job, now: Date) -> Changes {
        jobs[job.id] = job
        var changes = Changes()
        changes.jobs[job.id] = job
        changes.merge(dispatch(now: now))
        return changes
    }

    // MARK: - Reports from agents

    /// Checks that `uuid` may report on attempt `attempt` of the active job: 403 for a stranger,
    /// 409 job_reassigned for an older attempt or an agent the job was taken from.
    func checkReporter(_ jobId: Int64, uuid: String, attempt: Int) throws(APIError) -> Job {
        guard let job = jobs[jobId] else { throw APIError(.notFound, "job \(jobId) does not exist") }
        let owners = attemptOwners[jobId] ?? [:]
        let everOwned = owners.values.contains(uuid)
        if job.agentUuid == uuid && attempt == job.attempt { return job }
        if !everOwned && job.agentUuid != uuid {
            throw APIError(.forbidden, "job \(jobId) is not assigned to this agent")
        }
        throw APIError(.jobReassigned, "job \(jobId) attempt \(attempt) was reassigned; it is now attempt \(job.attempt)")
    }

    /// Judges a state report and applies it on the same state: `checkReporter` (a job completed meanwhile
    /// is 409 job_finished), then the report counts as contact and applies. On a shared database this runs
    /// under the cluster lock on fresh state: a check made before, on a replica's cache, may be stale (the
    /// sweeper rescheduled the job meanwhile) and the report must not land on the new attempt.
    mutating func acceptReport(_ jobId: Int64, from uuid: String, _ r: JobStateReport, now: Date) throws(APIError) -> Changes {
        guard jobs[jobId] != nil else { throw APIError(.jobFinished, "job \(jobId) is already completed") }
        _ = try checkReporter(jobId, uuid: uuid, attempt: r.attempt)
        var changes = contact(uuid, now: now)
        changes.merge(report(jobId, r, now: now))
        return changes
    }

    /// Applies a state report (already checked by `checkReporter`). Reports only move forward.
    mutating func report(_ jobId: Int64, _ r: JobStateReport, now: Date) -> Changes {
        guard var job = jobs[jobId] else { return Changes() }
        switch r.state {
        case .completed:
            let result: JobResult
            if job.state == .cancelling {
                result = r.result ?? .cancelled
            } else {
                result = r.result ?? ((r.exitCode ?? 0) == 0 ? .passed : .failed)
            }
            var reason = r.failureReason
            if result == .cancelled && reason == nil { reason = "cancelled by admin" }
            if result == .passed { reason = nil }
            return complete(jobId, result: result, exitCode: r.exitCode, reason: reason, now: now)
        case .preparing, .building:
            let target = r.state.jobState
            guard job.state < target, job.state != .cancelling else { return Changes() }
            job.state = target
            if job.startedAt == nil { job.startedAt = now }
            if let ssh = r.sshCommand, r.state == .building { job.sshCommand = ssh }
            jobs[jobId] = job
            var changes = Changes()
            changes.jobs[jobId] = job
            if let uuid = job.agentUuid { changes.agents.insert(uuid) }
            return changes
        }
    }

    /// Ends a job with a result and frees its agent.
    mutating func complete(_ jobId: Int64, result: JobResult, exitCode: Int?, reason: String?, now: Date) -> Changes {
        guard var job = jobs.removeValue(forKey: jobId) else { return Changes() }
        attemptOwners[jobId] = nil
        cancelAskedAt[jobId] = nil
        job.state = .completed
        job.result = result
        job.exitCode = exitCode
        job.failureReason = reason
        job.finishedAt = now
        job.waitingReason = nil
        job.sshCommand = nil  // the jump point closed with the job
        var changes = Changes()
        changes.jobs[jobId] = job
        if let uuid = job.agentUuid, var r = agents[uuid], r.currentJobId == jobId {
            r.currentJobId = nil
            r.idleSince = now
            agents[uuid] = r
            changes.agents.insert(uuid)
        }
        changes.merge(dispatch(now: now))
        return changes
    }

    /// Puts a job back in the queue as a new attempt, with a line in its log saying why.
    mutating func reschedule(_ jobId: Int64, line: String, now: Date) -> Changes {
        guard var job = jobs[jobId] else { return Changes() }
        var changes = Changes()
        if let uuid = job.agentUuid, var r = agents[uuid], r.currentJobId == jobId {
            r.currentJobId = nil
            r.idleSince = now
            agents[uuid] = r
            changes.agents.insert(uuid)
        }
        job.state = .scheduled
        job.attempt += 1
        job.agentUuid = nil
        job.agentName = nil
        job.assignedAt = nil
        job.startedAt = nil
        job.sshCommand = nil
        jobs[jobId] = job
        changes.jobs[jobId] = job
        changes.logLines.append((jobId, line))
        changes.audit.append(Self.serverAudit("job.reschedule", job: job, now: now,
                                              reason: line.hasPrefix("[mms] ") ? String(line.dropFirst(6)) : line))
        changes.merge(dispatch(now: now))
        return changes
    }

    // MARK: - Admin actions

    /// Cancel: a queued job, an undelivered one, or one whose agent is gone completes at once;
    /// otherwise the cancel is delivered to the agent until it reports.
    mutating func cancel(_ jobId: Int64, now: Date) -> Changes {
        guard var job = jobs[jobId] else { return Changes() }
        let agentGone: Bool = {
            guard let uuid = job.agentUuid, let r = agents[uuid] else { return true }
            let s = status(r)
            return s == .lostContact || s == .missing
        }()
        if job.state == .scheduled || job.state == .assigned || agentGone {
            return complete(jobId, result: .cancelled, exitCode: nil, reason: "cancelled by admin", now: now)
        }
        guard job.state != .cancelling else { return Changes() }
        job.state = .cancelling
        cancelAskedAt[jobId] = now
        jobs[jobId] = job
        var changes = Changes()
        changes.jobs[jobId] = job
        if let uuid = job.agentUuid {
            changes.agents.insert(uuid)
            changes.wake.insert(uuid)
        }
        return changes
    }

    /// Applies an operator's edit of one agent; a disable records why, by whom and until when, any
    /// other config state clears that.
    mutating func patch(_ uuid: String, _ p: AgentPatch, by actor: String, now: Date) -> Changes {
        guard var r = agents[uuid] else { return Changes() }
        if let s = p.configState {
            if s == .enabled && r.agent.configState != .enabled { r.idleSince = min(r.idleSince, now) }
            r.agent.configState = s
            if s == .disabled {
                let reason = p.reason?.trimmingCharacters(in: .whitespaces)
                r.agent.disabledReason = (reason?.isEmpty ?? true) ? nil : reason
                r.agent.disabledBy = actor
                r.agent.disabledAt = now
                r.agent.disabledUntil = p.until
            } else {
                r.agent.clearDisabled()
            }
        }
        if let n = p.name { r.agent.name = n }
        if let res = p.resources { r.agent.resources = res }
        if let env = p.environments { r.agent.environments = env }
        agents[uuid] = r
        var changes = Changes()
        changes.agents.insert(uuid)
        changes.merge(dispatch(now: now))
        return changes
    }

    /// Removes an agent: only a pending or disabled one that runs no job.
    mutating func delete(_ uuid: String) throws(APIError) -> Changes {
        guard let r = agents[uuid] else { throw APIError(.notFound, "agent \(uuid) does not exist") }
        if let id = r.currentJobId {
            throw APIError(.agentBusy, "agent \(r.agent.name) is running job \(id); cancel the job or wait for it, then delete")
        }
        guard r.agent.configState != .enabled else {
            throw APIError(.agentBusy, "agent \(r.agent.name) is enabled; disable it first, then delete")
        }
        agents[uuid] = nil
        var changes = Changes()
        changes.deleted[uuid] = r.secretHash
        changes.wake.insert(uuid)
        return changes
    }

    // MARK: - Time

    /// Lost contact, missing agents after a restart, and cancels nobody confirms.
    mutating func tick(now: Date) -> Changes {
        var changes = Changes()
        let missingExpired = now.timeIntervalSince(startedAt) > lostContactAfter
        // Find first, change after: changing `agents` while iterating it would copy all of it.
        var lost: [String] = []
        var orphaned: [(uuid: String, jobId: Int64)] = []
        for (uuid, r) in agents.storage {
            if r.heardSinceStart && !r.lostContact && !isReachable(r, now: now) {
                lost.append(uuid)
            } else if !r.heardSinceStart && missingExpired, let id = r.currentJobId {
                orphaned.append((uuid, id))
            }
        }
        for uuid in lost {
            agents[uuid]?.lostContact = true
            changes.agents.insert(uuid)
            if let r = agents[uuid] {
                let silent = r.lastContact.map { "no word for \(Int(now.timeIntervalSince($0))) s" } ?? "no word"
                changes.audit.append(Self.serverAudit("agent.lost_contact", agent: r.agent, now: now,
                                                      reason: "\(silent) (--lost-contact-after \(Int(lostContactAfter)) s)"))
            }
            if let id = agents[uuid]?.currentJobId { orphaned.append((uuid, id)) }
        }
        for (uuid, id) in orphaned {
            guard let job = jobs[id], let name = agents[uuid]?.agent.name else { continue }
            if job.state == .cancelling {
                changes.merge(complete(id, result: .cancelled, exitCode: nil, reason: "cancelled by admin", now: now))
            } else {
                changes.merge(reschedule(id, line: "[mms] agent \(name) lost contact; job rescheduled", now: now))
            }
        }
        let unconfirmed = cancelAskedAt.filter { now.timeIntervalSince($0.value) > cancelGiveUpAfter }.map(\.key)
        for id in unconfirmed {
            if let job = jobs[id] {
                changes.audit.append(Self.serverAudit("job.cancel", job: job, now: now,
                                                      reason: "the agent did not confirm the cancel within \(Int(cancelGiveUpAfter)) s"))
            }
            changes.merge(complete(id, result: .cancelled, exitCode: nil,
                                   reason: "cancelled by admin (agent did not confirm)", now: now))
        }
        changes.merge(enableExpired(now: now))
        return changes
    }
}
