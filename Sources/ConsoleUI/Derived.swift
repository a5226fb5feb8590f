import Foundation
import MonitorModels

extension AppState {
    /// Recomputes the Agents rows (filter, sort) and the header counts, keeping the cursor on the same agent.
    mutating func recomputeAgents() {
        let keep = selectedAgent?.uuid
        var counts: [AgentStatus: Int] = [:]
        for a in agents.values { counts[a.status, default: 0] += 1 }
        agentCounts = counts
        let needle = agentFilter.lowercased()
        let rows = needle.isEmpty ? Array(agents.values) : agents.values.filter { Self.agentMatches($0, needle) }
        // Keys computed once per agent, not once per comparison: sorting 10,000 agents stays quick.
        agentRows = rows.map { (sortKey($0), $0.uuid) }.sorted { $0.0 < $1.0 }.map(\.1)
        if agentSortReversed { agentRows.reverse() }
        marked = marked.filter { agents[$0] != nil }
        agentCursor = Self.place(agentCursor, rows: agentRows, keep: keep, height: Layout.listHeight(size))
    }

    /// Recomputes the Jobs rows (filter, sort) and the waiting/running counts, keeping the cursor on the same job.
    mutating func recomputeJobs() {
        let keep = selectedJob?.id
        var waiting = 0, running = 0
        for j in jobs.values {
            if j.state == .scheduled { waiting += 1 } else if j.state.isActive { running += 1 }
        }
        jobsWaiting = waiting
        jobsRunning = running
        let needle = jobFilter.lowercased()
        var rows = needle.isEmpty ? Array(jobs.values) : jobs.values.filter { Self.jobMatchesTerms($0, needle) }
        switch jobSort {
        case .newest: rows.sort { $0.id > $1.id }
        case .state: rows.sort { ($0.state.rank, -$0.id) < ($1.state.rank, -$1.id) }
        case .name: rows.sort { ($0.name.lowercased(), -$0.id) < ($1.name.lowercased(), -$1.id) }
        case .agent: rows.sort { ($0.agentName ?? "~", -$0.id) < ($1.agentName ?? "~", -$1.id) }
        case .attempt: rows.sort { ($0.attempt, -$0.id) > ($1.attempt, -$1.id) }
        }
        jobRows = rows.map(\.id)
        if jobSortReversed { jobRows.reverse() }
        jobCursor = Self.place(jobCursor, rows: jobRows, keep: keep, height: Layout.listHeight(size))
    }

    /// Where an agent goes in the current order.
    func sortKey(_ a: Agent) -> AgentSortKey {
        let name = a.name.lowercased()
        func text(_ t: String) -> AgentSortKey { AgentSortKey(rank: 0, text: t.lowercased() + "\u{0}" + name, uuid: a.uuid) }
        switch agentSort {
        case .name: return AgentSortKey(rank: 0, text: name, uuid: a.uuid)
        case .status: return AgentSortKey(rank: Double(Self.statusRank(a.status)), text: name, uuid: a.uuid)
        case .lastSeen: return AgentSortKey(rank: -(a.lastSeenAt ?? .distantPast).timeIntervalSince1970, text: name, uuid: a.uuid)
        case .kind: return text(a.kind.rawValue)
        case .host: return text(a.hostname)
        case .version: return text(a.version)
        case .resources: return text(a.resources.joined(separator: ","))
        case .envs: return text(a.environments.joined(separator: ","))
        case .job: return AgentSortKey(rank: -Double(a.currentJobId ?? -1), text: name, uuid: a.uuid)
        }
    }

    /// Puts a new agent into the sorted rows without sorting them all again.
    mutating func insertAgentRow(_ a: Agent) {
        agentCounts[a.status, default: 0] += 1
        if !agentFilter.isEmpty, !Self.agentMatches(a, agentFilter.lowercased()) { return }
        let key = sortKey(a)
        var lo = 0, hi = agentRows.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if let other = agents[agentRows[mid]], agentSortReversed ? key < sortKey(other) : sortKey(other) < key {
                lo = mid + 1
            } else {
                hi = mid
            }
        }
        let keep = selectedAgent?.uuid
        agentRows.insert(a.uuid, at: lo)
        agentCursor = Self.place(agentCursor, rows: agentRows, keep: keep, height: Layout.listHeight(size))
    }

    static func agentMatches(_ a: Agent, _ needle: String) -> Bool {
        a.name.lowercased().contains(needle) || a.hostname.lowercased().contains(needle)
            || a.status.displayName.lowercased().contains(needle) || a.version.contains(needle)
            || a.resources.contains { $0.lowercased().contains(needle) }
            || a.environments.contains { $0.lowercased().contains(needle) }
    }

    static func jobMatches(_ j: Job, _ needle: String) -> Bool {
        String(j.id) == needle || j.name.lowercased().contains(needle) || j.state.rawValue.contains(needle)
            || (j.result?.rawValue.contains(needle) ?? false) || (j.agentName?.lowercased().contains(needle) ?? false)
    }

    /// Trouble first: lost contact and missing agents, then pending, then work, then the rest.
    static func statusRank(_ s: AgentStatus) -> Int {
        switch s {
        case .lostContact: 0
        case .missing: 1
        case .pending: 2
        case .cancelling: 3
        case .building: 4
        case .preparing: 5
        case .upgrading: 6
        case .idle: 7
        case .disabled: 8
        }
    }

    /// Puts the cursor back on `keep` if it is still listed, clamps it, and scrolls so it is visible.
    static func place<ID: Equatable>(_ c: ListCursor, rows: [ID], keep: ID?, height: Int) -> ListCursor {
        var c = c
        if let keep, let i = rows.firstIndex(of: keep) { c.index = i }
        return scrolled(c, count: rows.count, height: height)
    }

    /// Clamps a cursor to `count` rows and scrolls it into a window of `height` rows.
    static func scrolled(_ c: ListCursor, count: Int, height: Int) -> ListCursor {
        var c = c
        c.index = max(0, min(c.index, count - 1))
        if c.index < c.top { c.top = c.index }
        if c.index >= c.top + height { c.top = c.index - height + 1 }
        c.top = max(0, min(c.top, max(0, count - height)))
        return c
    }
}

/// The order of an agent row: a number (status rank, last seen) then text (name or hostname), then uuid.
public struct AgentSortKey: Comparable, Sendable {
    var rank: Double
    var text: String
    var uuid: String
    public static func < (a: AgentSortKey, b: AgentSortKey) -> Bool {
        (a.rank, a.text, a.uuid) < (b.rank, b.text, b.uuid)
    }
}

extension AppState {
    /// Agents that reported a binary other than the one the server offers (nil when it offers none):
    /// the fleet has not followed an upgrade yet, or an agent is pinned with --no-auto-upgrade.
    public var agentsOnAnotherBinary: Int? {
        guard let server = serverAgentSHA256 else { return nil }
        return agents.values.reduce(0) { n, a in n + (a.binarySHA256 != nil && a.binarySHA256 != server ? 1 : 0) }
    }
}
