import Foundation
import MonitorModels

/// Draws the whole screen for a state: a pure function, so it can be snapshot-tested.
public func render(_ s: AppState, _ size: Size) -> ScreenBuffer {
    var b = ScreenBuffer(size)
    guard size.width > 0, size.height > 0 else { return b }
    if s.view == .log {
        renderLog(s, &b)
    } else {
        renderTitle(s, &b)
        renderCounts(s, &b)
        renderTabs(s, &b)
        switch s.view {
        case .agents, .jobs: renderListAndDetail(s, &b)
        case .audit: renderAudit(s, &b)
        case .config, .log: renderConfig(s, &b)
        }
    }
    if s.showHelp { renderHelp(s, &b) }
    switch s.modal {
    case .confirm(let c): renderConfirm(c, &b)
    case .form(let f): renderForm(f, &b)
    default: break
    }
    renderStatusLine(s, &b)
    renderFooter(s, &b)
    return b
}

/// Agents or Jobs: the list, with the detail beside it from 140 columns, or the detail alone when opened.
func renderListAndDetail(_ s: AppState, _ b: inout ScreenBuffer) {
    let split = DetailLayout.listWidth(b.size)
    if s.detailOpen, split == nil { return renderDetail(s, &b, x: 0, width: b.size.width) }
    if s.view == .jobs { renderJobs(s, &b, width: split) } else { renderAgents(s, &b, width: split) }
    guard let split else { return }
    for y in (Layout.listTop - 1)...max(Layout.listTop - 1, b.size.height - 3) { b.put("│", y: y, x: split, style: .dim) }
    renderDetail(s, &b, x: split + 1, width: b.size.width - split - 1)
}

/// Row 0: product, server, connection state, and jobs waiting/running on the right.
func renderTitle(_ s: AppState, _ b: inout ScreenBuffer) {
    b.fill(y: 0, style: .title)
    var x = b.put(" MMS ", y: 0, x: 0, style: .title)
    let jobs = "jobs: \(s.jobsWaiting) waiting · \(s.jobsRunning) running "
    let w = CharWidth.of(text: jobs)
    let who = s.me.map { " · \($0.name) (\($0.role.rawValue))" } ?? ""
    let whoWidth = min(CharWidth.of(text: who), 28)
    // The server in use (of several, only that one), shortened when long so the connection state, who
    // this is and the job counts still fit.
    x += b.put(" \(s.serverURL.clippedURL(to: max(20, b.size.width - 25 - w - whoWidth))) ", y: 0, x: x, style: .title)
    x += b.put(" ", y: 0, x: x, style: .title)
    switch s.connection {
    case .connected: x += b.put("● connected", y: 0, x: x, style: .title)
    case .reconnecting: x += b.put(" reconnecting… ", y: 0, x: x, style: .bad)
    }
    if !who.isEmpty { x += b.put(who.clipped(to: whoWidth), y: 0, x: x, style: .title) }
    if x + 2 + w <= b.size.width { b.put(jobs, y: 0, x: b.size.width - w, style: .title) }
}

extension String {
    /// A server URL in at most `width` columns: whole when it fits, else without its scheme, else the host cut
    /// short before its port (and path), which tell replicas apart: "mms-replica-01.record…:8765".
    func clippedURL(to width: Int) -> String {
        if CharWidth.of(text: self) <= width { return self }
        let bare = range(of: "://").map { String(self[$0.upperBound...]) } ?? self
        if CharWidth.of(text: bare) <= width { return bare }
        guard let colon = bare.lastIndex(of: ":"), bare[bare.index(after: colon)...].first?.isNumber == true else {
            return bare.clipped(to: width)
        }
        let tail = String(bare[colon...])
        let room = width - CharWidth.of(text: tail)
        return room >= 2 ? String(bare[..<colon]).clipped(to: room) + tail : bare.clipped(to: width)
    }
}

