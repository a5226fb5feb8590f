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

    /// Runs `call` at `url` in a task of its own and waits for it, or until the pool moves away from `url`:
    /// then it throws `unreachable` (so `run` asks the server in use) and lets the request end unheard.
    /// The request is never cancelled: cancelling an in-flight URLSession call can hang it (swift-corelibs-foundation).
    private func leavable<T: Sendable>(
        at url: URL, _ call: @escaping @Sendable (URL) async throws(ClientError) -> T
    ) async throws(ClientError) -> T {
        guard let index = servers.all.firstIndex(of: url) else { return try await call(url) }
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<T, ClientError>, Never>) in
            let once = Mutex<CheckedContinuation<Result<T, ClientError>, Never>?>(continuation)
            let finish: @Sendable (Result<T, ClientError>) -> Void = { result in
                let waiting = once.withLock { c -> CheckedContinuation<Result<T, ClientError>, Never>? in
                    defer { c = nil }
                    return c
                }
                waiting?.resume(returning: result)
            }
            let key = addWaiter(Waiter(index: index) { movedTo in
                finish(.failure(.unreachable("cannot reach the server at \(url.absoluteString): "
                    + "left while waiting, for \(movedTo.absoluteString)")))
            })
            Task {
                let result: Result<T, ClientError>
                do throws(ClientError) {
                    result = .success(try await call(url))
                } catch {
                    result = .failure(error)
                }
                self.removeWaiter(key)
                finish(result)
            }
        }
        return try result.get()
    }
}
