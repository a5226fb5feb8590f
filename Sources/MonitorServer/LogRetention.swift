import Foundation
import MonitorModels

extension ServiceCore {
    /// Jobs whose logs one retention batch removes (the lock is held for one batch at a time).
    static let retentionBatch = 20

    /// Removes the logs (not the job records) of jobs completed longer ago than `--log-retention`,
    /// a batch at a time; each such job is announced, as it now says when its log was removed.
    /// Returns how many logs it removed.
    @discardableResult
    func removeExpiredLogs(now: Date) -> Int {
        guard let keep = settings.logRetention else { return 0 }
        let cutoff = now.addingTimeInterval(-keep)
        var total = 0
        for _ in 0..<500 {  // the next sweep goes on from here
            let removed = locked { () -> Int in
                let expired: [(id: Int64, size: Int64)]
                do {
                    expired = try store.transaction { () throws(DatabaseError) in
                        try store.removeLogs(completedBefore: cutoff, now: now, limit: Self.retentionBatch)
                    }
                } catch {
                    return 0  // the database refuses writes now (disk full…): try again at the next sweep
                }
                for (id, _) in expired {
                    if let job = try? store.job(id) { emit(.jobUpdated, job: job) }
                }
                if !expired.isEmpty { http?.hub.wake(Set(expired.map { WaitKey.log($0.id) }).union([.events])) }
                return expired.count
            }
            total += removed
            if removed < Self.retentionBatch { break }
        }
        return total
    }
}
