import Foundation
import MMSTestSupport
import Testing
import MonitorModels
@testable import MonitorServer

/// Every row of the contract's error table, answered with the right status and JSON error.
@Suite struct ServerErrorTests {
    @Test func openEndpoints() async throws {
        let s = try TestServer()
        #expect(try await s.call("GET", "/healthz").text == #"{"database":"ok","status":"ok"}"#)
        let v = try await s.call("GET", "/api/v1/version").decode(VersionInfo.self)
        #expect(v.version == MMSVersion.current && v.apiVersion == 1)
        _ = try await s.createJob(JobSpec(name: "j", commands: ["true"]))
        let m = try await s.call("GET", "/metrics")
        #expect(m.headers["content-type"]?.hasPrefix("text/plain") == true)
        #expect(m.text.contains(#"mms_jobs{state="scheduled"} 1"#))
        #expect(m.text.contains(#"mms_agents{status="idle"} 0"#))
        #expect(m.text.contains("mms_http_request_duration_seconds_bucket"))
        #expect(m.text.contains("mms_dispatch_latency_seconds_count"))
        #expect(m.text.contains(#"mms_build_info{version="\#(MMSVersion.current)",replica="127.0.0.1:\#(s.server.port)"} 1"#))
    }

    @Test(.enabled(if: !TestServer.onPostgres, "moves the SQLite file away"))
    func healthSaysWhenTheDatabaseFileCannotBeReachedAndRecovers() async throws {
        let s = try TestServer()
        let file = s.dataDir + "/mms.sqlite3"
        try FileManager.default.moveItem(atPath: file, toPath: file + ".away")
        s.server.core.checkDatabase()
        let down = try await s.call("GET", "/healthz")
        #expect(down.status == 503 && down.text == #"{"database":"unreachable","status":"unavailable"}"#)
        try FileManager.default.moveItem(atPath: file + ".away", toPath: file)
        s.server.core.checkDatabase()
        #expect(try await s.call("GET", "/healthz").status == 200)
    }

    @Test func unknownPathsAndMethods() async throws {
        let s = try TestServer()
        let nf = try await s.call("GET", "/api/v1/nothing", token: s.admin)
        #expect(nf.status == 404 && nf.errorCode == "not_found")
        let na = try await s.call("DELETE", "/api/v1/jobs", token: s.admin)
        #expect(na.status == 405 && na.errorCode == "method_not_allowed" && na.headers["allow"] == "GET, POST")
        let job404 = try await s.call("GET", "/api/v1/jobs/999", token: s.admin)
        #expect(job404.status == 404 && job404.errorMessage == "job 999 does not exist")
        #expect(try await s.call("GET", "/api/v1/jobs/abc", token: s.admin).status == 404)
        #expect(try await s.call("GET", "/api/v1/agents/nope", token: s.admin).status == 404)
    }

