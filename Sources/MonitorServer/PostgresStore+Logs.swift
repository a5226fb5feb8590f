import Foundation

/// Job logs in PostgreSQL: one row per chunk keyed by (job, start offset), merged as `LogChunks` says.
extension PostgresStore {
    func insertLogChunk(_ jobId: Int64, start: Int64, _ bytes: Data, arrivals: Data) throws(DatabaseError) {
        try main.run { c throws(PGError) in
            try c.query("INSERT INTO log_chunks(job_id, start, data, arrivals) VALUES($1,$2,$3,$4)",
                        [.int(jobId), .int(start), .bytes(bytes), .bytes(arrivals)])
        }
    }

    func setLogSize(_ jobId: Int64, _ size: Int64) throws(DatabaseError) {
        try main.run { c throws(PGError) in
            try c.query("UPDATE jobs SET log_size = $1 WHERE id = $2", [.int(size), .int(jobId)])
        }
    }

    func readLogWindow(_ jobId: Int64, from offset: Int64, limit: Int, withArrivals: Bool) throws(DatabaseError) -> LogWindow {
        try main.run { c throws(PGError) -> LogWindow in
            var builder = LogWindowBuilder(offset: offset, limit: limit, withArrivals: withArrivals)
            try c.rows("""
                SELECT start, data, arrivals FROM log_chunks WHERE job_id = $1 AND start >= COALESCE(
                  (SELECT MAX(start) FROM log_chunks WHERE job_id = $1 AND start <= $2), 0) AND start < $3 ORDER BY start
                """, [.int(jobId), .int(offset), .int(offset + Int64(limit))]) { row throws(PGError) in
                let start = try row.int(0)
                let arrivals = withArrivals && !row.isNull(2) ? try row.bytes(2) : nil
                return try row.withBytes(1) { raw throws(PGError) in builder.take(start: start, raw) { arrivals } }
            }
            return builder.window
        }
    }

    func removeLogs(completedBefore cutoff: Date, now: Date, limit: Int) throws(DatabaseError) -> [(id: Int64, size: Int64)] {
        try main.run { c throws(PGError) in
            var expired: [(Int64, Int64)] = []
            try c.query("""
                SELECT id, log_size FROM jobs WHERE state = 'completed' AND log_removed_at IS NULL AND finished_at < $1
                ORDER BY finished_at LIMIT $2
                """, [.date(cutoff), .int(Int64(limit))]) { row throws(PGError) in expired.append((try row.int(0), try row.int(1))) }
            for (id, _) in expired {
                try c.query("DELETE FROM log_chunks WHERE job_id = $1", [.int(id)])
                try c.query("UPDATE jobs SET log_removed_at = $1 WHERE id = $2", [.date(now), .int(id)])
            }
            return expired
        }
    }

    func logTotals() throws(DatabaseError) -> (bytes: Int64, chunks: Int64) {
        try side.run { c throws(PGError) in
            var bytes: Int64 = 0, chunks: Int64 = 0
            try c.query("SELECT COALESCE(SUM(log_size), 0)::BIGINT FROM jobs WHERE log_removed_at IS NULL", []) { row throws(PGError) in
                bytes = try row.int(0)
            }
            try c.query("SELECT COUNT(*) FROM log_chunks", []) { row throws(PGError) in chunks = try row.int(0) }
            return (bytes, chunks)
        }
    }

    func logChunkCount(_ jobId: Int64) throws(DatabaseError) -> Int {
        try main.run { c throws(PGError) in
            var n = 0
            try c.query("SELECT COUNT(*) FROM log_chunks WHERE job_id = $1", [.int(jobId)]) { row throws(PGError) in n = Int(try row.int(0)) }
            return n
        }
    }

    func logChunkInfos(_ jobId: Int64, newest count: Int) throws(DatabaseError) -> [LogChunks.Info] {
        try main.run { c throws(PGError) in
            var out: [LogChunks.Info] = []
            try c.query("""
                SELECT start, octet_length(data), COALESCE(octet_length(arrivals) / 16, 1) FROM log_chunks
                WHERE job_id = $1 ORDER BY start DESC LIMIT $2
                """, [.int(jobId), .int(Int64(count))]) { row throws(PGError) in
                out.append(.init(start: try row.int(0), size: Int(try row.int(1)), pieces: Int(try row.int(2))))
            }
            return out.reversed()
        }
    }

    func mergeLogChunks(_ jobId: Int64, _ group: [LogChunks.Info]) throws(DatabaseError) {
        guard let first = group.first, let last = group.last, group.count >= 2, LogChunks.isContiguous(group) else { return }
        try main.run { c throws(PGError) in
            var data = Data(capacity: Int(last.end - first.start))
            var arrivals: [(offset: Int64, millis: Int64)] = []
            try c.query("""
                SELECT start, data, arrivals FROM log_chunks WHERE job_id = $1 AND start >= $2 AND start <= $3 ORDER BY start
                """, [.int(jobId), .int(first.start), .int(last.start)]) { row throws(PGError) in
                try row.withBytes(1) { raw throws(PGError) in data.append(contentsOf: raw) }
                arrivals.append(contentsOf: LogArrivals(blob: row.isNull(2) ? nil : try row.bytes(2), start: try row.int(0)).entries)
            }
            guard data.count == Int(last.end - first.start) else { return }  // not what the plan saw: leave it
            try c.query("DELETE FROM log_chunks WHERE job_id = $1 AND start >= $2 AND start <= $3",
                        [.int(jobId), .int(first.start), .int(last.start)])
            try c.query("INSERT INTO log_chunks(job_id, start, data, arrivals) VALUES($1,$2,$3,$4)",
                        [.int(jobId), .int(first.start), .bytes(data), .bytes(LogArrivals(arrivals).blob)])
        }
    }
}
