import Foundation
import MonitorModels

/// One server owns a SQLite database: no cluster lock, nothing to catch up with, events kept in memory.
extension SQLiteStore {
    var isShared: Bool { false }
    func beginSharedChange() throws(DatabaseError) -> Int64 { 0 }
    func currentRevision() throws(DatabaseError) -> Int64 { 0 }
    func changes(since known: Int64) throws(DatabaseError) -> StoreChanges { StoreChanges(revision: known) }

    func lockLogHead(_ jobId: Int64) throws(DatabaseError) -> LogHead? {
        var head: LogHead?
        try db.query("SELECT log_size, attempt, state, agent_uuid FROM jobs WHERE id = ?", [.int(jobId)]) { row in
            guard let state = JobState(rawValue: row.text(2)) else { return }
            head = LogHead(size: row.int(0), attempt: Int(row.int(1)), state: state, agentUuid: row.optText(3))
        }
        return head
    }

    func lastSeen(_ uuids: [String]) throws(DatabaseError) -> [String: Date] {
        var out: [String: Date] = [:]
        for uuid in uuids {
            try db.query("SELECT last_seen_at FROM agents WHERE uuid = ?", [.text(uuid)]) { row in
                if let d = row.optDate(0) { out[uuid] = d }
            }
        }
        return out
    }

    func appendEvents(_ events: [Event]) throws(DatabaseError) -> [Event] {
        throw DatabaseError(code: 1, message: "a SQLite server keeps its events in memory")
    }

    func events(after since: Int64, limit: Int) throws(DatabaseError) -> EventPage {
        throw DatabaseError(code: 1, message: "a SQLite server keeps its events in memory")
    }

    func trimEvents(keeping count: Int) throws(DatabaseError) {}
    func holdLease(_ name: String, holder: String, seconds: Double, now: Date) throws(DatabaseError) -> Bool { true }
    func notifyOthers(_ payload: String) {}
}