    @Test func authRefusals() async throws {
        let s = try TestServer()
        let none = try await s.call("GET", "/api/v1/agents")
        #expect(none.status == 401 && none.errorCode == "unauthorized")
        let wrong = try await s.call("GET", "/api/v1/agents", token: "not-the-token")
        #expect(wrong.status == 401 && wrong.errorMessage?.contains("not-the-token") == false)
        let (_, secret) = try await s.registerAgent("a")
        for (m, p) in [("GET", "/api/v1/agents"), ("GET", "/api/v1/jobs"), ("GET", "/api/v1/config"), ("GET", "/api/v1/events")] {
            let r = try await s.call(m, p, token: secret)
            #expect(r.status == 403 && r.errorCode == "forbidden", "\(m) \(p)")
        }
        let nobody = try await s.call("POST", "/api/v1/jobs/1/state", token: "nobody", json: #"{"attempt":1,"state":"building"}"#)
        #expect(nobody.status == 401)
    }

    @Test func badBodiesNameTheFieldAndChangeNothing() async throws {
        let s = try TestServer()
        let cases: [(String, String)] = [
            (#"{"name":"#, "the body is not valid JSON"),
            (#"{"name":"x"}"#, "missing field 'commands'"),
            (#"{"name":"x","commands":"ls"}"#, "field 'commands' must be a list"),
            (#"{"name":5,"commands":[]}"#, "field 'name' must be a string"),
            (#"{"name":"","commands":[]}"#, "field 'name' must not be empty"),
            (#"{"name":"x","commands":[],"timeoutSeconds":"soon"}"#, "field 'timeoutSeconds' must be an integer"),
            (#"{"name":"x","commands":[],"resources":["has space"]}"#, "field 'resources[0]' must match [A-Za-z0-9_.-]{1,64}"),
            (#"{"name":"x","commands":[],"files":[{"path":"/etc/passwd","content":""}]}"#, "field 'files[0].path' must be relative to the job dir"),
            ("[1,2,3]", ""),
            ("", "the request needs a JSON body"),
            (String(repeating: "[", count: 100_000), ""),
        ]
        for (body, message) in cases {
            let r = try await s.call("POST", "/api/v1/jobs", token: s.admin, json: body)
            #expect(r.status == 400 && r.errorCode == "bad_request", "\(body.prefix(40)) → \(r.status) \(r.text.prefix(200))")
            if !message.isEmpty { #expect(r.errorMessage == message) }
        }
        let tooMany = JobSpec(name: "x", commands: Array(repeating: "true", count: 1001))
        #expect(try await s.call("POST", "/api/v1/jobs", token: s.admin, value: tooMany).status == 400)
        let patch = try await s.call("PATCH", "/api/v1/agents", token: s.admin, json: #"{"uuids":["x"],"configState":"maybe"}"#)
        #expect(patch.status == 400 && patch.errorMessage?.contains("configState") == true)
        #expect(try await s.call("GET", "/api/v1/jobs?limit=0", token: s.admin).status == 400)
        #expect(try await s.call("GET", "/api/v1/jobs?state=lost", token: s.admin).status == 400)
        #expect(try await s.call("GET", "/api/v1/events?since=0&wait=61", token: s.admin).status == 400)
        #expect(try await s.call("PUT", "/api/v1/config/1BAD", token: s.admin, json: #"{"value":"v"}"#).status == 400)
        let big = String(repeating: "x", count: 64 * 1024 + 1)
        #expect(try await s.call("PUT", "/api/v1/config/BIG", token: s.admin, json: #"{"value":"\#(big)"}"#).status == 400)
        let jobs = try await s.call("GET", "/api/v1/jobs", token: s.admin).decode(JobList.self)
        #expect(jobs.jobs.isEmpty)
    }

    static func rawExchange(port: Int, head: String, chunks: [Data] = []) -> String {
        RawHTTP.exchange(port: port, Data(head.utf8), chunks: chunks)
    }

    @Test func oversizedBodiesAre413() async throws {
        let s = try TestServer()
        // Announced too large: refused before the body is read.
        let announced = Self.rawExchange(port: s.server.port, head:
            "POST /api/v1/jobs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(s.admin)\r\nContent-Type: application/json\r\n"
            + "Content-Length: \((1 << 20) + 1)\r\n\r\n")
        #expect(announced.hasPrefix("HTTP/1.1 413") && announced.contains("payload_too_large"), "\(announced.prefix(300))")
        // Not announced (chunked): counted while it is read, refused once past 1 MiB.
        let piece = Data(repeating: 0x20, count: 64 * 1024)
        let chunkHead = Data((String(piece.count, radix: 16) + "\r\n").utf8)
        let chunks = Array(repeating: chunkHead + piece + Data("\r\n".utf8), count: 17) + [Data("0\r\n\r\n".utf8)]
        let streamed = Self.rawExchange(port: s.server.port, head:
            "POST /api/v1/jobs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(s.admin)\r\nContent-Type: application/json\r\n"
            + "Transfer-Encoding: chunked\r\n\r\n", chunks: chunks)
        #expect(streamed.hasPrefix("HTTP/1.1 413") && streamed.contains("payload_too_large"), "\(streamed.prefix(300))")
        let (uuid, secret) = try await s.registerAgent("a")
        let job = try await s.createJob(JobSpec(name: "j", commands: ["true"]))
        _ = try await s.call("GET", "/api/v1/agents/\(uuid)/next?wait=1", token: secret)
        let log = Self.rawExchange(port: s.server.port, head:
            "POST /api/v1/jobs/\(job.id)/log?attempt=1&offset=0 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(secret)\r\n"
            + "Content-Type: application/octet-stream\r\nContent-Length: \((1 << 20) + 1)\r\n\r\n")
        #expect(log.hasPrefix("HTTP/1.1 413"), "\(log.prefix(300))")
        #expect(try await s.call("GET", "/api/v1/jobs/\(job.id)", token: s.admin).decode(Job.self).logSize == 0)
        #expect(try await s.call("GET", "/api/v1/jobs", token: s.admin).decode(JobList.self).jobs.count == 1)
        // Exactly 1 MiB is fine.
        let ok = try await s.call("POST", "/api/v1/jobs/\(job.id)/log?attempt=1&offset=0", token: secret,
                                  body: Data(repeating: 0x41, count: 1 << 20), contentType: "application/octet-stream")
        #expect(ok.status == 200)
    }

    @Test func conflicts() async throws {
        let s = try TestServer()
        let job = try await s.createJob(JobSpec(name: "j", commands: ["true"]))
        let c = try await s.call("POST", "/api/v1/jobs/\(job.id)/cancel", token: s.admin)
        #expect(c.status == 202 && c.json["state"] as? String == "completed" && c.json["result"] as? String == "cancelled")
        let again = try await s.call("POST", "/api/v1/jobs/\(job.id)/cancel", token: s.admin)
        #expect(again.status == 409 && again.errorCode == "job_finished")
        let rerun = try await s.call("POST", "/api/v1/jobs/\(job.id)/rerun", token: s.admin)
        #expect(rerun.status == 201 && rerun.json["attempt"] as? Int == 1 && rerun.json["id"] as? Int != Int(job.id))
        let bulk = try await s.call("PATCH", "/api/v1/agents", token: s.admin,
                                    json: #"{"uuids":["00000000-0000-4000-8000-000000000000"],"configState":"enabled"}"#)
        #expect(bulk.status == 404 && bulk.errorMessage?.contains("00000000-0000-4000-8000-000000000000") == true)
    }

    @Test func bulkPatchIsAllOrNothing() async throws {
        let s = try TestServer()
        let a = try await s.registerAgent("a", enable: false)
        let b = try await s.registerAgent("b", enable: false)
        let bad = try await s.call("PATCH", "/api/v1/agents", token: s.admin,
                                   json: #"{"uuids":["\#(a.uuid)","11111111-1111-4111-8111-111111111111"],"configState":"enabled"}"#)
        #expect(bad.status == 404)
        #expect(try await s.call("GET", "/api/v1/agents/\(a.uuid)", token: s.admin).json["configState"] as? String == "pending")
        let ok = try await s.call("PATCH", "/api/v1/agents", token: s.admin,
                                  json: #"{"uuids":["\#(a.uuid)","\#(b.uuid)"],"configState":"enabled"}"#)
        #expect(try ok.decode(AgentList.self).agents.map(\.configState) == [.enabled, .enabled])
        let edit = try await s.call("PATCH", "/api/v1/agents/\(a.uuid)", token: s.admin,
                                    json: #"{"name":"renamed","resources":["gpu"],"environments":["linux"]}"#)
        let agent = try edit.decode(Agent.self)
        #expect(agent.name == "renamed" && agent.resources == ["gpu"] && agent.environments == ["linux"])
        let list = try await s.call("GET", "/api/v1/agents", token: s.admin).decode(AgentList.self)
        #expect(list.agents.map(\.name) == ["b", "renamed"])
    }
}
