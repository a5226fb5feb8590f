import Foundation
import MonitorModels

/// What the dispatcher knows about one agent beyond what the API shows.
struct AgentRecord: Sendable {
    /// The stored fields (status and currentJobId are filled in by `Dispatcher.view`).
    var agent: Agent
    /// Lower-case hex SHA-256 of the agent's secret.
    var secretHash: String
    /// Heard from (register, ping, poll, report) since this server started.
    var heardSinceStart = false
    /// Last contact since this server started.
    var lastContact: Date?
    /// `next` polls currently held open by this agent.
    var openPolls = 0
    /// Set when the agent stopped being reachable; cleared by its next contact.
    var lostContact = false
    /// Since when the agent has had no job (longest idle gets work first).
    var idleSince: Date
    /// The active job this agent holds, if any.
    var currentJobId: Int64?
    /// The agent said (ping runtimeState `upgrading`) it is replacing its binary: no new work until it
    /// registers again or pings another state. Kept by the server the agent pings (like its open polls).
    var upgrading = false
    /// A push agent's JWT signing secret and the PEM of its CA (stored, never shown).
    var pushSecret: String?
    var pushCACert: String?

    /// What the store keeps of this agent.
    var stored: StoredAgent {
        StoredAgent(agent: agent, secretHash: secretHash, lostContact: lostContact, idleSince: idleSince,
                    pushSecret: pushSecret, pushCACert: pushCACert)
    }
}

/// What one dispatcher step changed: the new value of every changed job and the changed agents,
/// plus lines the server appends to job logs. The service persists these and publishes events.
struct Changes: Sendable {
    var jobs: [Int64: Job] = [:]
    var agents: Set<String> = []
    var logLines: [(jobId: Int64, line: String)] = []
    /// Agents whose `next` poll should be answered now (a job or a cancel is waiting for them).
    var wake: Set<String> = []
    /// Agents removed (with their secret hashes).
    var deleted: [String: String] = [:]
    /// Audit entries for this change, stored in its transaction (numbered by the store).
    var audit: [AuditEntry] = []

    var isEmpty: Bool {
        jobs.isEmpty && agents.isEmpty && logLines.isEmpty && wake.isEmpty && deleted.isEmpty && audit.isEmpty
    }

    mutating func merge(_ other: Changes) {
        jobs.merge(other.jobs) { _, new in new }
        agents.formUnion(other.agents)
        logLines += other.logLines
        wake.formUnion(other.wake)
        deleted.merge(other.deleted) { _, new in new }
        audit += other.audit
    }
}

/// The dispatcher: which job goes to which agent, what lost contact, restarts, reports and cancel do.
/// A value type driven by the service with the current time; it never touches a socket, a file or a clock.
struct Dispatcher: Sendable {
    /// Every known agent by uuid.
    var agents = JournaledDictionary<String, AgentRecord>()
    /// Every job that is not completed, by id.
    var jobs = JournaledDictionary<Int64, Job>()
    /// Which agent ran each attempt of each active job (to tell "reassigned" from "not yours").
    var attemptOwners: [Int64: [Int: String]] = [:]
    /// When a cancel was asked for each job in `cancelling`.
    var cancelAskedAt: [Int64: Date] = [:]
    /// How long an agent may stay silent before it counts as lost.
    let lostContactAfter: TimeInterval
    /// When this server started (missing agents' clock starts here).
    let startedAt: Date
    /// A job left in `cancelling` this long without a report is completed anyway.
    var cancelGiveUpAfter: TimeInterval = 120

    init(lostContactAfter: TimeInterval, startedAt: Date) {
        self.lostContactAfter = lostContactAfter
        self.startedAt = startedAt
    }

    /// Starts a step that can be undone with `rollback()`.
    mutating func begin() -> (owners: [Int64: [Int: String]], cancels: [Int64: Date]) {
        agents.begin()
        jobs.begin()
        return (attemptOwners, cancelAskedAt)
    }

    /// Keeps the step begun with `begin()`.
    mutating func keep() {
        agents.keep()
        jobs.keep()
    }

    /// Undoes the step begun with `begin()`.
    mutating func rollback(_ saved: (owners: [Int64: [Int: String]], cancels: [Int64: Date])) {
        agents.rollback()
        jobs.rollback()
        attemptOwners = saved.owners
        cancelAskedAt = saved.cancels
    }

    // MARK: - Views

    /// True while the agent holds a poll or was heard from within the lost-contact time.
    func isReachable(_ r: AgentRecord, now: Date) -> Bool {
        if r.openPolls > 0 { return true }
        guard let last = r.lastContact else { return false }
        return now.timeIntervalSince(last) <= lostContactAfter
    }

    /// The contract's status: the first rule that applies.
    func status(_ r: AgentRecord) -> AgentStatus {
        if r.agent.configState == .pending { return .pending }
        if !r.heardSinceStart { return .missing }
        if r.lostContact { return .lostContact }
        if let id = r.currentJobId, let job = jobs[id] {
            switch job.state {
            case .cancelling: return .cancelling
            case .building: return .building
            case .assigned, .preparing: return .preparing
            case .scheduled, .completed: break
            }
        }
        if r.upgrading { return .upgrading }
        if r.agent.configState == .disabled { return .disabled }
        return .idle
    }

