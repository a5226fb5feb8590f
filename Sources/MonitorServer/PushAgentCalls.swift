import CurlHTTP
import Foundation
import MMSCrypto
import MonitorModels

/// Why a call to a push agent did not give what the push API promises.
enum PushCallError: Error, Sendable {
    /// No HTTP answer (down, refused, TLS failed, timed out): lost contact takes its course.
    case unreachable(String)
    /// 404: the agent does not hold that job.
    case notFound
    /// 409 agent_busy: it runs another job.
    case busy
    /// Any other answer (a refusal of the server's token, garbage, another job's id): the agent is not trusted.
    case misbehaved(String)
}

/// The calls mms-server makes to one push agent, each signed with a fresh HS256 JWT (exp 60 s) and each
/// answer checked against the push API before anything is believed.
struct PushAgentCalls: Sendable {
    let base: String
    let secret: [UInt8]
    let subject: String
    let client: CurlClient

    init(url: String, secret: String, agentUUID: String, client: CurlClient) {
        base = url.hasSuffix("/") ? String(url.dropLast()) : url
        self.secret = Array(secret.utf8)
        subject = agentUUID
        self.client = client
    }

    /// A token for one call.
    func token(now: Date = Date()) -> String {
        let t = now.timeIntervalSince1970.rounded(.down)
        return JWT.signHS256(JWTClaims(iss: "mms-server", sub: subject, iat: t, exp: t + 60), secret: secret)
    }

    func isAlive(timeout: TimeInterval) throws(PushCallError) -> PushAgentAlive {
        let r = try send("GET", "/is_alive", signed: false, timeout: timeout)
        let alive: PushAgentAlive = try decode(r, expect: 200)
        guard alive.status == "ok" else { throw .misbehaved("/is_alive answered status \(alive.status.debugDescription)") }
        return alive
    }

    func status() throws(PushCallError) -> PushAgentStatus {
        try decode(try send("GET", "/status", timeout: 10), expect: 200)
    }

    /// POST /jobs: the agent must answer 202 with this job's id (and says whether it starts `preparing`).
    func submit(_ request: PushJobRequest) throws(PushCallError) -> PushJobAccepted {
        let r = try send("POST", "/jobs", body: MMSJSON.encode(request), timeout: 15)
        if r.status == 409, Self.code(r) == "agent_busy" { throw .busy }
        let accepted: PushJobAccepted = try decode(r, expect: 202)
        guard accepted.jobId == request.job.id else {
            throw .misbehaved("it answered job \(request.job.id) with job \(accepted.jobId)")
        }
        return accepted
    }

    /// GET /jobs/{id}: the answer must be about that job.
    func job(_ id: Int64) throws(PushCallError) -> PushJobStatus {
        let r = try send("GET", "/jobs/\(id)", timeout: 10)
        if r.status == 404 { throw .notFound }
        let s: PushJobStatus = try decode(r, expect: 200)
        guard s.id == id else { throw .misbehaved("it answered GET /jobs/\(id) about job \(s.id)") }
        guard s.logBase >= 0, s.attempt >= 1 else { throw .misbehaved("its GET /jobs/\(id) answer has a negative logBase or attempt") }
        return s
    }

    /// GET /jobs/{id}/log: bytes from `offset`, the size, whether the log is complete and the job's phase while it
    /// runs, checked for sense. With `phase` (the server's idea of it) the long poll also ends when the phase changes.
    func log(_ id: Int64, from offset: Int64, wait: Int, phase: PushJobPhase? = nil) throws(PushCallError)
        -> (bytes: Data, size: Int64, complete: Bool, phase: PushJobPhase?) {
        let known = phase.map { "&phase=\($0.rawValue)" } ?? ""
        let r = try send("GET", "/jobs/\(id)/log?offset=\(offset)&wait=\(wait)\(known)", timeout: TimeInterval(wait + 15))
        if r.status == 404 { throw .notFound }
        guard r.status == 200 else { throw .misbehaved("GET /jobs/\(id)/log answered \(r.status)") }
        guard let size = r.header("X-Log-Size").flatMap(Int64.init), let complete = r.header("X-Log-Complete").flatMap(Bool.init),
              r.body.count <= 1 << 20, size >= offset + Int64(r.body.count) || (r.body.isEmpty && offset >= size) else {
            throw .misbehaved("its log answer for job \(id) does not add up (X-Log-Size, X-Log-Complete, body)")
        }
        return (r.body, size, complete, r.header("X-Job-Phase").flatMap(PushJobPhase.init(rawValue:)))
    }

    func cancel(_ id: Int64) throws(PushCallError) {
        let r = try send("POST", "/jobs/\(id)/cancel", timeout: 10)
        if r.status == 404 { throw .notFound }
        guard r.status == 202 else { throw .misbehaved("POST /jobs/\(id)/cancel answered \(r.status)") }
    }

    private func send(_ method: String, _ path: String, signed: Bool = true, body: Data? = nil,
                      timeout: TimeInterval) throws(PushCallError) -> CurlResponse {
        var headers: [(String, String)] = []
        if signed { headers.append(("Authorization", "Bearer \(token())")) }
        if body != nil { headers.append(("Content-Type", "application/json")) }
        do {
            return try client.send(method, base + path, headers: headers, body: body, timeout: timeout)
        } catch {
            throw .unreachable(error.message)
        }
    }

    private func decode<T: Decodable>(_ r: CurlResponse, expect status: Int) throws(PushCallError) -> T {
        guard r.status == status else {
            let said = Self.message(r).map { ": \($0)" } ?? ""
            throw .misbehaved("it answered \(r.status) where \(status) was due\(said)")
        }
        do {
            return try MMSJSON.decode(T.self, from: r.body)
        } catch {
            throw .misbehaved("its answer is not what the push API says (\(error.message))")
        }
    }

    private static func code(_ r: CurlResponse) -> String? { (try? MMSJSON.decode(APIErrorEnvelope.self, from: r.body))?.error.code }
    private static func message(_ r: CurlResponse) -> String? {
        (try? MMSJSON.decode(APIErrorEnvelope.self, from: r.body)).map { String($0.error.message.prefix(200)) }
    }
}

/// One line on stderr: `mms-server: MESSAGE`.
enum ServerLog {
    static func line(_ message: String) {
        let data = Array("\(RFC3339.format(Date())) mms-server: \(message)\n".utf8)
        data.withUnsafeBytes { _ = write(2, $0.baseAddress, $0.count) }
    }
}
