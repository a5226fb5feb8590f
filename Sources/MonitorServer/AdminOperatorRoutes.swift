import Foundation
import MonitorModels

/// Routes for operators and the audit log: whoami, the operators (admin), the audit log (everyone).
extension Router {
    mutating func addOperatorRoutes(_ core: ServiceCore) {
        add("GET", "/api/v1/whoami", .role(.viewer)) { req, _ throws(APIError) in
            .respond(.json(req.actor ?? OperatorIdentity(name: "admin", role: .admin)))
        }
        add("GET", "/api/v1/operators", .role(.admin)) { _, _ throws(APIError) in
            .respond(.json(OperatorList(operators: try core.locked { () throws(APIError) in try OperatorBook.list(core.store) })))
        }
        add("POST", "/api/v1/operators", .role(.admin)) { req, _ throws(APIError) in
            let input = try Input.body(req, as: NewOperator.self)
            let created = try core.operatorChange(req) { () throws(APIError) in
                try OperatorBook.add(core.store, name: input.name, role: input.role, actor: req.actor?.name ?? "admin",
                                     from: req.clientAddress.isEmpty ? nil : req.clientAddress, now: Date())
            }
            return .respond(.json(created, status: 201))
        }
        add("DELETE", "/api/v1/operators/{name}", .role(.admin)) { req, p throws(APIError) in
            _ = try core.operatorChange(req) { () throws(APIError) -> (created: Bool, audit: [AuditEntry]) in
                (true, try OperatorBook.remove(core.store, name: p[0], actor: req.actor?.name ?? "admin",
                                               from: req.clientAddress.isEmpty ? nil : req.clientAddress, now: Date()))
            }
            return .respond(.noContent)
        }
        add("GET", "/api/v1/audit", .role(.viewer)) { req, _ throws(APIError) in .respond(try core.auditPage(req)) }
    }
}

extension ServiceCore {
    /// Runs an operator change (its own transaction, audit entry included), then announces the entry
    /// and forgets cached tokens.
    func operatorChange<T>(_ req: Request, _ body: () throws(APIError) -> (created: T, audit: [AuditEntry])) throws(APIError) -> T {
        try locked { () throws(APIError) -> T in
            let (result, entries) = try body()
            announceAudit(entries)
            forgetOperatorTokens()
            return result
        }
    }

    /// GET /api/v1/audit: entries after `since`, newest first, at most `limit`, about `target` when given.
    func auditPage(_ req: Request) throws(APIError) -> Response {
        let since = try Input.int(req, "since", in: 0...Int64.max, default: 0) ?? 0
        let limit = Int(try Input.int(req, "limit", in: 1...1000, default: 200) ?? 200)
        var target = req.query["target"]
        if target?.isEmpty == true { target = nil }
        if let t = target, t.utf8.count > 200 { throw APIError(.badRequest, "query parameter 'target' must be at most 200 bytes") }
        return try locked { () throws(APIError) -> Response in
            do {
                return .json(AuditPage(entries: try store.auditEntries(after: since, limit: limit, target: target)))
            } catch { throw Self.unavailable(error) }
        }
    }

    /// Removes audit entries older than 90 days (the ticker, once a minute; on a shared database the sweeper).
    func trimAudit(now: Date) {
        if store.isShared && !isSweeper.withLock({ $0 }) { return }
        locked { try? store.trimAudit(before: now.addingTimeInterval(-Self.auditRetention)) }
    }

    /// How long audit entries are kept at least.
    static let auditRetention: TimeInterval = 90 * 86400
}
