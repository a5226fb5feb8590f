import Foundation
import MonitorModels

/// The screens of the console.
public enum View: Sendable, Equatable, Hashable {
    case agents, jobs, config, audit, log
}

/// Where the cursor is in a list, and the first row shown.
public struct ListCursor: Sendable, Equatable {
    public var index = 0
    public var top = 0
    public init() {}
}

/// The columns the Agents list can be sorted by, in column order: `<` and `>` move, `s` reverses.
public enum AgentSort: String, Sendable, CaseIterable {
    case name, status, kind, host, version, resources, envs, job, lastSeen = "last-seen"
}

/// The columns the Jobs list can be sorted by, in column order (`newest` is the id column).
public enum JobSort: String, Sendable, CaseIterable {
    case newest, name, state, agent, attempt
}

/// A line at the bottom: what just happened, or what went wrong.
public struct Message: Sendable, Equatable {
    public var text: String
    public var isError: Bool
    /// An alert (lost agent, failed job): highlighted until the next message.
    public var isAlert = false
    public init(_ text: String, isError: Bool = false, isAlert: Bool = false) {
        self.text = text
        self.isError = isError
        self.isAlert = isAlert
    }
}

/// A y/n question and what `y` does.
public struct Confirm: Sendable, Equatable {
    public var question: String
    public var effect: Effect
    /// Marks to clear when the operator says yes.
    public var clearsMarks: Bool
}

/// Something that takes the keyboard until it is done.
public enum Modal: Sendable, Equatable {
    case confirm(Confirm)
    case form(Form)
    /// Typing the filter of the current list.
    case filter
    /// Typing a search in the log.
    case search(String)
    /// Typing a `:` command.
    case command(CommandInput)
}

/// Everything on screen. Changed only by `update`; drawn by `render`.
public struct AppState: Sendable, Equatable {
    /// The server this console manages, as shown in the title.
    public var serverURL: String
    /// Set by --read-only: every change is refused with a message.
    public var readOnly: Bool
    /// Whether the events long poll currently reaches the server.
    public var connection: ConnectionState = .connected
    /// The SHA-256 of the agent binary the server offers; the header counts the agents running another.
    public var serverAgentSHA256: String?
    /// The clock for "last seen" and durations (moved by `.tick`).
    public var now: Date
    /// The terminal size (for paging and scrolling).
    public var size: Size
    /// The screen shown.
    public var view: View = .agents
    /// The list the log returns to on Esc.
    public var returnView: View = .jobs
    /// Help is open over the current view.
    public var showHelp = false
    /// The prompt, form or input line that has the keyboard, if any.
    public var modal: Modal?
    /// The status line: the outcome of the last change, or an error.
    public var message: Message?

    /// Every agent the server knows, by uuid.
    public var agents: [String: Agent] = [:]
    /// Agent uuids in display order, filter applied.
    public var agentRows: [String] = []
    public var agentCursor = ListCursor()
    public var agentFilter = ""
    public var agentSort = AgentSort.name
    /// `s` turned the Agents order around.
    public var agentSortReversed = false
    /// Agents marked with Space (a and d act on them).
    public var marked: Set<String> = []
    /// Agents per status, for the header.
    public var agentCounts: [AgentStatus: Int] = [:]

    /// Jobs known to the console (the newest at start, then every job the events mention), by id.
    public var jobs: [Int64: Job] = [:]
    /// Job ids in display order, filter applied.
    public var jobRows: [Int64] = []
    public var jobCursor = ListCursor()
    public var jobFilter = ""
    public var jobSort = JobSort.newest
    public var jobSortReversed = false
    /// Scheduled jobs, and jobs an agent holds, for the header.
    public var jobsWaiting = 0
    public var jobsRunning = 0

    /// Configuration entries by name (loaded when Config opens and after each change).
    public var config: [ConfigEntry] = []
    public var configLoaded = false
    public var configCursor = ListCursor()

