import CMicroHTTPD
import Foundation

/// Parked long polls (suspended libmicrohttpd connections) and the wakes that resume them.
/// A poll holds no thread while parked; a wake or its deadline resumes the connection and the
/// request's handler runs again to answer.
final class LongPollHub: @unchecked Sendable {
    private let lock = NSLock()
    private var generation: UInt64 = 0
    private var parked: [ObjectIdentifier: RequestContext] = [:]
    private var byKey: [WaitKey: Set<ObjectIdentifier>] = [:]
    private var stopping = false

    /// The current wake generation: take it when a check finds nothing, pass it to `park`.
    var currentGeneration: UInt64 { lock.withLock { generation } }

    /// True once the server is shutting down (parked polls answer at once).
    var isStopping: Bool { lock.withLock { stopping } }

    /// Number of parked polls.
    var count: Int { lock.withLock { parked.count } }

    /// Suspends the request's connection until a wake of its key or its deadline. Returns false
    /// (without suspending) when a wake happened since the poll's check: the caller checks again.
    func park(_ ctx: RequestContext) -> Bool {
        guard let poll = ctx.poll else { return false }
        return lock.withLock {
            if stopping || generation != poll.generation { return false }
            let id = ObjectIdentifier(ctx)
            parked[id] = ctx
            byKey[poll.key, default: []].insert(id)
            ctx.isParked = true
            MHD_suspend_connection(ctx.connection)
            return true
        }
    }

    /// Resumes every poll parked on these keys.
    func wake<S: Sequence>(_ keys: S) where S.Element == WaitKey {
        lock.withLock {
            generation &+= 1
            for key in keys {
                guard let ids = byKey.removeValue(forKey: key) else { continue }
                for id in ids { resumeLocked(id) }
            }
        }
    }

    /// Resumes the polls whose deadline has passed.
    func expire(now: Date) {
        lock.withLock {
            let due = parked.filter { ($0.value.poll?.deadline ?? now) <= now }
            for (id, ctx) in due {
                if let key = ctx.poll?.key { byKey[key]?.remove(id) }
                resumeLocked(id)
            }
        }
    }

    /// Resumes every parked poll and refuses new parks (shutdown).
    func stopAll() {
        lock.withLock {
            stopping = true
            generation &+= 1
            for id in Array(parked.keys) { resumeLocked(id) }
            byKey.removeAll()
        }
    }

    private func resumeLocked(_ id: ObjectIdentifier) {
        guard let ctx = parked.removeValue(forKey: id) else { return }
        ctx.isParked = false
        MHD_resume_connection(ctx.connection)
    }
}
