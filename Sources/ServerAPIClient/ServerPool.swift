import Foundation
import Synchronization

/// What a pool tells its observers when the server in use changes.
public enum ServerPoolEvent: Sendable, Equatable {
    /// The server in use stopped answering (`reason`); calls now try `to`.
    case switching(from: URL, to: URL, reason: String)
    /// `to` answered after `from` had failed (`reason`): calls go to `to` from now on.
    case moved(from: URL, to: URL, reason: String)
}

/// The servers a client talks to (`--server A,B,C`), shared by every call of that client: each call goes to
/// the server in use; when that one cannot be reached (or answers 503) the call is tried once on each other
/// server, in list order after it (wrapping round), and the first that answers is used from then on. The pool
/// goes back to an earlier server only when the one in use fails, so it never flaps. Any other answer, 4xx
/// or 5xx, is the server speaking: it is passed to the caller as it is. Thread-safe.
public final class ServerPool: Sendable {
    /// The servers, preferred first.
    public let servers: ServerList
    private let urls: [URL]
    private let state = Mutex(State())
    private let observers = Mutex<[@Sendable (ServerPoolEvent) -> Void]>([])
    /// Long polls waiting on a server, told when the pool moves to another (see `runFollowingMoves`).
    private let waiters = Mutex<(next: Int, all: [Int: Waiter])>((0, [:]))

    /// A long poll waiting on the server at `index`; `leave` is called (once at most) with the server moved to.
    struct Waiter {
        let index: Int
        let leave: @Sendable (URL) -> Void
    }

    /// Which server calls start at, which answered last, and what each last failed with.
    private struct State {
        /// Where the next call starts.
        var current = 0
        /// The server that answered last (nil before the first answer).
        var inUse: Int?
        /// True once the server in use has failed and observers heard `switching`, until a server answers.
        var inUseFailed = false
        /// The last failure of each server, as said in the move line.
        var failures: [Int: String] = [:]
        /// How many times the pool moved to another server.
        var moves = 0
    }

    /// A pool over `servers`, starting with the first.
    public init(_ servers: ServerList) {
        self.servers = servers
        self.urls = servers.all
    }

    /// A pool of one server: calls behave exactly as without a pool.
    public convenience init(_ url: URL) { self.init(ServerList(url)) }

    /// The server calls go to now: the one that answered last (before any answer, the one tried next).
    public var inUse: URL { state.withLock { urls[$0.inUse ?? $0.current] } }

    /// How many times calls moved to another server; a reader holding a server's cursor re-reads when it changes.
    public var moves: Int { state.withLock { $0.moves } }

    /// Calls `handler` on every switch and move (on the thread of the call that saw it; keep it short).
    public func observe(_ handler: @escaping @Sendable (ServerPoolEvent) -> Void) {
        observers.withLock { $0.append(handler) }
    }

    /// Runs `call` against the server in use, then, while the failure says the server is not there, once against
    /// each other server. Throws the last failure when none answered. A call that is not `repeatable` (it
    /// creates something) is tried elsewhere only when the failure shows it never reached the server.
    public func run<T>(
        repeatable: Bool = true, _ call: (URL) async throws(ClientError) -> T
    ) async throws(ClientError) -> T {
        var index = state.withLock { $0.current }
        var tried: Set<Int> = []
        while true {
            tried.insert(index)
            do {
                let value = try await call(urls[index])
                answered(index)
                return value
            } catch {
                // A call its caller gave up on (a log view closed) says nothing about the server.
                if Task.isCancelled { throw error }
                guard let reason = Self.failoverReason(error, server: urls[index]) else {
                    answered(index)
                    throw error
                }
                guard let next = failed(index, reason: reason, tried: tried),
                      repeatable || Self.neverReached(error) else { throw error }
                index = next
            }
        }
    }