    /// The audit log as far as loaded (Audit view), newest first.
    public var audit = AuditState()
    /// Where `E` writes its CSV files (the directory the console was started in).
    public var exportDirectory = FileManager.default.currentDirectoryPath

    /// Ring the terminal bell on an alert (a lost agent, a failed job); `b` toggles, `--no-bell` starts it off.
    public var bell = true

    /// `:` commands run this session, oldest first (Up and Down in the command line walk them).
    public var commandHistory: [String] = []

    /// The detail is open full-screen (`i`, or Enter on an agent, below 140 columns).
    public var detailOpen = false
    /// `→` or a click put the selection on the ssh command line of the job detail (see `sshLineSelected`).
    public var sshSelected = false
    /// The log save (`S`) running, if any.
    public var logSave: LogSaveProgress?
    /// The live log tail of the job the detail shows.
    public var detailTail: DetailTail?
    /// The last jobs of the agent the detail shows, from the server.
    public var agentJobs: AgentJobs?

    /// The last 30 minutes of the queue, for the header sparklines.
    public var history = History()
    /// False when the terminal's locale is not UTF-8 (sparklines are drawn in ASCII).
    public var unicode = true

    /// The operator this console acts as (from GET /whoami); nil when the server predates operators.
    public var me: OperatorIdentity?

    /// The open log, while the Log view is shown.
    public var log: LogState?
    /// The zone log timestamps are shown in (the machine's own; tests fix it).
    public var timeZone = TimeZone.current

    /// A new state for a console talking to `serverURL`.
    public init(serverURL: String, readOnly: Bool = false, now: Date = Date(), size: Size = Size(width: 80, height: 24)) {
        self.serverURL = serverURL
        self.readOnly = readOnly
        self.now = now
        self.size = size
    }

    /// The agent under the cursor.
    public var selectedAgent: Agent? {
        agentRows.indices.contains(agentCursor.index) ? agents[agentRows[agentCursor.index]] : nil
    }

    /// The job under the cursor.
    public var selectedJob: Job? {
        jobRows.indices.contains(jobCursor.index) ? jobs[jobRows[jobCursor.index]] : nil
    }

    /// The configuration entry under the cursor.
    public var selectedEntry: ConfigEntry? {
        config.indices.contains(configCursor.index) ? config[configCursor.index] : nil
    }

    /// The filter of the current list.
    public var currentFilter: String {
        get {
            switch view {
            case .jobs: jobFilter
            case .audit: audit.filter
            default: agentFilter
            }
        }
        set {
            switch view {
            case .jobs: jobFilter = newValue
            case .audit: audit.filter = newValue
            default: agentFilter = newValue
            }
        }
    }
}

/// Screen rows the layout gives to each part; shared by `update` (paging) and `render`.
public enum Layout {
    /// Rows above a list: title, counts, tabs, column header.
    public static let listTop = 4
    /// Rows of list content at this size.
    public static func listHeight(_ size: Size) -> Int { max(1, size.height - listTop - 2) }
    /// Rows of log content at this size (title line, status line, footer).
    public static func logHeight(_ size: Size) -> Int { max(1, size.height - 3) }
}

/// Cleaning of log text for the screen.
public enum LogText {
    /// Removes ANSI escape sequences and carriage returns, expands tabs.
    public static func clean(_ s: String) -> String {
        guard s.contains(where: { $0 == "\u{1B}" || $0 == "\t" || $0 == "\r" }) else { return s }
        var out = ""
        var it = s.unicodeScalars.makeIterator()
        var col = 0
        while let u = it.next() {
            switch u {
            case "\u{1B}":
                // CSI: ESC [ params final-byte; other escapes: skip one more scalar.
                guard let n = it.next() else { break }
                if n == "[" {
                    while let c = it.next(), !(0x40...0x7E).contains(c.value) {}
                }
            case "\t":
                let spaces = 8 - col % 8
                out += String(repeating: " ", count: spaces)
                col += spaces
            case "\r":
                continue
            default:
                out.unicodeScalars.append(u)
                col += 1
            }
        }
        return out
    }
}
