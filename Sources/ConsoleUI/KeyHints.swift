import MonitorModels

/// A key and the action word shown next to it ("a authorize").
public struct KeyHint: Sendable, Equatable {
    public var key: String
    public var word: String
    /// The role the key's action needs (nil: any role); shown dimmed to operators without it.
    public var needs: OperatorRole?
    public init(_ key: String, _ word: String, needs: OperatorRole? = nil) {
        self.key = key
        self.word = word
        self.needs = needs
    }

    /// True when `me` may not use this key (no operator known: every key is allowed).
    public func isDenied(to me: OperatorIdentity?) -> Bool {
        guard let needs, let me else { return false }
        return me.role < needs
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
        case .command: return [KeyHint("Enter", "run"), KeyHint("Tab", "complete"), KeyHint("↑↓", "history"), KeyHint("Esc", "close")]
        case nil: break
        }
        if s.showHelp { return always + [KeyHint("Esc", "close help")] }
        if s.detailOpen, s.view == .agents || s.view == .jobs, DetailLayout.listWidth(s.size) == nil {
            return always + [KeyHint("Esc", "close detail"), KeyHint("Enter", "job log"), KeyHint("↑↓", "next"), KeyHint("y", "copy")]
        }
        return always + viewKeys(s.view)
    }

    /// The keys of one view with their action words.
    public static func viewKeys(_ v: View) -> [KeyHint] {
        switch v {
        case .agents:
            [KeyHint("a", "authorize", needs: .operator), KeyHint("d", "disable", needs: .operator),
             KeyHint("x", "delete", needs: .admin), KeyHint("e", "edit", needs: .operator),
             KeyHint("space", "mark"), KeyHint("/", "filter"), KeyHint("<>", "sort")]
        case .jobs:
            [KeyHint("n", "new", needs: .operator), KeyHint("c", "cancel", needs: .operator),
             KeyHint("r", "rerun", needs: .operator), KeyHint("Enter", "log"), KeyHint("/", "filter"), KeyHint("<>", "sort"),
             KeyHint("i", "detail")]
        case .config:
            [KeyHint("n", "add", needs: .admin), KeyHint("e", "edit", needs: .admin), KeyHint("x", "delete", needs: .admin)]
        case .audit:
            [KeyHint("/", "filter"), KeyHint("Esc", "clear filter")]
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
                KeyHint("a", "authorize: enable it (or all marked) so it gets work", needs: .operator),
                KeyHint("d", "disable: reason, how long, y/n; its job finishes", needs: .operator),
                KeyHint("x", "delete the agent (asks y/n)", needs: .admin),
                KeyHint("e", "edit resources and environments", needs: .operator),
                KeyHint("n", "add a push agent (mms-agent serve); secret not echoed", needs: .admin),
                KeyHint("space", "mark several agents; a and d act on all marked"),
                KeyHint("/", "filter by name, host, status, resource"),
                KeyHint("< > s", "sort by the previous / next column; s reverses"),
                KeyHint("Enter i", "detail: last 20 jobs, flaky flag (Enter: job log)"),
                KeyHint("Esc", "clear the filter, then the marks"),
            ]
        case .jobs:
            viewSection = [
                KeyHint("n", "new job: name, commands, resources", needs: .operator),
                KeyHint("c", "cancel the job (asks y/n)", needs: .operator),
                KeyHint("r", "rerun: a new job with the same spec", needs: .operator),
                KeyHint("Enter", "open the job's log full-screen"),
                KeyHint("/", "filter: words, or state= agent= name= result="),
                KeyHint("< > s", "sort by the previous / next column; s reverses"),
                KeyHint("i", "detail: spec, attempts, ssh command, live log"),
            ]
        case .config:
            viewSection = [
                KeyHint("n", "add an entry (secret input is not echoed)", needs: .admin),
                KeyHint("e Enter", "edit the entry's value", needs: .admin),
                KeyHint("x", "delete the entry (asks y/n)", needs: .admin),
            ]
        case .audit:
            viewSection = [
                KeyHint("/", "filter by actor, action, target, reason"),
                KeyHint("Esc", "clear the filter"),
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
            KeyHint("1-4 Tab", "Agents, Jobs, Config, Audit; Tab the next"),
            KeyHint("↑↓ jk", "move; PgUp PgDn page; Home End first / last"),
            KeyHint(":", "command line (Tab completes, ↑ history)"),
            KeyHint("E y", "export the list as CSV; copy id / uuid / line"),
            KeyHint("b", "bell on lost agents and failed jobs on/off"),
            KeyHint("? q", "help (Esc closes); quit (Ctrl-C too)"),
        ]
        return [(title(v) + " keys", viewSection), ("Everywhere", global)]
    }

    /// The name of a view as the tabs show it.
    public static func title(_ v: View) -> String {
        switch v {
        case .agents: "Agents"
        case .jobs: "Jobs"
        case .config: "Config"
        case .audit: "Audit"
        case .log: "Log"
        }
    }
}
