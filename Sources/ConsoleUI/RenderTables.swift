import Foundation
import MonitorModels

/// A table column: its title, how narrow and wide it may get, and how much it matters when space is short.
struct Column {
    var title: String
    var min: Int
    var max: Int
    var priority: Int
}

/// Which columns fit in `width` (dropping the least important first) and how wide each one is.
func layoutColumns(_ cols: [Column], width: Int, gap: Int = 1) -> [(index: Int, x: Int, width: Int)] {
    var keep = Array(cols.indices)
    func need(_ k: [Int]) -> Int { k.reduce(0) { $0 + cols[$1].min } + gap * max(0, k.count - 1) }
    while need(keep) > width, keep.count > 1 {
        guard let drop = keep.min(by: { cols[$0].priority < cols[$1].priority }) else { break }
        keep.removeAll { $0 == drop }
    }
    var widths = keep.map { cols[$0].min }
    var spare = width - need(keep)
    // Spare columns go to the most important columns first, each up to its maximum.
    let order = keep.indices.sorted { (-cols[keep[$0]].priority, $0) < (-cols[keep[$1]].priority, $1) }
    for i in order where spare > 0 {
        let add = min(spare, cols[keep[i]].max - widths[i])
        widths[i] += add
        spare -= add
    }
    var x = 0
    return keep.enumerated().map { i, c in
        defer { x += widths[i] + gap }
        return (c, x, widths[i])
    }
}

/// Puts the sort direction after the title of the column the list is sorted by.
func markSorted(_ columns: inout [Column], _ index: Int, reversed: Bool, unicode: Bool) {
    guard columns.indices.contains(index) else { return }
    columns[index].title += unicode ? (reversed ? "▲" : "▼") : (reversed ? "^" : "v")
    let need = CharWidth.of(text: columns[index].title)
    columns[index].min = max(columns[index].min, need)
    columns[index].max = max(columns[index].max, need)
}

/// Draws a list: column headers on row 3, then the visible rows only (so 10,000 rows cost what 20 do).
func renderTable(
    _ b: inout ScreenBuffer, columns: [Column], count: Int, cursor: ListCursor, empty: String,
    cells: (Int) -> [(String, Style)], rowStyle: (Int, Bool) -> Style, span: (Int) -> RowSpan? = { _ in nil },
    width: Int? = nil
) {
    let full = width ?? b.size.width
    let layout = layoutColumns(columns, width: full - 1)
    b.fill(y: Layout.listTop - 1, width: full, style: .columnHeader)
    for col in layout {
        b.put(columns[col.index].title, y: Layout.listTop - 1, x: col.x + 1, width: col.width, style: .columnHeader)
    }
    let height = min(Layout.listHeight(b.size), b.size.height - Layout.listTop - 2)
    guard count > 0 else {
        if height > 1 { b.put("  " + empty, y: Layout.listTop + 1, x: 0, style: .dim) }
        return
    }
    let c = AppState.scrolled(cursor, count: count, height: max(1, height))
    for r in 0..<max(0, height) {
        let i = c.top + r
        guard i < count else { break }
        let y = Layout.listTop + r
        let selected = i == c.index
        let base = rowStyle(i, selected)
        b.fill(y: y, width: full, style: base)
        let values = cells(i)
        for col in layout {
            let (text, style) = values[col.index]
            let s = selected || style == .normal ? base : style
            b.put(text.clipped(to: col.width), y: y, x: col.x + 1, width: col.width, style: s)
        }
        if let sp = span(i) { drawSpan(&b, sp, layout: layout, y: y, style: selected ? base : sp.style, base: base) }
    }
}

/// Text drawn across several neighbouring columns of one row (a disabled agent's who, why and until).
struct RowSpan {
    /// The first and last column (indices into the table's columns) the text may cover.
    var columns: ClosedRange<Int>
    var text: String
    var style: Style
}

