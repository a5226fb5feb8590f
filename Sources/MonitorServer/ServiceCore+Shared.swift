import Foundation
import MonitorModels

/// Several servers on one database (docs/replicas.md): the database is the truth and the dispatcher
/// a cache of it. A change runs under the cluster-wide lock on a cache caught up with every server's
/// commits; afterwards the other servers are told which long polls to wake.
extension ServiceCore {
    /// Runs `step` as one shared change: cluster lock, catch-up, step, write, events; then wakes local
    /// polls and tells the other servers. Call with the service's lock held.
    func sharedChange(now: Date, _ step: (inout Dispatcher) throws(APIError) -> Changes) throws(APIError) -> Changes {
        var result = Changes()
        var refused: APIError?
        var saved: (owners: [Int64: [Int: String]], cancels: [Int64: Date])?
        var caughtUp: Set<WaitKey> = []
        var revision: Int64 = 0
        do {
            try store.transaction { () throws(DatabaseError) in
                revision = try store.beginSharedChange()
                caughtUp = try catchUpLocked(through: revision - 1)
                saved = dispatcher.begin()
                do throws(APIError) {
                    result = try step(&dispatcher)
                } catch {
                    refused = error
                    throw DatabaseError(code: 0, message: "refused")
                }
                try write(&result, now: now)
                record(result, now: now)
                _ = try store.appendEvents(outbox)
            }
        } catch {
            if let saved { dispatcher.rollback(saved) }
            if let refused { throw refused }
            throw Self.unavailable(error)
        }
        dispatcher.keep()
        outbox.removeAll()
        knownRevision = revision
        let keys = wakeKeys(for: result)
        http?.hub.wake(keys.union(caughtUp))
        notifier?.send(keys)
        return result
    }

    /// Shared database: catches up before a call that checks or shows the cache (one query when nothing
    /// changed). Call with the lock held.
    func fresh() throws(APIError) {
        guard store.isShared else { return }
        do {
            let keys = try catchUp()
            if !keys.isEmpty { http?.hub.wake(keys) }
        } catch { throw Self.unavailable(error) }
    }

    /// Takes in what other servers committed since the cache's revision (outside a change: the listener,
    /// the backstop, a cache miss). Returns the long polls to wake. Call with the service's lock held.
    @discardableResult
    func catchUp() throws(DatabaseError) -> Set<WaitKey> {
        guard store.isShared else { return [] }
        return try catchUpLocked(through: nil)
    }

    /// Absorbs the changes after `knownRevision` (up to `through` when given: inside a shared change,
    /// whose own revision is not committed yet).
    private func catchUpLocked(through: Int64?) throws(DatabaseError) -> Set<WaitKey> {
        let c = try store.changes(since: knownRevision)
        let keys = absorb(c)
        knownRevision = through.map { max(knownRevision, $0) } ?? max(knownRevision, c.revision)
        return keys
    }

    /// Puts stored rows into the dispatcher, keeping what only this server knows (its held polls, its
    /// own contacts); returns the polls to wake.
    private func absorb(_ c: StoreChanges) -> Set<WaitKey> {
        guard !c.isEmpty else { return [] }
        var keys: Set<WaitKey> = [.events]
        var touchedAgents = Set(c.agents.map(\.agent.uuid))
        for (job, cancelAskedAt) in c.jobs {
            keys.insert(.log(job.id))
            if let old = dispatcher.jobs[job.id]?.agentUuid { touchedAgents.insert(old) }
            if let uuid = job.agentUuid { touchedAgents.insert(uuid) }
            if job.state == .completed {
                dispatcher.jobs.removeValue(forKey: job.id)
                dispatcher.attemptOwners[job.id] = nil
                dispatcher.cancelAskedAt[job.id] = nil
            } else {
                dispatcher.jobs[job.id] = job
                dispatcher.attemptOwners[job.id] = c.attempts[job.id] ?? [:]
                dispatcher.cancelAskedAt[job.id] = cancelAskedAt
            }
        }
        for stored in c.agents { absorb(stored) }
        for uuid in c.deletedAgents {
            if let r = dispatcher.agents[uuid] { secretIndex[r.secretHash] = nil }
            dispatcher.agents[uuid] = nil
            keys.insert(.agentNext(uuid))
        }
        if !touchedAgents.isEmpty {
            var current: [String: Int64] = [:]
            for job in dispatcher.jobs.values where job.state.isActive { if let u = job.agentUuid { current[u] = job.id } }
            for uuid in touchedAgents where dispatcher.agents[uuid] != nil {
                dispatcher.agents[uuid]?.currentJobId = current[uuid]
                keys.insert(.agentNext(uuid))
            }
        }
        if let v = c.configVersion { configVersion = v }
        return keys
    }

    private func absorb(_ s: StoredAgent) {
        let uuid = s.agent.uuid
        var r = dispatcher.agents[uuid]
            ?? AgentRecord(agent: s.agent, secretHash: s.secretHash, idleSince: s.idleSince ?? s.agent.registeredAt)
        let freeSpace = r.agent.freeSpaceBytes  // in memory only: the stored row never has it
        r.agent = s.agent
        r.agent.freeSpaceBytes = freeSpace
        r.secretHash = s.secretHash
        r.lostContact = s.lostContact
        r.pushSecret = s.pushSecret
        r.pushCACert = s.pushCACert
        if let idle = s.idleSince { r.idleSince = idle }
        if let seen = s.agent.lastSeenAt { noteStoredContact(&r, seen) }
        if s.lostContact && r.openPolls > 0 { heldPollsDeclaredLost.insert(uuid) }
        dispatcher.agents[uuid] = r
        secretIndex[s.secretHash] = uuid
    }

