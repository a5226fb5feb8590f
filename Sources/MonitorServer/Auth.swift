import Foundation
import MonitorModels

/// Who may call what: operators' tokens (the admin token is the built-in operator `admin`) for
/// operator routes, an agent's own secret for agent routes.
extension ServiceCore {
    /// How long a token looked up in the store is trusted before it is read again (so an operator
    /// removed or rotated on another server, or by `mms-server operator`, loses access within this).
    static let operatorCacheSeconds: TimeInterval = 2

    /// The operator a request's token belongs to: the admin token (constant time) is `admin`; other
    /// tokens are looked up by their SHA-256. An agent secret gets 403, anything else 401.
    func authenticateOperator(_ req: Request) throws(APIError) -> OperatorIdentity {
        guard let token = req.bearerToken else {
            throw APIError(.unauthorized, "this endpoint needs 'Authorization: Bearer TOKEN' (an operator token or the admin token)")
        }
        if constantTimeEqual(Array(token.utf8), Array(settings.adminToken.utf8)) {
            return OperatorIdentity(name: "admin", role: .admin)
        }
        let hash = SHA256.hex(token)
        let now = Date()
        if let hit = operatorCache.withLock({ $0[hash] }), now.timeIntervalSince(hit.at) < Self.operatorCacheSeconds {
            return hit.who
        }
        let found = try locked { () throws(APIError) -> (op: StoredOperator?, isAgent: Bool) in
            do {
                return (try store.operatorByTokenHash(hash), secretIndex[hash] != nil)
            } catch { throw Self.unavailable(error) }
        }
        guard let op = found.op else {
            operatorCache.withLock { $0[hash] = nil }
            if found.isAgent { throw APIError(.forbidden, "agent secrets cannot call operator endpoints; use an operator token") }
            throw APIError(.unauthorized, "the token is not valid; ask an admin for an operator token")
        }
        let who = OperatorIdentity(name: op.name, role: op.role)
        operatorCache.withLock { cache in
            if cache.count > 10_000 { cache.removeAll() }
            cache[hash] = (who, now)
        }
        return who
    }

    /// Forgets cached tokens (after an operator change on this server).
    func forgetOperatorTokens() {
        operatorCache.withLock { $0.removeAll() }
    }

    /// The uuid of the agent whose secret the request carries; 401 when it is nobody's.
    /// Call with the lock held.
    func agentForToken(_ req: Request) throws(APIError) -> String {
        guard let token = req.bearerToken else {
            throw APIError(.unauthorized, "this endpoint needs 'Authorization: Bearer AGENT_SECRET'")
        }
        let hash = SHA256.hex(token)
        if secretIndex[hash] == nil { try fresh() }  // registered on another server a moment ago?
        guard let uuid = secretIndex[hash] else {
            throw APIError(.unauthorized, "the agent secret is not valid; register the agent first")
        }
        return uuid
    }

    /// Checks that the request carries the secret of agent `uuid` (404 if the agent does not exist,
    /// so a deleted agent knows to register again). Call with the lock held.
    func requireAgent(_ req: Request, uuid: String) throws(APIError) -> AgentRecord {
        guard let token = req.bearerToken else {
            throw APIError(.unauthorized, "this endpoint needs 'Authorization: Bearer AGENT_SECRET'")
        }
        if dispatcher.agents[uuid] == nil { try fresh() }  // registered on another server a moment ago?
        guard let r = dispatcher.agents[uuid] else {
            throw APIError(.notFound, "agent \(uuid) does not exist; register it again")
        }
        guard constantTimeEqual(Array(SHA256.hex(token).utf8), Array(r.secretHash.utf8)) else {
            throw APIError(.unauthorized, "the agent secret does not match agent \(uuid)")
        }
        return r
    }
}

extension ServiceCore {
    /// An audit entry for a change an operator made through the API: actor, caller address, time.
    func audit(_ req: Request, _ action: String, _ target: AuditTarget, reason: String? = nil, now: Date) -> AuditEntry {
        AuditEntry(at: now, actor: req.actor?.name ?? "admin", action: action, target: target, reason: reason,
                   from: req.clientAddress.isEmpty ? nil : req.clientAddress)
    }
}
