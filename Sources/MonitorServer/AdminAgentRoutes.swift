import Foundation
import MonitorModels

/// Admin routes for agents: list, get, edit one or many, delete.
extension Router {
    mutating func addAdminAgentRoutes(_ core: ServiceCore) {
        add("GET", "/api/v1/agents") { req, _ throws(APIError) in
            try core.requireAdmin(req)
            return .respond(.json(AgentList(agents: try core.locked { () throws(APIError) -> [Agent] in
                try core.fresh()
                return core.allAgents()
            })))
        }
        add("PATCH", "/api/v1/agents") { req, _ throws(APIError) in .respond(try core.bulkPatch(req)) }
        add("GET", "/api/v1/agents/{uuid}") { req, p throws(APIError) in
            try core.requireAdmin(req)
            guard let a = try core.locked({ () throws(APIError) -> Agent? in
                try core.fresh()
                return core.dispatcher.view(p[0].lowercased())
            }) else {
                throw APIError(.notFound, "agent \(p[0]) does not exist")
            }
            return .respond(.json(a))
        }
        add("PATCH", "/api/v1/agents/{uuid}") { req, p throws(APIError) in .respond(try core.patchAgent(req, uuid: p[0].lowercased())) }
        add("DELETE", "/api/v1/agents/{uuid}") { req, p throws(APIError) in .respond(try core.deleteAgent(req, uuid: p[0].lowercased())) }
    }
}

extension ServiceCore {
    /// Every agent as the API shows it, by name. Call with the lock held.
    func allAgents() -> [Agent] {
        dispatcher.agents.keys.compactMap { dispatcher.view($0) }
            .sorted { ($0.name.lowercased(), $0.uuid) < ($1.name.lowercased(), $1.uuid) }
    }

    private func validate(_ p: AgentPatch) throws(APIError) {
        if let n = p.name, let problem = Validation.nameProblem(n, field: "name") { throw APIError(.badRequest, problem) }
        if let r = p.resources, let problem = Validation.tagListProblem(r, field: "resources") { throw APIError(.badRequest, problem) }
        if let e = p.environments, let problem = Validation.tagListProblem(e, field: "environments") {
            throw APIError(.badRequest, problem)
        }
    }

    func patchAgent(_ req: Request, uuid: String) throws(APIError) -> Response {
        try requireAdmin(req)
        let patch = try Input.body(req, as: AgentPatch.self)
        try validate(patch)
        let now = Date()
        return try locked { () throws(APIError) -> Response in
            try fresh()
            guard dispatcher.agents[uuid] != nil else { throw APIError(.notFound, "agent \(uuid) does not exist") }
            _ = try mutate(now: now) { d in d.patch(uuid, patch, now: now) }
            guard let a = dispatcher.view(uuid) else { throw APIError(.notFound, "agent \(uuid) does not exist") }
            return .json(a)
        }
    }

    func bulkPatch(_ req: Request) throws(APIError) -> Response {
        try requireAdmin(req)
        let patch = try Input.body(req, as: BulkAgentPatch.self)
        let uuids = patch.uuids.map { $0.lowercased() }
        let now = Date()
        return try locked { () throws(APIError) -> Response in
            try fresh()
            if let unknown = uuids.first(where: { dispatcher.agents[$0] == nil }) {
                throw APIError(.notFound, "agent \(unknown) does not exist; no agent was changed")
            }
            _ = try mutate(now: now) { d in
                var c = Changes()
                for uuid in uuids { c.merge(d.patch(uuid, AgentPatch(configState: patch.configState), now: now)) }
                return c
            }
            return .json(AgentList(agents: uuids.compactMap { dispatcher.view($0) }))
        }
    }

    func deleteAgent(_ req: Request, uuid: String) throws(APIError) -> Response {
        try requireAdmin(req)
        let now = Date()
        return try locked { () throws(APIError) -> Response in
            try fresh()
            guard dispatcher.agents[uuid] != nil else { throw APIError(.notFound, "agent \(uuid) does not exist") }
            // The dispatcher refuses a busy or enabled agent before anything is deleted from the store.
            _ = try mutate(now: now) { d throws(APIError) in try d.delete(uuid) }
            return .noContent
        }
    }
}
