import Foundation
import MonitorModels

/// The events feed: a bounded window of recent changes with increasing sequence numbers.
/// Sequence numbers start from the wall clock at startup, so they keep growing across restarts
/// and a client holding one from before a restart gets 410 and lists again.
struct EventFeed: Sendable {
    private(set) var events: [Event] = []
    private var start = 0  // index of the oldest kept event in `events` (ring by compaction)
    let capacity: Int
    /// Seq of the newest event (or the base when there is none yet).
    private(set) var head: Int64

    init(base: Int64, capacity: Int = 10_000) {
        head = base
        self.capacity = capacity
    }

    /// Oldest `since` still answerable: a client must have seen at least this seq.
    var oldestAnswerable: Int64 {
        start < events.count ? events[start].seq - 1 : head
    }

    /// Adds an event and returns its seq.
    mutating func append(_ type: EventType, agent: Agent? = nil, job: Job? = nil, uuid: String? = nil, audit: AuditEntry? = nil) {
        head += 1
        events.append(Event(seq: head, type: type, agent: agent, job: job, uuid: uuid, audit: audit))
        if events.count - start > capacity { start += 1 }
        if start > capacity {
            events.removeFirst(start)
            start = 0
        }
    }

    /// Events after `since` (at most `limit`), or nil when `since` is outside the kept window (410).
    func after(_ since: Int64, limit: Int = 1000) -> [Event]? {
        guard since >= oldestAnswerable, since <= head else { return nil }
        if since == head { return [] }
        // seqs are dense: the event with seq s sits at start + (s - first)
        let first = events[start].seq
        let from = start + Int(since + 1 - first)
        let to = min(events.count, from + limit)
        return Array(events[from..<to])
    }
}
