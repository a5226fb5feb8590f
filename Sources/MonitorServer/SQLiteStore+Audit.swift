import Foundation
import MonitorModels

/// Operators and the audit log in SQLite (one writer at a time, so the counter in `meta` is gap-free).
extension SQLiteStore {
    func operators() throws(DatabaseError) -> [StoredOperator] {
        var out: [StoredOperator] = []
        try db.query("SELECT name, role, token_hash, created_at FROM operators ORDER BY name") { row in
            out.append(Self.storedOperator(row))
        }
        return out
    }

    func operatorByTokenHash(_ hash: String) throws(DatabaseError) -> StoredOperator? {
        var out: StoredOperator?
        try db.query("SELECT name, role, token_hash, created_at FROM operators WHERE token_hash = ?", [.text(hash)]) { row in
            out = Self.storedOperator(row)
        }
        return out
    }

    private static func storedOperator(_ row: Row) -> StoredOperator {
        StoredOperator(name: row.text(0), role: OperatorRole(rawValue: row.text(1)) ?? .viewer, tokenHash: row.text(2),
                       createdAt: row.date(3))
    }

    func putOperator(_ op: StoredOperator) throws(DatabaseError) {
        try db.query("""
            INSERT INTO operators(name, role, token_hash, created_at) VALUES(?,?,?,?)
            ON CONFLICT(name) DO UPDATE SET role = excluded.role, token_hash = excluded.token_hash
            """, [.text(op.name), .text(op.role.rawValue), .text(op.tokenHash), .date(op.createdAt)])
    }

    func deleteOperator(_ name: String) throws(DatabaseError) -> Bool {
        var found = false
        try db.query("DELETE FROM operators WHERE name = ? RETURNING name", [.text(name)]) { _ in found = true }
        return found
    }

    func appendAudit(_ entries: [AuditEntry]) throws(DatabaseError) -> [AuditEntry] {
        guard !entries.isEmpty else { return [] }
        try db.query("INSERT INTO meta(key, value) VALUES('audit_seq', '0') ON CONFLICT(key) DO NOTHING")
        var last: Int64 = 0
        try db.query("""
            UPDATE meta SET value = CAST(CAST(value AS INTEGER) + ? AS TEXT) WHERE key = 'audit_seq' RETURNING CAST(value AS INTEGER)
            """, [.int(Int64(entries.count))]) { row in last = row.int(0) }
        var seq = last - Int64(entries.count)
        var out: [AuditEntry] = []
        for var e in entries {
            seq += 1
            e.seq = seq
            try db.query("""
                INSERT INTO audit(seq, at, actor, action, target_kind, target_id, target_name, reason, from_addr)
                VALUES(?,?,?,?,?,?,?,?,?)
                """, [.int(seq), .date(e.at), .text(e.actor), .text(e.action), .text(e.target.kind), .text(e.target.id),
                      .opt(e.target.name), .opt(e.reason), .opt(e.from)])
            out.append(e)
        }
        return out
    }

    func auditEntries(after since: Int64, limit: Int, target: String?) throws(DatabaseError) -> [AuditEntry] {
        var out: [AuditEntry] = []
        let columns = "seq, at, actor, action, target_kind, target_id, target_name, reason, from_addr"
        let read: (Row) -> Void = { row in
            out.append(AuditEntry(seq: row.int(0), at: row.date(1), actor: row.text(2), action: row.text(3),
                                  target: AuditTarget(kind: row.text(4), id: row.text(5), name: row.optText(6)),
                                  reason: row.optText(7), from: row.optText(8)))
        }
        if let target {
            try db.query("SELECT \(columns) FROM audit WHERE target_id = ? AND seq > ? ORDER BY seq DESC LIMIT ?",
                         [.text(target), .int(since), .int(Int64(limit))]) { row in read(row) }
        } else {
            try db.query("SELECT \(columns) FROM audit WHERE seq > ? ORDER BY seq DESC LIMIT ?",
                         [.int(since), .int(Int64(limit))]) { row in read(row) }
        }
        return out
    }

    func trimAudit(before cutoff: Date) throws(DatabaseError) {
        try db.query("DELETE FROM audit WHERE at < ? AND seq < (SELECT MAX(seq) FROM audit)", [.date(cutoff)])
    }
}
