import Foundation
import MMSTestSupport
import Testing
import MonitorModels
@testable import MonitorServer

/// mms-server on PostgreSQL when the database goes away and comes back (a private cluster).
@Suite(.serialized, .enabled(if: !TestServer.onPostgres, "runs its own cluster in the default pass"))
struct PostgresServerTests {
    @Test func postgresStoppedIs503ThenTheServerRecoversByItself() async throws {
        let cluster = try PostgresCluster.start()
        defer { cluster.destroy() }
        let s = try TestServer(databaseURL: try cluster.createDatabase())
        let before = try await s.createJob(JobSpec(name: "before", commands: ["true"]))

        try cluster.stop()
        let refused = try await s.call("POST", "/api/v1/jobs", token: s.admin, json: #"{"name":"during","commands":["true"]}"#)
        #expect(refused.status == 503 && refused.errorCode == "unavailable")
        #expect(refused.errorMessage?.contains("nothing was changed") == true)
        s.server.core.checkDatabase()
        let health = try await s.call("GET", "/healthz")
        #expect(health.status == 503 && health.text == #"{"database":"unreachable","status":"unavailable"}"#)

        try cluster.startAgain()
        s.server.core.checkDatabase()
        #expect(try await s.call("GET", "/healthz").status == 200)
        // The next calls connect again by themselves; nothing refused was stored, nothing acknowledged lost.
        var after: TestServer.Reply?
        _ = try await eventually(10) {
            after = try await s.call("POST", "/api/v1/jobs", token: s.admin, json: #"{"name":"after","commands":["true"]}"#)
            return after?.status == 201
        }
        #expect(after?.status == 201)
        let names = try await s.call("GET", "/api/v1/jobs", token: s.admin).decode(JobList.self).jobs.map(\.name)
        #expect(names == ["after", "before"])
        #expect(try await s.call("GET", "/api/v1/jobs/\(before.id)", token: s.admin).status == 200)
    }

    @Test func serversOnOneDatabaseShareTheAdminTokenItKeeps() throws {
        let url = try PostgresCluster.shared().createDatabase()
        let a = try TestServer(databaseURL: url)
        let b = try TestServer(databaseURL: url)
        #expect(a.admin == b.admin && a.admin.count == 64)
        let fromFile = try String(contentsOfFile: b.dataDir + "/admin.token", encoding: .utf8)
        #expect(fromFile.trimmingCharacters(in: .whitespacesAndNewlines) == a.admin)
    }
}
