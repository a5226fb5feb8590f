import Foundation
import MonitorModels

extension Dispatcher {
    /// An audit entry for a change the server makes on its own.
    static func serverAudit(_ action: String, agent: Agent, now: Date, reason: String?) -> AuditEntry {
        AuditEntry(at: now, actor: "server", action: action,
                   target: AuditTarget(kind: "agent", id: agent.uuid, name: agent.name), reason: reason)
    }

    /// An audit entry for a change the server makes on its own to a job.
    static func serverAudit(_ action: String, job: Job, now: Date, reason: String?) -> AuditEntry {
        AuditEntry(at: now, actor: "server", action: action,
                   target: AuditTarget(kind: "job", id: String(job.id), name: job.name), reason: reason)
    }

    /// Enables again every agent whose disable had an end that has come (also the first tick after a
    /// restart that slept through it).
    mutating func enableExpired(now: Date) -> Changes {
        var expired: [String] = []
        for (uuid, r) in agents.storage where r.agent.configState == .disabled {
            if let until = r.agent.disabledUntil, until <= now { expired.append(uuid) }
        }
        guard !expired.isEmpty else { return Changes() }
        var changes = Changes()
        for uuid in expired.sorted() {
            guard var r = agents[uuid] else { continue }
            let was = r.agent
            r.agent.configState = .enabled
            r.agent.clearDisabled()
            r.idleSince = min(r.idleSince, now)
            agents[uuid] = r
            changes.agents.insert(uuid)
            var why = "disabled by \(was.disabledBy ?? "an operator") until \(RFC3339.format(was.disabledUntil ?? now))"
            if let reason = was.disabledReason { why += " (\(reason))" }
            changes.audit.append(Self.serverAudit("agent.enable", agent: r.agent, now: now, reason: why + "; that time has come"))
        }
        changes.merge(dispatch(now: now))
        return changes
    }
}

extension Agent {
    /// Forgets why, by whom and until when the agent was disabled.
    mutating func clearDisabled() {
        disabledReason = nil
        disabledBy = nil
        disabledAt = nil
        disabledUntil = nil
    }
}
