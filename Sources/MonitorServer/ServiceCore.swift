import Foundation
import MonitorModels
import Synchronization

/// The server's state behind one lock: the dispatcher (memory), the store (disk), the events feed
/// and the configuration version. Every change goes through `commit`, which writes the store before
/// anyone is answered, then publishes events and wakes long polls.
final class ServiceCore: @unchecked Sendable {
    private let lock = NSLock()
    let store: any Store
    var dispatcher: Dispatcher
    var feed: EventFeed
    var configVersion: Int64
    /// SHA-256 hex of each agent secret → agent uuid.
    var secretIndex: [String: String] = [:]
    let settings: ServerSettings
    let metrics = Metrics()
    weak var http: HTTPServer?
    /// Agents whose lastSeenAt changed since the last flush to disk.
    private var unsavedLastSeen: Set<String> = []
    /// Last time an agent.updated event went out for each agent (lastSeenAt-only changes are throttled).
    private var lastAnnounced: [String: Date] = [:]
    /// This server's name among replicas (/metrics `mms_build_info`), set once it listens.
    let replicaID = Mutex("")
    /// Whether the last health check reached the database (/healthz answers from this).
    private let databaseReachable = Mutex(true)
    /// waitingReason last announced for each scheduled job.
    private var announcedReasons: [Int64: String] = [:]
    /// Shared database: the last revision this server's cache has taken in.
    var knownRevision: Int64 = 0
    /// Shared database: events not yet numbered and stored (written by the next shared change).
    var outbox: [Event] = []
    /// Shared database: agents holding a poll here that another server's sweep declared lost (`vouchForHeldPolls`).
    var heldPollsDeclaredLost: Set<String> = []
    /// Shared database: tells the other servers what changed, merged over a few ms.
    var notifier: ChangeNotifier?
    /// Shared database: whether this server holds the sweeper lease (renewed every second by the ticker).
    let isSweeper = Mutex(false)
    /// Shared database: this process's name in leases.
    let leaseHolder = UUID().uuidString
    /// Audit entries announced, to find those another process wrote (`ServiceCore+AuditWatch`).
    var auditWatch = AuditWatch()
    /// Operators by token SHA-256, with when they were read from the store.
    let operatorCache = Mutex<[String: (who: OperatorIdentity, at: Date)]>([:])

    init(settings: ServerSettings, store: any Store, now: Date) throws(DatabaseError) {
        self.settings = settings
        self.store = store
        dispatcher = Dispatcher(lostContactAfter: settings.lostContactAfter, startedAt: now)
        configVersion = Int64(try store.meta("config_version") ?? "0") ?? 0
        let previousBase = Int64(try store.meta("event_base") ?? "0") ?? 0
        let base = max(Int64(now.timeIntervalSince1970 * 1000) * 1000, previousBase + 1_000_000)
        try store.setMeta("event_base", String(base))
        feed = EventFeed(base: base)
        for stored in try store.loadAgentStates() {
            let agent = stored.agent
            var record = AgentRecord(agent: agent, secretHash: stored.secretHash,
                                     idleSince: stored.idleSince ?? agent.lastSeenAt ?? agent.registeredAt)
            record.pushSecret = stored.pushSecret
            record.pushCACert = stored.pushCACert
            dispatcher.agents[agent.uuid] = record
            secretIndex[stored.secretHash] = agent.uuid
        }
        for job in try store.activeJobs() {
            dispatcher.jobs[job.id] = job
            if let uuid = job.agentUuid, job.state.isActive { dispatcher.agents[uuid]?.currentJobId = job.id }
        }
        dispatcher.attemptOwners = try store.attemptOwners()
        dispatcher.cancelAskedAt = try store.cancelsAsked()
        if store.isShared {
            knownRevision = try store.currentRevision()
            notifier = ChangeNotifier(store: store)
        }
    }

    /// Opens the store `--database` names (PostgreSQL) or the one in `dataDir` (SQLite); the error says
    /// which database could not be opened and why.
    static func openStore(dataDir: String, databaseURL: String?) throws(ServerStartError) -> any Store {
        do {
            if let databaseURL { return try PostgresStore(conninfo: databaseURL) }
            return try SQLiteStore(dataDir: dataDir)
        } catch {
            let place = databaseURL.map { "--database \(PostgresStore.redacted($0))" } ?? "the database in \(dataDir)"
            throw ServerStartError(message: "cannot open \(place): \(error.message)")
        }
    }

    /// Loads the state from an open store (closed again when that fails).
    static func load(_ store: any Store, settings: ServerSettings, now: Date) throws(ServerStartError) -> ServiceCore {
        do {
            return try ServiceCore(settings: settings, store: store, now: now)
        } catch {
            store.close()
            throw ServerStartError(message: "cannot load the state from the database: \(error.message)")
        }
    }

