import Foundation
import MonitorModels

/// Adding, removing and rotating operators with their audit entries, in one transaction each; used by
/// the API (actor: the calling admin) and by `mms-server operator` (actor `local`) alike.
enum OperatorBook {
    /// 32 random bytes as hex: a new operator token.
    static func newToken() -> String {
        var rng = SystemRandomNumberGenerator()
        return (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &rng)) }.joined()
    }

    /// Adds an operator; returns its token (shown once) and the stored audit entry. 409 if the name is taken.
    static func add(_ store: any Store, name: String, role: OperatorRole, actor: String, from: String?,
                    now: Date, storeEvents: Bool = false) throws(APIError) -> (created: CreatedOperator, audit: [AuditEntry]) {
        if let problem = Validation.operatorNameProblem(name) { throw APIError(.badRequest, problem) }
        let token = newToken()
        let op = StoredOperator(name: name, role: role, tokenHash: SHA256.hex(token), createdAt: now)
        let entry = AuditEntry(at: now, actor: actor, action: "operator.add",
                               target: AuditTarget(kind: "operator", id: name, name: name), reason: "role \(role.rawValue)", from: from)
        let stored = try write(store, storeEvents) { () throws(DatabaseError) -> [AuditEntry] in
            if try store.operators().contains(where: { $0.name == name }) {
                throw DatabaseError(code: -409, message: "operator \(name) exists; remove it first, or rotate its token")
            }
            try store.putOperator(op)
            return try store.appendAudit([entry])
        }
        return (CreatedOperator(name: name, role: role, createdAt: now, token: token), stored)
    }

    /// Gives an operator a new token (the old one stops working); returns it and the audit entry.
    static func rotate(_ store: any Store, name: String, actor: String, from: String?,
                       now: Date, storeEvents: Bool = false) throws(APIError) -> (created: CreatedOperator, audit: [AuditEntry]) {
        if name == "admin" {
            throw APIError(.badRequest, "the built-in operator admin is the admin token; change --admin-token or admin.token instead")
        }
        let token = newToken()
        var result: CreatedOperator?
        let stored = try write(store, storeEvents) { () throws(DatabaseError) -> [AuditEntry] in
            guard var op = try store.operators().first(where: { $0.name == name }) else {
                throw DatabaseError(code: -404, message: "operator \(name) does not exist")
            }
            op.tokenHash = SHA256.hex(token)
            try store.putOperator(op)
            result = CreatedOperator(name: name, role: op.role, createdAt: op.createdAt, token: token)
            return try store.appendAudit([AuditEntry(at: now, actor: actor, action: "operator.rotate",
                                                     target: AuditTarget(kind: "operator", id: name, name: name), from: from)])
        }
        guard let result else { throw APIError(.internalError, "the token was not stored") }
        return (result, stored)
    }

    /// Removes an operator (its token stops working); returns the audit entry. 404 when there is none.
    static func remove(_ store: any Store, name: String, actor: String, from: String?, now: Date,
                       storeEvents: Bool = false) throws(APIError) -> [AuditEntry] {
        if name == "admin" {
            throw APIError(.badRequest, "the built-in operator admin is the admin token; change --admin-token or admin.token instead")
        }
        return try write(store, storeEvents) { () throws(DatabaseError) -> [AuditEntry] in
            guard try store.deleteOperator(name) else {
                throw DatabaseError(code: -404, message: "operator \(name) does not exist")
            }
            return try store.appendAudit([AuditEntry(at: now, actor: actor, action: "operator.remove",
                                                     target: AuditTarget(kind: "operator", id: name, name: name), from: from)])
        }
    }

    /// Every operator, the built-in `admin` first.
    static func list(_ store: any Store) throws(APIError) -> [OperatorSummary] {
        do {
            return [OperatorSummary(name: "admin", role: .admin, createdAt: nil)]
                + (try store.operators()).map { OperatorSummary(name: $0.name, role: $0.role, createdAt: $0.createdAt) }
        } catch { throw ServiceCore.unavailable(error) }
    }

    /// Runs `body` in a transaction; the codes -404 and -409 it throws become those API errors. With
    /// `storeEvents` on a shared database the audit entries' `audit.appended` events are stored in the same
    /// transaction (for `mms-server operator`, which no server's outbox sees).
    private static func write(_ store: any Store, _ storeEvents: Bool,
                              _ body: () throws(DatabaseError) -> [AuditEntry]) throws(APIError) -> [AuditEntry] {
        do {
            return try store.transaction { () throws(DatabaseError) -> [AuditEntry] in
                let entries = try body()
                if storeEvents && store.isShared {
                    _ = try store.appendEvents(entries.map { Event(seq: 0, type: .auditAppended, audit: $0) })
                }
                return entries
            }
        } catch {
            switch error.code {
            case -404: throw APIError(.notFound, error.message)
            case -409: throw APIError(.conflict, error.message)
            default: throw ServiceCore.unavailable(error)
            }
        }
    }
}
