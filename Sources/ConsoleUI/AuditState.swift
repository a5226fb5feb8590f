import Foundation
import MonitorModels

/// The Audit view's data: entries newest first, the filtered rows, the cursor.
public struct AuditState: Sendable, Equatable {
    /// Every entry read so far, newest first (at most `keep`).
    public var entries: [AuditEntry] = []
    /// Indices into `entries` that the filter lets through, in display order.
    public var rows: [Int] = []
    public var cursor = ListCursor()
    public var filter = ""
    /// True once the first page arrived.
    public var loaded = false
    /// A read is running; events that arrive meanwhile set `stale` so one more read follows.
    public var loading = false
    public var stale = false

    /// Entries kept in memory; older ones are read again when the view opens.
    public static let keep = 5000
    /// Entries asked for when the view opens.
    public static let firstPage = 500

    public init() {}

    /// The newest seq held, the `since` of the next read.
    public var newestSeq: Int64? { entries.first?.seq }

    /// Adds entries (any order, duplicates ignored), newest first.
    public mutating func merge(_ new: [AuditEntry]) {
        let known = Set(entries.map(\.seq))
        let fresh = new.filter { !known.contains($0.seq) }
        guard !fresh.isEmpty else { return }
        entries = (fresh + entries).sorted { $0.seq > $1.seq }
        if entries.count > Self.keep { entries.removeLast(entries.count - Self.keep) }
    }

    /// True when an entry matches a lower-cased filter: actor, action, target, reason or address.
    static func matches(_ e: AuditEntry, _ needle: String) -> Bool {
        let fields = [e.actor, e.action, e.target.kind, e.target.id, e.target.name ?? "", e.reason ?? "", e.from ?? ""]
        return fields.contains { $0.lowercased().contains(needle) }
    }
}

extension AppState {
    /// Recomputes the Audit rows (filter), keeping the cursor on the same entry.
    mutating func recomputeAudit() {
        let keep = selectedAuditEntry?.seq
        let needle = audit.filter.lowercased()
        audit.rows = audit.entries.indices.filter { needle.isEmpty || AuditState.matches(audit.entries[$0], needle) }
        let seqs = audit.rows.map { audit.entries[$0].seq }
        audit.cursor = Self.place(audit.cursor, rows: seqs, keep: keep, height: Layout.listHeight(size))
    }

    /// The audit entry under the cursor.
    public var selectedAuditEntry: AuditEntry? {
        audit.rows.indices.contains(audit.cursor.index) ? audit.entries[audit.rows[audit.cursor.index]] : nil
    }

    /// Keys of the Audit view.
    mutating func auditKey(_ key: Key) -> [Effect] {
        if let c = moved(audit.cursor, key, count: audit.rows.count) { audit.cursor = c; return [] }
        switch key {
        case .char("/"): modal = .filter
        case .escape: if !audit.filter.isEmpty { audit.filter = ""; recomputeAudit() }
        default: break
        }
        return []
    }

    /// Asks for the entries newer than those held (all of the first page when none are).
    mutating func readAudit() -> [Effect] {
        if audit.loading { audit.stale = true; return [] }
        audit.loading = true
        audit.stale = false
        return [.loadAudit(since: audit.newestSeq)]
    }

    /// Takes a page of entries read for `.loadAudit`.
    mutating func auditLoaded(_ entries: [AuditEntry]) -> [Effect] {
        audit.loading = false
        audit.loaded = true
        audit.merge(entries)
        recomputeAudit()
        return audit.stale ? readAudit() : []
    }

    /// A read of the audit log failed: say so; the next event or opening the view tries again.
    mutating func auditFailed(_ text: String) -> [Effect] {
        audit.loading = false
        audit.stale = false
        message = Message("cannot read the audit log: \(text)", isError: true)
        return []
    }
}
