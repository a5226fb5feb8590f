import CMicroHTTPD
import Foundation

/// Parked long polls (suspended libmicrohttpd connections) and the wakes that resume them.
/// A poll holds no thread while parked; a wake or its deadline resumes the connection and the
/// request's handler runs again to answer.
public final class LongPollHub: @unchecked Sendable {
    private let lock = NSLock()
    private var generation: UInt64 = 0
    private var parked: [ObjectIdentifier: RequestContext] = [:]
    private var byKey: [WaitKey: Set<ObjectIdentifier>] = [:]
    private var stopping = false
    /// Polls resumed by `stopAll` that have not been answered yet (stop waits for them).
    private var unansweredAtStop: Set<ObjectIdentifier> = []
    /// Deadlines of parked polls, earliest first (entries of polls already resumed are skipped).
    private var deadlines = DeadlineHeap()
    /// Told every wake, outside the lock (nil: everything woke): for waiters that are not connections,
    /// such as mms-server's push agent drivers.
    private var observer: (@Sendable (Set<WaitKey>?) -> Void)?

    /// Sets the wake observer (once, before wakes matter).
    public func observe(_ body: @escaping @Sendable (Set<WaitKey>?) -> Void) {
        lock.withLock { observer = body }
    }

    /// The current wake generation: take it when a check finds nothing, pass it to `park`.
    public var currentGeneration: UInt64 { lock.withLock { generation } }

    /// True once the server is shutting down (parked polls answer at once).
    public var isStopping: Bool { lock.withLock { stopping } }

    /// Number of parked polls.
    public var count: Int { lock.withLock { parked.count } }

    /// Suspends the request's connection until a wake of its key or its deadline. Returns false
    /// (without suspending) when a wake happened since the poll's check: the caller checks again.
    func park(_ ctx: RequestContext) -> Bool {
        guard let poll = ctx.poll else { return false }
        return lock.withLock {
            if stopping || generation != poll.generation { return false }
            let id = ObjectIdentifier(ctx)
            parked[id] = ctx
            byKey[poll.key, default: []].insert(id)
            deadlines.push(poll.deadline, id)
            ctx.isParked = true
            MHD_suspend_connection(ctx.connection)
            return true
        }
    }

    /// Resumes every poll parked on these keys.
    public func wake<S: Sequence>(_ keys: S) where S.Element == WaitKey {
        let told = lock.withLock { () -> (@Sendable (Set<WaitKey>?) -> Void)? in
            generation &+= 1
            for key in keys {
                guard let ids = byKey.removeValue(forKey: key) else { continue }
                for id in ids { resumeLocked(id) }
            }
            return observer
        }
        told?(Set(keys))
    }

    /// Resumes the polls whose deadline has passed.
    func expire(now: Date) {
        lock.withLock {
            while let (deadline, id) = deadlines.peek(), deadline <= now {
                deadlines.pop()
                guard let ctx = parked[id], let poll = ctx.poll, poll.deadline <= now else { continue }
                byKey[poll.key]?.remove(id)
                resumeLocked(id)
            }
        }
    }

    /// Resumes every poll parked on a key that `matches` (a lost wake-up channel, the backstop).
    public func wake(where matches: (WaitKey) -> Bool) {
        let told = lock.withLock { () -> (@Sendable (Set<WaitKey>?) -> Void)? in
            generation &+= 1
            for key in Array(byKey.keys) where matches(key) {
                guard let ids = byKey.removeValue(forKey: key) else { continue }
                for id in ids { resumeLocked(id) }
            }
            return observer
        }
        told?(nil)
    }

    /// Resumes every parked poll and refuses new parks (shutdown).
    func stopAll() {
        lock.withLock {
            stopping = true
            generation &+= 1
            unansweredAtStop.formUnion(parked.keys)
            for id in Array(parked.keys) { resumeLocked(id) }
            byKey.removeAll()
            deadlines = DeadlineHeap()
        }
    }

    /// Polls resumed at stop that still owe their answer.
    var unansweredCount: Int { lock.withLock { unansweredAtStop.count } }

    /// A poll's answer was queued (at stop, the server waits for every resumed one).
    func answered(_ ctx: RequestContext) {
        lock.withLock { _ = unansweredAtStop.remove(ObjectIdentifier(ctx)) }
    }

    private func resumeLocked(_ id: ObjectIdentifier) {
        guard let ctx = parked.removeValue(forKey: id) else { return }
        ctx.isParked = false
        MHD_resume_connection(ctx.connection)
    }
}

/// A binary min-heap of (deadline, poll) pairs.
struct DeadlineHeap {
    private var items: [(Date, ObjectIdentifier)] = []

    func peek() -> (Date, ObjectIdentifier)? { items.first }

    mutating func push(_ deadline: Date, _ id: ObjectIdentifier) {
        items.append((deadline, id))
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard items[i].0 < items[parent].0 else { break }
            items.swapAt(i, parent)
            i = parent
        }
    }

    mutating func pop() {
        guard !items.isEmpty else { return }
        items.swapAt(0, items.count - 1)
        items.removeLast()
        var i = 0
        while true {
            let l = 2 * i + 1, r = l + 1
            var m = i
            if l < items.count && items[l].0 < items[m].0 { m = l }
            if r < items.count && items[r].0 < items[m].0 { m = r }
            if m == i { return }
            items.swapAt(i, m)
            i = m
        }
    }
}
