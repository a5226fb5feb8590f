/// A key and the action word shown next to it ("a authorize").
public struct KeyHint: Sendable, Equatable {
    public var key: String
    public var word: String
    public init(_ key: String, _ word: String) {
        self.key = key
        self.word = word
    }
}

/// The key hints of each view: the footer shows the short list, Help the full one.
public enum KeyHints {
    static let always = [KeyHint("?", "help"), KeyHint("q", "quit")]

    /// Footer hints for the current state: `? help` and `q quit` first, then the view's keys
    /// (a prompt or form shows its own keys instead, since it takes the keyboard).
    public static func footer(_ s: AppState) -> [KeyHint] {
        switch s.modal {
        case .confirm: return [KeyHint("y", "yes"), KeyHint("n", "no"), KeyHint("Esc", "cancel")]
        case .form: return [KeyHint("Tab", "next field"), KeyHint("Enter", "next/submit"), KeyHint("Esc", "cancel")]
        case .filter: return [KeyHint("Enter", "keep filter"), KeyHint("Esc", "clear filter")]
        case .search: return [KeyHint("Enter", "search"), KeyHint("Esc", "cancel")]
        case nil: break
        }
        if s.showHelp { return always + [KeyHint("Esc", "close help")] }
        return always + viewKeys(s.view)
    }

    /// The keys of one view with their action words.
    public static func viewKeys(_ v: View) -> [KeyHint] {
        switch v {
        case .agents:
            [KeyHint("a", "authorize"), KeyHint("d", "disable"), KeyHint("x", "delete"), KeyHint("e", "edit"),
             KeyHint("space", "mark"), KeyHint("/", "filter"), KeyHint("s", "sort")]
        case .jobs:
            [KeyHint("n", "new"), KeyHint("c", "cancel"), KeyHint("r", "rerun"), KeyHint("Enter", "log"),
             KeyHint("/", "filter"), KeyHint("s", "sort")]
        case .config:
            [KeyHint("n", "add"), KeyHint("e", "edit"), KeyHint("x", "delete")]
        case .log:
            [KeyHint("f", "follow"), KeyHint("/", "search"), KeyHint("n/N", "match"), KeyHint("w", "wrap"),
             KeyHint("t", "time"), KeyHint("g/G", "top/end"), KeyHint("Esc", "back")]
        }
    }

    /// Help for one view: its keys with longer explanations, then the keys that work everywhere.
    public static func help(_ v: View) -> [(title: String, keys: [KeyHint])] {
        let viewSection: [KeyHint]
        switch v {
        case .agents:
            viewSection = [
                KeyHint("a", "authorize: enable it (or all marked) so it gets work"),
                KeyHint("d", "disable (asks y/n): its job finishes, it gets no new work"),
                KeyHint("x", "delete the agent (asks y/n)"),
                KeyHint("e", "edit resources and environments"),
                KeyHint("n", "add a push agent (mms-agent serve); secret not echoed"),
                KeyHint("space", "mark several agents; a and d act on all marked"),
                KeyHint("/", "filter by name, host, status, resource"),
                KeyHint("s", "sort: name, status, last seen, hostname"),
                KeyHint("Enter", "open the log of the agent's current job"),
                KeyHint("Esc", "clear the filter, then the marks"),
            ]
        case .jobs:
            viewSection = [
                KeyHint("n", "new job: name, commands, resources"),
                KeyHint("c", "cancel the job (asks y/n)"),
                KeyHint("r", "rerun: a new job with the same spec"),
                KeyHint("Enter", "open the job's log full-screen"),
                KeyHint("/", "filter by id, name, state, agent"),
                KeyHint("s", "sort: newest, state, name, agent"),
            ]
        case .config:
            viewSection = [
                KeyHint("n", "add an entry (secret input is not echoed)"),
                KeyHint("e Enter", "edit the entry's value"),
                KeyHint("x", "delete the entry (asks y/n)"),
            ]
        case .log:
            viewSection = [
                KeyHint("f", "follow the tail on/off"),
                KeyHint("/", "search the whole log; matches are highlighted"),
                KeyHint("n / N", "next / previous match (wraps around)"),
                KeyHint("w", "wrap long lines on/off"),
                KeyHint("t", "timestamps: when each line reached the server"),
                KeyHint("g / G", "top / bottom (G follows again)"),
                KeyHint("Esc", "back to the list; cancels a running search"),
            ]
        }
        let global = [
            KeyHint("1 2 3", "Agents, Jobs, Config"),
            KeyHint("Tab", "next view"),
            KeyHint("↑ ↓ j k", "move"),
            KeyHint("PgUp PgDn", "page up / down"),
            KeyHint("Home End", "first / last"),
            KeyHint("?", "help (Esc closes)"),
            KeyHint("q Ctrl-C", "quit"),
        ]
        return [(title(v) + " keys", viewSection), ("Everywhere", global)]
    }

    /// The name of a view as the tabs show it.
    public static func title(_ v: View) -> String {
        switch v {
        case .agents: "Agents"
        case .jobs: "Jobs"
        case .config: "Config"
        case .log: "Log"
        }
    }
}
