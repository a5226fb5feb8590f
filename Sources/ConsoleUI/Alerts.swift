import Foundation
import MonitorModels

extension AppState {
    /// What an event says that the operator should hear about: an agent going Lost Contact, a job failing.
    /// Compares with what the console held before the event; nil when nothing is worth a bell.
    func alert(for e: Event) -> String? {
        switch e.type {
        case .agentUpdated:
            guard let a = e.agent, a.status == .lostContact, let old = agents[a.uuid], old.status != .lostContact else { return nil }
            return "\(a.name) lost contact" + (a.currentJobId.map { " while running job \($0)" } ?? "")
        case .jobUpdated:
            // A job this console had not seen yet (created and failed between two polls) counts too.
            guard let j = e.job, j.state == .completed, j.result == .failed, jobs[j.id]?.state != .completed else { return nil }
            return "job \(j.id) \(j.name) failed" + (j.agentName.map { " on \($0)" } ?? "") + (j.failureReason.map { ": \($0)" } ?? "")
        default:
            return nil
        }
    }

    /// Shows the alerts of a batch of events (the last one, with a count when there were several) and rings.
    mutating func raise(_ raised: [String]) -> [Effect] {
        var alerts: [String] = []
        for a in raised where !alerts.contains(a) { alerts.append(a) }
        guard let last = alerts.last else { return [] }
        let more = alerts.count > 1 ? " (and \(alerts.count - 1) more)" : ""
        message = Message("⚠ " + last + more, isAlert: true)
        return bell ? [.bell] : []
    }

    /// `b`: the bell on and off.
    mutating func toggleBell() -> [Effect] {
        bell.toggle()
        message = Message(bell ? "bell on: lost agents and failed jobs ring" : "bell off: alerts are shown, silently")
        return []
    }
}
