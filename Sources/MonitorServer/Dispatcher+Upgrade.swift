import Foundation
import MonitorModels

extension Dispatcher {
    /// Marks an agent as upgrading (its ping said so) or not; an upgrading agent gets no new work.
    /// A change of the flag is an agent change (its status shows it); clearing it may let a job go to it.
    mutating func setUpgrading(_ uuid: String, _ upgrading: Bool, now: Date) -> Changes {
        guard var r = agents[uuid], r.upgrading != upgrading else { return Changes() }
        r.upgrading = upgrading
        agents[uuid] = r
        var changes = Changes()
        changes.agents.insert(uuid)
        if !upgrading { changes.merge(dispatch(now: now)) }
        return changes
    }
}