    /// A contact another server recorded: it counts for reachability and, when it came after this
    /// server started, the agent is no longer missing.
    func noteStoredContact(_ r: inout AgentRecord, _ seen: Date) {
        r.lastContact = max(r.lastContact ?? seen, seen)
        if seen > (r.agent.lastSeenAt ?? .distantPast) { r.agent.lastSeenAt = seen }
        if seen >= dispatcher.startedAt { r.heardSinceStart = true }
    }

    /// Reads the contacts every server flushed for these agents (call without the lock: the read runs on
    /// the store's side connection), for `takeContacts` under the lock.
    func storedContacts(_ uuids: [String]) -> [String: Date] {
        guard store.isShared, !uuids.isEmpty, let seen = try? store.lastSeen(uuids) else { return [:] }
        return seen
    }

    /// Puts contacts read by `storedContacts` into the cache. Call with the lock held.
    func takeContacts(_ seen: [String: Date]) {
        for (uuid, date) in seen {
            guard var r = dispatcher.agents[uuid] else { continue }
            noteStoredContact(&r, date)
            dispatcher.agents[uuid] = r
        }
    }

    /// The sweeps (lost contact, missing agents' jobs, cancels nobody confirms) on a shared database: run
    /// by the lease holder, after re-reading the contacts of the agents about to be declared lost.
    /// Call with the lock held.
    func sharedTick(now: Date) {
        let saved = dispatcher.begin()
        let dryRun = dispatcher.tick(now: now)
        dispatcher.rollback(saved)
        if !dryRun.isEmpty {
            takeContacts(storedContacts(Array(dryRun.agents)))  // few agents: read under the lock
            _ = try? sharedChange(now: now) { d in d.tick(now: now) }
        } else if !outbox.isEmpty {
            _ = try? sharedChange(now: now) { _ in Changes() }
        }
    }

    /// An agent holding a poll here is reachable (a held poll is contact), also when another server's
    /// sweep, which had not yet seen the poll, declared it lost: its contact, as a shared change, clears
    /// that and may give it work. Otherwise it would wait, lost, with no job until the poll ended.
    /// Call with the lock held, after a catch-up.
    func vouchForHeldPolls(now: Date) {
        let declared = heldPollsDeclaredLost
        heldPollsDeclaredLost.removeAll()
        for uuid in declared.sorted() where dispatcher.agents[uuid].map({ $0.openPolls > 0 && $0.lostContact }) == true {
            do { _ = try apply(now: now) { d in d.contact(uuid, now: now) } } catch { heldPollsDeclaredLost.insert(uuid) }
        }
    }

    /// Jobs other servers queued may fit agents whose polls this server holds: dispatch them here (after
    /// vouching for the held polls another server thought lost). Call with the lock held.
    func dispatchWaiting(now: Date) {
        vouchForHeldPolls(now: now)
        guard dispatcher.jobs.values.contains(where: { $0.state == .scheduled }) else { return }
        let saved = dispatcher.begin()
        let dryRun = dispatcher.dispatch(now: now)
        dispatcher.rollback(saved)
        if !dryRun.isEmpty { _ = try? sharedChange(now: now) { d in d.dispatch(now: now) } }
    }

    /// True when a step (begun with `dispatcher.begin()`) changed nothing the database holds: no job,
    /// no log line, no deletion, no wake-up, and every touched agent's stored fields as they were (a
    /// first contact since this server started changes only how this server shows the agent).
    func onlyThisServersView(_ changes: Changes) -> Bool {
        guard changes.jobs.isEmpty, changes.logLines.isEmpty, changes.deleted.isEmpty, changes.wake.isEmpty,
              changes.audit.isEmpty else { return false }
        return changes.agents.allSatisfy { uuid in
            guard case .some(.some(let before)) = dispatcher.agents.original(uuid), let after = dispatcher.agents[uuid] else { return false }
            return Self.stored(before) == Self.stored(after)
        }
    }

    /// What the database keeps of an agent, contact time (and the in-memory free space) aside.
    static func stored(_ r: AgentRecord) -> StoredAgent {
        var a = r.agent
        a.lastSeenAt = nil
        a.freeSpaceBytes = nil  // kept in memory only
        var s = r.stored
        s.agent = a
        return s
    }

    /// Keeps the stored events feed to its newest `keeping` events (the lease holder, once a minute), as
    /// the in-memory feed of a server of its own keeps its newest 10,000.
    func trimSharedEvents(keeping: Int = 10_000) {
        guard store.isShared, isSweeper.withLock({ $0 }) else { return }
        locked { try? store.trimEvents(keeping: keeping) }
    }

    /// Agents this server should vouch for in the contact flush: those holding a poll here now.
    func agentsHoldingPolls(now: Date) -> [(String, Date)] {
        dispatcher.agents.storage.compactMap { uuid, r in r.openPolls > 0 ? (uuid, now) : nil }
    }
}
