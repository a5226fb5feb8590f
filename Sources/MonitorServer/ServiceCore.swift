import Foundation
import MonitorModels

/// The server's state behind one lock: the dispatcher (memory), the store (disk), the events feed
/// and the configuration version. Every change goes through `commit`, which writes the store before
/// anyone is answered, then publishes events and wakes long polls.
final class ServiceCore: @unchecked Sendable {
    private let lock = NSLock()
    let store: Store
    var dispatcher: Dispatcher
    var feed: EventFeed
    var configVersion: Int64
    /// SHA-256 hex of each agent secret → agent uuid.
    var secretIndex: [String: String] = [:]
    let settings: ServerSettings
    let metrics = Metrics()
    weak var http: HTTPServer?
    /// A second connection for the periodic lastSeenAt flush, so it never holds the main lock.
    private var lastSeenDB: Database?
    private let lastSeenLock = NSLock()
    /// Agents whose lastSeenAt changed since the last flush to disk.
    private var unsavedLastSeen: Set<String> = []
    /// Last time an agent.updated event went out for each agent (lastSeenAt-only changes are throttled).
    private var lastAnnounced: [String: Date] = [:]
    /// waitingReason last announced for each scheduled job.
    private var announcedReasons: [Int64: String] = [:]

    init(settings: ServerSettings, store: Store, now: Date) throws(DatabaseError) {
        self.settings = settings
        self.store = store
        dispatcher = Dispatcher(lostContactAfter: settings.lostContactAfter, startedAt: now)
        configVersion = Int64(try store.meta("config_version") ?? "0") ?? 0
        let previousBase = Int64(try store.meta("event_base") ?? "0") ?? 0
        let base = max(Int64(now.timeIntervalSince1970 * 1000) * 1000, previousBase + 1_000_000)
        try store.setMeta("event_base", String(base))
        feed = EventFeed(base: base)
        for (agent, hash) in try store.loadAgents() {
            dispatcher.agents[agent.uuid] = AgentRecord(agent: agent, secretHash: hash, idleSince: agent.lastSeenAt ?? agent.registeredAt)
            secretIndex[hash] = agent.uuid
        }
        for job in try store.activeJobs() {
            dispatcher.jobs[job.id] = job
            if let uuid = job.agentUuid, job.state.isActive { dispatcher.agents[uuid]?.currentJobId = job.id }
        }
        dispatcher.attemptOwners = try store.attemptOwners()
        lastSeenDB = try? Database(path: store.path)
    }

    /// Opens the store in `dataDir` and loads the state from it; the error says which of the two failed.
    static func open(dataDir: String, settings: ServerSettings, now: Date) throws(ServerStartError) -> ServiceCore {
        let store: Store
        do {
            store = try Store(dataDir: dataDir)
        } catch {
            throw ServerStartError(message: "cannot open the database in \(dataDir): \(error.message)")
        }
        do {
            return try ServiceCore(settings: settings, store: store, now: now)
        } catch {
            store.close()
            throw ServerStartError(message: "cannot load the state in \(dataDir): \(error.message)")
        }
    }

    /// Runs `body` under the lock.
    func locked<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    /// Runs a dispatcher step and commits what it changed. When the store refuses the write, the
    /// dispatcher goes back to where it was and the caller gets 503.
    func mutate(now: Date, _ step: (inout Dispatcher) throws(APIError) -> Changes) throws(APIError) -> Changes {
        let saved = dispatcher.begin()
        do {
            let changes = try step(&dispatcher)
            try commit(changes, now: now)
            dispatcher.keep()
            return changes
        } catch {
            dispatcher.rollback(saved)
            throw error
        }
    }

    /// Runs a dispatcher step without a snapshot (pings and polls: nothing acknowledged depends on it)
    /// and commits what it changed.
    func apply(now: Date, _ step: (inout Dispatcher) -> Changes) throws(APIError) -> Changes {
        let changes = step(&dispatcher)
        try commit(changes, now: now)
        return changes
    }

    /// Writes changes to the store in one transaction, then publishes events and wakes polls.
    func commit(_ input: Changes, now: Date) throws(APIError) {
        var changes = input
        guard !changes.isEmpty else { return }
        do {
            try store.db.transaction { () throws(DatabaseError) in try write(&changes) }
        } catch {
            throw Self.unavailable(error)
        }
        publish(changes, now: now)
    }

    /// Stores a new job and queues it (which may assign it) in one transaction: one fsync before the
    /// answer, and before the poll of the agent it went to is woken. When the store refuses, nothing changed.
    func insertAndDispatch(_ spec: JobSpec, now: Date) throws(APIError) -> Job {
        let saved = dispatcher.begin()
        var changes = Changes()
        var inserted: Job?
        do {
            try store.db.transaction { () throws(DatabaseError) in
                let job = try store.insertJob(spec, now: now)
                inserted = job
                changes = dispatcher.add(job, now: now)
                try write(&changes)
            }
        } catch {
            dispatcher.rollback(saved)
            throw Self.unavailable(error)
        }
        dispatcher.keep()
        publish(changes, now: now)
        guard let job = inserted else { throw APIError(.internalError, "the new job was not stored") }
        return changes.jobs[job.id] ?? job
    }