/// Draws a span over whichever of its columns are shown; nothing when none is.
func drawSpan(_ b: inout ScreenBuffer, _ sp: RowSpan, layout: [(index: Int, x: Int, width: Int)], y: Int, style: Style, base: Style) {
    let shown = layout.filter { sp.columns.contains($0.index) }
    guard let first = shown.first, let last = shown.last else { return }
    let width = last.x + last.width - first.x
    b.fill(y: y, x: first.x + 1, width: width, style: base)
    b.put(sp.text.clipped(to: width), y: y, x: first.x + 1, width: width, style: style)
}

func renderAgents(_ s: AppState, _ b: inout ScreenBuffer, width: Int? = nil) {
    var columns = [
        Column(title: "", min: 1, max: 1, priority: 100),
        Column(title: "NAME", min: 12, max: 20, priority: 10),
        Column(title: "STATUS", min: 12, max: 12, priority: 9),
        Column(title: "KIND", min: 4, max: 4, priority: 6),
        Column(title: "HOST", min: 10, max: 22, priority: 6),
        Column(title: "VERSION", min: 7, max: 8, priority: 3),
        Column(title: "RESOURCES", min: 10, max: 20, priority: 5),
        Column(title: "ENVS", min: 8, max: 16, priority: 4),
        Column(title: "JOB", min: 6, max: 8, priority: 8),
        Column(title: "LAST SEEN", min: 9, max: 9, priority: 7),
    ]
    markSorted(&columns, (AgentSort.allCases.firstIndex(of: s.agentSort) ?? 0) + 1, reversed: s.agentSortReversed, unicode: s.unicode)
    let empty = s.agents.isEmpty
        ? "No agents yet. Start one with: mms-agent start --server \(s.serverURL)"
        : "No agent matches \"\(s.agentFilter)\" (Esc clears the filter)"
    renderTable(&b, columns: columns, count: s.agentRows.count, cursor: s.agentCursor, empty: empty, cells: { i in
        guard let a = s.agents[s.agentRows[i]] else { return Array(repeating: ("", .normal), count: columns.count) }
        return [
            (s.marked.contains(a.uuid) ? "*" : " ", .bold),
            (a.name, .normal),
            (a.status.displayName, statusStyle(a.status)),
            (a.kind.rawValue, .normal),
            (a.hostname, .normal),
            (a.version, .normal),
            (a.resources.joined(separator: ","), .normal),
            (a.environments.joined(separator: ","), .normal),
            (a.currentJobId.map { "#\($0)" } ?? "-", .normal),
            (ago(a.lastSeenAt, now: s.now), .normal),
        ]
    }, rowStyle: { i, selected in
        let marked = s.marked.contains(s.agentRows[i])
        return selected ? (marked ? .selectedMarked : .selected) : (marked ? .marked : .normal)
    }, span: { i in
        guard let a = s.agents[s.agentRows[i]], let hold = holdText(a, now: s.now) else { return nil }
        return RowSpan(columns: 3...7, text: hold, style: .muted)  // over KIND, HOST, VERSION, RESOURCES, ENVS
    }, width: width)
}

/// "alice: replacing disks · 1h 58m left" (by whom: why · until when) for an agent disabled with a reason
/// or an end; nil otherwise (then the row shows its host and resources as usual).
func holdText(_ a: Agent, now: Date) -> String? {
    guard a.configState == .disabled, a.disabledBy != nil || a.disabledReason != nil || a.disabledUntil != nil else { return nil }
    var parts: [String] = []
    let by = a.disabledBy.map { "by \($0)" }
    if let reason = a.disabledReason, !reason.isEmpty {
        parts.append((a.disabledBy.map { $0 + ": " } ?? "") + reason)
    } else if let by {
        parts.append(by)
    }
    if let until = a.disabledUntil {
        parts.append(until > now ? "\(HoldDuration.said(until.timeIntervalSince(now))) left" : "enabling…")
    } else {
        parts.append("until enabled")
    }
    return parts.joined(separator: " · ")
}