    /// The agent as the API shows it.
    func view(_ uuid: String) -> Agent? {
        guard let r = agents[uuid] else { return nil }
        var a = r.agent
        a.status = status(r)
        a.currentJobId = r.currentJobId
        return a
    }

    /// Active jobs assigned to an agent that it has started (preparing, building, cancelling).
    private func startedJob(of uuid: String) -> Job? {
        guard let id = agents[uuid]?.currentJobId, let job = jobs[id] else { return nil }
        return [.preparing, .building, .cancelling].contains(job.state) ? job : nil
    }

    // MARK: - Contact

    /// Records that the agent was heard from now.
    mutating func contact(_ uuid: String, now: Date) -> Changes {
        guard var r = agents[uuid] else { return Changes() }
        var changes = Changes()
        let before = status(r)
        r.heardSinceStart = true
        r.lastContact = now
        r.lostContact = false
        r.agent.lastSeenAt = now
        agents[uuid] = r
        if status(r) != before {
            changes.agents.insert(uuid)
            changes.merge(dispatch(now: now))
        }
        return changes
    }

    /// A new agent, or a known one registering again (name, resources and environments stay the admin's).
    mutating func register(_ req: RegisterRequest, secretHash: String, ipAddress: String?, autoEnable: Bool, now: Date) -> Changes {
        var changes = Changes()
        if var r = agents[req.uuid] {
            let before = r.agent
            r.agent.hostname = req.hostname
            r.agent.os = req.os
            r.agent.version = req.version
            r.agent.ipAddress = ipAddress
            r.agent.containerRuntime = req.containerRuntime
            if let sha = req.binarySHA256 { r.agent.binarySHA256 = sha }
            r.upgrading = false
            agents[req.uuid] = r
            changes.agents.insert(req.uuid)
            if let upgrade = Self.upgradeAudit(from: before, to: r.agent, now: now) { changes.audit.append(upgrade) }
            changes.merge(contact(req.uuid, now: now))
            changes.merge(restarted(req.uuid, now: now))
        } else {
            let agent = Agent(
                uuid: req.uuid, name: req.name, hostname: req.hostname, os: req.os, version: req.version,
                ipAddress: ipAddress, configState: autoEnable ? .enabled : .pending, resources: req.resources,
                environments: req.environments, registeredAt: now, lastSeenAt: now, containerRuntime: req.containerRuntime,
                binarySHA256: req.binarySHA256)
            agents[req.uuid] = AgentRecord(agent: agent, secretHash: secretHash, idleSince: now)
            changes.agents.insert(req.uuid)
            changes.merge(contact(req.uuid, now: now))
        }
        changes.merge(dispatch(now: now))
        return changes
    }

    /// A ping. With no job id while the server holds a started job for the agent, the agent was restarted.
    /// `upgrading`: the agent takes no new work while it replaces its binary.
    /// `freeSpaceBytes` is kept in memory only and is no change by itself (no event, no store write).
    mutating func ping(_ uuid: String, jobId: Int64?, upgrading: Bool = false, binarySHA256: String? = nil,
                       freeSpaceBytes: Int64? = nil, now: Date) -> Changes {
        agents[uuid]?.agent.freeSpaceBytes = freeSpaceBytes
        var changes = setUpgrading(uuid, upgrading, binarySHA256: binarySHA256, now: now)
        changes.merge(contact(uuid, now: now))
        if jobId == nil { changes.merge(restarted(uuid, now: now)) }
        return changes
    }

    /// The agent came back without the job the server thinks it runs: reschedule it (or finish a cancel).
    private mutating func restarted(_ uuid: String, now: Date) -> Changes {
        guard let job = startedJob(of: uuid), let name = agents[uuid]?.agent.name else { return Changes() }
        if job.state == .cancelling {
            return complete(job.id, result: .cancelled, exitCode: nil, reason: "cancelled by admin", now: now)
        }
        return reschedule(job.id, line: "[mms] agent \(name) restarted; job rescheduled", now: now)
    }

    /// A `next` poll was opened: it counts as contact while held.
    mutating func pollBegan(_ uuid: String, now: Date) -> Changes {
        agents[uuid]?.openPolls += 1
        return contact(uuid, now: now)
    }

    /// A `next` poll ended (answered or timed out): contact up to now.
    mutating func pollEnded(_ uuid: String, now: Date) {
        guard var r = agents[uuid] else { return }
        r.openPolls = max(0, r.openPolls - 1)
        r.lastContact = now
        agents[uuid] = r
    }

    /// What a `next` poll should answer now: the assigned job (until the agent reports preparing) or a cancel.
    func nextMessage(for uuid: String) -> NextMessage? {
        guard let id = agents[uuid]?.currentJobId, let job = jobs[id] else { return nil }
        switch job.state {
        case .assigned: return .job(job)
        case .cancelling: return .cancel(jobId: job.id, attempt: job.attempt)
        default: return nil
        }
    }
}
