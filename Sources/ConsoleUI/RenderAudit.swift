import Foundation
import MonitorModels

/// The Audit view: newest first; when, who, what, which, why.
func renderAudit(_ s: AppState, _ b: inout ScreenBuffer) {
    let columns = [
        Column(title: "WHEN", min: 8, max: 8, priority: 9),
        Column(title: "WHO", min: 8, max: 14, priority: 8),
        Column(title: "ACTION", min: 13, max: 16, priority: 10),
        Column(title: "TARGET", min: 12, max: 24, priority: 9),
        Column(title: "REASON", min: 14, max: 60, priority: 7),
        Column(title: "FROM", min: 9, max: 15, priority: 3),
        Column(title: "SEQ", min: 5, max: 7, priority: 2),
    ]
    let empty: String
    if !s.audit.loaded {
        empty = "loading…"
    } else if s.audit.entries.isEmpty {
        empty = "No changes recorded yet."
    } else {
        empty = "No entry matches \"\(s.audit.filter)\" (Esc clears the filter)"
    }
    renderTable(&b, columns: columns, count: s.audit.rows.count, cursor: s.audit.cursor, empty: empty, cells: { i in
        let e = s.audit.entries[s.audit.rows[i]]
        return [
            (ago(e.at, now: s.now), .normal),
            (e.actor, e.actor == "server" ? .dim : .normal),
            (e.action, auditStyle(e.action)),
            (auditTarget(e.target), .normal),
            (e.reason ?? "", .normal),
            (e.from ?? "", .dim),
            (String(e.seq), .dim),
        ]
    }, rowStyle: { _, selected in selected ? .selected : .normal })
}

/// "agent rec-07", or the id when the entry has no name.
func auditTarget(_ t: AuditTarget) -> String {
    "\(t.kind) \(t.name ?? t.id)"
}

/// Removals and holds stand out; the rest reads plainly.
func auditStyle(_ action: String) -> Style {
    if action.hasSuffix(".delete") || action.hasSuffix(".remove") { return .bad }
    if action.hasSuffix(".disable") || action.hasSuffix(".cancel") || action.hasSuffix(".lost") { return .warning }
    return .normal
}

/// The whole of an entry on one line (the status line shows it for the selected row).
func auditLine(_ e: AuditEntry) -> String {
    var parts = ["#\(e.seq)", RFC3339.format(e.at), e.actor, e.action, auditTarget(e.target)]
    if let r = e.reason { parts.append("\"\(r)\"") }
    if let f = e.from { parts.append("from \(f)") }
    return parts.joined(separator: " · ")
}
