import Foundation
import MonitorModels
import ServerAPIClient

/// Actions waiting for the UI loop, posted from any thread.
public final class ActionQueue: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [Action] = []

    public init() {}

    /// Adds an action for the next turn of the loop.
    public func post(_ action: Action) {
        lock.lock()
        items.append(action)
        lock.unlock()
    }

    /// Takes every waiting action, oldest first.
    public func drain() -> [Action] {
        lock.lock()
        defer { lock.unlock() }
        let out = items
        items = []
        return out
    }
}

/// Runs effects against the server and feeds the results back as actions; owns the long polls.
public final class Runtime: @unchecked Sendable {
    public let api: AdminAPI
    public let queue: ActionQueue
    private let lock = NSLock()
    /// The log view's reads: at most one of each kind runs; a new one replaces the old.
    private var logTasks: [LogTaskSlot: Task<Void, Never>] = [:]
    private var background: [Task<Void, Never>] = []

    public init(api: AdminAPI, queue: ActionQueue) {
        self.api = api
        self.queue = queue
    }

    /// Starts the events long poll (from `cursor`) and the one-second clock.
    public func start(cursor: Int64?, stream: ReconnectingEventStream? = nil) {
        let stream = stream ?? ReconnectingEventStream(api: api)
        let queue = self.queue
        let events = Task {
            await stream.run(from: cursor) { update in
                switch update {
                case .snapshot(let agents, let jobs): queue.post(.snapshot(agents: agents, jobs: jobs))
                case .events(let events): queue.post(.events(events))
                case .disconnected(let reason, let retry):
                    let seconds = Double(retry.components.seconds) + Double(retry.components.attoseconds) / 1e18
                    // "cannot reach the server at URL: connection refused" → "connection refused": the URL is in the title.
                    let short = reason.hasPrefix("cannot reach the server at ") ? String(reason.split(separator: ": ", maxSplits: 1).last ?? "") : reason
                    queue.post(.connection(.reconnecting(reason: "\(short); retrying in \(String(format: "%.1f", seconds)) s")))
                case .connected: queue.post(.connection(.connected))
                }
            }
        }
        let clock = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                queue.post(.tick(Date()))
            }
        }
        // The agent binary the server offers changes when an operator replaces it: look again every 10 s.
        let api = self.api
        let binary = Task {
            var last: String? = nil  // the state starts with none: only a change is posted
            while !Task.isCancelled {
                if let info = try? await api.version(), info.agentSHA256 != last {
                    last = info.agentSHA256
                    queue.post(.serverAgentBinary(last))
                }
                try? await Task.sleep(for: .seconds(10))
            }
        }
        lock.lock()
        background += [events, clock, binary]
        lock.unlock()
    }

    /// Stops every task this runtime started.
    public func stop() {
        lock.lock()
        let all = background + logTasks.values
        background = []
        logTasks = [:]
        lock.unlock()
        all.forEach { $0.cancel() }
    }

    /// Runs effects; returns true when one of them is `quit`.
    public func perform(_ effects: [Effect]) -> Bool {
        var quit = false
        for e in effects {
            switch e {
            case .quit: quit = true
            case .tailLog(let id, let offset): startTail(id, offset)
            case .fetchLog(let id, let fetch): startFetch(id, fetch)
            case .searchLog(let id, let request): startSearch(id, request)
            case .cancelSearch: replaceLogTask(.search, nil)
            case .saveLog(let request): startSave(request)
            case .cancelSave: replaceLogTask(.save, nil)
            case .fetchStamps(let id, let request): startStamps(id, request)
            case .stopLog: LogTaskSlot.logView.forEach { replaceLogTask($0, nil) }
            case .tailDetail(let id, let offset): startDetailTail(id, offset)
            case .bell, .copy: break  // the terminal's (ConsoleLoop hands them to the backend)
            case .export(let path, let contents, let rows):
                let queue = self.queue
                Task.detached { queue.post(Self.write(contents, to: path, rows: rows)) }
            case .stopDetailTail: replaceLogTask(.detail, nil)
            case .readCACert(let path):
                let queue = self.queue
                Task.detached { queue.post(.caCertRead(path: path, CACertFile.read(path))) }
            default:
                let api = self.api, queue = self.queue
                Task { queue.post(await Self.call(e, api)) }
            }
        }
        return quit
    }

    /// One change on the server, as the action that reports its outcome.
    static func call(_ e: Effect, _ api: AdminAPI) async -> Action {
        do throws(ClientError) {
            switch e {
            case .authorize(let uuids):
                if uuids.count == 1 {
                    let a = try await api.patchAgent(uuids[0], AgentPatch(configState: .enabled))
                    return .agentsChanged([a], message: "authorized \(a.name)")
                }
                let list = try await api.bulkPatchAgents(BulkAgentPatch(uuids: uuids, configState: .enabled))
                return .agentsChanged(list, message: "authorized \(list.count) agents")
            case .disable(let uuids, let reason, let until):
                let list: [Agent]
                if reason == nil, until == nil {
                    // The version 1 call, which every server knows.
                    list = uuids.count == 1 ? [try await api.patchAgent(uuids[0], AgentPatch(configState: .disabled))]
                        : try await api.bulkPatchAgents(BulkAgentPatch(uuids: uuids, configState: .disabled))
                } else {
                    list = try await api.disableAgents(uuids, reason, until)
                }
                let who = list.count == 1 ? list[0].name : "\(list.count) agents"
                return .agentsChanged(list, message: "disabled \(who)" + (until.map { " for \(HoldDuration.said($0.timeIntervalSinceNow))" } ?? ""))
            case .deleteAgent(let uuid, let name):
                try await api.deleteAgent(uuid)
                return .agentDeleted(uuid: uuid, message: "deleted agent \(name)")
            case .editAgent(let uuid, let patch):
                let a = try await api.patchAgent(uuid, patch)
                return .agentsChanged([a], message: "updated \(a.name): resources [\(a.resources.joined(separator: ","))], environments [\(a.environments.joined(separator: ","))]")
            case .addPushAgent(let request):
                let a = try await api.addPushAgent(request)
                return .agentsChanged([a], message: "added push agent \(a.name) at \(a.url ?? request.url)")
            case .createJob(let spec):
                let j = try await api.createJob(spec)
                return .jobChanged(j, message: "job \(j.id) \(j.name) created" + (j.waitingReason.map { "; waiting: \($0)" } ?? ""))
            case .cancelJob(let id):
                let j = try await api.cancelJob(id)
                return .jobChanged(j, message: j.state == .completed ? "job \(id) cancelled" : "cancelling job \(id)…")
            case .rerunJob(let id):
                let j = try await api.rerunJob(id)
                return .jobChanged(j, message: "job \(j.id) created (rerun of \(id))")
            case .loadConfig:
                return .configLoaded(try await api.listConfig())
            case .loadStats:
                do throws(ClientError) {
                    return .statsLoaded(try await api.stats("30m"))
                } catch {
                    return .tick(Date())  // an older server keeps no history: the header simply has no sparklines
                }
            case .fetchAgentJobs(let uuid):
                do throws(ClientError) {
                    return .agentJobsLoaded(uuid: uuid, .success(try await api.listJobs(agent: uuid, limit: AgentJobs.fetchLimit)))
                } catch {
                    return .agentJobsLoaded(uuid: uuid, .failure(AgentJobsError(error.description)))
                }
            case .loadAudit(let since):
                do throws(ClientError) {
                    return .auditLoaded(try await api.listAudit(since, since == nil ? AuditState.firstPage : 1000, nil))
                } catch {
                    return .auditFailed(error.description)
                }
            case .putConfig(let name, let input):
                _ = try await api.putConfig(name, input)
                return .configChanged(message: "saved \(name)" + (input.secret ? " (secret: its value is never shown)" : ""))
            case .deleteConfig(let name):
                try await api.deleteConfig(name)
                return .configChanged(message: "deleted \(name)")
            case .quit, .tailLog, .stopLog, .fetchLog, .searchLog, .cancelSearch, .fetchStamps, .tailDetail, .stopDetailTail,
                 .saveLog, .cancelSave, .bell, .copy, .export, .readCACert:
                return .tick(Date())
            }
        } catch {
            return .failed(error.description)
        }
    }

    /// Writes an export file (never over an existing one); the action says where, or why not.
    static func write(_ contents: String, to path: String, rows: Int) -> Action {
        guard !FileManager.default.fileExists(atPath: path) else { return .failed("not exported: \(path) already exists") }
        do {
            try Data(contents.utf8).write(to: URL(fileURLWithPath: path), options: .withoutOverwriting)
            return .exported(path: path, rows: rows)
        } catch {
            return .failed("cannot write \(path): \(error.localizedDescription)")
        }
    }

    /// Puts `task` in a log slot, cancelling the one it replaces.
    func replaceLogTask(_ slot: LogTaskSlot, _ task: Task<Void, Never>?) {
        lock.lock()
        let old = logTasks[slot]
        logTasks[slot] = task
        lock.unlock()
        old?.cancel()
    }
}

/// The kinds of log reads the runtime runs side by side.
enum LogTaskSlot: CaseIterable {
    case tail, page, search, stamps
    /// The detail pane's tail, which lives beside the log view's reads.
    case detail
    /// A log save (`S`), which goes on when the operator leaves the log view.
    case save
    /// The slots of the log view (what leaving it stops).
    static let logView: [LogTaskSlot] = [.tail, .page, .search, .stamps]
}
