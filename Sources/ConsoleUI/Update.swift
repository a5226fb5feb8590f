import Foundation
import MonitorModels
import ServerAPIClient

extension AppState {
    /// The only place the state changes: applies `action` and returns the work to do next.
    public mutating func update(_ action: Action) -> [Effect] {
        switch action {
        case .key(let key):
            return handleKey(key)
        case .resized(let size):
            self.size = size
            agentCursor = Self.scrolled(agentCursor, count: agentRows.count, height: Layout.listHeight(size))
            jobCursor = Self.scrolled(jobCursor, count: jobRows.count, height: Layout.listHeight(size))
            configCursor = Self.scrolled(configCursor, count: config.count, height: Layout.listHeight(size))
            return logFollowUps()
        case .tick(let date):
            now = date
            return []
        case .snapshot(let agents, let jobs):
            self.agents = Dictionary(agents.map { ($0.uuid, $0) }, uniquingKeysWith: { _, b in b })
            self.jobs = Dictionary(jobs.map { ($0.id, $0) }, uniquingKeysWith: { _, b in b })
            recomputeAgents()
            recomputeJobs()
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
        case .failed(let text):
            message = Message(text, isError: true)
            return []
        }
    }

    /// Applies changes from the events feed.
    mutating func apply(_ events: [Event]) -> [Effect] {
        var agentsTouched = false, jobsTouched = false
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
                if let j = e.job { jobs[j.id] = j; jobsTouched = true }
            case .auditAppended:
                continue  // the Audit view reads the log itself
            }
        }
        if agentsTouched { recomputeAgents() }
        if jobsTouched { recomputeJobs() }
        return []
    }

    /// True when a change to an agent may move its row or change whether the filter shows it.
    func movesRow(_ old: Agent, _ new: Agent) -> Bool {
        if old.name != new.name { return true }
        if !agentFilter.isEmpty, Self.agentMatches(old, agentFilter.lowercased()) != Self.agentMatches(new, agentFilter.lowercased()) {
            return true
        }
        switch agentSort {
        case .name: return false
        case .status: return old.status != new.status
        case .lastSeen: return old.lastSeenAt != new.lastSeenAt
        case .hostname: return old.hostname != new.hostname
        }
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
        case .char("1"): return switchTo(.agents)
        case .char("2"): return switchTo(.jobs)
        case .char("3"): return switchTo(.config)
        case .tab: return switchTo(view == .agents ? .jobs : view == .jobs ? .config : .agents)
        case .backTab: return switchTo(view == .agents ? .config : view == .jobs ? .agents : .jobs)
        default: break
        }
        message = nil
        switch view {
        case .agents: return agentsKey(key)
        case .jobs: return jobsKey(key)
        case .config: return configKey(key)
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
        return effects
    }

    /// Refuses a change in read-only mode with a message saying so; true when refused.
    mutating func refusedReadOnly(_ what: String) -> Bool {
        guard readOnly else { return false }
        message = Message("read-only: cannot \(what) (mms-console was started with --read-only)", isError: true)
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
