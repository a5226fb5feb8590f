import Foundation
import MonitorModels

/// Who may call what: the admin token for admin routes, an agent's own secret for agent routes.
extension ServiceCore {
    /// Checks the admin token (constant time). An agent secret gets 403, anything else 401.
    func requireAdmin(_ req: Request) throws(APIError) {
        guard let token = req.bearerToken else {
            throw APIError(.unauthorized, "this endpoint needs 'Authorization: Bearer ADMIN_TOKEN'")
        }
        if constantTimeEqual(Array(token.utf8), Array(settings.adminToken.utf8)) { return }
        let isAgent = locked { secretIndex[SHA256.hex(token)] != nil }
        if isAgent { throw APIError(.forbidden, "agent secrets cannot call admin endpoints; use the admin token") }
        throw APIError(.unauthorized, "the admin token is not valid")
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
