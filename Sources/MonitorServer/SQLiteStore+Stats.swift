import Foundation

/// The fleet history in SQLite.
extension SQLiteStore: StatsStore {
    func saveStatsSample(minute: Int64, body: String) throws(DatabaseError) {
        try db.query("INSERT INTO stats_samples(minute, body) VALUES(?, ?) ON CONFLICT(minute) DO UPDATE SET body = excluded.body",
                     [.int(minute), .text(body)])
    }

    func statsSamples(from: Int64, through: Int64) throws(DatabaseError) -> [(minute: Int64, body: String)] {
        var out: [(minute: Int64, body: String)] = []
        try db.query("SELECT minute, body FROM stats_samples WHERE minute >= ? AND minute <= ? ORDER BY minute",
                     [.int(from), .int(through)]) { row in out.append((row.int(0), row.text(1))) }
        return out
    }

    func trimStatsSamples(before minute: Int64) throws(DatabaseError) {
        try db.query("DELETE FROM stats_samples WHERE minute < ?", [.int(minute)])
    }
}
