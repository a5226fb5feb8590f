import Foundation
import MonitorModels

extension AppState {
    /// Keys of the Agents view.
    mutating func agentsKey(_ key: Key) -> [Effect] {
        if let c = moved(agentCursor, key, count: agentRows.count) { agentCursor = c; return [] }
        switch key {
        case .char("/"): modal = .filter; return []
        case .char("s"), .char("<"), .char(">"):
            sortKey(key, &agentSort, &agentSortReversed)
            recomputeAgents()
            message = Message("agents sorted by \(agentSort.rawValue)\(agentSortReversed ? ", reversed" : "")")
            return []
        case .escape:
            if !agentFilter.isEmpty { agentFilter = ""; recomputeAgents() } else if !marked.isEmpty { marked = [] }
            return []
        case .char(" "):
            guard let a = selectedAgent else { return [] }
            if marked.contains(a.uuid) { marked.remove(a.uuid) } else { marked.insert(a.uuid) }
            agentCursor = Self.scrolled(ListCursor(index: agentCursor.index + 1, top: agentCursor.top),
                                        count: agentRows.count, height: Layout.listHeight(size))
            return []
        case .enter:
            // The agent's detail (full-screen below 140 columns; Enter there opens its job's log).
            guard let a = selectedAgent else { return [] }
            if DetailLayout.listWidth(size) == nil { detailOpen = true; return [] }
            guard let id = a.currentJobId else { message = Message("\(a.name) runs no job"); return [] }
            return openLog(id, from: .agents)
        case .char("a"):
            let targets = actionTargets()
            guard !targets.isEmpty, !refused("authorize agents", needs: .operator) else { return [] }
            let todo = targets.filter { $0.configState != .enabled }
            if todo.isEmpty {
                message = Message(targets.count == 1 ? "\(targets[0].name) is already authorized" : "all marked agents are already authorized")
                return []
            }
            marked = []
            return [.authorize(uuids: todo.map(\.uuid))]
        case .char("d"):
            let targets = actionTargets()
            guard !targets.isEmpty, !refused("disable agents", needs: .operator) else { return [] }
            modal = .form(.disable(targets))
            return []
        case .char("x"):
            guard let a = selectedAgent, !refused("delete agents", needs: .admin) else { return [] }
            modal = .confirm(Confirm(
                question: "Delete agent \(a.name)? It registers again as new if it comes back." + impact(removing: [a.uuid]),
                effect: .deleteAgent(uuid: a.uuid, name: a.name), clearsMarks: false))
            return []
        case .char("e"):
            guard let a = selectedAgent, !refused("edit agents", needs: .operator) else { return [] }
            modal = .form(.editAgent(a))
            return []
        case .char("n"):
            guard !refused("add push agents", needs: .admin) else { return [] }
            modal = .form(.pushAgent())
            return []
        default:
            return []
        }
    }

    /// `<` and `>` move the sort to the previous or next column (in its natural direction), `s` reverses it.
    func sortKey<S: CaseIterable & Equatable>(_ key: Key, _ sort: inout S, _ reversed: inout Bool) where S.AllCases == [S] {
        switch key {
        case .char("s"): reversed.toggle()
        case .char("<"): sort = S.allCases.after(sort, by: -1); reversed = false
        default: sort = S.allCases.after(sort, by: 1); reversed = false
        }
    }

    /// The marked agents, or the selected one when none is marked.
    func actionTargets() -> [Agent] {
        if !marked.isEmpty {
            let listed = agentRows.compactMap { marked.contains($0) ? agents[$0] : nil }
            let hidden = marked.subtracting(listed.map(\.uuid)).compactMap { agents[$0] }.sorted { $0.name < $1.name }
            return listed + hidden
        }
        return selectedAgent.map { [$0] } ?? []
    }

    /// Keys of the Jobs view.
    mutating func jobsKey(_ key: Key) -> [Effect] {
        if let c = moved(jobCursor, key, count: jobRows.count) { jobCursor = c; return [] }
        switch key {
        case .char("/"): modal = .filter; return []
        case .char("s"), .char("<"), .char(">"):
            sortKey(key, &jobSort, &jobSortReversed)
            recomputeJobs()
            message = Message("jobs sorted by \(jobSort.rawValue)\(jobSortReversed ? ", reversed" : "")")
            return []
        case .escape:
            if !jobFilter.isEmpty { jobFilter = ""; recomputeJobs() }
            return []
        case .enter:
            guard let j = selectedJob else { return [] }
            return openLog(j.id, from: .jobs)
        case .char("n"):
            guard !refused("create jobs", needs: .operator) else { return [] }
            modal = .form(.newJob())
            return []
        case .char("c"):
            guard let j = selectedJob, !refused("cancel jobs", needs: .operator) else { return [] }
            if j.state == .completed {
                message = Message("job \(j.id) has already finished (\(j.result?.rawValue ?? "completed")); nothing to cancel")
                return []
            }
            modal = .confirm(Confirm(question: "Cancel job \(j.id) \(j.name)?", effect: .cancelJob(j.id), clearsMarks: false))
            return []
        case .char("r"):
            guard let j = selectedJob, !refused("rerun jobs", needs: .operator) else { return [] }
            return [.rerunJob(j.id)]
        default:
            return []
        }
    }

    /// Keys of the Config view.
    mutating func configKey(_ key: Key) -> [Effect] {
        if let c = moved(configCursor, key, count: config.count) { configCursor = c; return [] }
        switch key {
        case .char("n"):
            guard !refused("add configuration entries", needs: .admin) else { return [] }
            modal = .form(.configEntry(nil))
            return []
        case .char("e"), .enter:
            guard let e = selectedEntry, !refused("edit configuration entries", needs: .admin) else { return [] }
            modal = .form(.configEntry(e))
            return []
        case .char("x"):
            guard let e = selectedEntry, !refused("delete configuration entries", needs: .admin) else { return [] }
            modal = .confirm(Confirm(question: "Delete configuration entry \(e.name)?", effect: .deleteConfig(name: e.name), clearsMarks: false))
            return []
        default:
            return []
        }
    }

    /// Opens a job's log full-screen: reads its last page, then follows it live.
    mutating func openLog(_ id: Int64, from: View) -> [Effect] {
        returnView = from
        view = .log
        var l = LogState(jobId: id)
        l.pending = .tail(sizeHint: jobs[id]?.logSize ?? 0)
        log = l
        return [.fetchLog(jobId: id, .tail(sizeHint: jobs[id]?.logSize ?? 0))]
    }
}

extension ListCursor {
    init(index: Int, top: Int) {
        self.index = index
        self.top = top
    }
}

extension Array where Element: Equatable {
    /// The element `step` places after `e`, wrapping around (the first when `e` is not listed).
    func after(_ e: Element, by step: Int) -> Element {
        guard let i = firstIndex(of: e) else { return self[0] }
        return self[((i + step) % count + count) % count]
    }
}

extension CaseIterable where Self: Equatable, AllCases.Index == Int {
    /// The next case, wrapping around (what `s` does to a sort order).
    var next: Self {
        let all = Self.allCases
        let i = all.firstIndex(of: self) ?? 0
        return all[(i + 1) % all.count]
    }
}
