import Foundation
import MonitorModels

/// `E`: the current list (filter applied, in its order) as CSV, RFC 4180.
enum CSVExport {
    /// One field, quoted when it holds a comma, a quote or a line break.
    static func field(_ s: String) -> String {
        s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
    }

    static func table(_ header: [String], _ rows: [[String]]) -> String {
        ([header] + rows).map { $0.map(field).joined(separator: ",") }.joined(separator: "\r\n") + "\r\n"
    }

    static func date(_ d: Date?) -> String { d.map(RFC3339.format) ?? "" }
}

extension AppState {
    /// The CSV of the list on screen and how many rows it has; nil in the log.
    func exportCSV() -> (name: String, csv: String, rows: Int)? {
        switch view {
        case .agents:
            let rows = agentRows.compactMap { agents[$0] }.map { a in
                [a.name, a.status.displayName, a.configState.rawValue, a.hostname, a.version, a.resources.joined(separator: " "),
                 a.environments.joined(separator: " "), a.currentJobId.map(String.init) ?? "", CSVExport.date(a.lastSeenAt), a.uuid,
                 a.disabledBy ?? "", a.disabledReason ?? "", CSVExport.date(a.disabledUntil)]
            }
            return ("agents", CSVExport.table(["name", "status", "config", "host", "version", "resources", "environments", "job",
                                               "last_seen", "uuid", "disabled_by", "disabled_reason", "disabled_until"], rows), rows.count)
        case .jobs:
            let rows = jobRows.compactMap { jobs[$0] }.map { j in
                [String(j.id), j.name, j.state.rawValue, j.result?.rawValue ?? "", j.exitCode.map(String.init) ?? "", j.agentName ?? "",
                 String(j.attempt), CSVExport.date(j.createdAt), CSVExport.date(j.startedAt), CSVExport.date(j.finishedAt), j.waitingReason ?? ""]
            }
            return ("jobs", CSVExport.table(["id", "name", "state", "result", "exit_code", "agent", "attempt", "created_at", "started_at",
                                             "finished_at", "waiting_reason"], rows), rows.count)
        case .config:
            let rows = config.map { [$0.name, $0.secret ? "yes" : "no", $0.secret ? "" : ($0.value ?? ""), CSVExport.date($0.updatedAt)] }
            return ("config", CSVExport.table(["name", "secret", "value", "updated_at"], rows), rows.count)
        case .audit:
            let rows = audit.rows.map { audit.entries[$0] }.map { e in
                [String(e.seq), CSVExport.date(e.at), e.actor, e.action, e.target.kind, e.target.id, e.target.name ?? "", e.reason ?? "", e.from ?? ""]
            }
            return ("audit", CSVExport.table(["seq", "at", "actor", "action", "target_kind", "target_id", "target_name", "reason", "from"], rows), rows.count)
        case .log:
            return nil
        }
    }

    /// `E`: writes the list to DIR/mms-VIEW-YYYYMMDD-HHMMSS.csv (the name says what and when).
    mutating func export() -> [Effect] {
        guard let (name, csv, rows) = exportCSV() else { return [] }
        let f = DateFormatter()
        f.dateFormat = "yyyyMMdd-HHmmss"
        f.timeZone = TimeZone(identifier: "UTC")
        let path = (exportDirectory as NSString).appendingPathComponent("mms-\(name)-\(f.string(from: now)).csv")
        message = Message("exporting \(rows) rows…")
        return [.export(path: path, contents: csv, rows: rows)]
    }

    /// `y`: the selected agent's uuid, job's id (its ssh command in its detail), entry's name or audit line,
    /// or in the log the line at the top of the screen, onto the terminal's clipboard.
    mutating func copySelection() -> [Effect] {
        var text: String?
        switch view {
        case .agents: text = selectedAgent?.uuid
        case .jobs:
            if let j = selectedJob { text = detailShown && detailOpen ? (j.sshCommand ?? String(j.id)) : String(j.id) }
        case .config: text = selectedEntry?.name
        case .audit: text = selectedAuditEntry.map(auditLine)
        case .log:
            if let l = log, l.lineCount > 0 { text = LogText.clean(l.line(l.firstShown(height: Layout.logHeight(size)))) }
        }
        guard let text, !text.isEmpty else { message = Message("nothing to copy here"); return [] }
        message = Message("copied \(text.count > 60 ? String(text.prefix(59)) + "…" : text)")
        return [.copy(text)]
    }
}
