import Foundation
import MonitorModels

/// A line of the detail: a label (may be empty) and a value, or a heading.
struct DetailLine {
    var label: String
    var value: String
    var style: Style = .normal
    var heading = false

    static func heading(_ text: String, _ style: Style = .bold) -> DetailLine {
        DetailLine(label: "", value: text, style: style, heading: true)
    }
}

/// The detail of the selected agent or job in the rectangle x..<x+width, rows from the column header
/// row to above the status line; the job's live log tail fills what is left.
func renderDetail(_ s: AppState, _ b: inout ScreenBuffer, x: Int, width: Int) {
    let top = Layout.listTop - 1, bottom = b.size.height - 3
    guard width > 10, bottom >= top else { return }
    var lines: [DetailLine]
    var tail: [String] = []
    switch s.view {
    case .jobs:
        guard let j = s.selectedJob else {
            b.put(" no job selected", y: top, x: x, width: width, style: .dim)
            return
        }
        lines = jobDetailLines(j, s)
        if s.detailTail?.jobId == j.id { tail = s.detailTail?.lines ?? [] }
    default:
        guard let a = s.selectedAgent else {
            b.put(" no agent selected", y: top, x: x, width: width, style: .dim)
            return
        }
        lines = agentDetailLines(a, s)
        if let id = a.currentJobId, s.detailTail?.jobId == id { tail = s.detailTail?.lines ?? [] }
    }
    var y = top
    for line in lines where y <= bottom {
        drawDetailLine(line, &b, y: y, x: x, width: width)
        y += 1
    }
    let room = bottom - y + 1
    guard room > 0, !tail.isEmpty || s.detailJobId != nil else { return }
    for line in tail.suffix(room) {
        b.put(" " + line, y: y, x: x, width: width, style: .normal)
        y += 1
    }
}

func drawDetailLine(_ line: DetailLine, _ b: inout ScreenBuffer, y: Int, x: Int, width: Int) {
    if line.heading {
        b.fill(y: y, x: x, width: width, style: .columnHeader)
        b.put(" " + line.value, y: y, x: x, width: width, style: line.style == .bold ? .columnHeader : line.style)
        return
    }
    let labelWidth = 11
    b.put(" " + line.label, y: y, x: x, width: labelWidth, style: .dim)
    b.put(line.value, y: y, x: x + labelWidth, width: width - labelWidth, style: line.style)
}

/// Every field of an agent, its hold, its last 20 jobs and the flaky flag.
func agentDetailLines(_ a: Agent, _ s: AppState) -> [DetailLine] {
    var out: [DetailLine] = [.heading("\(a.name) · \(a.status.displayName)", statusStyle(a.status) == .normal ? .bold : statusStyle(a.status))]
    out.append(DetailLine(label: "uuid", value: a.uuid))
    out.append(DetailLine(label: "kind", value: a.kind.rawValue + (a.url.map { " · \($0)" } ?? "")))
    out.append(DetailLine(label: "host", value: [a.hostname, a.ipAddress ?? ""].filter { !$0.isEmpty }.joined(separator: " · ")))
    let system = [a.os.isEmpty ? nil : a.os, a.version.isEmpty ? nil : "version \(a.version)", a.containerRuntime].compactMap { $0 }
    out.append(DetailLine(label: "os", value: system.isEmpty ? "-" : system.joined(separator: " · ")))
    if let sha = a.binarySHA256 {
        let other = s.serverAgentSHA256.map { $0 != sha ? " · the server offers \($0.prefix(12))" : " · the server's" } ?? ""
        out.append(DetailLine(label: "binary", value: "SHA-256 \(sha.prefix(12))" + other, style: other.hasPrefix(" · the server offers") ? .warning : .normal))
    }
    out.append(DetailLine(label: "resources", value: a.resources.isEmpty ? "-" : a.resources.joined(separator: ", ")))
    out.append(DetailLine(label: "envs", value: a.environments.isEmpty ? "-" : a.environments.joined(separator: ", ")))
    out.append(DetailLine(label: "config", value: a.configState.rawValue + (holdText(a, now: s.now).map { " · \($0)" } ?? ""),
                          style: a.configState == .disabled ? .muted : .normal))
    out.append(DetailLine(label: "seen", value: "\(ago(a.lastSeenAt, now: s.now)) · registered \(ago(a.registeredAt, now: s.now))"))
    if let free = a.freeSpaceBytes { out.append(DetailLine(label: "disk", value: "\(byteSize(free)) free")) }
    let fetched = s.agentJobs?.uuid == a.uuid ? s.agentJobs : nil
    let record = AgentRecord(a, jobs: s.jobs, fetched: fetched?.jobs ?? [])
    if record.flaky {
        out.append(DetailLine(label: "flaky", value: "\(record.suspectFailures) of its last 50 jobs failed where the same job passed on another agent", style: .bad))
    }
    out.append(.heading("Last \(record.recent.count) jobs"))
    if let e = fetched?.error { out.append(DetailLine(label: "", value: "from this console's jobs only: \(e)", style: .dim)) }
    if record.recent.isEmpty {
        out.append(DetailLine(label: "", value: fetched?.inFlight == true ? "reading…" : "none", style: .dim))
    }
    for j in record.recent {
        let (state, style) = jobStateText(j)
        out.append(DetailLine(label: "#\(j.id)", value: "\(j.name.padded(to: 18)) \(state.padded(to: 12)) \(jobTook(j, now: s.now))", style: style))
    }
    if let id = a.currentJobId { out.append(.heading("Log of job \(id) (live)")) }
    return out
}