    /// Opens the SQLite store in `dataDir` and loads the state from it.
    static func open(dataDir: String, settings: ServerSettings, now: Date) throws(ServerStartError) -> ServiceCore {
        try load(try openStore(dataDir: dataDir, databaseURL: nil), settings: settings, now: now)
    }

    /// Runs `body` under the lock.
    func locked<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    /// Runs a dispatcher step and commits what it changed. When the store refuses the write, the
    /// dispatcher goes back to where it was and the caller gets 503. On a shared database the step
    /// runs under the cluster lock on a cache caught up with every server's changes.
    func mutate(now: Date, _ step: (inout Dispatcher) throws(APIError) -> Changes) throws(APIError) -> Changes {
        if store.isShared { return try sharedChange(now: now, step) }
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
    /// and commits what it changed. On a shared database a step that changes something runs again as
    /// a shared change.
    func apply(now: Date, _ step: (inout Dispatcher) -> Changes) throws(APIError) -> Changes {
        if store.isShared {
            let saved = dispatcher.begin()
            let changes = step(&dispatcher)
            if changes.isEmpty || onlyThisServersView(changes) {
                dispatcher.keep()
                if !changes.isEmpty {  // an agent Missing here is heard again: this server's view, nothing stored
                    record(changes, now: now)
                    http?.hub.wake(wakeKeys(for: changes))
                }
                return changes
            }
            dispatcher.rollback(saved)
            return try sharedChange(now: now) { d in step(&d) }
        }
        let changes = step(&dispatcher)
        try commit(changes, now: now)
        return changes
    }

    /// Writes changes to the store in one transaction, then publishes events and wakes polls.
    func commit(_ input: Changes, now: Date) throws(APIError) {
        var changes = input
        guard !changes.isEmpty else { return }
        do {
            try store.transaction { () throws(DatabaseError) in try write(&changes, now: now) }
        } catch {
            throw Self.unavailable(error)
        }
        record(changes, now: now)
        http?.hub.wake(wakeKeys(for: changes))
    }

    /// Stores a new job and queues it (which may assign it) in one transaction: one fsync before the
    /// answer and before the poll of the agent it went to is woken. When the store refuses, nothing
    /// changed. (Not for a shared database: there a change runs as a shared change.)
    func insertAndDispatch(_ spec: JobSpec, now: Date, audit: (Job) -> AuditEntry) throws(APIError) -> Job {
        let saved = dispatcher.begin()
        var changes = Changes()
        var inserted: Job?
        do {
            try store.transaction { () throws(DatabaseError) in
                let job = try store.insertJob(spec, now: now)
                inserted = job
                changes = dispatcher.add(job, now: now)
                changes.audit.insert(audit(job), at: 0)
                try write(&changes, now: now)
            }
        } catch {
            dispatcher.rollback(saved)
            throw Self.unavailable(error)
        }
        dispatcher.keep()
        record(changes, now: now)
        http?.hub.wake(wakeKeys(for: changes))
        guard let job = inserted else { throw APIError(.internalError, "the new job was not stored") }
        return changes.jobs[job.id] ?? job
    }

    /// Writes what a step changed (inside the caller's transaction): the server's log lines first
    /// (at the stored log size, its row locked), then jobs and agents.
    func write(_ changes: inout Changes, now: Date) throws(DatabaseError) {
        for (jobId, line) in changes.logLines {
            guard var job = changes.jobs[jobId] ?? dispatcher.jobs[jobId] else { continue }
            let bytes = Data((line + "\n").utf8)
            let size = try store.lockLogSize(jobId) ?? job.logSize
            try store.appendLog(jobId, at: size, bytes, now: now)
            job.logSize = size + Int64(bytes.count)
            changes.jobs[jobId] = job
            dispatcher.jobs[jobId]?.logSize = job.logSize
        }
        for job in changes.jobs.values {
            try store.updateJob(job, cancelAskedAt: dispatcher.cancelAskedAt[job.id])
            if job.state == .completed { try store.compactLog(job.id) }
        }
        for uuid in changes.deleted.keys.sorted() { try store.deleteAgent(uuid) }
        for uuid in changes.agents {
            guard let r = dispatcher.agents[uuid] else { continue }
            try store.saveAgent(r.stored)
            unsavedLastSeen.remove(uuid)
        }
        if !changes.audit.isEmpty { changes.audit = try store.appendAudit(changes.audit) }
    }

    /// The events a change makes (and the dispatch latency it shows).
    func record(_ changes: Changes, now: Date) {
        for job in changes.jobs.values.sorted(by: { $0.id < $1.id }) {
            if let assigned = job.assignedAt, job.state == .assigned, job.attempt >= 1 {
                metrics.observeDispatch(seconds: max(0, assigned.timeIntervalSince(job.createdAt)))
            }
            emit(.jobUpdated, job: withReason(job, now: now))
            if job.state == .completed { announcedReasons[job.id] = nil }
        }
        for uuid in changes.agents.sorted() {
            if let a = dispatcher.view(uuid) {
                emit(.agentUpdated, agent: a)
                lastAnnounced[uuid] = now
            }
        }
        for (uuid, hash) in changes.deleted.sorted(by: { $0.key < $1.key }) {
            secretIndex[hash] = nil
            lastAnnounced[uuid] = nil
            emit(.agentDeleted, uuid: uuid)
        }
        for entry in changes.audit { emit(.auditAppended, audit: entry) }
    }

    /// The long polls a change answers: events, the logs it wrote to or completed, the agents it woke.
    func wakeKeys(for changes: Changes) -> Set<WaitKey> {
        var keys: Set<WaitKey> = [.events]
        for job in changes.jobs.values where job.state == .completed { keys.insert(.log(job.id)) }
        for (jobId, _) in changes.logLines { keys.insert(.log(jobId)) }
        for uuid in changes.wake { keys.insert(.agentNext(uuid)) }
        return keys
    }

    /// Adds an event to the feed: in memory for a server of its own, to the outbox on a shared database.
    func emit(_ type: EventType, agent: Agent? = nil, job: Job? = nil, uuid: String? = nil, audit: AuditEntry? = nil) {
        if store.isShared {
            outbox.append(Event(seq: 0, type: type, agent: agent, job: job, uuid: uuid, audit: audit))
        } else {
            feed.append(type, agent: agent, job: job, uuid: uuid, audit: audit)
            if let seq = audit?.seq, seq > (auditWatch.watermark ?? .max) { auditWatch.announced.insert(seq) }
        }
    }

    /// Publishes an event and wakes the events polls, outside any dispatcher change.
    func announce(_ type: EventType, agent: Agent? = nil, job: Job? = nil, uuid: String? = nil) {
        switch type {
        case .agentDeleted: emit(type, uuid: uuid)
        default: emit(type, agent: agent, job: job, uuid: uuid)
        }
        if !store.isShared { http?.hub.wake([.events]) }
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
        // Every 10 s per agent; 30 s when servers share a database (each event there is a shared write).
        if let last = lastAnnounced[uuid], now.timeIntervalSince(last) < (store.isShared ? 30 : 10) { return }
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
            if store.isShared {
                // The sweeps and waiting reasons are the lease holder's; any server writes its outbox.
                if isSweeper.withLock({ $0 }) {
                    announceWaitingReasons(now: now)
                    sharedTick(now: now)
                } else if !outbox.isEmpty {
                    _ = try? sharedChange(now: now) { _ in Changes() }
                }
            } else {
                let changes = dispatcher.tick(now: now)
                try? commit(changes, now: now)
                announceWaitingReasons(now: now)
                if foreignAuditDue(now) { announceForeignAudit() }
            }
            if flush {
                seen = unsavedLastSeen.compactMap { uuid in dispatcher.agents[uuid]?.agent.lastSeenAt.map { (uuid, $0) } }
                if store.isShared { seen += agentsHoldingPolls(now: now) }  // so the others know they are alive
                unsavedLastSeen.removeAll()
            }
        }
        // Written outside the lock on a connection of its own: pings never wait for this write.
        guard !seen.isEmpty else { return }
        do {
            try store.recordLastSeen(seen.map { (uuid: $0.0, at: $0.1) })
        } catch {
            lock.withLock { unsavedLastSeen.formUnion(seen.map(\.0)) }
        }
    }