func renderJobs(_ s: AppState, _ b: inout ScreenBuffer, width: Int? = nil) {
    var columns = [
        Column(title: "ID", min: 6, max: 6, priority: 10),
        Column(title: "NAME", min: 12, max: 16, priority: 9),
        Column(title: "STATE", min: 11, max: 11, priority: 9),
        Column(title: "AGENT", min: 10, max: 16, priority: 6),
        Column(title: "TRY", min: 3, max: 3, priority: 5),
        Column(title: "WAITING REASON / TIME", min: 20, max: 60, priority: 8),
    ]
    markSorted(&columns, JobSort.allCases.firstIndex(of: s.jobSort) ?? 0, reversed: s.jobSortReversed, unicode: s.unicode)
    let empty = s.jobs.isEmpty ? "No jobs yet. Press n to create one." : "No job matches \"\(s.jobFilter)\" (Esc clears the filter)"
    renderTable(&b, columns: columns, count: s.jobRows.count, cursor: s.jobCursor, empty: empty, cells: { i in
        guard let j = s.jobs[s.jobRows[i]] else { return Array(repeating: ("", .normal), count: columns.count) }
        let (state, style) = jobStateText(j)
        return [
            (String(j.id), .normal), (j.name, .normal), (state, style),
            (j.agentName ?? "-", .normal), (String(j.attempt), .normal), (jobDetail(j, now: s.now), .normal),
        ]
    }, rowStyle: { _, selected in selected ? .selected : .normal }, width: width)
}

/// The state column of a job: its result once completed, else its state.
func jobStateText(_ j: Job) -> (String, Style) {
    switch (j.state, j.result) {
    case (.completed, .passed?): ("passed", .good)
    case (.completed, .failed?): (j.exitCode.map { "failed (\($0))" } ?? "failed", .bad)
    case (.completed, .cancelled?): ("cancelled", .warning)
    case (.completed, nil): ("completed", .normal)
    case (.scheduled, _): ("scheduled", .warning)
    case (.cancelling, _): ("cancelling", .warning)
    case (let st, _): (st.rawValue, .active)
    }
}

/// Why a scheduled job waits, how long a running job has run, or how a finished one ended.
func jobDetail(_ j: Job, now: Date) -> String {
    switch j.state {
    case .scheduled:
        return j.waitingReason ?? "waiting for an agent"
    case .completed:
        let took = (j.startedAt ?? j.assignedAt).flatMap { s in j.finishedAt.map { duration(Int($0.timeIntervalSince(s))) } }
        let parts = [took.map { "took \($0)" }, j.failureReason].compactMap { $0 }
        return parts.isEmpty ? "finished \(ago(j.finishedAt, now: now))" : parts.joined(separator: " · ")
    case .assigned:
        return "handed to the agent \(ago(j.assignedAt ?? j.createdAt, now: now))"
    case .preparing, .building, .cancelling:
        let since = j.startedAt ?? j.assignedAt ?? j.createdAt
        let verb = j.state == .cancelling ? "cancelling, ran" : "running"
        return "\(verb) \(duration(Int(now.timeIntervalSince(since))))"
    }
}

func renderConfig(_ s: AppState, _ b: inout ScreenBuffer) {
    let columns = [
        Column(title: "NAME", min: 12, max: 20, priority: 10),
        Column(title: "SECRET", min: 6, max: 6, priority: 8),
        Column(title: "VALUE", min: 20, max: 80, priority: 9),
        Column(title: "UPDATED", min: 16, max: 16, priority: 5),
    ]
    let empty = s.configLoaded ? "No configuration entries. Press n to add one." : "loading…"
    let format = DateFormatter()
    format.dateFormat = "yyyy-MM-dd HH:mm"
    format.timeZone = TimeZone(identifier: "UTC")
    renderTable(&b, columns: columns, count: s.config.count, cursor: s.configCursor, empty: empty, cells: { i in
        let e = s.config[i]
        let value = e.secret ? "••••••••" : (e.value ?? "").replacingOccurrences(of: "\n", with: "↵")
        return [(e.name, .normal), (e.secret ? "secret" : "", .warning), (value, e.secret ? .dim : .normal),
                (format.string(from: e.updatedAt), .normal)]
    }, rowStyle: { _, selected in selected ? .selected : .normal })
}
