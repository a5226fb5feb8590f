import Foundation
import MonitorModels

extension Dispatcher {
    /// Why a scheduled job waits, as a sentence an operator can act on; nil when it is not waiting.
    func waitingReason(_ job: Job, now: Date) -> String? {
        guard job.state == .scheduled else { return nil }
        let all = agents.values
        if !all.contains(where: { $0.agent.configState == .enabled }) {
            let pending = all.filter { $0.agent.configState == .pending }.count
            return pending > 0
                ? "no agents are enabled; \(count(pending, "agent is", "agents are")) pending authorization"
                : "no agents are enabled"
        }
        let withResources = all.filter { r in job.spec.resources.allSatisfy { r.agent.resources.contains($0) } }
        if withResources.isEmpty {
            return "no agent has resources [\(job.spec.resources.joined(separator: ", "))]"
        }
        let matching = withResources.filter { Self.matches($0, job.spec) }
        if matching.isEmpty && job.spec.runsInContainers {
            var tagged = withResources
            if let env = job.spec.environment { tagged = tagged.filter { $0.agent.environments.contains(env) } }
            if !tagged.isEmpty {
                return job.spec.resources.isEmpty && job.spec.environment == nil
                    ? "no agent can run containers" : "no matching agent can run containers"
            }
        }
        if matching.isEmpty {
            let env = job.spec.environment ?? ""
            return job.spec.resources.isEmpty
                ? "no agent has environment \(env)"
                : "no agent has resources [\(job.spec.resources.joined(separator: ", "))] and environment \(env)"
        }
        var busy = 0, disabled = 0, pending = 0, lost = 0, missing = 0, ready = 0
        for r in matching {
            switch status(r) {
            case .pending: pending += 1
            case .disabled: disabled += 1
            case .missing: missing += 1
            case .lostContact: lost += 1
            case .preparing, .building, .cancelling, .upgrading: busy += 1
            case .idle:
                if r.agent.configState == .disabled { disabled += 1 }
                else if isReachable(r, now: now) { ready += 1 } else { lost += 1 }
            }
        }
        var parts: [String] = []
        if busy > 0 { parts.append(count(busy, "matching agent is busy", "matching agents are busy")) }
        if disabled > 0 { parts.append(count(disabled, "matching agent is disabled", "matching agents are disabled")) }
        if pending > 0 {
            parts.append(count(pending, "matching agent is pending authorization", "matching agents are pending authorization"))
        }
        if lost > 0 { parts.append(count(lost, "matching agent has lost contact", "matching agents have lost contact")) }
        if missing > 0 {
            parts.append(count(missing, "matching agent has not connected since the server started",
                               "matching agents have not connected since the server started"))
        }
        if ready > 0 {
            let ahead = jobs.values.filter { $0.state == .scheduled && $0.id < job.id }.count
            parts.insert(ahead > 0 ? "\(ahead) older \(ahead == 1 ? "job is" : "jobs are") ahead in the queue"
                                   : "being dispatched", at: 0)
        }
        return parts.joined(separator: "; ")
    }

    private func count(_ n: Int, _ one: String, _ many: String) -> String {
        "\(n) \(n == 1 ? one : many)"
    }
}
