import Foundation
import MonitorModels

/// Admin routes for configuration entries and the events long poll.
extension Router {
    mutating func addAdminConfigRoutes(_ core: ServiceCore) {
        add("GET", "/api/v1/config") { req, _ throws(APIError) in
            try core.requireAdmin(req)
            return .respond(.json(ConfigEntryList(entries: try core.locked { () throws(APIError) -> [ConfigEntry] in
                do {
                    return try core.store.configEntries().map {
                        ConfigEntry(name: $0.name, secret: $0.secret, value: $0.secret ? nil : $0.value, updatedAt: $0.updatedAt)
                    }
                } catch { throw ServiceCore.unavailable(error) }
            })))
        }
        add("PUT", "/api/v1/config/{name}") { req, p throws(APIError) in .respond(try core.putConfig(req, name: p[0])) }
        add("DELETE", "/api/v1/config/{name}") { req, p throws(APIError) in .respond(try core.deleteConfig(req, name: p[0])) }
        add("GET", "/api/v1/events") { req, _ throws(APIError) in try core.events(req) }
    }
}

extension ServiceCore {
    func putConfig(_ req: Request, name: String) throws(APIError) -> Response {
        try requireAdmin(req)
        guard Validation.isConfigName(name) else {
            throw APIError(.badRequest, "configuration name '\(name.prefix(80))' must match [A-Za-z_][A-Za-z0-9_]{0,63}")
        }
        let input = try Input.body(req, as: ConfigEntryInput.self)
        guard input.value.utf8.count <= Validation.maxConfigValueBytes else {
            throw APIError(.badRequest, "field 'value' must be at most 64 KiB")
        }
        let now = Date()
        return try locked { () throws(APIError) -> Response in
            do {
                try store.transaction { () throws(DatabaseError) in
                    try store.putConfig(name, value: input.value, secret: input.secret, now: now)
                    try store.setMeta("config_version", String(configVersion + 1))
                }
            } catch { throw Self.unavailable(error) }
            configVersion += 1
            return .json(ConfigEntry(name: name, secret: input.secret, value: input.secret ? nil : input.value, updatedAt: now))
        }
    }

    func deleteConfig(_ req: Request, name: String) throws(APIError) -> Response {
        try requireAdmin(req)
        return try locked { () throws(APIError) -> Response in
            do {
                guard try store.configEntries().contains(where: { $0.name == name }) else {
                    throw APIError(.notFound, "configuration entry \(name.prefix(80)) does not exist")
                }
                try store.transaction { () throws(DatabaseError) in
                    try store.deleteConfig(name)
                    try store.setMeta("config_version", String(configVersion + 1))
                }
            } catch let e as APIError {
                throw e
            } catch let e as DatabaseError {
                throw Self.unavailable(e)
            } catch {
                throw APIError(.internalError, "could not delete the entry")
            }
            configVersion += 1
            return .noContent
        }
    }

    func events(_ req: Request) throws(APIError) -> RouteResult {
        try requireAdmin(req)
        let wait = try Input.wait(req)
        let since = try Input.int(req, "since", in: 0...Int64.max, default: nil)
        guard let since else {
            return .respond(.json(EventBatch(events: [], next: locked { feed.head })))
        }
        let now = Date()
        let check: @Sendable () -> Response? = { [self] in
            locked { () -> Response? in
                guard let events = feed.after(since) else {
                    return .error(APIError(.gone, "events after \(since) are no longer kept; list agents and jobs again"))
                }
                if events.isEmpty { return nil }
                return .json(EventBatch(events: events, next: events.last?.seq ?? since))
            }
        }
        if let r = check() { return .respond(r) }
        return .wait(LongPoll(
            key: .events, deadline: now.addingTimeInterval(TimeInterval(wait)), answer: check,
            timeout: { check() ?? .json(EventBatch(events: [], next: since)) }, finished: nil, generation: 0))
    }
}