/// Row 1: agent counts by status (coloured), or the reconnecting banner during an outage.
func renderCounts(_ s: AppState, _ b: inout ScreenBuffer) {
    if case .reconnecting(let reason) = s.connection {
        b.fill(y: 1, style: .banner)
        b.put(" reconnecting… \(reason) · showing the last known state", y: 1, x: 0, style: .banner)
        return
    }
    let total = s.agents.count
    var x = b.put(" agents \(total)", y: 1, x: 0, style: .bold)
    let order: [AgentStatus] = [.idle, .building, .preparing, .cancelling, .upgrading, .pending, .disabled, .lostContact, .missing]
    for st in order {
        guard let n = s.agentCounts[st], n > 0 else { continue }
        x += b.put("  ", y: 1, x: x)
        x += b.put("\(n) \(st.displayName)", y: 1, x: x, style: statusStyle(st))
    }
    if let other = s.agentsOnAnotherBinary, other > 0 {
        x += b.put("  ", y: 1, x: x)
        x += b.put("\(other) on another binary than the server's", y: 1, x: x, style: .warning)
    }
    if total == 0 { x += b.put("  (none registered yet)", y: 1, x: x, style: .dim) }
    renderSparklines(s, &b, from: x)
}

/// Row 2: the view tabs, and on the right the filter, sort and marks in effect.
func renderTabs(_ s: AppState, _ b: inout ScreenBuffer) {
    var x = 1
    for (n, v) in [(1, View.agents), (2, .jobs), (3, .config), (4, .audit)] {
        let label = " \(n) \(KeyHints.title(v)) "
        x += b.put(label, y: 2, x: x, style: s.view == v ? .tabActive : .tabInactive)
        x += 1
    }
    var info: [String] = []
    switch s.view {
    case .agents:
        if !s.agentFilter.isEmpty { info.append("filter: \(s.agentFilter)") }
        info.append("sort: \(s.agentSort.rawValue)\(s.agentSortReversed ? " ↑" : "")")
        if !s.marked.isEmpty { info.append("\(s.marked.count) marked") }
        info.append(position(s.agentCursor, s.agentRows.count) + (s.agentFilter.isEmpty ? "" : " of \(s.agents.count)"))
    case .jobs:
        if !s.jobFilter.isEmpty { info.append("filter: \(s.jobFilter)") }
        info.append("sort: \(s.jobSort.rawValue)\(s.jobSortReversed ? " ↑" : "")")
        info.append(position(s.jobCursor, s.jobRows.count) + (s.jobRows.count == 1 ? " job" : " jobs"))
    case .audit:
        if !s.audit.filter.isEmpty { info.append("filter: \(s.audit.filter)") }
        info.append(position(s.audit.cursor, s.audit.rows.count) + " entries")
    case .config, .log:
        info.append(position(s.configCursor, s.config.count) + (s.config.count == 1 ? " entry" : " entries"))
    }
    if s.readOnly { info.insert("READ-ONLY", at: 0) }
    let text = info.joined(separator: " · ") + " "
    let room = b.size.width - x - 1
    if room > 4 {
        let clipped = text.clipped(to: room)
        b.put(clipped, y: 2, x: b.size.width - CharWidth.of(text: clipped), style: .dim)
    }
}

/// "row/rows" of a list ("0/0" when empty): where the cursor is.
func position(_ c: ListCursor, _ count: Int) -> String {
    count == 0 ? "0/0" : "\(min(c.index, count - 1) + 1)/\(count)"
}

/// The line above the footer: the filter or search being typed, or the last message.
func renderStatusLine(_ s: AppState, _ b: inout ScreenBuffer) {
    let y = b.size.height - 2
    guard y > 0 else { return }
    switch s.modal {
    case .filter:
        b.fill(y: y, style: .input)
        let x = b.put(" filter: \(s.currentFilter)", y: y, x: 0, style: .input)
        b.put(" ", y: y, x: x, width: 1, style: .selected)
    case .command(let c):
        b.fill(y: y, style: .input)
        let x = b.put(" :\(c.text)", y: y, x: 0, style: .input)
        b.put(" ", y: y, x: x, width: 1, style: .selected)
        if let e = c.error {
            b.put(" " + e, y: y, x: x + 2, style: .error)
        } else if let h = c.hint {
            b.put(" " + h, y: y, x: x + 2, style: .dim)
        }
    case .search(let text):
        b.fill(y: y, style: .input)
        let x = b.put(" search: \(text)", y: y, x: 0, style: .input)
        b.put(" ", y: y, x: x, width: 1, style: .selected)
    default:
        if s.view == .log, let p = s.log?.searching {
            b.put(" searching \"\(p.request.text)\"… \(Int(p.fraction * 100))%  (Esc cancels)", y: y, x: 0, style: .status)
        } else if s.view == .log, let saving = s.saveStatus {
            b.put(" " + saving, y: y, x: 0, style: .status)
        } else if let m = s.message {
            if m.isAlert { b.fill(y: y, style: .alert) }
            b.put(" " + m.text, y: y, x: 0, style: m.isAlert ? .alert : m.isError ? .error : .status)
        } else if let detail = selectionDetail(s) {
            b.put(" " + detail, y: y, x: 0, style: .dim)
        }
    }
}