    /// Ticks (100 ms each) between flushes of contacts to the store: 10 s; on a shared database at most
    /// `--lost-contact-after` / 10, so the sweeper (maybe another server) sees a live agent's contact
    /// here before it would declare the agent lost.
    var contactFlushTicks: Int {
        store.isShared ? max(1, min(100, Int(settings.lostContactAfter))) : 100
    }

    /// Takes or renews the sweeper lease (shared database; the ticker calls this every second, off the lock).
    func renewSweeperLease(now: Date) {
        guard store.isShared else { return }
        let held = (try? store.holdLease("sweeper", holder: leaseHolder, seconds: 5, now: now)) ?? false
        isSweeper.withLock { $0 = held }
    }

    /// Whether the database answered the last health check.
    var isDatabaseReachable: Bool { databaseReachable.withLock { $0 } }

    /// Checks that the database answers (the ticker calls this every second, off the service's lock).
    func checkDatabase() {
        let ok = store.isReachable()
        databaseReachable.withLock { $0 = ok }
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
                emit(.jobUpdated, job: j)
                changedReasons = true
            }
        }
        if changedReasons { http?.hub.wake([.events]) }
    }

    /// Flushes lastSeenAt and closes the database (shutdown).
    func close() {
        tick(now: Date(), flush: true)
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
    /// Logs of jobs completed longer ago than this are removed; nil keeps them forever.
    var logRetention: TimeInterval? = 90 * 86400
    /// The agent binary offered to agents (`--agent-binary`); none by default.
    var agentBinary = AgentBinary(path: nil)
}
