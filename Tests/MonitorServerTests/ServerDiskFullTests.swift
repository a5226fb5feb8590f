import Foundation
import Testing
import MonitorModels
@testable import MonitorServer

/// A database that cannot grow (the disk is full): the server answers 503 with a JSON error,
/// loses nothing it acknowledged, keeps serving reads, and recovers when space returns.
@Suite(.enabled(if: !TestServer.onPostgres, "SQLite's page cap stands for a full disk")) struct ServerDiskFullTests {
    /// Caps the database at its current size, as a full disk would (SQLite answers SQLITE_FULL).
    func fillDisk(_ s: TestServer) throws {
        try s.server.core.locked { () throws(DatabaseError) in
            var pages: Int64 = 0
            try (s.server.core.store as! SQLiteStore).db.query("PRAGMA page_count") { row in pages = row.int(0) }
            try (s.server.core.store as! SQLiteStore).db.exec("PRAGMA wal_checkpoint(TRUNCATE)")
            try (s.server.core.store as! SQLiteStore).db.exec("PRAGMA max_page_count = \(pages)")
        }
    }

    func freeDisk(_ s: TestServer) throws {
        try s.server.core.locked { () throws(DatabaseError) in
            try (s.server.core.store as! SQLiteStore).db.exec("PRAGMA max_page_count = 1073741823")
        }
    }

    @Test func fullDiskIs503AndNothingAcknowledgedIsLost() async throws {
        let s = try TestServer()
        let (uuid, secret) = try await s.registerAgent("a")
        let job = try await s.createJob(JobSpec(name: "before", commands: ["true"]))
        _ = try await s.call("GET", "/api/v1/agents/\(uuid)/next?wait=1", token: secret)
        _ = try await s.call("POST", "/api/v1/jobs/\(job.id)/state", token: secret, json: #"{"attempt":1,"state":"building"}"#)
        let first = Data(repeating: 0x61, count: 1000)
        _ = try await s.call("POST", "/api/v1/jobs/\(job.id)/log?attempt=1&offset=0", token: secret, body: first)
        try fillDisk(s)

        // Writes big enough to need new pages are refused with the contract's JSON error.
        var refused = 0
        var created: [Int64] = []
        for i in 0..<50 {
            let r = try await s.call("POST", "/api/v1/jobs", token: s.admin,
                                     value: JobSpec(name: "while full \(i)", commands: [String(repeating: "x", count: 4000)]))
            if r.status == 503 {
                refused += 1
                #expect(r.errorCode == "unavailable" && r.errorMessage?.contains("database") == true)
            } else if r.status == 201 {
                created.append(try r.decode(Job.self).id)
            } else {
                Issue.record("unexpected \(r.status) \(r.text)")
            }
        }
        #expect(refused > 0)
        let chunk = Data(repeating: 0x62, count: 200_000)
        let logWhileFull = try await s.call("POST", "/api/v1/jobs/\(job.id)/log?attempt=1&offset=1000", token: secret, body: chunk)
        #expect(logWhileFull.status == 503 && logWhileFull.errorCode == "unavailable")
        // Reads still work, and show exactly what was acknowledged.
        let log = try await s.call("GET", "/api/v1/jobs/\(job.id)/log", token: s.admin)
        #expect(log.status == 200 && log.body == first && log.headers["x-log-size"] == "1000")
        #expect(try await s.call("GET", "/api/v1/agents", token: s.admin).status == 200)

        try freeDisk(s)
        let retry = try await s.call("POST", "/api/v1/jobs/\(job.id)/log?attempt=1&offset=1000", token: secret, body: chunk)
        #expect(retry.status == 200 && retry.json["size"] as? Int == 201_000)
        let after = try await s.call("POST", "/api/v1/jobs", token: s.admin, value: JobSpec(name: "after", commands: ["true"]))
        #expect(after.status == 201)
        // After a restart everything acknowledged is there, and nothing refused is.
        try s.restart()
        let jobs = try await s.call("GET", "/api/v1/jobs?limit=1000", token: s.admin).decode(JobList.self).jobs
        let names = Set(jobs.map(\.name))
        #expect(names.contains("before") && names.contains("after"))
        #expect(jobs.count == 2 + created.count)
        let kept = try await s.call("GET", "/api/v1/jobs/\(job.id)/log", token: s.admin)
        #expect(kept.body == first + chunk)
    }
}
