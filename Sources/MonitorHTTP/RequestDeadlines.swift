import Foundation

/// How long a client may take to send a request, the slow-loris guard. The head must arrive within
/// `head` of the connection opening or of the previous answer on a kept-alive connection (so it is also
/// the keep-alive idle limit); the body within `body` of the head. Pure: time is passed in.
struct DeadlineTable {
    /// What a connection is doing, as far as the deadlines care.
    enum Phase: Equatable { case head, body, busy }

    struct Entry: Equatable {
        var socket: Int32
        var phase: Phase
        var deadline: UInt64
    }

    let head: UInt64
    let body: UInt64
    private(set) var entries: [UInt: Entry] = [:]

    /// Timeouts in nanoseconds.
    init(headNanos: UInt64, bodyNanos: UInt64) {
        head = headNanos
        body = bodyNanos
    }

    /// A connection opened: its first request head is due.
    mutating func opened(_ id: UInt, socket: Int32, now: UInt64) {
        entries[id] = Entry(socket: socket, phase: .head, deadline: now &+ head)
    }

    /// The head of a request arrived: its body (possibly empty) is due.
    mutating func headArrived(_ id: UInt, now: UInt64) {
        set(id, .body, deadline: now &+ body)
    }

    /// The whole request arrived: the server is answering, no deadline of ours.
    mutating func requestArrived(_ id: UInt) {
        set(id, .busy, deadline: .max)
    }

    /// The answer was sent and the connection is kept alive: the next head is due.
    mutating func answered(_ id: UInt, now: UInt64) {
        set(id, .head, deadline: now &+ head)
    }

    /// The connection is gone; its socket number may be reused from now on.
    mutating func closed(_ id: UInt) {
        entries[id] = nil
    }

    /// Connections past their deadline, each reported once (it is marked busy until it closes).
    mutating func expired(now: UInt64) -> [(socket: Int32, phase: Phase)] {
        var out: [(Int32, Phase)] = []
        for (id, e) in entries where e.deadline <= now {
            out.append((e.socket, e.phase))
            entries[id]?.phase = .busy
            entries[id]?.deadline = .max
        }
        return out
    }

    private mutating func set(_ id: UInt, _ phase: Phase, deadline: UInt64) {
        guard entries[id] != nil else { return }
        entries[id]?.phase = phase
        entries[id]?.deadline = deadline
    }
}

/// The deadline table behind a lock, fed by libmicrohttpd's callbacks; `cut` shuts the sockets of
/// connections past their deadline (libmicrohttpd then sees the end of the stream and closes them).
public final class RequestDeadlines: @unchecked Sendable {
    private let lock = NSLock()
    private var table: DeadlineTable
    private(set) var cutWaitingForHead = 0
    private(set) var cutWaitingForBody = 0

    init(headSeconds: Int, bodySeconds: Int) {
        table = DeadlineTable(headNanos: UInt64(headSeconds) * 1_000_000_000, bodyNanos: UInt64(bodySeconds) * 1_000_000_000)
    }

    static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    func opened(_ c: OpaquePointer, socket: Int32) {
        guard socket >= 0 else { return }
        lock.withLock { table.opened(UInt(bitPattern: c), socket: socket, now: Self.now()) }
    }
    func headArrived(_ c: OpaquePointer) { lock.withLock { table.headArrived(UInt(bitPattern: c), now: Self.now()) } }
    func requestArrived(_ c: OpaquePointer) { lock.withLock { table.requestArrived(UInt(bitPattern: c)) } }
    func answered(_ c: OpaquePointer) { lock.withLock { table.answered(UInt(bitPattern: c), now: Self.now()) } }
    func closed(_ c: OpaquePointer) { lock.withLock { table.closed(UInt(bitPattern: c)) } }

    /// Shuts the sockets of late connections. Runs under the lock so that a connection cannot close
    /// (and its socket number be reused) between the lookup and the shutdown.
    func cut(now: UInt64 = RequestDeadlines.now()) {
        lock.withLock {
            for late in table.expired(now: now) {
                _ = shutdown(late.socket, Int32(SHUT_RDWR))
                if late.phase == .head { cutWaitingForHead += 1 } else { cutWaitingForBody += 1 }
            }
        }
    }

    /// Counts for /metrics.
    public func counts() -> (head: Int, body: Int) { lock.withLock { (cutWaitingForHead, cutWaitingForBody) } }
}
