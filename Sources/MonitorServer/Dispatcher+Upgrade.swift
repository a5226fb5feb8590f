import Foundation
import MonitorModels

extension Dispatcher {
    /// Marks an agent as upgrading (its ping said so) or not, and takes in the SHA-256 of the binary it runs.
    /// An upgrading agent gets no new work; clearing the flag may let a job go to it.
    mutating func setUpgrading(_ uuid: String, _ upgrading: Bool, binarySHA256: String?, now: Date) -> Changes {
        guard var r = agents[uuid] else { return Changes() }
        let newSHA = binarySHA256 ?? r.agent.binarySHA256
        guard r.upgrading != upgrading || r.agent.binarySHA256 != newSHA else { return Changes() }
        let wasUpgrading = r.upgrading
        r.upgrading = upgrading
        r.agent.binarySHA256 = newSHA
        agents[uuid] = r
        var changes = Changes()
        changes.agents.insert(uuid)
        if wasUpgrading && !upgrading { changes.merge(dispatch(now: now)) }
        return changes
    }

    /// The audit entry of an agent that registered again running another binary than before (action
    /// `agent.upgrade`, actor `server`, reason `OLD_VERSION (OLD_SHA256) -> NEW_VERSION (NEW_SHA256)`); nil when
    /// the binary is the same or either SHA-256 is unknown.
    static func upgradeAudit(from old: Agent, to new: Agent, now: Date) -> AuditEntry? {
        guard let oldSHA = old.binarySHA256, let newSHA = new.binarySHA256, oldSHA != newSHA else { return nil }
        return serverAudit("agent.upgrade", agent: new, now: now,
                           reason: "\(old.version) (\(oldSHA)) -> \(new.version) (\(newSHA))")
    }
}
