import Foundation

/// Job logs in SQLite: one row per chunk keyed by (job, start offset), merged as `LogChunks` says.
extension SQLiteStore {
    func insertLogChunk(_ jobId: Int64, start: Int64, _ bytes: Data, arrivals: Data) throws(DatabaseError) {
        try db.query("INSERT INTO log_chunks(job_id, start, data, arrivals) VALUES(?,?,?,?)",
                     [.int(jobId), .int(start), .blob(bytes), .blob(arrivals)])
    }

    func setLogSize(_ jobId: Int64, _ size: Int64) throws(DatabaseError) {
        try db.query("UPDATE jobs SET log_size = ? WHERE id = ?", [.int(size), .int(jobId)])
    }

    func readLogWindow(_ jobId: Int64, from offset: Int64, limit: Int, withArrivals: Bool) throws(DatabaseError) -> LogWindow {
        var builder = LogWindowBuilder(offset: offset, limit: limit, withArrivals: withArrivals)
        try db.rows("""
            SELECT start, data, arrivals FROM log_chunks WHERE job_id = ?1 AND start >= COALESCE(
              (SELECT MAX(start) FROM log_chunks WHERE job_id = ?1 AND start <= ?2), 0) AND start < ?3 ORDER BY start
            """, [.int(jobId), .int(offset), .int(offset + Int64(limit))]) { row in
            row.withBlob(1) { raw in builder.take(start: row.int(0), raw) { row.optBlob(2) } }
        }
        return builder.window
    }

    /// Removes the logs of jobs completed before `cutoff` (at most `limit` jobs); returns their ids.
    func removeLogs(completedBefore cutoff: Date, now: Date, limit: Int) throws(DatabaseError) -> [(id: Int64, size: Int64)] {
        var expired: [(Int64, Int64)] = []
        try db.query("""
            SELECT id, log_size FROM jobs WHERE state = 'completed' AND log_removed_at IS NULL AND finished_at < ?
            ORDER BY finished_at LIMIT ?
            """, [.date(cutoff), .int(Int64(limit))]) { row in expired.append((row.int(0), row.int(1))) }
        for (id, _) in expired {
            try db.query("DELETE FROM log_chunks WHERE job_id = ?", [.int(id)])
            try db.query("UPDATE jobs SET log_removed_at = ? WHERE id = ?", [.date(now), .int(id)])
        }
        return expired
    }

    func logTotals() throws(DatabaseError) -> (bytes: Int64, chunks: Int64) {
        try onSide { db throws(DatabaseError) in
            var bytes: Int64 = 0, chunks: Int64 = 0
            try db.query("SELECT COALESCE(SUM(log_size), 0) FROM jobs WHERE log_removed_at IS NULL") { row in bytes = row.int(0) }
            try db.query("SELECT COUNT(*) FROM log_chunks") { row in chunks = row.int(0) }
            return (bytes, chunks)
        }
    }

    func logChunkCount(_ jobId: Int64) throws(DatabaseError) -> Int {
        var n = 0
        try db.query("SELECT COUNT(*) FROM log_chunks WHERE job_id = ?", [.int(jobId)]) { row in n = Int(row.int(0)) }
        return n
    }

    func logChunkInfos(_ jobId: Int64, newest count: Int) throws(DatabaseError) -> [LogChunks.Info] {
        var out: [LogChunks.Info] = []
        try db.query("""
            SELECT start, length(data), COALESCE(length(arrivals) / 16, 1) FROM log_chunks
            WHERE job_id = ? ORDER BY start DESC LIMIT ?
            """, [.int(jobId), .int(Int64(count))]) { row in
            out.append(.init(start: row.int(0), size: Int(row.int(1)), pieces: Int(row.int(2))))
        }
        return out.reversed()
    }

    func mergeLogChunks(_ jobId: Int64, _ group: [LogChunks.Info]) throws(DatabaseError) {
        guard let first = group.first, let last = group.last, group.count >= 2, LogChunks.isContiguous(group) else { return }
        var data = Data(capacity: Int(last.end - first.start))
        var arrivals: [(offset: Int64, millis: Int64)] = []
        try db.query("SELECT start, data, arrivals FROM log_chunks WHERE job_id = ? AND start >= ? AND start <= ? ORDER BY start",
                     [.int(jobId), .int(first.start), .int(last.start)]) { row in
            row.withBlob(1) { raw in data.append(contentsOf: raw) }
            arrivals.append(contentsOf: LogArrivals(blob: row.optBlob(2), start: row.int(0)).entries)
        }
        guard data.count == Int(last.end - first.start) else { return }  // not what the plan saw: leave it
        try db.query("DELETE FROM log_chunks WHERE job_id = ? AND start >= ? AND start <= ?",
                     [.int(jobId), .int(first.start), .int(last.start)])
        try db.query("INSERT INTO log_chunks(job_id, start, data, arrivals) VALUES(?,?,?,?)",
                     [.int(jobId), .int(first.start), .blob(data), .blob(LogArrivals(arrivals).blob)])
    }
}
