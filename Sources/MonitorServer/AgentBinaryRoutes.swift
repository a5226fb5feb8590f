import Foundation
import MonitorModels

/// GET/HEAD /api/v1/agent-binary: the agent binary this server offers, for agents upgrading themselves
/// (any agent's secret) and for operators (any operator token).
extension Router {
    mutating func addAgentBinaryRoutes(_ core: ServiceCore) {
        add("GET", "/api/v1/agent-binary", .agentOrRole(.viewer)) { req, _ throws(APIError) in .respond(try core.agentBinary(req)) }
    }
}

extension ServiceCore {
    func agentBinary(_ req: Request) throws(APIError) -> Response {
        try requireAgentOrOperator(req, .viewer)
        guard let offered = settings.agentBinary.current else {
            throw APIError(.notFound, "this server offers no agent binary; start mms-server with --agent-binary PATH "
                + "(or put mms-agent beside mms-server)")
        }
        let headers = [(AgentBinaryHeaders.sha256, offered.sha256), (AgentBinaryHeaders.version, offered.version)]
        // HEAD as well: libmicrohttpd sends the headers (Content-Length of the bytes) and leaves the body out.
        return Response(status: 200, body: offered.bytes, contentType: "application/octet-stream", headers: headers)
    }

    /// Lets in any registered agent's secret, else an operator's token with at least role `needed`
    /// (a viewer reads what an admin reads, the agent binary included).
    func requireAgentOrOperator(_ req: Request, _ needed: OperatorRole) throws(APIError) {
        if let token = req.bearerToken {
            let hash = SHA256.hex(token)
            let isAgent = try locked { () throws(APIError) -> Bool in
                if secretIndex[hash] == nil { try fresh() }
                return secretIndex[hash] != nil
            }
            if isAgent { return }
        }
        let who = try authenticateOperator(req)
        guard who.role >= needed else { throw APIError(.forbidden, "this needs the \(needed.rawValue) role or an agent's secret") }
    }
}
