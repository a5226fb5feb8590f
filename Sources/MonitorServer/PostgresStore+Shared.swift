import Foundation
import MonitorModels

/// What several servers on one PostgreSQL need of it: changes made one at a time under a cluster-wide
/// lock and numbered by revision, catch-up by revision, events numbered under the same lock, fresh
/// log sizes under row locks, batched contact times, leases for sweeps, and wake-ups by NOTIFY.
extension PostgresStore {
    /// The advisory lock every shared change holds until it commits ("mms-change").
    static let changeLock: Int64 = 0x6d6d_732d_6368_67
    /// The NOTIFY channel replicas wake each other on.
    static let channel = "mms_changes"

    func beginSharedChange() throws(DatabaseError) -> Int64 {
        let rev = try main.run { c throws(PGError) -> Int64 in
            try c.query("SELECT pg_advisory_xact_lock($1)", [.int(Self.changeLock)])
            var rev: Int64 = 0
            try c.query("UPDATE meta SET value = (value::BIGINT + 1)::TEXT WHERE key = 'rev' RETURNING value::BIGINT", []) {
                row throws(PGError) in rev = try row.int(0)
            }
            return rev
        }
        revision = rev
        return rev
    }

    func currentRevision() throws(DatabaseError) -> Int64 {
        try main.run { c throws(PGError) in
            var rev: Int64 = 0
            try c.query("SELECT value::BIGINT FROM meta WHERE key = 'rev'", []) { row throws(PGError) in rev = try row.int(0) }
            return rev
        }
    }

    func changes(since known: Int64) throws(DatabaseError) -> StoreChanges {
        let rev = try currentRevision()
        guard rev > known else { return StoreChanges(revision: known) }
        var out = StoreChanges(revision: rev)
        out.agents = try agentStates("WHERE a.rev > $1 AND a.rev <= $2", [.int(known), .int(rev)])
        try main.run { c throws(PGError) in
            try c.query("SELECT uuid FROM agent_tombstones WHERE rev > $1 AND rev <= $2", [.int(known), .int(rev)]) {
                row throws(PGError) in out.deletedAgents.append(try row.text(0))
            }
            try c.query("SELECT value FROM meta WHERE key = 'config_version'", []) { row throws(PGError) in
                out.configVersion = Int64(try row.text(0))
            }
        }
        let changed = try jobs("SELECT \(Self.jobColumns) FROM jobs WHERE rev > $1 AND rev <= $2 ORDER BY id",
                               [.int(known), .int(rev)])
        let cancels = try cancelsAsked()
        out.jobs = changed.map { (job: $0, cancelAskedAt: cancels[$0.id]) }
        let active = changed.filter { $0.state != .completed }.map(\.id)
        if !active.isEmpty {
            try main.run { c throws(PGError) in
                let ids = "{" + active.map(String.init).joined(separator: ",") + "}"
                try c.query("SELECT job_id, attempt, agent_uuid FROM job_attempts WHERE job_id = ANY($1::TEXT::BIGINT[])",
                            [.text(ids)]) { row throws(PGError) in
                    out.attempts[try row.int(0), default: [:]][Int(try row.int(1))] = try row.text(2)
                }
            }
        }
        return out
    }

    func lockLogHead(_ jobId: Int64) throws(DatabaseError) -> LogHead? {
        try main.run { c throws(PGError) in
            var head: LogHead?
            try c.query("SELECT log_size, attempt, state, agent_uuid FROM jobs WHERE id = $1 FOR UPDATE", [.int(jobId)]) {
                row throws(PGError) in
                guard let state = JobState(rawValue: try row.text(2)) else { return }
                head = LogHead(size: try row.int(0), attempt: Int(try row.int(1)), state: state, agentUuid: try row.optText(3))
            }
            return head
        }
    }

    func lastSeen(_ uuids: [String]) throws(DatabaseError) -> [String: Date] {
        guard !uuids.isEmpty else { return [:] }
        // On the side connection (callers need not hold the service's lock), joined with unnest: a
        // hash join, where `= ANY(array)` of thousands of uuids scanned the array for every row.
        return try side.run { c throws(PGError) in
            var out: [String: Date] = [:]
            try c.query("""
                SELECT a.uuid, GREATEST(a.last_seen_at, c.seen_at)
                FROM unnest($1::TEXT::TEXT[]) AS w(uuid) JOIN agents a ON a.uuid = w.uuid
                LEFT JOIN agent_contacts c ON c.uuid = a.uuid
                """, [.text(Self.textArray(uuids))]) { row throws(PGError) in
                if let d = try row.optDate(1) { out[try row.text(0)] = d }
            }
            return out
        }
    }

