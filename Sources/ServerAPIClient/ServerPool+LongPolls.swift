import Foundation
import Synchronization

extension ServerPool {
    /// Like `run`, for long polls (`next`, `events`, log reads with a wait). A long poll is not a dead server while
    /// it waits: its client timeout is above its wait. But when the pool moves to another server while the poll
    /// waits on one it has left (a server that hangs without closing anything is only found out by the ping's
    /// timeout), the poll is left to end by itself, unheard, and asked again of the server now in use at once,
    /// instead of holding the client on the old server until its own timeout.
    public func runFollowingMoves<T: Sendable>(
        _ call: @escaping @Sendable (URL) async throws(ClientError) -> T
    ) async throws(ClientError) -> T {
        guard !servers.others.isEmpty else { return try await run(call) }
        return try await run { (url) async throws(ClientError) -> T in
            try await self.leavable(at: url, call)
        }
    }

    /// Runs `call` at `url` in a task of its own and waits for it, or until the pool moves away from `url`
    /// (then it throws `unreachable`, so `run` asks the server in use), or until the caller is cancelled.
    /// A request left for another server is not cancelled, only left to end by its timeout (cancelling an
    /// in-flight URLSession call can hang it, swift-corelibs-foundation); a cancel of the caller reaches it,
    /// as it would without a pool, so a closed log view leaves no request behind.
    private func leavable<T: Sendable>(
        at url: URL, _ call: @escaping @Sendable (URL) async throws(ClientError) -> T
    ) async throws(ClientError) -> T {
        guard let index = servers.all.firstIndex(of: url) else { return try await call(url) }
        let outcome = Outcome<T>()
        let key = addWaiter(Waiter(index: index) { movedTo in
            outcome.finish(.failure(.unreachable("cannot reach the server at \(url.absoluteString): "
                + "left while waiting, for \(movedTo.absoluteString)")))
        })
        let request = Task {
            let result: Result<T, ClientError>
            do throws(ClientError) {
                result = .success(try await call(url))
            } catch {
                result = .failure(error)
            }
            outcome.finish(result)
        }
        let result = await withTaskCancellationHandler {
            await withCheckedContinuation { outcome.wait($0) }
        } onCancel: {
            outcome.finish(.failure(.unreachable("cannot reach the server at \(url.absoluteString): cancelled")))
            request.cancel()
        }
        removeWaiter(key)
        return try result.get()
    }
}

/// The first of several possible ends of a left-able call (its answer, a move, a cancel), handed to whoever waits.
private final class Outcome<T: Sendable>: Sendable {
    private let state = Mutex<(result: Result<T, ClientError>?, waiting: CheckedContinuation<Result<T, ClientError>, Never>?)>((nil, nil))

    /// Ends the call with `result` unless it has ended already.
    func finish(_ result: Result<T, ClientError>) {
        let waiting = state.withLock { s -> CheckedContinuation<Result<T, ClientError>, Never>? in
            guard s.result == nil else { return nil }
            s.result = result
            defer { s.waiting = nil }
            return s.waiting
        }
        waiting?.resume(returning: result)
    }

    /// Resumes `continuation` with the end, now if it came already, else when it comes.
    func wait(_ continuation: CheckedContinuation<Result<T, ClientError>, Never>) {
        let ready = state.withLock { s -> Result<T, ClientError>? in
            if s.result == nil { s.waiting = continuation }
            return s.result
        }
        if let ready { continuation.resume(returning: ready) }
    }
}
