import Foundation
import MonitorModels
import MonitorServer

/// `request`: whole requests (method, path, query, Authorization, body) through the real router,
/// against a real in-process service on a copy of the fixture's data dir (see `FuzzRequest` for the
/// input format, `RequestFixture` for the state).
///
/// Properties: every answer is below 500; an error answer is the contract's JSON error with a known
/// code that matches the status; a JSON success answer is JSON; and what the API shows (agents, jobs,
/// logs, configuration) is the same after the service is closed and opened again on its data dir
/// (what was acknowledged is on disk, and nothing that was refused changed it).
enum RequestTarget {
    static let target = FuzzTarget(
        name: "request",
        summary: "requests through the real router on a fresh copy of a fixture data dir: < 500, JSON errors, same state after a reopen"
    ) { data throws(FuzzFailure) in
        let dir = try RequestFixture.freshDataDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let service = try open(dir)
        var closed = false
        defer { if !closed { service.close() } }
        for request in FuzzRequest.parse(data) {
            if request.method == "TICK" {
                service.tick()
                continue
            }
            let answer = send(request, to: service)
            if trace { print("\(request.method) \(request.path) \(request.query) [\(request.auth)] → \(answer.status) \(excerpt(answer.body, limit: 160))") }
            try check(answer, for: request)
            try checkEcho(answer, for: request, service)
        }
        let before = try snapshot(service)
        service.close()
        closed = true
        let reopened = try open(dir)
        defer { reopened.close() }
        let after = try snapshot(reopened)
        if before != after {
            throw FuzzFailure("the API shows another state after a reopen:\n\(difference(before, after))")
        }
    }

    /// MMS_FUZZ_TRACE=1 prints every request and its answer (for writing seeds by hand).
    static let trace = ProcessInfo.processInfo.environment["MMS_FUZZ_TRACE"] == "1"

    static func open(_ dir: String) throws(FuzzFailure) -> InProcessService {
        do {
            return try InProcessService(dataDir: dir, adminToken: RequestFixture.adminToken)
        } catch {
            throw FuzzFailure("cannot open the service on \(dir): \(error)")
        }
    }

    /// Sends one request as the HTTP front would.
    static func send(_ r: FuzzRequest, to service: InProcessService) -> InProcessService.Answer {
        service.handle(method: r.method, path: r.path, query: r.query, authorization: RequestFixture.authorization(r.auth),
                       contentType: "application/json", body: r.body)
    }

    /// The per-answer properties.
    static func check(_ answer: InProcessService.Answer, for r: FuzzRequest) throws(FuzzFailure) {
        let what = "\(r.method) \(r.path) \(r.query.sorted { $0.key < $1.key }) [\(r.auth)]"
        try require(answer.status < 500, "\(what) answered \(answer.status): \(excerpt(answer.body))")
        if answer.status >= 400 {
            guard let envelope = try? MMSJSON.decode(APIErrorEnvelope.self, from: answer.body) else {
                throw FuzzFailure("\(what) answered \(answer.status) without the contract's JSON error: \(excerpt(answer.body))")
            }
            let e = envelope.error
            try require(e.knownCode != nil && e.httpStatus == answer.status && !e.message.isEmpty,
                        "\(what) answered \(answer.status) with error code \(e.code): \(e.message)")
        } else if answer.contentType == "application/json" {
            try require((try? JSONSerialization.jsonObject(with: answer.body, options: [.fragmentsAllowed])) != nil,
                        "\(what) answered \(answer.status) with a body that is not JSON: \(excerpt(answer.body))")
        }
    }

    /// An acknowledged write is what a read shows next: a configuration entry (read from disk) or a
    /// job (from memory while active, from disk once completed) as the answer described it.
    static func checkEcho(_ answer: InProcessService.Answer, for r: FuzzRequest, _ service: InProcessService) throws(FuzzFailure) {
        guard (200..<300).contains(answer.status), r.method != "GET", r.method != "HEAD" else { return }
        let auth = "Bearer \(RequestFixture.adminToken)"
        if r.method == "PUT", let entry = try? MMSJSON.decode(ConfigEntry.self, from: answer.body) {
            let list: ConfigEntryList = try get(service, "/api/v1/config", [:], auth)
            let stored = list.entries.first { $0.name == entry.name }
            try require(stored == entry, "PUT \(r.path) answered \(excerpt(answer.body)) but the entry reads \(String(describing: stored))")
        } else if var job = try? MMSJSON.decode(Job.self, from: answer.body) {
            var stored: Job = try get(service, "/api/v1/jobs/\(job.id)", [:], auth)
            job.waitingReason = nil
            stored.waitingReason = nil
            try require(stored == job, "\(r.method) \(r.path) answered \(excerpt(answer.body)) but job \(job.id) reads \(excerpt(MMSJSON.encode(stored)))")
        }
    }

    /// What the admin API shows, as lines; only what a restart must keep (not status, waitingReason,
    /// or anything else derived from time since the start).
    static func snapshot(_ service: InProcessService) throws(FuzzFailure) -> [String] {
        let auth = "Bearer \(RequestFixture.adminToken)"
        let agents: AgentList = try get(service, "/api/v1/agents", [:], auth)
        let jobs: JobList = try get(service, "/api/v1/jobs", ["limit": "1000"], auth)
        let config: ConfigEntryList = try get(service, "/api/v1/config", [:], auth)
        var lines: [String] = []
        for a in agents.agents {
            var kept = a
            kept.status = .pending
            kept.freeSpaceBytes = nil  // kept in memory only, from the last ping: null after a restart
            lines.append("agent " + String(decoding: MMSJSON.encode(kept), as: UTF8.self))
        }
        for j in jobs.jobs {
            var kept = j
            kept.waitingReason = nil
            lines.append("job " + String(decoding: MMSJSON.encode(kept), as: UTF8.self))
            let log = service.handle(method: "GET", path: "/api/v1/jobs/\(j.id)/log", authorization: auth)
            lines.append("log \(j.id) \(log.status) \(log.body.base64EncodedString())")
        }
        for e in config.entries {
            lines.append("config " + String(decoding: MMSJSON.encode(e), as: UTF8.self))
        }
        return lines
    }

    private static func get<T: Decodable>(_ service: InProcessService, _ path: String, _ query: [String: String],
                                          _ auth: String) throws(FuzzFailure) -> T {
        let answer = service.handle(method: "GET", path: path, query: query, authorization: auth)
        guard answer.status == 200 else { throw FuzzFailure("GET \(path) answered \(answer.status): \(excerpt(answer.body))") }
        do {
            return try MMSJSON.decode(T.self, from: answer.body)
        } catch {
            throw FuzzFailure("GET \(path) answered JSON that does not decode: \(error.message)")
        }
    }

    /// The lines only one side has.
    static func difference(_ before: [String], _ after: [String]) -> String {
        let gone = before.filter { !after.contains($0) }.map { "- " + $0 }
        let new = after.filter { !before.contains($0) }.map { "+ " + $0 }
        return (gone + new).joined(separator: "\n")
    }
}
