import Foundation

/// The fleet history in PostgreSQL (written by the sweeper lease holder only).
extension PostgresStore: StatsStore {
    func saveStatsSample(minute: Int64, body: String) throws(DatabaseError) {
        try main.run { c throws(PGError) in
            try c.query("INSERT INTO stats_samples(minute, body) VALUES($1, $2) ON CONFLICT(minute) DO UPDATE SET body = excluded.body",
                        [.int(minute), .text(body)])
        }
    }

    func statsSamples(from: Int64, through: Int64) throws(DatabaseError) -> [(minute: Int64, body: String)] {
        try main.run { c throws(PGError) in
            var out: [(minute: Int64, body: String)] = []
            try c.query("SELECT minute, body FROM stats_samples WHERE minute >= $1 AND minute <= $2 ORDER BY minute",
                        [.int(from), .int(through)]) { row throws(PGError) in out.append((try row.int(0), try row.text(1))) }
            return out
        }
    }

    func trimStatsSamples(before minute: Int64) throws(DatabaseError) {
        try main.run { c throws(PGError) in
            try c.query("DELETE FROM stats_samples WHERE minute < $1", [.int(minute)])
        }
    }
}
