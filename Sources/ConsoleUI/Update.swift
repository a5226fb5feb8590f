import Foundation
import MonitorModels
import ServerAPIClient

extension AppState {
    /// The only place the state changes: applies `action` and returns the work to do next.
    public mutating func update(_ action: Action) -> [Effect] {
        let effects = apply(action)
        return effects + detailFollowUps() + agentJobsFollowUps()
    }

    mutating func apply(_ action: Action) -> [Effect] {
        switch action {
        case .key(let key):
            return handleKey(key)
        case .mouse(let m):
            return handleMouse(m)
        case .resized(let size):
            self.size = size
            agentCursor = Self.scrolled(agentCursor, count: agentRows.count, height: Layout.listHeight(size))
            jobCursor = Self.scrolled(jobCursor, count: jobRows.count, height: Layout.listHeight(size))
            configCursor = Self.scrolled(configCursor, count: config.count, height: Layout.listHeight(size))
            return logFollowUps()
        case .tick(let date):
            now = date
            return refreshHistory()
        case .snapshot(let agents, let jobs):
            self.agents = Dictionary(agents.map { ($0.uuid, $0) }, uniquingKeysWith: { _, b in b })
            self.jobs = Dictionary(jobs.map { ($0.id, $0) }, uniquingKeysWith: { _, b in b })
            recomputeAgents()
            recomputeJobs()
            agentJobs?.stale = true  // after an outage or a 410: the shown agent's last jobs may have moved too
            return []
        case .events(let events):
            return apply(events)
        case .connection(let c):
            let wasDown = connection != .connected
            connection = c
            if c == .connected, wasDown { message = Message("reconnected to \(serverURL)") }
            return []
        case .serverInUse(let url):
            // Another server answered: that is being connected again (the event stream lists from it next).
            if url != serverURL { message = Message("now using \(url) (\(serverURL) stopped answering)") }
            serverURL = url
            connection = .connected
            return []
        case .serverAgentBinary(let sha):
            serverAgentSHA256 = sha
            return []
        case .configLoaded(let entries):
            config = entries.sorted { $0.name < $1.name }
            configLoaded = true
            configCursor = Self.scrolled(configCursor, count: config.count, height: Layout.listHeight(size))
            return []
        case .agentsChanged(let changed, let text):
            for a in changed { agents[a.uuid] = a }
            recomputeAgents()
            message = Message(text)
            return []
        case .agentDeleted(let uuid, let text):
            agents[uuid] = nil
            marked.remove(uuid)
            recomputeAgents()
            message = Message(text)
            return []
        case .jobChanged(let job, let text):
            jobs[job.id] = job
            recomputeJobs()
            message = Message(text)
            return []
        case .configChanged(let text):
            message = Message(text)
            return [.loadConfig]
        case .logReceived(let id, let slice):
            return receiveLog(id, slice)
        case .logPage(let id, let page):
            return receivePage(id, page)
        case .logFailed(let id, let text, let gone):
            return logFailed(id, text, gone: gone)
        case .logSearchProgress(let id, let request, let fraction):
            return searchProgressed(id, request, fraction)
        case .logSearchDone(let id, let request, let outcome):
            return searchDone(id, request, outcome)
        case .logStamps(let id, let request, let stamps):
            return receiveStamps(id, request, stamps)
        case .logStampsFailed(let id, let text):
            return stampsFailed(id, text)
        case .logSaveProgress(let request, let written, let total):
            return saveProgressed(request, written: written, total: total)
        case .logSaveDone(let request, let outcome):
            return saveDone(request, outcome)
        case .exported(let path, let rows):
            message = Message("exported \(rows) \(rows == 1 ? "row" : "rows") to \(path)")
            return []
        case .detailLog(let id, let slice):
            detailLogReceived(id, slice)
            return []
        case .agentJobsLoaded(let uuid, let result):
            agentJobsLoaded(uuid, result)
            return []
        case .statsLoaded(let stats):
            statsLoaded(stats)
            return []
        case .whoami(let w):
            me = w
            return []
        case .auditLoaded(let entries):
            return auditLoaded(entries)
        case .auditFailed(let text):
            return auditFailed(text)
        case .caCertRead(let path, let result):
            return caCertRead(path, result)
        case .failed(let text):
            message = Message(text, isError: true)
            return []
        }
    }

