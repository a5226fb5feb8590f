import Foundation
import MonitorModels

/// Admin routes for agents: list, get, edit one or many, delete.
extension Router {
    mutating func addAdminAgentRoutes(_ core: ServiceCore) {
        add("GET", "/api/v1/agents", .role(.viewer)) { req, _ throws(APIError) in
            return .respond(.json(AgentList(agents: try core.locked { () throws(APIError) -> [Agent] in
                try core.fresh()
                return core.allAgents()
            })))
        }
        add("PATCH", "/api/v1/agents", .role(.operator)) { req, _ throws(APIError) in .respond(try core.bulkPatch(req)) }
        add("GET", "/api/v1/agents/{uuid}", .role(.viewer)) { req, p throws(APIError) in
            guard let a = try core.locked({ () throws(APIError) -> Agent? in
                try core.fresh()
                return core.dispatcher.view(p[0].lowercased())
            }) else {
                throw APIError(.notFound, "agent \(p[0]) does not exist")
            }
            return .respond(.json(a))
        }
        add("PATCH", "/api/v1/agents/{uuid}", .role(.operator)) { req, p throws(APIError) in .respond(try core.patchAgent(req, uuid: p[0].lowercased())) }
        add("DELETE", "/api/v1/agents/{uuid}", .role(.admin)) { req, p throws(APIError) in .respond(try core.deleteAgent(req, uuid: p[0].lowercased())) }
    }
}

extension ServiceCore {
    /// Every agent as the API shows it, by name. Call with the lock held.
    func allAgents() -> [Agent] {
        dispatcher.agents.keys.compactMap { dispatcher.view($0) }
            .sorted { ($0.name.lowercased(), $0.uuid) < ($1.name.lowercased(), $1.uuid) }
    }

    private func validate(_ p: AgentPatch, now: Date) throws(APIError) {
        try validateHold(configState: p.configState, reason: p.reason, until: p.until, now: now)
        if let n = p.name, let problem = Validation.nameProblem(n, field: "name") { throw APIError(.badRequest, problem) }
        if let r = p.resources, let problem = Validation.tagListProblem(r, field: "resources") { throw APIError(.badRequest, problem) }
        if let e = p.environments, let problem = Validation.tagListProblem(e, field: "environments") {
            throw APIError(.badRequest, problem)
        }
    }

    func patchAgent(_ req: Request, uuid: String) throws(APIError) -> Response {
        let patch = try Input.body(req, as: AgentPatch.self)
        let now = Date()
        try validate(patch, now: now)
        return try locked { () throws(APIError) -> Response in
            try fresh()
            guard dispatcher.agents[uuid] != nil else { throw APIError(.notFound, "agent \(uuid) does not exist") }
            _ = try mutate(now: now) { d in patchAudited(&d, uuid, patch, req, now: now) }
            guard let a = dispatcher.view(uuid) else { throw APIError(.notFound, "agent \(uuid) does not exist") }
            return .json(a)
        }
    }

    func bulkPatch(_ req: Request) throws(APIError) -> Response {
        let patch = try Input.body(req, as: BulkAgentPatch.self)
        let uuids = patch.uuids.map { $0.lowercased() }
        let now = Date()
        try validateHold(configState: patch.configState, reason: patch.reason, until: patch.until, now: now)
        let one = AgentPatch(configState: patch.configState, reason: patch.reason, until: patch.until)
        return try locked { () throws(APIError) -> Response in
            try fresh()
            if let unknown = uuids.first(where: { dispatcher.agents[$0] == nil }) {
                throw APIError(.notFound, "agent \(unknown) does not exist; no agent was changed")
            }
            _ = try mutate(now: now) { d in
                var c = Changes()
                for uuid in uuids { c.merge(patchAudited(&d, uuid, one, req, now: now)) }
                return c
            }
            return .json(AgentList(agents: uuids.compactMap { dispatcher.view($0) }))
        }
    }

    func deleteAgent(_ req: Request, uuid: String) throws(APIError) -> Response {
        let now = Date()
        return try locked { () throws(APIError) -> Response in
            try fresh()
            guard dispatcher.agents[uuid] != nil else { throw APIError(.notFound, "agent \(uuid) does not exist") }
            // The dispatcher refuses a busy or enabled agent before anything is deleted from the store.
            _ = try mutate(now: now) { d throws(APIError) in
                let name = d.agents[uuid]?.agent.name
                var c = try d.delete(uuid)
                c.audit.append(audit(req, "agent.delete", AuditTarget(kind: "agent", id: uuid, name: name), now: now))
                return c
            }
            return .noContent
        }
    }

    /// `reason` and `until` go with a disable; `until` lies in the future.
    private func validateHold(configState: AgentConfigState?, reason: String?, until: Date?, now: Date) throws(APIError) {
        if (reason != nil || until != nil) && configState != .disabled {
            throw APIError(.badRequest, "fields 'reason' and 'until' go with configState 'disabled'")
        }
        if let reason, let problem = Validation.reasonProblem(reason) { throw APIError(.badRequest, problem) }
        if let until, until <= now {
            throw APIError(.badRequest, "field 'until' must be in the future (it is when the server enables the agent again)")
        }
    }

    /// Applies one agent's patch and appends what it did to the audit log: authorize, enable, disable
    /// (with its reason and end) and edit (the fields it changed).
    func patchAudited(_ d: inout Dispatcher, _ uuid: String, _ p: AgentPatch, _ req: Request, now: Date) -> Changes {
        guard let before = d.agents[uuid]?.agent else { return Changes() }
        var c = d.patch(uuid, p, by: req.actor?.name ?? "admin", now: now)
        guard let after = d.agents[uuid]?.agent else { return c }
        let target = AuditTarget(kind: "agent", id: uuid, name: after.name)
        if let s = p.configState, s != before.configState || s == .disabled {
            let action: String
            var reason: String?
            switch (before.configState, s) {
            case (.pending, .enabled): action = "agent.authorize"
            case (_, .enabled): action = "agent.enable"
            case (_, .disabled):
                action = "agent.disable"
                reason = [after.disabledReason, after.disabledUntil.map { "until \(RFC3339.format($0))" }]
                    .compactMap { $0 }.joined(separator: "; ")
                if reason?.isEmpty == true { reason = nil }
            default: action = "agent.edit"; reason = "configState \(before.configState.rawValue) -> \(s.rawValue)"
            }
            c.audit.append(audit(req, action, target, reason: reason, now: now))
        }
        var edits: [String] = []
        if before.name != after.name { edits.append("name \(before.name) -> \(after.name)") }
        if before.resources != after.resources {
            edits.append("resources [\(before.resources.joined(separator: ", "))] -> [\(after.resources.joined(separator: ", "))]")
        }
        if before.environments != after.environments {
            edits.append("environments [\(before.environments.joined(separator: ", "))] -> [\(after.environments.joined(separator: ", "))]")
        }
        if !edits.isEmpty { c.audit.append(audit(req, "agent.edit", target, reason: edits.joined(separator: "; "), now: now)) }
        return c
    }
}
