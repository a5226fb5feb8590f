import Foundation
import MonitorModels

/// Push agents in the dispatcher: added by an admin (enabled), heard from through the server's own calls.
extension Dispatcher {
    /// Adds a push agent, enabled (adding it is its authorization); it is Missing until its first `/is_alive`.
    mutating func addPushAgent(_ agent: Agent, secretHash: String, pushSecret: String, pushCACert: String?, now: Date) -> Changes {
        var r = AgentRecord(agent: agent, secretHash: secretHash, idleSince: now)
        r.pushSecret = pushSecret
        r.pushCACert = pushCACert
        agents[agent.uuid] = r
        var changes = Changes()
        changes.agents.insert(agent.uuid)
        changes.wake.insert(agent.uuid)  // its driver starts at once
        return changes
    }

    /// A push agent answered: contact now, and the version and container runtime it says it has (`containerRuntime`
    /// nil: not said; `.some(nil)`: none).
    mutating func pushContact(_ uuid: String, version: String?, containerRuntime: String?? = nil, now: Date) -> Changes {
        var changes = Changes()
        if var r = agents[uuid] {
            let runtime = containerRuntime.map { $0.map { String($0.prefix(256)) } }
            let newVersion = version.map { String($0.prefix(256)) }
            var changed = false
            if let newVersion, r.agent.version != newVersion { r.agent.version = newVersion; changed = true }
            if let runtime, r.agent.containerRuntime != runtime { r.agent.containerRuntime = runtime; changed = true }
            if changed {
                agents[uuid] = r
                changes.agents.insert(uuid)
            }
        }
        changes.merge(contact(uuid, now: now))
        return changes
    }
}
