import Foundation
import MonitorModels
import Synchronization

/// Tells the other servers on a shared database which long polls a change may answer, with ids only
/// (`a:` agents, `j:` jobs, `e` events), merged over 2 ms into one NOTIFY sent after the change
/// committed (a NOTIFY inside the change would serialize commits cluster-wide).
final class ChangeNotifier: Sendable {
    private let deliver: @Sendable (String) -> Void
    private let pending = Mutex<(keys: Set<WaitKey>, scheduled: Bool)>(([], false))

    init(store: any Store) {
        let box = StoreBox(store)
        deliver = { box.store.notifyOthers($0) }
    }

    /// Queues keys; they go out together within a few milliseconds.
    func send(_ keys: Set<WaitKey>) {
        guard !keys.isEmpty else { return }
        let start = pending.withLock { p -> Bool in
            p.keys.formUnion(keys)
            defer { p.scheduled = true }
            return !p.scheduled
        }
        guard start else { return }
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(2)) { [self] in
            let keys = pending.withLock { p -> Set<WaitKey> in
                defer { p = ([], false) }
                return p.keys
            }
            deliver(Self.payload(keys))
        }
    }

    /// `a:UUID,UUID;j:ID,ID;e`, or `*` (wake everything) when it would not fit a NOTIFY.
    static func payload(_ keys: Set<WaitKey>) -> String {
        var agents: [String] = [], jobs: [String] = [], events = false
        for key in keys {
            switch key {
            case .agentNext(let u): agents.append(u)
            case .log(let id): jobs.append(String(id))
            case .events: events = true
            }
        }
        var parts: [String] = []
        if !agents.isEmpty { parts.append("a:" + agents.sorted().joined(separator: ",")) }
        if !jobs.isEmpty { parts.append("j:" + jobs.sorted().joined(separator: ",")) }
        if events { parts.append("e") }
        let text = parts.joined(separator: ";")
        return text.utf8.count < 7_000 ? text : "*"
    }

    /// The keys a payload names; nil for `*` (or anything unreadable): wake every poll.
    static func keys(_ payload: String) -> Set<WaitKey>? {
        var keys: Set<WaitKey> = []
        for part in payload.split(separator: ";") {
            if part == "e" { keys.insert(.events); continue }
            if part.hasPrefix("a:") { for u in part.dropFirst(2).split(separator: ",") { keys.insert(.agentNext(String(u))) }; continue }
            if part.hasPrefix("j:") {
                for id in part.dropFirst(2).split(separator: ",") {
                    guard let n = Int64(id) else { return nil }
                    keys.insert(.log(n))
                }
                continue
            }
            return nil
        }
        return keys
    }
}

/// The store for a background send: `notifyOthers` runs on the store's side connection, behind its own lock.
private final class StoreBox: @unchecked Sendable {
    let store: any Store
    init(_ store: any Store) { self.store = store }
}

/// Listens for the other servers' notifications on a connection of its own and keeps the cache caught
/// up: each notification makes the server catch up and wake the polls it names; every second a
/// backstop catches up and re-checks parked log polls, so a lost notification delays a wake-up,
/// never loses it; after the connection was lost every parked poll re-reads.
final class ReplicaListener: @unchecked Sendable {  // `stopping` is read and written under `lock`
    private let conninfo: String
    private weak var core: ServiceCore?
    private let lock = NSLock()
    private var stopping = false
    private let done = DispatchSemaphore(value: 0)

    init(conninfo: String, core: ServiceCore) {
        self.conninfo = conninfo
        self.core = core
    }

    func start() {
        let t = Thread { [self] in
            run()
            done.signal()
        }
        t.name = "mms-replica-listener"
        t.start()
    }

    /// Stops listening (within a second) and waits for the thread.
    func stop() {
        lock.withLock { stopping = true }
        done.wait()
    }

    private var isStopping: Bool { lock.withLock { stopping } }

    private func run() {
        var connection: PGConnection?
        var backstops = 0
        while !isStopping {
            guard let c = connection ?? connect() else {
                Thread.sleep(forTimeInterval: 0.5)
                continue
            }
            if connection == nil {
                connection = c
                caughtUp(wakeEverything: true)  // notifications may have been missed while unheard
            }
            do {
                let arrived = try c.waitForNotifications(timeout: .seconds(1))
                if arrived.isEmpty {
                    backstops += 1
                    backstop(refreshContacts: backstops % 10 == 0)
                } else {
                    wake(arrived.map(\.payload))
                }
            } catch {
                connection = nil
            }
        }
    }

    private func connect() -> PGConnection? {
        guard let c = try? PGConnection(conninfo: conninfo), (try? c.listen(PostgresStore.channel)) != nil else { return nil }
        return c
    }

    /// Catches up and wakes what the payloads name (everything for `*`).
    private func wake(_ payloads: [String]) {
        var keys: Set<WaitKey> = []
        var everything = false
        for p in payloads {
            if let k = ChangeNotifier.keys(p) { keys.formUnion(k) } else { everything = true }
        }
        guard let core else { return }
        let caught = core.locked { () -> Set<WaitKey> in
            let caught = (try? core.catchUp()) ?? []
            core.dispatchWaiting(now: Date())
            return caught
        }
        if everything { core.http?.hub.wake(where: { _ in true }) } else { core.http?.hub.wake(keys.union(caught)) }
    }

    private func caughtUp(wakeEverything: Bool) {
        guard let core else { return }
        core.locked { _ = try? core.catchUp() }
        if wakeEverything { core.http?.hub.wake(where: { _ in true }) }
    }

    /// Every second: catch up, dispatch what fits here, re-check parked log polls; every 10 s also read
    /// the contacts other servers flushed for agents not heard here lately.
    private func backstop(refreshContacts: Bool) {
        guard let core else { return }
        let now = Date()
        let caught = core.locked { () -> Set<WaitKey> in
            let caught = (try? core.catchUp()) ?? []
            if refreshContacts {
                let stale = core.dispatcher.agents.storage.compactMap { uuid, r -> String? in
                    r.openPolls == 0 && now.timeIntervalSince(r.lastContact ?? .distantPast) > 20 ? uuid : nil
                }
                core.refreshContacts(stale)
            }
            core.dispatchWaiting(now: now)
            return caught
        }
        core.http?.hub.wake(caught)
        core.http?.hub.wake(where: { if case .log = $0 { return true } else { return false } })
    }
}
