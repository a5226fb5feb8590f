import Foundation
import MonitorModels

/// Fleet history: a sample of the queue and the agents every minute, kept 48 hours, served as series.
extension Router {
    mutating func addStatsRoutes(_ core: ServiceCore) {
        add("GET", "/api/v1/stats", .role(.viewer)) { req, _ throws(APIError) in
            let minutes = try FleetHistory.windowMinutes(req.query["window"] ?? "30m")
            return .respond(.json(try core.fleetStats(minutes: minutes, now: Date())))
        }
    }
}

/// The rules of the fleet history, apart from where it is stored.
enum FleetHistory {
    /// Samples are kept this many minutes (at least 24 h, as the contract asks).
    static let keepMinutes: Int64 = 48 * 60

    /// The minute a date falls in (seconds since 1970 / 60).
    static func minute(_ d: Date) -> Int64 { Int64((d.timeIntervalSince1970 / 60).rounded(.down)) }

    /// "30m", "2h", "1d" as minutes, 1 minute to 48 hours; 400 naming the parameter otherwise.
    static func windowMinutes(_ text: String) throws(APIError) -> Int64 {
        let units: [Character: Int64] = ["m": 1, "h": 60, "d": 1440]
        guard let unit = text.last.flatMap({ units[$0] }), let n = Int64(text.dropLast()), n > 0,
              n <= keepMinutes / unit, text.dropLast().allSatisfy(\.isASCII) else {
            throw APIError(.badRequest, "query parameter 'window' must be a duration like 30m, 2h or 1d (at most 48h)")
        }
        return n * unit
    }

    /// Series from stored samples: one step per minute from `first` through `last`, nil where none was stored.
    static func series(_ rows: [(minute: Int64, body: String)], first: Int64, last: Int64, live: StatsSample?) -> FleetStats {
        var byMinute: [Int64: StatsSample] = [:]
        for r in rows { byMinute[r.minute] = try? MMSJSON.decode(StatsSample.self, from: Data(r.body.utf8)) }
        if let live { byMinute[last] = live }
        let samples = (first...last).map { byMinute[$0] }
        // Only the statuses some agent had in the window: a day of every status would not stay small.
        var agents: [String: [Int?]] = [:]
        let seen = Set(samples.compactMap { $0?.agents.filter { $0.value > 0 }.keys }.joined())
        for status in seen {
            agents[status] = samples.map { $0.map { $0.agents[status] ?? 0 } }
        }
        return FleetStats(step: 60, waiting: samples.map { $0?.waiting }, running: samples.map { $0?.running }, agents: agents)
    }
}

extension ServiceCore {
    /// What the fleet looks like now. Call with the lock held.
    func currentSample() -> StatsSample {
        var waiting = 0, running = 0
        for job in dispatcher.jobs.values {
            if job.state == .scheduled { waiting += 1 } else if job.state.isActive { running += 1 }
        }
        var agents: [String: Int] = [:]
        for r in dispatcher.agents.values { agents[dispatcher.status(r).rawValue, default: 0] += 1 }
        return StatsSample(waiting: waiting, running: running, agents: agents)
    }

    /// Stores this minute's sample and drops those older than 48 h; with replicas only the sweeper lease holder
    /// does. True when this server is the one that samples (the ticker then waits for the next minute).
    func sampleFleet(now: Date) -> Bool {
        guard let stats = store as? StatsStore else { return true }
        if store.isShared, !isSweeper.withLock({ $0 }) { return false }
        let minute = FleetHistory.minute(now)
        // Under the service's lock: the store's connection is the one requests use.
        return locked { () -> Bool in
            try? fresh()
            let body = String(decoding: MMSJSON.encode(currentSample()), as: UTF8.self)
            do {
                try stats.saveStatsSample(minute: minute, body: body)
                try stats.trimStatsSamples(before: minute - FleetHistory.keepMinutes)
                return true
            } catch {
                return false  // the database refuses writes now: try again at the next tick
            }
        }
    }

    /// The series of the last `minutes` minutes, the newest step being now.
    func fleetStats(minutes: Int64, now: Date) throws(APIError) -> FleetStats {
        guard let stats = store as? StatsStore else { throw APIError(.notFound, "this server keeps no fleet history") }
        let last = FleetHistory.minute(now)
        let first = last - minutes + 1
        return try locked { () throws(APIError) -> FleetStats in
            try fresh()
            let live = currentSample()
            do {
                return FleetHistory.series(try stats.statsSamples(from: first, through: last), first: first, last: last, live: live)
            } catch {
                throw Self.unavailable(error)
            }
        }
    }
}