/// A job's spec, attempts, waiting reason, ssh command, then a heading above its live log tail.
func jobDetailLines(_ j: Job, _ s: AppState) -> [DetailLine] {
    let (state, style) = jobStateText(j)
    var out: [DetailLine] = [.heading("#\(j.id) \(j.name) · \(state)", style == .normal ? .bold : style)]
    out.append(DetailLine(label: "agent", value: (j.agentName ?? "-") + " · attempt \(j.attempt)"))
    var times = ["created \(ago(j.createdAt, now: s.now))"]
    if let at = j.startedAt { times.append("started \(ago(at, now: s.now))") }
    if let at = j.finishedAt { times.append("finished \(ago(at, now: s.now))") }
    out.append(DetailLine(label: "time", value: times.joined(separator: " · ")))
    if j.state == .scheduled { out.append(DetailLine(label: "waiting", value: j.waitingReason ?? "for an agent", style: .warning)) }
    if j.state != .scheduled { out.append(DetailLine(label: "status", value: jobDetail(j, now: s.now))) }
    if let ssh = j.sshCommand, !ssh.isEmpty {
        out.append(DetailLine(label: "ssh", value: ssh, style: s.sshLineSelected && s.selectedJob?.id == j.id ? .selected : .bold))
    }
    var needs = j.spec.resources.isEmpty ? "any agent" : j.spec.resources.joined(separator: ", ")
    if let env = j.spec.environment { needs += " · env \(env)" }
    out.append(DetailLine(label: "needs", value: needs))
    if !j.spec.secrets.isEmpty { out.append(DetailLine(label: "secrets", value: j.spec.secrets.joined(separator: ", "))) }
    out.append(DetailLine(label: "timeout", value: duration(j.spec.timeoutSeconds)))
    for (i, c) in j.spec.commands.prefix(5).enumerated() {
        out.append(DetailLine(label: i == 0 ? "commands" : "", value: "$ " + c))
    }
    if j.spec.commands.count > 5 { out.append(DetailLine(label: "", value: "… \(j.spec.commands.count - 5) more", style: .dim)) }
    out.append(.heading(j.state == .scheduled ? "Log (nothing yet)" : "Log (live tail; Enter opens it)"))
    return out
}

/// "3m 05s" a job took or has run so far; "" before it started.
func jobTook(_ j: Job, now: Date) -> String {
    guard let start = j.startedAt ?? j.assignedAt else { return "" }
    return duration(Int((j.finishedAt ?? now).timeIntervalSince(start)))
}
