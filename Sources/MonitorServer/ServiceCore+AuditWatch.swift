import Foundation
import MonitorModels

/// Audit entries written by another process on this server's own SQLite file (`mms-server operator …`
/// while the server runs): which ones this server has announced, so the rest can be announced when it
/// looks (once a second). On a shared database the writer stores the event itself.
struct AuditWatch {
    /// Every entry up to this seq is announced (or was there before the server started); nil until first read.
    var watermark: Int64?
    /// Entries above the watermark that this server announced itself.
    var announced: Set<Int64> = []
    /// When the server last looked.
    var lastLook = Date.distantPast

    /// The entries of `fresh` (read after the watermark) that nobody announced yet, oldest first; moves the
    /// watermark to the newest of them.
    mutating func unannounced(_ fresh: [AuditEntry]) -> [AuditEntry] {
        guard let top = fresh.map(\.seq).max() else { return [] }
        let out = fresh.filter { !announced.contains($0.seq) }.sorted { $0.seq < $1.seq }
        watermark = max(watermark ?? top, top)
        announced = announced.filter { $0 > top }
        return out
    }
}

extension ServiceCore {
    /// True once a second: time to look for audit entries written by another process. Call with the lock held.
    func foreignAuditDue(_ now: Date) -> Bool {
        guard now.timeIntervalSince(auditWatch.lastLook) >= 1 || now < auditWatch.lastLook else { return false }
        auditWatch.lastLook = now
        return true
    }

    /// Announces audit entries another process wrote on this server's SQLite file since the last look
    /// (the ticker, once a second; nothing on a shared database). Call with the lock held.
    func announceForeignAudit() {
        guard !store.isShared else { return }
        guard let since = auditWatch.watermark else {
            // The first look: what is stored now was there before this server could announce anything.
            auditWatch.watermark = (try? store.auditEntries(after: 0, limit: 1, target: nil))?.first?.seq ?? 0
            return
        }
        guard let fresh = try? store.auditEntries(after: since, limit: 1000, target: nil), !fresh.isEmpty else { return }
        let foreign = auditWatch.unannounced(fresh)
        guard !foreign.isEmpty else { return }
        for e in foreign { feed.append(.auditAppended, audit: e) }
        forgetOperatorTokens()  // an operator may have been removed or rotated there
        http?.hub.wake([.events])
    }
}
