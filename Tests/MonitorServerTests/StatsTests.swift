import Foundation
import MMSTestSupport
import MonitorModels
import Testing
@testable import MonitorServer

/// Fleet history (contract, "Console, version 2"): a sample a minute, kept across restarts, served by
/// GET /api/v1/stats?window=… oldest first with null where no server ran.
@Suite(.serialized) struct StatsTests {
    static func stats(_ s: TestServer, _ window: String = "30m") async throws -> FleetStats {
        let r = try await s.call("GET", "/api/v1/stats?window=\(window)", token: s.admin)
        #expect(r.status == 200, "\(r.text)")
        return try r.decode(FleetStats.self)
    }

    @Test func theNewestStepIsNowAndOlderStepsWithoutAServerAreNull() async throws {
        let s = try TestServer()
        _ = try await s.createJob(JobSpec(name: "waits", commands: ["true"]))
        let st = try await Self.stats(s)
        #expect(st.step == 60)
        #expect(st.waiting.count == 30 && st.running.count == 30)
        #expect(st.waiting.last == 1 && st.running.last == 0)
        #expect(st.waiting.first == .some(nil), "no server ran half an hour ago")
        #expect(st.agents.isEmpty, "only statuses some agent had are listed")
        let raw = try await s.call("GET", "/api/v1/stats?window=30m", token: s.admin)
        #expect(raw.text.hasPrefix(#"{"agents":{},"running":[null,"#), "missing steps are JSON null: \(raw.text)")
    }

    @Test func theServerSamplesEveryMinuteAndKeepsSamplesAcrossARestart() async throws {
        let s = try TestServer()
        _ = try await s.registerAgent("rec-01")
        let stats = try #require(s.server.core.store as? StatsStore)
        let now = FleetHistory.minute(Date())
        let deadline = Date().addingTimeInterval(20)
        while try stats.statsSamples(from: now - 1, through: now + 1).isEmpty, Date() < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(try !stats.statsSamples(from: now - 1, through: now + 1).isEmpty, "sampled within a second of starting")
        // A sample from earlier (as if written three minutes ago) is served after a restart.
        let old = StatsSample(waiting: 7, running: 2, agents: ["idle": 3])
        try stats.saveStatsSample(minute: now - 3, body: String(decoding: MMSJSON.encode(old), as: UTF8.self))
        try s.restart()
        let st = try await Self.stats(s, "10m")
        let i = st.waiting.count - 1 - Int(FleetHistory.minute(Date()) - (now - 3))
        #expect(st.waiting[i] == 7 && st.running[i] == 2 && st.agents["idle"]?[i] == 3 && st.agents["missing"]?[i] == 0, "rec-01 is missing after the restart, not three minutes ago")
    }

    @Test func badWindowsAreRefused() async throws {
        let s = try TestServer()
        for bad in ["0m", "abc", "49h", "3d", "-5m", "5", "1.5h"] {
            let r = try await s.call("GET", "/api/v1/stats?window=\(bad)", token: s.admin)
            #expect(r.status == 400 && r.errorMessage?.contains("window") == true, "\(bad): \(r.text)")
        }
        #expect(try await s.call("GET", "/api/v1/stats").status == 401)
        #expect(try await Self.stats(s, "1d").waiting.count == 1440)
    }

    @Test func aDaysSeriesStaysSmallOnTheWire() async throws {
        let s = try TestServer()
        let stats = try #require(s.server.core.store as? StatsStore)
        let now = FleetHistory.minute(Date())
        let full = StatsSample(waiting: 1234, running: 567, agents: ["idle": 9000, "building": 800, "lostContact": 12])
        let body = String(decoding: MMSJSON.encode(full), as: UTF8.self)
        try s.server.core.store.transaction { () throws(DatabaseError) in
            for m in (now - 1440)...now { try stats.saveStatsSample(minute: m, body: body) }
        }
        let r = try await s.call("GET", "/api/v1/stats?window=24h", token: s.admin)
        #expect(r.status == 200)
        // Three statuses and the queue for every minute of a day, in four-digit numbers: under the 50 KB target.
        #expect(r.body.count < 50_000, "\(r.body.count) bytes")
    }
}

/// The stats table in both stores.
@Suite(.enabled(if: !TestServer.onPostgres, "covers both stores in the default pass"))
struct StatsStoreTests {
    @Test(arguments: Backend.allCases) func samplesRoundTripReplaceAndTrim(_ backend: Backend) throws {
        let store = try backend.open()
        defer { store.close() }
        let stats = try #require(store as? StatsStore)
        try stats.saveStatsSample(minute: 100, body: "a")
        try stats.saveStatsSample(minute: 102, body: "b")
        try stats.saveStatsSample(minute: 102, body: "c")
        try stats.saveStatsSample(minute: 105, body: "d")
        #expect(try stats.statsSamples(from: 101, through: 105).map { "\($0.minute)\($0.body)" } == ["102c", "105d"])
        try stats.trimStatsSamples(before: 103)
        #expect(try stats.statsSamples(from: 0, through: 1000).map(\.minute) == [105])
    }
}
