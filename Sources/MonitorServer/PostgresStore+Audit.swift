import Foundation
import MonitorModels

/// Operators and the audit log in PostgreSQL. Audit numbers come from a counter row in `meta` updated
/// in the change's transaction: its row lock orders appends by commit, and a rollback returns the number.
extension PostgresStore {
    func operators() throws(DatabaseError) -> [StoredOperator] {
        try main.run { c throws(PGError) in
            var out: [StoredOperator] = []
            try c.query("SELECT name, role, token_hash, created_at FROM operators ORDER BY name", []) { row throws(PGError) in
                out.append(try Self.storedOperator(row))
            }
            return out
        }
    }

    func operatorByTokenHash(_ hash: String) throws(DatabaseError) -> StoredOperator? {
        try main.run { c throws(PGError) in
            var out: StoredOperator?
            try c.query("SELECT name, role, token_hash, created_at FROM operators WHERE token_hash = $1", [.text(hash)]) {
                row throws(PGError) in out = try Self.storedOperator(row)
            }
            return out
        }
    }

    private static func storedOperator(_ row: PGRow) throws(PGError) -> StoredOperator {
        StoredOperator(name: try row.text(0), role: OperatorRole(rawValue: try row.text(1)) ?? .viewer,
                       tokenHash: try row.text(2), createdAt: try row.date(3))
    }

    func putOperator(_ op: StoredOperator) throws(DatabaseError) {
        try main.run { c throws(PGError) in
            try c.query("""
                INSERT INTO operators(name, role, token_hash, created_at) VALUES($1,$2,$3,$4)
                ON CONFLICT(name) DO UPDATE SET role = excluded.role, token_hash = excluded.token_hash
                """, [.text(op.name), .text(op.role.rawValue), .text(op.tokenHash), .date(op.createdAt)])
        }
    }

    func deleteOperator(_ name: String) throws(DatabaseError) -> Bool {
        try main.run { c throws(PGError) in
            var found = false
            try c.query("DELETE FROM operators WHERE name = $1 RETURNING name", [.text(name)]) { _ throws(PGError) in found = true }
            return found
        }
    }

    func appendAudit(_ entries: [AuditEntry]) throws(DatabaseError) -> [AuditEntry] {
        guard !entries.isEmpty else { return [] }
        return try main.run { c throws(PGError) -> [AuditEntry] in
            var last: Int64 = 0
            try c.query("""
                INSERT INTO meta(key, value) VALUES('audit_seq', $1::TEXT)
                ON CONFLICT(key) DO UPDATE SET value = (meta.value::BIGINT + $1)::TEXT RETURNING value::BIGINT
                """, [.int(Int64(entries.count))]) { row throws(PGError) in last = try row.int(0) }
            var seq = last - Int64(entries.count)
            var out: [AuditEntry] = []
            for var e in entries {
                seq += 1
                e.seq = seq
                try c.query("""
                    INSERT INTO audit(seq, at, actor, action, target_kind, target_id, target_name, reason, from_addr)
                    VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9)
                    """, [.int(seq), .date(e.at), .text(e.actor), .text(e.action), .text(e.target.kind), .text(e.target.id),
                          .opt(e.target.name.map { Data($0.utf8) }), .opt(e.reason.map { Data($0.utf8) }), .opt(e.from)])
                out.append(e)
            }
            return out
        }
    }

    func auditEntries(after since: Int64, limit: Int, target: String?) throws(DatabaseError) -> [AuditEntry] {
        try main.run { c throws(PGError) in
            var out: [AuditEntry] = []
            try c.query("""
                SELECT seq, at, actor, action, target_kind, target_id, target_name, reason, from_addr FROM audit
                WHERE seq > $1 AND ($2::TEXT IS NULL OR target_id = $2) ORDER BY seq DESC LIMIT $3
                """, [.int(since), .opt(target), .int(Int64(limit))]) { row throws(PGError) in
                out.append(AuditEntry(seq: try row.int(0), at: try row.date(1), actor: try row.text(2), action: try row.text(3),
                                      target: AuditTarget(kind: try row.text(4), id: try row.text(5), name: try row.optUTF8(6)),
                                      reason: try row.optUTF8(7), from: try row.optText(8)))
            }
            return out
        }
    }

    func trimAudit(before cutoff: Date) throws(DatabaseError) {
        try main.run { c throws(PGError) in
            try c.query("DELETE FROM audit WHERE at < $1 AND seq < (SELECT MAX(seq) FROM audit)", [.date(cutoff)])
        }
    }
}
