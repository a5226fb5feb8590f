import Foundation
import MonitorHTTP
import MonitorModels

/// The push API of `mms-agent serve`: `/is_alive` open, every other route behind the HS256 JWT.
extension Router {
    /// Every route of a push agent.
    static func serve(_ agent: ServeAgent) -> Router {
        // No operator routes here: the push API's callers prove themselves with a JWT, checked in each handler.
        var r = Router(authenticate: { _ throws(APIError) in throw APIError(.unauthorized, "this agent has no operators") })
        let alive = Response.json(PushAgentAlive(containerRuntime: agent.containerRuntime?.description))
        r.add("GET", "/is_alive", .open) { _, _ throws(APIError) in
            agent.statsd?.gauge("up", 1)
            return .respond(alive)
        }
        r.add("GET", "/status", .agent) { req, _ throws(APIError) in
            try agent.authorize(req)
            return .respond(.json(agent.status()))
        }
        r.add("POST", "/jobs", .agent) { req, _ throws(APIError) in
            try agent.authorize(req)
            return .respond(.json(try agent.accept(Input.body(req, as: PushJobRequest.self), host: req.hostName), status: 202))
        }
        r.add("GET", "/jobs/{id}", .agent) { req, p throws(APIError) in
            try agent.authorize(req)
            return .respond(.json(try agent.job(p[0]).status()))
        }
        r.add("POST", "/jobs/{id}/cancel", .agent) { req, p throws(APIError) in
            try agent.authorize(req)
            let job = try agent.job(p[0])
            agent.cancel(job)
            return .respond(.json(job.status(), status: 202))
        }
        r.add("GET", "/jobs/{id}/log", .agent) { req, p throws(APIError) in
            try agent.authorize(req)
            return try agent.readLog(req, id: p[0])
        }
        return r
    }
}

extension ServeAgent {
    /// Most bytes one log read returns (as the server's).
    static let logReadLimit = 1 << 20

    /// `GET /jobs/{id}/log?offset=N&wait=S[&phase=P]`: the bytes from N, or a long poll until there are some,
    /// the job ended, or (with `phase`, the caller's idea of it) the job's phase is no longer P.
    func readLog(_ req: Request, id: String) throws(APIError) -> RouteResult {
        let job = try job(id)
        let offset = try Input.int(req, "offset", in: 0...Int64.max, default: 0) ?? 0
        let wait = try Input.wait(req)
        let known = try req.query["phase"].map { text throws(APIError) -> PushJobPhase in
            guard let p = PushJobPhase(rawValue: text) else { throw APIError(.badRequest, "query 'phase' must be preparing or building") }
            return p
        }
        if let r = logAnswer(job, from: offset, final: wait == 0, known: known) { return .respond(r) }
        return .wait(LongPoll(
            key: .log(job.id), deadline: Date().addingTimeInterval(TimeInterval(wait)),
            answer: { [self] in logAnswer(job, from: offset, final: false, known: known) },
            timeout: { [self] in logAnswer(job, from: offset, final: true, known: known) ?? .error(APIError(.internalError, "no log answer")) },
            generation: 0))
    }

    /// The bytes past `offset` with `X-Log-Size`, `X-Log-Complete` and, while the job runs, `X-Job-Phase`; nil
    /// while there are none, the job runs in the `known` phase (if given) and this is not the `final` answer of a wait.
    private func logAnswer(_ job: ServeJob, from offset: Int64, final: Bool, known: PushJobPhase?) -> Response? {
        let complete = job.isComplete  // first: once complete, the size read next is the final one
        let phase = job.phase
        let size = job.spool.written
        if offset >= size && !complete && !final && (known == nil || known == phase) { return nil }
        let bytes = offset < size ? job.spool.read(from: offset, max: Self.logReadLimit) : Data()
        if !bytes.isEmpty { statsd?.count("log.bytes", Int64(bytes.count), job: job.name) }
        var headers = [("X-Log-Size", String(size)), ("X-Log-Complete", complete ? "true" : "false")]
        if !complete { headers.append(("X-Job-Phase", phase.rawValue)) }
        return Response(status: 200, body: bytes, contentType: "application/octet-stream", headers: headers)
    }
}
