import Foundation

/// Where the fleet history is kept: one row per minute in `stats_samples` (a JSON `StatsSample`).
/// A protocol of its own beside `Store`, which both stores adopt (SQLiteStore+Stats, PostgresStore+Stats).
protocol StatsStore: AnyObject {
    /// Writes (or replaces) the sample of `minute` (seconds since 1970 / 60).
    func saveStatsSample(minute: Int64, body: String) throws(DatabaseError)
    /// The samples of minutes `from...through`, oldest first.
    func statsSamples(from: Int64, through: Int64) throws(DatabaseError) -> [(minute: Int64, body: String)]
    /// Removes the samples older than `minute`.
    func trimStatsSamples(before minute: Int64) throws(DatabaseError)
}
