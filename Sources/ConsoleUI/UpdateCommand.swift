import Foundation
import MonitorModels

/// Why a `:` command was refused, shown after the input.
struct CommandError: Error {
    var message: String
    init(_ message: String) { self.message = message }
}

extension AppState {
    /// Keys while the `:` line is open: typing, Tab completes, Up/Down walk the history, Enter runs, Esc closes.
    mutating func commandKey(_ key: Key, _ input: CommandInput) -> [Effect] {
        var c = input
        switch key {
        case .escape:
            modal = nil
            return []
        case .enter:
            return runCommandLine(c)
        case .tab:
            let (text, candidates) = ConsoleCommand.complete(c.text, self)
            c.text = text
            c.error = nil
            c.hint = candidates.isEmpty ? nil : candidates.prefix(12).joined(separator: " ")
        case .up, .down:
            guard !commandHistory.isEmpty else { return [] }
            let i = c.historyIndex ?? commandHistory.count
            let next = max(0, min(commandHistory.count, i + (key == .up ? -1 : 1)))
            c.historyIndex = next
            c.text = next < commandHistory.count ? commandHistory[next] : ""
        case .backspace, .delete:
            if !c.text.isEmpty { c.text.removeLast() }
            c.error = nil
            c.hint = nil
        case .char(let ch):
            c.text.append(ch)
            c.error = nil
            c.hint = nil
        default:
            return []
        }
        modal = .command(c)
        return []
    }

    /// Runs the typed line; an error keeps the line open with the message after it.
    mutating func runCommandLine(_ input: CommandInput) -> [Effect] {
        var c = input
        let text = c.text.trimmingCharacters(in: .whitespaces)
        guard !text.isEmpty else { modal = nil; return [] }
        if commandHistory.last != text { commandHistory.append(text) }
        if commandHistory.count > 100 { commandHistory.removeFirst() }
        modal = nil
        do {
            let effects = try runCommand(text)
            return effects
        } catch {
            c.error = error.message
            c.historyIndex = nil
            modal = .command(c)
            return []
        }
    }

    /// One command: views and navigation, then changes (each checked against the role like its key).
    mutating func runCommand(_ text: String) throws(CommandError) -> [Effect] {
        let words = text.split(separator: " ").map(String.init)
        let verb = words[0].hasPrefix(":") ? String(words[0].dropFirst()) : words[0]
        let args = Array(words.dropFirst())
        let rest = args.joined(separator: " ")
        switch verb {
        case "agents": return showList(.agents, filter: rest)
        case "jobs":
            if let p = Self.jobFilterProblem(rest) { throw CommandError(p) }
            return showList(.jobs, filter: rest)
        case "config": return switchTo(.config)
        case "audit": return showList(.audit, filter: rest)
        case "filter":
            guard [.agents, .jobs, .audit].contains(view) else { throw CommandError("this view has no filter") }
            return showList(view, filter: rest)
        case "goto": return try goto(rest)
        case "sort": return try sortCommand(args)
        case "authorize", "enable", "disable", "delete": return try agentCommand(verb, args)
        case "cancel", "rerun", "log": return try jobCommand(verb, args)
        case "help": showHelp = true; return []
        case "quit", "q": return [.quit]
        default:
            let near = ConsoleCommand.words.filter { $0.hasPrefix(String(verb.prefix(2))) }
            throw CommandError("unknown command '\(verb)'" + (near.isEmpty ? "; Tab lists the commands" : "; did you mean \(near.joined(separator: ", "))?"))
        }
    }

    /// Shows a list view with `filter` applied (and the cursor at its top).
    mutating func showList(_ v: View, filter: String) -> [Effect] {
        let effects = view == v ? [] : switchTo(v)
        view = v
        currentFilter = filter
        switch v {
        case .jobs: jobCursor = ListCursor(); recomputeJobs()
        case .audit: audit.cursor = ListCursor(); recomputeAudit()
        default: agentCursor = ListCursor(); recomputeAgents()
        }
        return effects
    }

    /// `:goto 42` selects job 42; `:goto rec-01` the agent of that name (filters are cleared when they hide it).
    mutating func goto(_ target: String) throws(CommandError) -> [Effect] {
        if let id = Int64(target.trimmingCharacters(in: CharacterSet(charactersIn: "#"))), jobs[id] != nil {
            var effects = showList(.jobs, filter: "")
            if let i = jobRows.firstIndex(of: id) { jobCursor = Self.scrolled(ListCursor(index: i, top: jobCursor.top), count: jobRows.count, height: Layout.listHeight(size)) }
            effects += []
            return effects
        }
        if let a = agents.values.first(where: { $0.name == target }) {
            let effects = showList(.agents, filter: "")
            if let i = agentRows.firstIndex(of: a.uuid) { agentCursor = Self.scrolled(ListCursor(index: i, top: agentCursor.top), count: agentRows.count, height: Layout.listHeight(size)) }
            return effects
        }
        throw CommandError(target.isEmpty ? "goto what? a job id or an agent name" : "no job or agent '\(target)' is known to this console")
    }

    /// `:sort COLUMN [reverse]` on the Agents or Jobs list.
    mutating func sortCommand(_ args: [String]) throws(CommandError) -> [Effect] {
        guard let column = args.first else { throw CommandError("sort by what? Tab lists the columns") }
        let reversed = args.dropFirst().contains { ["reverse", "rev", "desc", "reversed"].contains($0) }
        switch view {
        case .jobs:
            guard let sort = JobSort(rawValue: column) else {
                throw CommandError("jobs sort by \(JobSort.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            jobSort = sort
            jobSortReversed = reversed
            recomputeJobs()
        case .agents:
            guard let sort = AgentSort(rawValue: column) else {
                throw CommandError("agents sort by \(AgentSort.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            agentSort = sort
            agentSortReversed = reversed
            recomputeAgents()
        default:
            throw CommandError("only the Agents and Jobs lists sort")
        }
        message = Message("sorted by \(column)\(reversed ? ", reversed" : "")")
        return []
    }
}
