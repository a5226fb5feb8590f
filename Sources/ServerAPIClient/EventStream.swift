import Foundation
import MonitorModels

/// What the reconnecting event stream reports to its owner.
public enum EventStreamUpdate: Sendable, Equatable {
    /// A full, fresh list (at start, after 410 `gone`, after an outage): replace what you hold.
    case snapshot(agents: [Agent], jobs: [Job])
    /// Changes since the last update, in order.
    case events([Event])
    /// The server cannot be reached (or refused us); the stream retries after `retryIn`.
    case disconnected(reason: String, retryIn: Duration)
    /// The server answers again (sent after the snapshot that follows an outage).
    case connected
}

/// Follows GET /api/v1/events with a long poll and keeps a client in step with the server:
/// re-lists agents and jobs on 410 `gone`, after an outage or after a move to another server, and retries with backoff.
public struct ReconnectingEventStream: Sendable {
    public let api: AdminAPI
    /// The servers `api` goes through, when it may move between several: after a move the event cursor
    /// belongs to the old server, so the stream lists again from the new one.
    public let servers: ServerPool?
    /// Seconds the server may hold each poll.
    public let waitSeconds: Int
    /// How many jobs a snapshot lists (newest first).
    public let jobLimit: Int
    /// Backoff after a failure: first delay, doubling up to `maxDelay`.
    public let firstDelay: Duration
    public let maxDelay: Duration
    let sleep: @Sendable (Duration) async throws -> Void

    /// A stream over `api` (whose calls go through `servers`, if given). `sleep` is injectable so tests need not
    /// wait for real backoff.
    public init(
        api: AdminAPI, servers: ServerPool? = nil, waitSeconds: Int = 25, jobLimit: Int = 500,
        firstDelay: Duration = .milliseconds(250), maxDelay: Duration = .seconds(5),
        sleep: @escaping @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) }
    ) {
        self.api = api
        self.servers = servers
        self.waitSeconds = waitSeconds
        self.jobLimit = jobLimit
        self.firstDelay = firstDelay
        self.maxDelay = maxDelay
        self.sleep = sleep
    }

    /// A consistent starting point: the event cursor first, then the lists, so no change falls between.
    /// All three come from one server: when the pool moved meanwhile, they are read again (up to 3 times).
    public func snapshot() async throws(ClientError) -> (agents: [Agent], jobs: [Job], cursor: Int64) {
        var tries = 0
        while true {
            let moves = servers?.moves
            let cursor = try await api.events(nil, 0).next
            let agents = try await api.listAgents()
            let newest = try await api.listJobs(nil, jobLimit)
            // Every waiting job too, however old: the console's impact preview judges all of them.
            let waiting = try await api.listJobs(.scheduled, 1000)
            let known = Set(newest.map(\.id))
            let jobs = newest + waiting.filter { !known.contains($0.id) }
            tries += 1
            if servers?.moves == moves || tries >= 3 { return (agents, jobs, cursor) }
        }
    }

    /// Polls until the task is cancelled, reporting through `emit`. Starts from `cursor` (from `snapshot()`),
    /// or takes a snapshot first when it is nil.
    public func run(from cursor: Int64?, emit: @escaping @Sendable (EventStreamUpdate) -> Void) async {
        var cursor = cursor
        var delay = firstDelay
        var down = false
        var moves = servers?.moves
        while !Task.isCancelled {
            do throws(ClientError) {
                if cursor == nil {
                    moves = servers?.moves
                    let s = try await snapshot()
                    emit(.snapshot(agents: s.agents, jobs: s.jobs))
                    cursor = s.cursor
                    if down { emit(.connected) }
                    down = false
                    delay = firstDelay
                }
                guard let since = cursor else { continue }
                let batch = try await api.events(since, waitSeconds)
                if servers?.moves != moves {
                    // Another server answered: our cursor was the old one's. List again, and say when it is done.
                    cursor = nil
                    down = true
                    continue
                }
                if !batch.events.isEmpty { emit(.events(batch.events)) }
                cursor = batch.next
            } catch {
                if Task.isCancelled { return }
                if error.code == .gone {
                    cursor = nil // the server no longer has our place (or, after a move, never had it): list again
                    if servers?.moves != moves { down = true }
                    continue
                }
                emit(.disconnected(reason: error.description, retryIn: delay))
                down = true
                cursor = nil // after an outage we may have missed changes (or the server restarted): list again
                do { try await sleep(delay) } catch { return }
                delay = min(delay * 2, maxDelay)
            }
        }
    }
}