    /// Applies changes from the events feed.
    mutating func apply(_ events: [Event]) -> [Effect] {
        var agentsTouched = false, jobsTouched = false, auditTouched = false
        var appended: [AuditEntry] = []
        let alerts = events.compactMap { alert(for: $0) }
        for e in events {
            switch e.type {
            case .agentUpdated:
                guard let a = e.agent else { continue }
                let old = agents[a.uuid]
                agents[a.uuid] = a
                if old == nil, !agentsTouched {
                    insertAgentRow(a)
                } else if let old, !agentsTouched, !movesRow(old, a) {
                    // Same place in the list (a ping, a status change under name sort): no re-sort of 10,000 rows.
                    if old.status != a.status {
                        agentCounts[old.status, default: 1] -= 1
                        agentCounts[a.status, default: 0] += 1
                    }
                } else {
                    agentsTouched = true
                }
            case .agentDeleted:
                if let u = e.uuid ?? e.agent?.uuid { agents[u] = nil; marked.remove(u); agentsTouched = true }
            case .jobUpdated:
                if let j = e.job { noteAgentJob(j, old: jobs[j.id]); jobs[j.id] = j; jobsTouched = true }
            case .auditAppended:
                if let entry = e.audit { appended.append(entry) } else { auditTouched = true }
            }
        }
        if agentsTouched { recomputeAgents() }
        if jobsTouched { recomputeJobs() }
        // The Audit view, once opened, stays live: it takes the entries the events carry, and reads the
        // log when one is missing (seq is gap-free, so a jump means an entry this console did not see).
        let rung = raise(alerts)
        guard audit.loaded, auditTouched || !appended.isEmpty else { return rung }
        let next = (audit.newestSeq ?? 0) + 1
        let contiguous = appended.map(\.seq) == Array(next..<(next + Int64(appended.count)))
        if auditTouched || audit.loading || !contiguous { return rung + readAudit() }
        audit.merge(appended)
        recomputeAudit()
        return rung
    }

    /// True when a change to an agent may move its row or change whether the filter shows it.
    func movesRow(_ old: Agent, _ new: Agent) -> Bool {
        if old.name != new.name { return true }
        if !agentFilter.isEmpty, Self.agentMatches(old, agentFilter.lowercased()) != Self.agentMatches(new, agentFilter.lowercased()) {
            return true
        }
        return sortKey(old) != sortKey(new)
    }

    /// Routes a key: Ctrl-C always quits; a modal takes keys first, then help, then global keys, then the view.
    mutating func handleKey(_ key: Key) -> [Effect] {
        if key == .ctrlC { return [.quit] }
        if modal != nil { return handleModalKey(key) }
        if showHelp {
            switch key {
            case .escape, .char("?"), .enter: showHelp = false; return []
            case .char("q"): return [.quit]
            default: return []
            }
        }
        switch key {
        case .char("q"): return [.quit]
        case .char("?"): showHelp = true; return []
        case .char(":"): modal = .command(CommandInput()); return []
        case .char("b") where view != .log: return toggleBell()
        case .char("E") where view != .log: return export()
        case .char("y"): return copySelection()
        case .char("1"): return switchTo(.agents)
        case .char("2"): return switchTo(.jobs)
        case .char("3"): return switchTo(.config)
        case .char("4"): return switchTo(.audit)
        case .tab: return switchTo(Self.tabOrder.after(view, by: 1))
        case .backTab: return switchTo(Self.tabOrder.after(view, by: -1))
        default: break
        }
        message = nil
        if let effects = sshLineKey(key) { return effects }
        if let effects = detailKey(key) { return effects }
        if key == .char("i"), view == .agents || view == .jobs { return toggleDetail() }
        switch view {
        case .agents: return agentsKey(key)
        case .jobs: return jobsKey(key)
        case .config: return configKey(key)
        case .audit: return auditKey(key)
        case .log: return logKey(key)
        }
    }

    /// Shows a list view (leaving the log stops its tail; Config loads its entries).
    mutating func switchTo(_ target: View) -> [Effect] {
        var effects: [Effect] = []
        if view == .log, target != .log {
            log = nil
            effects.append(.stopLog)
        }
        message = nil
        view = target
        if target == .config { effects.append(.loadConfig) }
        if target == .audit { effects += readAudit() }
        return effects
    }

    /// The list views in tab order (Tab and Shift-Tab move through them; the log returns to the first).
    static let tabOrder: [View] = [.agents, .jobs, .config, .audit]

    /// Refuses a change in read-only mode, or one the operator's role may not make, with a message saying
    /// which; true when refused.
    mutating func refused(_ what: String, needs role: OperatorRole) -> Bool {
        if readOnly {
            message = Message("read-only: cannot \(what) (mms-console was started with --read-only)", isError: true)
            return true
        }
        guard let me, me.role < role else { return false }
        message = Message("cannot \(what): that needs the \(role.rawValue) role; you are \(me.name) (\(me.role.rawValue))", isError: true)
        return true
    }

    /// Moves a list cursor for navigation keys; nil when the key is not a navigation key.
    func moved(_ c: ListCursor, _ key: Key, count: Int) -> ListCursor? {
        let page = Layout.listHeight(size)
        var c = c
        switch key {
        case .up, .char("k"): c.index -= 1
        case .down, .char("j"): c.index += 1
        case .pageUp: c.index -= page; c.top -= page
        case .pageDown: c.index += page; c.top += page
        case .home: c.index = 0
        case .end: c.index = count - 1
        default: return nil
        }
        return Self.scrolled(c, count: count, height: page)
    }
}