    /// Why `error` means "try another server", or nil when the server answered: unreachable, or 503 (a replica
    /// answers `unavailable` while its database cannot be reached; a proxy answers 503 with no server behind it).
    public static func failoverReason(_ error: ClientError, server: URL) -> String? {
        switch error {
        case .unreachable(let message):
            let prefix = "cannot reach the server at \(server.absoluteString): "
            return message.hasPrefix(prefix) ? String(message.dropFirst(prefix.count)) : message
        case .api(503, let e):
            return "503 \(e.code): \(e.message)"
        case .api, .badResponse:
            return nil
        }
    }

    /// True when the request surely never reached the server (refused, no such host, no TLS), or it said 503.
    public static func neverReached(_ error: ClientError) -> Bool {
        switch error {
        case .unreachable(let message):
            return HTTPTransport.notSentReasons.contains { message.hasSuffix(": " + $0) } || message.contains("TLS handshake failed")
        case .api(503, _):
            return true
        case .api, .badResponse:
            return false
        }
    }

    /// A server answered. When it is where calls start, it is in use from now on; tell observers when that is
    /// a move. A late answer from a server the pool already left (a long poll begun there) changes nothing.
    private func answered(_ index: Int) {
        let event = state.withLock { s -> ServerPoolEvent? in
            guard s.current == index else { return nil }
            defer {
                s.inUse = index
                s.inUseFailed = false
                s.failures[index] = nil
            }
            let from = s.inUse ?? 0
            guard from != index else { return nil }
            s.moves += 1
            return .moved(from: urls[from], to: urls[index], reason: s.failures[from] ?? "did not answer")
        }
        if let event {
            notify(event)
            leave(awayFrom: index)
        }
    }

    /// `index` failed: move the pool's start on if it was there, and pick what this call tries next
    /// (the pool's start if this call has not tried it, else the next untried server after `index`).
    private func failed(_ index: Int, reason: String, tried: Set<Int>) -> Int? {
        let (next, event) = state.withLock { s -> (Int?, ServerPoolEvent?) in
            s.failures[index] = reason
            var event: ServerPoolEvent?
            if s.current == index, urls.count > 1 {
                s.current = (index + 1) % urls.count
                if s.inUse == index, !s.inUseFailed {
                    s.inUseFailed = true
                    event = .switching(from: urls[index], to: urls[s.current], reason: reason)
                }
            }
            if !tried.contains(s.current) { return (s.current, event) }
            let order = (1..<urls.count).map { (index + $0) % urls.count }
            return (order.first { !tried.contains($0) }, event)
        }
        if let event { notify(event) }
        return next
    }

    /// Registers a long poll on the server at `index`; when the pool has already moved to another server
    /// that answered, `leave` is called at once. Returns the key for `removeWaiter`.
    func addWaiter(_ waiter: Waiter) -> Int {
        let key = waiters.withLock { w -> Int in
            w.next += 1
            w.all[w.next] = waiter
            return w.next
        }
        let movedTo = state.withLock { s -> Int? in
            guard let inUse = s.inUse, inUse != waiter.index, s.current != waiter.index else { return nil }
            return inUse
        }
        if let movedTo { leave(awayFrom: movedTo) }
        return key
    }

    /// Forgets a long poll that has ended.
    func removeWaiter(_ key: Int) {
        _ = waiters.withLock { $0.all.removeValue(forKey: key) }
    }

    /// Tells every long poll waiting on another server than `index` (now in use) to leave it.
    private func leave(awayFrom index: Int) {
        let leaving = waiters.withLock { w -> [Waiter] in
            let gone = w.all.filter { $0.value.index != index }
            for key in gone.keys { w.all[key] = nil }
            return Array(gone.values)
        }
        for waiter in leaving { waiter.leave(urls[index]) }
    }

    /// Tells every observer about `event` (outside the locks).
    private func notify(_ event: ServerPoolEvent) {
        for handler in observers.withLock({ $0 }) { handler(event) }
    }
}