    // MARK: - Events

    func appendEvents(_ events: [Event]) throws(DatabaseError) -> [Event] {
        guard !events.isEmpty else { return [] }
        let encoder = MMSJSON.encoder()
        return try main.run { c throws(PGError) -> [Event] in
            var last: Int64 = 0
            try c.query("UPDATE meta SET value = (value::BIGINT + $1)::TEXT WHERE key = 'event_seq' RETURNING value::BIGINT",
                        [.int(Int64(events.count))]) { row throws(PGError) in last = try row.int(0) }
            var numbered: [Event] = []
            var seq = last - Int64(events.count)
            var bodies: [String] = []
            for var e in events {
                seq += 1
                e.seq = seq
                bodies.append(String(decoding: (try? encoder.encode(e)) ?? Data("{}".utf8), as: UTF8.self))
                numbered.append(e)
            }
            // One statement for the lot: the cluster lock is held meanwhile.
            try c.query("""
                INSERT INTO events(seq, body) SELECT $1 + n, b FROM unnest($2::TEXT::TEXT[]) WITH ORDINALITY AS t(b, n)
                """, [.int(last - Int64(events.count)), .text(Self.textArray(bodies))])
            return numbered
        }
    }

    func events(after since: Int64, limit: Int) throws(DatabaseError) -> EventPage {
        let decoder = MMSJSON.decoder()
        return try main.run { c throws(PGError) -> EventPage in
            var page = EventPage()
            try c.query("SELECT value::BIGINT FROM meta WHERE key = 'event_seq'", []) { row throws(PGError) in page.head = try row.int(0) }
            try c.query("SELECT COALESCE(MIN(seq) - 1, (SELECT value::BIGINT FROM meta WHERE key = 'event_seq')) FROM events", []) {
                row throws(PGError) in page.oldestAnswerable = try row.int(0)
            }
            guard since >= page.oldestAnswerable, since <= page.head, since < page.head else { return page }
            try c.query("SELECT body FROM events WHERE seq > $1 ORDER BY seq LIMIT $2", [.int(since), .int(Int64(limit))]) {
                row throws(PGError) in
                if let e = try? decoder.decode(Event.self, from: Data(try row.text(0).utf8)) { page.events.append(e) }
            }
            return page
        }
    }

    func trimEvents(keeping count: Int) throws(DatabaseError) {
        try main.run { c throws(PGError) in
            try c.query("""
                DELETE FROM events WHERE seq <= (SELECT value::BIGINT FROM meta WHERE key = 'event_seq') - $1
                """, [.int(Int64(count))])
        }
    }

    /// A PostgreSQL array literal of texts (each quoted, `"` and `\` escaped), for `$n::TEXT::TEXT[]`.
    static func textArray(_ items: [String]) -> String {
        var out = "{"
        for (i, item) in items.enumerated() {
            if i > 0 { out += "," }
            out += "\""
            for ch in item.unicodeScalars {
                if ch == "\"" || ch == "\\" { out += "\\" }
                out.unicodeScalars.append(ch)
            }
            out += "\""
        }
        return out + "}"
    }

    // MARK: - Leases and wake-ups

    func holdLease(_ name: String, holder: String, seconds: Double, now: Date) throws(DatabaseError) -> Bool {
        try side.run { c throws(PGError) in
            var held = false
            try c.query("""
                INSERT INTO leases(name, holder, until) VALUES($1, $2, $3)
                ON CONFLICT(name) DO UPDATE SET holder = excluded.holder, until = excluded.until
                  WHERE leases.holder = excluded.holder OR leases.until < $4
                RETURNING holder
                """, [.text(name), .text(holder), .date(now.addingTimeInterval(seconds)), .date(now)]) { row throws(PGError) in
                held = try row.text(0) == holder
            }
            return held
        }
    }

    func notifyOthers(_ payload: String) {
        _ = try? side.run { c throws(PGError) in try c.notify(Self.channel, payload) }
    }
}

/// A page of the stored events feed.
struct EventPage: Sendable {
    var events: [Event] = []
    /// Oldest `since` still answerable (older ones get 410).
    var oldestAnswerable: Int64 = 0
    /// Seq of the newest event.
    var head: Int64 = 0
}
