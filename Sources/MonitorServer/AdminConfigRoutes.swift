import Foundation
import MonitorModels

/// Admin routes for configuration entries and the events long poll.
extension Router {
    mutating func addAdminConfigRoutes(_ core: ServiceCore) {
        add("GET", "/api/v1/config", .role(.viewer)) { req, _ throws(APIError) in
            return .respond(.json(ConfigEntryList(entries: try core.locked { () throws(APIError) -> [ConfigEntry] in
                do {
                    return try core.store.configEntries().map {
                        ConfigEntry(name: $0.name, secret: $0.secret, value: $0.secret ? nil : $0.value, updatedAt: $0.updatedAt)
                    }
                } catch { throw ServiceCore.unavailable(error) }
            })))
        }
        add("PUT", "/api/v1/config/{name}", .role(.admin)) { req, p throws(APIError) in .respond(try core.putConfig(req, name: p[0])) }
        add("DELETE", "/api/v1/config/{name}", .role(.admin)) { req, p throws(APIError) in .respond(try core.deleteConfig(req, name: p[0])) }
        add("GET", "/api/v1/events", .role(.viewer)) { req, _ throws(APIError) in try core.events(req) }
    }
}

extension ServiceCore {
    func putConfig(_ req: Request, name: String) throws(APIError) -> Response {
        guard Validation.isConfigName(name) else {
            throw APIError(.badRequest, "configuration name '\(name.prefix(80))' must match [A-Za-z_][A-Za-z0-9_]{0,63}")
        }
        let input = try Input.body(req, as: ConfigEntryInput.self)
        guard input.value.utf8.count <= Validation.maxConfigValueBytes else {
            throw APIError(.badRequest, "field 'value' must be at most 64 KiB")
        }
        let now = Date()
        let entry = audit(req, "config.put", AuditTarget(kind: "config", id: name, name: name),
                          reason: input.secret ? "secret" : nil, now: now)
        return try locked { () throws(APIError) -> Response in
            var version = configVersion
            var stored: [AuditEntry] = []
            do {
                try store.transaction { () throws(DatabaseError) in
                    if store.isShared { _ = try store.beginSharedChange() }
                    try store.putConfig(name, value: input.value, secret: input.secret, now: now)
                    version = try nextConfigVersion()
                    stored = try store.appendAudit([entry])
                }
            } catch { throw Self.unavailable(error) }
            configVersion = version
            announceAudit(stored)
            return .json(ConfigEntry(name: name, secret: input.secret, value: input.secret ? nil : input.value, updatedAt: now))
        }
    }

    func deleteConfig(_ req: Request, name: String) throws(APIError) -> Response {
        let entry = audit(req, "config.delete", AuditTarget(kind: "config", id: name, name: name), now: Date())
        return try locked { () throws(APIError) -> Response in
            var version = configVersion
            var stored: [AuditEntry] = []
            do {
                guard try store.configEntries().contains(where: { $0.name == name }) else {
                    throw APIError(.notFound, "configuration entry \(name.prefix(80)) does not exist")
                }
                try store.transaction { () throws(DatabaseError) in
                    if store.isShared { _ = try store.beginSharedChange() }
                    try store.deleteConfig(name)
                    version = try nextConfigVersion()
                    stored = try store.appendAudit([entry])
                }
            } catch let e as APIError {
                throw e
            } catch let e as DatabaseError {
                throw Self.unavailable(e)
            } catch {
                throw APIError(.internalError, "could not delete the entry")
            }
            configVersion = version
            announceAudit(stored)
            return .noContent
        }
    }

    func events(_ req: Request) throws(APIError) -> RouteResult {
        let wait = try Input.wait(req)
        let since = try Input.int(req, "since", in: 0...Int64.max, default: nil)
        guard let since else {
            return .respond(.json(EventBatch(events: [], next: try locked { () throws(APIError) -> Int64 in try eventsAfter(0).head })))
        }
        let now = Date()
        let check: @Sendable () -> Response? = { [self] in
            locked { () -> Response? in
                let page: (events: [Event]?, head: Int64)
                do throws(APIError) { page = try eventsAfter(since) } catch { return .error(error) }
                guard let events = page.events else {
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

extension ServiceCore {
    /// Publishes audit entries stored outside a dispatcher change. Call with the lock held.
    func announceAudit(_ entries: [AuditEntry]) {
        guard !entries.isEmpty else { return }
        for e in entries { emit(.auditAppended, audit: e) }
        if !store.isShared { http?.hub.wake([.events]) }
    }

    /// The next configuration version, stored (inside the caller's transaction; on a shared database
    /// counted from the stored one, which another server may have moved).
    func nextConfigVersion() throws(DatabaseError) -> Int64 {
        let current = store.isShared ? Int64(try store.meta("config_version") ?? "0") ?? 0 : configVersion
        try store.setMeta("config_version", String(current + 1))
        return current + 1
    }

    /// Events after `since` (nil when `since` is outside what is kept: 410) and the newest seq: from
    /// memory for a server of its own, from the database when servers share it. Call with the lock held.
    func eventsAfter(_ since: Int64) throws(APIError) -> (events: [Event]?, head: Int64) {
        guard store.isShared else { return (feed.after(since), feed.head) }
        do {
            let page = try store.events(after: since, limit: 1000)
            let kept = since >= page.oldestAnswerable && since <= page.head
            return (kept ? page.events : nil, page.head)
        } catch { throw Self.unavailable(error) }
    }
}
