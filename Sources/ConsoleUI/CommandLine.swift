import Foundation
import MonitorModels

/// The `:` command line being typed: its text, an error from the last Enter, the history position.
public struct CommandInput: Sendable, Equatable {
    public var text = ""
    /// Why the last Enter was refused (shown after the input; the line stays open).
    public var error: String?
    /// What Tab offers when it cannot complete alone.
    public var hint: String?
    /// Index into the history while Up/Down walk it (nil: editing a new line).
    public var historyIndex: Int?
    public init() {}
}

/// The commands of the `:` line and how each is completed.
public enum ConsoleCommand {
    /// Every command word, in the order completion offers them.
    public static let words = [
        "agents", "jobs", "config", "audit", "goto", "sort", "filter", "authorize", "enable", "disable", "delete",
        "cancel", "rerun", "log", "export", "bell", "help", "quit",
    ]

    /// What Tab makes of `text`: the longest common completion of its last word (command, agent name,
    /// sort column or job filter key), and the candidates when there are several.
    public static func complete(_ text: String, _ s: AppState) -> (text: String, candidates: [String]) {
        let parts = text.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
        let last = parts.last ?? ""
        let options: [String]
        if parts.count <= 1 {
            options = words
        } else {
            switch parts[0] {
            case "authorize", "enable", "disable", "delete", "agents":
                options = parts.count == 2 ? s.agents.values.map(\.name).sorted() : []
            case "sort":
                options = s.view == .jobs ? JobSort.allCases.map(\.rawValue) : AgentSort.allCases.map(\.rawValue)
            case "jobs":
                options = ["state=", "agent=", "name=", "result="] + JobState.allCases.map { "state=\($0.rawValue)" }
                    + JobResult.allCases.map { "result=\($0.rawValue)" } + s.agents.values.map { "agent=\($0.name)" }.sorted()
            default:
                options = []
            }
        }
        let matches = options.filter { $0.hasPrefix(last) }
        guard let first = matches.first else { return (text, []) }
        var common = first
        for m in matches.dropFirst() { while !m.hasPrefix(common) { common.removeLast() } }
        let suffix = matches.count == 1 && !first.hasSuffix("=") ? " " : ""
        let head = parts.dropLast().joined(separator: " ")
        return ((head.isEmpty ? "" : head + " ") + common + suffix, matches.count > 1 ? matches : [])
    }

    /// True when `name` matches a shell-style pattern (`*` any run, `?` one character); case-sensitive.
    public static func glob(_ pattern: String, _ name: String) -> Bool {
        let p = Array(pattern), n = Array(name)
        var pi = 0, ni = 0, star = -1, mark = 0
        while ni < n.count {
            if pi < p.count, p[pi] == "?" || p[pi] == n[ni] {
                pi += 1; ni += 1
            } else if pi < p.count, p[pi] == "*" {
                star = pi; mark = ni; pi += 1
            } else if star >= 0 {
                pi = star + 1; mark += 1; ni = mark
            } else {
                return false
            }
        }
        while pi < p.count, p[pi] == "*" { pi += 1 }
        return pi == p.count
    }
}
