import Foundation
import Testing
import MonitorModels
@testable import MonitorServer

/// The agent side of the API against the real server over HTTP.
@Suite struct ServerAgentFlowTests {
    @Test func aJobRunsFromRegistrationToCompletedLog() async throws {
        let s = try TestServer()
        let (uuid, secret) = try await s.registerAgent("rec-01", resources: ["gpu"])
        let job = try await s.createJob(JobSpec(name: "build", commands: ["make"], resources: ["gpu"]))
        let next = try await s.call("GET", "/api/v1/agents/\(uuid)/next?wait=5", token: secret)
        #expect(next.status == 200)
        guard case .job(let delivered) = try next.decode(NextMessage.self) else { Issue.record("no job"); return }
        #expect(delivered.id == job.id && delivered.attempt == 1 && delivered.logSize == 0 && delivered.configVersion == 0)
        // Delivered again until the agent reports preparing.
        let again = try await s.call("GET", "/api/v1/agents/\(uuid)/next?wait=0", token: secret)
        #expect(again.status == 200)
        for state in ["preparing", "building"] {
            let r = try await s.call("POST", "/api/v1/jobs/\(job.id)/state", token: secret, json: #"{"attempt":1,"state":"\#(state)"}"#)
            #expect(r.status == 200 && r.json["state"] as? String == state)
        }
        #expect(try await s.call("GET", "/api/v1/agents/\(uuid)/next?wait=0", token: secret).status == 204)
        let log1 = try await s.call("POST", "/api/v1/jobs/\(job.id)/log?attempt=1&offset=0", token: secret,
                                    body: Data("$ make\nok\n".utf8), contentType: "application/octet-stream")
        #expect(log1.json["size"] as? Int == 10)
        // A retry of the same chunk is ignored; an overlapping one appends only the new bytes.
        _ = try await s.call("POST", "/api/v1/jobs/\(job.id)/log?attempt=1&offset=0", token: secret, body: Data("$ make\nok\n".utf8))
        let log2 = try await s.call("POST", "/api/v1/jobs/\(job.id)/log?attempt=1&offset=7", token: secret, body: Data("ok\ndone\n".utf8))
        #expect(log2.json["size"] as? Int == 15)
        let gap = try await s.call("POST", "/api/v1/jobs/\(job.id)/log?attempt=1&offset=99", token: secret, body: Data("x".utf8))
        #expect(gap.status == 409 && gap.errorCode == "log_gap")
        #expect((gap.json["error"] as? [String: Any])?["size"] as? Int == 15)
        let done = try await s.call("POST", "/api/v1/jobs/\(job.id)/state", token: secret,
                                    json: #"{"attempt":1,"state":"completed","result":"passed","exitCode":0}"#)
        #expect(done.json["result"] as? String == "passed" && done.json["logSize"] as? Int == 15)
        let late = try await s.call("POST", "/api/v1/jobs/\(job.id)/state", token: secret, json: #"{"attempt":1,"state":"building"}"#)
        #expect(late.status == 409 && late.errorCode == "job_finished")
        let log = try await s.call("GET", "/api/v1/jobs/\(job.id)/log?offset=0", token: s.admin)
        #expect(log.text == "$ make\nok\ndone\n")
        #expect(log.headers["x-log-size"] == "15" && log.headers["x-log-complete"] == "true")
        let tail = try await s.call("GET", "/api/v1/jobs/\(job.id)/log?offset=10", token: s.admin)
        #expect(tail.text == "done\n")
    }

    @Test func aKnownUUIDWithAnotherSecretChangesNothing() async throws {
        let s = try TestServer()
        let (uuid, _) = try await s.registerAgent("rec-02", enable: false)
        let evil = RegisterRequest(uuid: uuid, name: "evil", hostname: "evil-host", os: "evil", resources: ["gpu"])
        let r = try await s.call("POST", "/api/v1/agents/register", token: "wrong-secret", value: evil)
        #expect(r.status == 401 && r.errorCode == "unauthorized")
        let ping = try await s.call("POST", "/api/v1/agents/\(uuid)/ping", token: "wrong-secret", json: #"{"runtimeState":"idle"}"#)
        #expect(ping.status == 401)
        let a = try await s.call("GET", "/api/v1/agents/\(uuid)", token: s.admin).decode(Agent.self)
        #expect(a.name == "rec-02" && a.hostname == "host-rec-02" && a.resources.isEmpty && a.configState == .pending)
    }

    @Test func anAgentCannotTouchAnotherAgentsJob() async throws {
        let s = try TestServer()
        let (uuid, secret) = try await s.registerAgent("a")
        let (_, other) = try await s.registerAgent("b", resources: ["special"])
        let job = try await s.createJob(JobSpec(name: "j", commands: ["true"]))
        let current = try await s.call("GET", "/api/v1/jobs/\(job.id)", token: s.admin).decode(Job.self)
        let owner = current.agentUuid == uuid ? secret : other
        let stranger = current.agentUuid == uuid ? other : secret
        let r = try await s.call("POST", "/api/v1/jobs/\(job.id)/state", token: stranger, json: #"{"attempt":1,"state":"preparing"}"#)
        #expect(r.status == 403 && r.errorCode == "forbidden")
        let l = try await s.call("POST", "/api/v1/jobs/\(job.id)/log?attempt=1&offset=0", token: stranger, body: Data("x".utf8))
        #expect(l.status == 403)
        // Polling another agent's `next` with your own secret is refused too.
        let n = try await s.call("GET", "/api/v1/agents/\(current.agentUuid!)/next?wait=0", token: stranger)
        #expect(n.status == 401)
        #expect(try await s.call("POST", "/api/v1/jobs/\(job.id)/state", token: owner, json: #"{"attempt":1,"state":"preparing"}"#).status == 200)
        // An admin token is not an agent secret.
        #expect(try await s.call("POST", "/api/v1/jobs/\(job.id)/state", token: s.admin, json: #"{"attempt":1,"state":"building"}"#).status == 401)
    }

    @Test func configurationIsForEnabledAgentsAndSecretsStayHidden() async throws {
        let s = try TestServer()
        let (uuid, secret) = try await s.registerAgent("rec", enable: false)
        #expect(try await s.call("PUT", "/api/v1/config/RECORDER_PASSWORD", token: s.admin,
                                 json: #"{"value":"hunter22","secret":true}"#).json["value"] == nil)
        _ = try await s.call("PUT", "/api/v1/config/ENDPOINT", token: s.admin, json: #"{"value":"https://x","secret":false}"#)
        let list = try await s.call("GET", "/api/v1/config", token: s.admin)
        #expect(!list.text.contains("hunter22") && list.text.contains("https://x"))
        let refused = try await s.call("GET", "/api/v1/agents/\(uuid)/config", token: secret)
        #expect(refused.status == 403 && refused.errorCode == "agent_not_authorized")
        _ = try await s.call("PATCH", "/api/v1/agents/\(uuid)", token: s.admin, json: #"{"configState":"enabled"}"#)
        let cfg = try await s.call("GET", "/api/v1/agents/\(uuid)/config", token: secret).decode(AgentConfig.self)
        #expect(cfg.entries["RECORDER_PASSWORD"] == "hunter22" && cfg.secret == ["RECORDER_PASSWORD"] && cfg.version == 2)
        let ping = try await s.call("POST", "/api/v1/agents/\(uuid)/ping", token: secret, json: #"{"runtimeState":"idle"}"#)
        #expect(try ping.decode(PingResponse.self).configVersion == 2)
        let negative = try await s.call("POST", "/api/v1/agents/\(uuid)/ping", token: secret,
                                        json: #"{"runtimeState":"idle","freeSpaceBytes":-1}"#)
        #expect(negative.status == 400 && negative.errorMessage == "field 'freeSpaceBytes' must not be negative")
        #expect(try await s.call("DELETE", "/api/v1/config/ENDPOINT", token: s.admin).status == 204)
        #expect(try await s.call("DELETE", "/api/v1/config/ENDPOINT", token: s.admin).status == 404)
        let bad = try await s.createJobReply(#"{"name":"j","commands":["true"],"secrets":["NOPE"]}"#)
        #expect(bad.status == 400 && bad.errorMessage?.contains("NOPE") == true)
        let ok = try await s.createJobReply(#"{"name":"j","commands":["true"],"secrets":["RECORDER_PASSWORD"]}"#)
        #expect(ok.status == 201 && !ok.text.contains("hunter22"))
        _ = try await s.call("PATCH", "/api/v1/agents/\(uuid)", token: s.admin, json: #"{"configState":"disabled"}"#)
        #expect(try await s.call("GET", "/api/v1/agents/\(uuid)/config", token: secret).status == 403)
    }

    @Test func aDeletedAgentGets404AndRegistersAsNew() async throws {
        let s = try TestServer()
        let (uuid, secret) = try await s.registerAgent("gone")
        let busy = try await s.call("DELETE", "/api/v1/agents/\(uuid)", token: s.admin)
        #expect(busy.status == 409 && busy.errorCode == "agent_busy")
        _ = try await s.call("PATCH", "/api/v1/agents/\(uuid)", token: s.admin, json: #"{"configState":"disabled"}"#)
        #expect(try await s.call("DELETE", "/api/v1/agents/\(uuid)", token: s.admin).status == 204)
        let ping = try await s.call("POST", "/api/v1/agents/\(uuid)/ping", token: secret, json: #"{"runtimeState":"idle"}"#)
        #expect(ping.status == 404 && ping.errorCode == "not_found")
        let again = try await s.call("POST", "/api/v1/agents/register", token: "fresh-secret", value: RegisterRequest(
            uuid: UUID().uuidString, name: "gone", hostname: "h", os: "linux"))
        #expect(again.status == 202)
    }

    @Test func autoRegisterKeyEnablesAtOnce() async throws {
        let s = try TestServer(autoRegisterKey: "k3y")
        var req = RegisterRequest(uuid: UUID().uuidString, name: "auto", hostname: "h", os: "linux")
        req.autoRegisterKey = "k3y"
        let r = try await s.call("POST", "/api/v1/agents/register", token: "s1", value: req)
        #expect(r.status == 200 && r.json["configState"] as? String == "enabled")
        req.uuid = UUID().uuidString
        req.autoRegisterKey = "wrong"
        #expect(try await s.call("POST", "/api/v1/agents/register", token: "s2", value: req).status == 202)
    }

    @Test func versionMismatchIsRefused() async throws {
        let s = try TestServer()
        let req = RegisterRequest(uuid: UUID().uuidString, name: "old", hostname: "h", os: "linux", version: "9.9.0")
        let r = try await s.call("POST", "/api/v1/agents/register", token: "s", value: req)
        #expect(r.status == 409 && r.errorCode == "version_mismatch")
        #expect(r.errorMessage?.contains("9.9.0") == true && r.errorMessage?.contains(MMSVersion.current) == true)
    }

    @Test func rescheduledAttemptRefusesTheOldAgent() async throws {
        let s = try TestServer()
        let (uuid, secret) = try await s.registerAgent("a")
        let job = try await s.createJob(JobSpec(name: "j", commands: ["true"]))
        _ = try await s.call("POST", "/api/v1/jobs/\(job.id)/state", token: secret, json: #"{"attempt":1,"state":"building"}"#)
        // The agent comes back without the job (restarted): rescheduled at once with a log line.
        _ = try await s.call("POST", "/api/v1/agents/\(uuid)/ping", token: secret, json: #"{"runtimeState":"idle"}"#)
        let now = try await s.call("GET", "/api/v1/jobs/\(job.id)", token: s.admin).decode(Job.self)
        #expect(now.attempt == 2)
        let old = try await s.call("POST", "/api/v1/jobs/\(job.id)/log?attempt=1&offset=0", token: secret, body: Data("x".utf8))
        #expect(old.status == 409 && old.errorCode == "job_reassigned")
        let log = try await s.call("GET", "/api/v1/jobs/\(job.id)/log", token: s.admin)
        #expect(log.text == "[mms] agent a restarted; job rescheduled\n")
        let next = try await s.call("GET", "/api/v1/agents/\(uuid)/next?wait=2", token: secret)
        guard case .job(let j) = try next.decode(NextMessage.self) else { Issue.record("no job"); return }
        #expect(j.attempt == 2 && j.logSize == Int64(log.body.count))
    }
}

extension TestServer {
    func createJobReply(_ json: String) async throws -> Reply {
        try await call("POST", "/api/v1/jobs", token: admin, json: json)
    }
}
