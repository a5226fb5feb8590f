import Synchronization

/// A wake-up for one waiting task: `notify` from any thread; `wait` returns at once when a notify came
/// since the last wait, else when the next one comes. Notifies that pile up while nobody waits count once,
/// so a waiter that checks its condition, then waits, never misses a change made in between.
public final class WakeSignal: Sendable {
    private let state = Mutex<(pending: Bool, waiter: CheckedContinuation<Void, Never>?)>((false, nil))

    public init() {}

    /// Wakes the waiter, or the next `wait` if nobody waits now.
    public func notify() {
        let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
            guard let w = s.waiter else {
                s.pending = true
                return nil
            }
            s.waiter = nil
            return w
        }
        waiter?.resume()
    }

    /// Suspends until a `notify` (returns at once for one that came since the last wait). One waiter at a time.
    public func wait() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let now = state.withLock { s -> Bool in
                if s.pending {
                    s.pending = false
                    return true
                }
                s.waiter = c
                return false
            }
            if now { c.resume() }
        }
    }
}
