import Foundation
import MonitorModels

extension AppState {
    /// `:authorize|enable|disable|delete PATTERN …`: the agents whose names match the pattern (`*`, `?`).
    mutating func agentCommand(_ verb: String, _ args: [String]) throws(CommandError) -> [Effect] {
        guard let pattern = args.first else { throw CommandError("\(verb) which agents? a name or a pattern like rec-0*") }
        let targets = agents.values.filter { ConsoleCommand.glob(pattern, $0.name) }.sorted { $0.name < $1.name }
        guard !targets.isEmpty else { throw CommandError("no agent's name matches '\(pattern)'") }
        let needs: OperatorRole = verb == "delete" ? .admin : .operator
        let what = verb == "enable" ? "authorize agents" : "\(verb) agents"
        if refused(what, needs: needs) { throw CommandError(takeMessage()) }
        switch verb {
        case "disable":
            var rest = Array(args.dropFirst())
            var seconds: TimeInterval?
            if let first = rest.first, let s = try? HoldDuration.parse(first) {
                seconds = s
                rest.removeFirst()
            }
            let reason = rest.joined(separator: " ")
            if let p = Validation.reasonProblem(reason) { throw CommandError(p) }
            confirmDisable(uuids: targets.map(\.uuid), reason: reason, seconds: seconds)
            return []
        case "delete":
            guard targets.count == 1, let a = targets.first else {
                throw CommandError("delete takes one agent; '\(pattern)' matches \(targets.count)")
            }
            modal = .confirm(Confirm(
                question: "Delete agent \(a.name)? It registers again as new if it comes back." + impact(removing: [a.uuid]),
                effect: .deleteAgent(uuid: a.uuid, name: a.name), clearsMarks: false))
            return []
        default:
            let todo = targets.filter { $0.configState != .enabled }
            guard !todo.isEmpty else { throw CommandError("every agent matching '\(pattern)' is already authorized") }
            return [.authorize(uuids: todo.map(\.uuid))]
        }
    }

    /// `:cancel ID`, `:rerun ID`, `:log ID`.
    mutating func jobCommand(_ verb: String, _ args: [String]) throws(CommandError) -> [Effect] {
        guard let text = args.first, let id = Int64(text.trimmingCharacters(in: CharacterSet(charactersIn: "#"))) else {
            throw CommandError("\(verb) which job? its id, e.g. \(verb) 42")
        }
        if verb == "log" { return openLog(id, from: view == .agents ? .agents : .jobs) }
        if refused("\(verb) jobs", needs: .operator) { throw CommandError(takeMessage()) }
        if verb == "rerun" { return [.rerunJob(id)] }
        if let j = jobs[id], j.state == .completed { throw CommandError("job \(id) has already finished; nothing to cancel") }
        modal = .confirm(Confirm(question: "Cancel job \(id) \(jobs[id]?.name ?? "")?", effect: .cancelJob(id), clearsMarks: false))
        return []
    }

    /// The message `refused` just set, moved into the command line.
    mutating func takeMessage() -> String {
        defer { message = nil }
        return message?.text ?? "refused"
    }

    /// The keys a job filter may use (`state=building agent=rec-01`); other words match anywhere.
    static let jobFilterKeys = ["state", "agent", "name", "result", "id"]

    /// Why a job filter cannot be used; nil when it can.
    static func jobFilterProblem(_ filter: String) -> String? {
        for term in filter.split(separator: " ") where term.contains("=") {
            let kv = term.split(separator: "=", maxSplits: 1).map(String.init)
            guard jobFilterKeys.contains(kv[0]) else {
                return "unknown filter '\(kv[0])': use \(jobFilterKeys.map { $0 + "=" }.joined(separator: ", "))"
            }
            if kv[0] == "state", kv.count == 2, JobState(rawValue: kv[1]) == nil {
                return "no state '\(kv[1])': \(JobState.allCases.map(\.rawValue).joined(separator: ", "))"
            }
        }
        return nil
    }

    /// True when a job passes every word of a lower-cased filter: `key=value` words compare that field,
    /// other words match id, name, state, result or agent.
    static func jobMatchesTerms(_ j: Job, _ filter: String) -> Bool {
        filter.split(separator: " ").allSatisfy { term in
            let kv = term.split(separator: "=", maxSplits: 1).map(String.init)
            guard kv.count == 2 else { return jobMatches(j, String(term)) }
            switch kv[0] {
            case "state": return j.state.rawValue.lowercased() == kv[1]
            case "agent": return ConsoleCommand.glob(kv[1], (j.agentName ?? "").lowercased())
            case "name": return ConsoleCommand.glob(kv[1], j.name.lowercased()) || j.name.lowercased().contains(kv[1])
            case "result": return j.result?.rawValue == kv[1]
            case "id": return String(j.id) == kv[1]
            default: return jobMatches(j, String(term))
            }
        }
    }
}