/// The last line: key hints, `? help` and `q quit` first; two spaces apart when they fit, else one.
func renderFooter(_ s: AppState, _ b: inout ScreenBuffer) {
    let y = b.size.height - 1
    let hints = KeyHints.footer(s)
    b.fill(y: y, style: .footer)
    let wide = hints.reduce(0) { $0 + CharWidth.of(text: $1.key) + 1 + CharWidth.of(text: $1.word) + 2 }
    let gap = wide <= b.size.width ? 2 : 1
    var x = gap == 2 ? 1 : 0
    for h in hints {
        let need = CharWidth.of(text: h.key) + 1 + CharWidth.of(text: h.word)
        if x + need > b.size.width { break }
        let denied = h.isDenied(to: s.me)
        x += b.put(h.key, y: y, x: x, style: denied ? .denied : .key)
        x += b.put(" " + h.word, y: y, x: x, style: denied ? .denied : .footer)
        x += gap
    }
}

/// The style of an agent status: its colour on colour terminals.
func statusStyle(_ st: AgentStatus) -> Style {
    switch st {
    case .idle: .good
    case .building, .preparing: .active
    case .pending, .cancelling, .upgrading: .warning
    case .lostContact, .missing: .bad
    case .disabled: .muted
    }
}

/// "12s ago", "3m ago", "2h ago", "4d ago", or "never".
func ago(_ date: Date?, now: Date) -> String {
    guard let date else { return "never" }
    let s = max(0, Int(now.timeIntervalSince(date)))
    if s < 60 { return "\(s)s ago" }
    if s < 3600 { return "\(s / 60)m ago" }
    if s < 86400 { return "\(s / 3600)h ago" }
    return "\(s / 86400)d ago"
}

/// "45s", "3m 05s", "2h 14m".
func duration(_ seconds: Int) -> String {
    let s = max(0, seconds)
    if s < 60 { return "\(s)s" }
    if s < 3600 { return "\(s / 60)m \(String(format: "%02d", s % 60))s" }
    return "\(s / 3600)h \(String(format: "%02d", s % 3600 / 60))m"
}

/// What the status line says about the selected row when there is no message: the full text a column may clip.
func selectionDetail(_ s: AppState) -> String? {
    switch s.view {
    case .agents:
        guard let a = s.selectedAgent else { return nil }
        var parts = [a.name, a.status == .pending ? "Pending: press a to authorize" : a.status.displayName]
        if let job = a.currentJobId { parts.append("job \(job) (Enter opens its log)") }
        if !a.resources.isEmpty { parts.append("resources " + a.resources.joined(separator: ",")) }
        if !a.environments.isEmpty { parts.append("env " + a.environments.joined(separator: ",")) }
        parts += [a.ipAddress ?? "", "\(a.os) \(a.version)".trimmingCharacters(in: .whitespaces)]
        if let sha = a.binarySHA256 { parts.append("binary \(sha.prefix(12))") }
        return parts.filter { !$0.isEmpty }.joined(separator: " · ")
    case .jobs:
        guard let j = s.selectedJob else { return nil }
        let what = j.state == .scheduled ? (j.waitingReason ?? "waiting for an agent") : jobDetail(j, now: s.now)
        // The ssh command, unless the detail (which has a line for it) is on screen.
        let ssh = s.detailShown ? nil : j.sshCommand.map { " · ssh: \($0)" }
        return "job \(j.id) \(j.name): \(what)" + (ssh ?? "")
    case .audit:
        guard let e = s.selectedAuditEntry else { return nil }
        return auditLine(e)
    case .config, .log:
        return nil
    }
}