    /// The store's part of `commit` (call inside a transaction): log lines, then jobs and agents.
    private func write(_ changes: inout Changes) throws(DatabaseError) {
        for (jobId, line) in changes.logLines {
            guard var job = changes.jobs[jobId] ?? dispatcher.jobs[jobId] else { continue }
            let bytes = Data((line + "\n").utf8)
            try store.appendLog(jobId, at: job.logSize, bytes)
            job.logSize += Int64(bytes.count)
            changes.jobs[jobId] = job
            dispatcher.jobs[jobId]?.logSize = job.logSize
        }
        for job in changes.jobs.values { try store.updateJob(job) }
        for uuid in changes.agents {
            guard let r = dispatcher.agents[uuid] else { continue }
            try store.saveAgent(r.agent, secretHash: r.secretHash)
            unsavedLastSeen.remove(uuid)
        }
    }

    private func publish(_ changes: Changes, now: Date) {
        var keys: Set<WaitKey> = [.events]
        for job in changes.jobs.values.sorted(by: { $0.id < $1.id }) {
            if let assigned = job.assignedAt, job.state == .assigned, job.attempt >= 1 {
                metrics.observeDispatch(seconds: max(0, assigned.timeIntervalSince(job.createdAt)))
            }
            feed.append(.jobUpdated, job: withReason(job, now: now))
            if job.state == .completed { announcedReasons[job.id] = nil; keys.insert(.log(job.id)) }
        }
        for (jobId, _) in changes.logLines { keys.insert(.log(jobId)) }
        for uuid in changes.agents.sorted() {
            if let a = dispatcher.view(uuid) {
                feed.append(.agentUpdated, agent: a)
                lastAnnounced[uuid] = now
            }
        }
        for uuid in changes.wake { keys.insert(.agentNext(uuid)) }
        http?.hub.wake(keys)
    }

    /// Publishes an event and wakes the events polls, outside any dispatcher change.
    func announce(_ type: EventType, agent: Agent? = nil, job: Job? = nil, uuid: String? = nil) {
        switch type {
        case .agentDeleted: feed.append(type, uuid: uuid)
        default: feed.append(type, agent: agent, job: job, uuid: uuid)
        }
        http?.hub.wake([.events])
    }

    /// A job as the API shows it: scheduled jobs carry their waitingReason.
    func withReason(_ job: Job, now: Date) -> Job {
        var j = job
        j.waitingReason = dispatcher.waitingReason(job, now: now)
        return j
    }

    /// Records an agent's contact that `changes` did not already save and announce: its lastSeenAt is
    /// flushed to disk periodically, and announced at most every 10 s.
    func noteContact(_ uuid: String, after changes: Changes, now: Date) {
        guard !changes.agents.contains(uuid) else { return }
        unsavedLastSeen.insert(uuid)
        if let last = lastAnnounced[uuid], now.timeIntervalSince(last) < 10 { return }
        if let a = dispatcher.view(uuid) {
            lastAnnounced[uuid] = now
            announce(.agentUpdated, agent: a)
        }
    }

    /// Records a lastSeenAt that `changes` did not save, for the periodic flush, without announcing it
    /// (a `next` poll: the agent's pings announce its contact, and events polls stay asleep).
    func noteSeen(_ uuid: String, after changes: Changes) {
        if !changes.agents.contains(uuid) { unsavedLastSeen.insert(uuid) }
    }

    /// Periodic work: lost contact, waitingReason changes, and (with `flush`) lastSeenAt to disk.
    func tick(now: Date, flush: Bool) {
        var seen: [(String, Date)] = []
        lock.withLock {
            let changes = dispatcher.tick(now: now)
            try? commit(changes, now: now)
            announceWaitingReasons(now: now)
            if flush {
                seen = unsavedLastSeen.compactMap { uuid in dispatcher.agents[uuid]?.agent.lastSeenAt.map { (uuid, $0) } }
                unsavedLastSeen.removeAll()
            }
        }
        // Written outside the lock on a connection of its own: pings never wait for this write.
        guard !seen.isEmpty, let db = lastSeenDB else { return }
        lastSeenLock.withLock {
            do {
                try db.transaction { () throws(DatabaseError) in
                    for (uuid, date) in seen {
                        try db.query("UPDATE agents SET last_seen_at = MAX(COALESCE(last_seen_at, 0), ?) WHERE uuid = ?",
                                     [.date(date), .text(uuid)])
                    }
                }
            } catch {
                lock.withLock { unsavedLastSeen.formUnion(seen.map(\.0)) }
            }
        }
    }

    /// Publishes job.updated for scheduled jobs whose waitingReason changed. Call with the lock held.
    private func announceWaitingReasons(now: Date) {
        var changedReasons = false
        for job in dispatcher.jobs.values where job.state == .scheduled {
            let reason = dispatcher.waitingReason(job, now: now) ?? ""
            if announcedReasons[job.id] != reason {
                announcedReasons[job.id] = reason
                var j = job
                j.waitingReason = reason
                feed.append(.jobUpdated, job: j)
                changedReasons = true
            }
        }
        if changedReasons { http?.hub.wake([.events]) }
    }

    /// Flushes lastSeenAt and closes the database (shutdown).
    func close() {
        tick(now: Date(), flush: true)
        lastSeenLock.withLock {
            lastSeenDB?.close()
            lastSeenDB = nil
        }
        lock.withLock { store.close() }
    }

    /// The contract's 503 for a database that cannot be written (disk full, read-only, I/O error).
    static func unavailable(_ error: any Error) -> APIError {
        if let api = error as? APIError { return api }
        let detail = (error as? DatabaseError)?.message ?? String(describing: error)
        return APIError(.serviceUnavailable, "the server cannot use its database (\(detail)); nothing was changed, try again later")
    }
}

/// The settings the service decides with (from flags and env).
struct ServerSettings: Sendable {
    var adminToken: String
    var autoRegisterKey: String?
    var pingIntervalSeconds: Int
    var lostContactAfter: TimeInterval
}
