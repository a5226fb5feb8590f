import Foundation
import MonitorModels

/// The agent-side calls of the contract, as a struct of closures (a live value talks HTTP; tests may swap any).
public struct AgentAPI: Sendable {
    /// POST /agents/register; `accepted` is false while the agent is pending (202).
    public var register: @Sendable (RegisterRequest) async throws(ClientError) -> (agent: Agent, pending: Bool)
    /// POST /agents/{uuid}/ping.
    public var ping: @Sendable (_ uuid: String, PingRequest) async throws(ClientError) -> PingResponse
    /// GET /agents/{uuid}/next?wait=S; nil when nothing came within the wait (204).
    public var next: @Sendable (_ uuid: String, _ waitSeconds: Int) async throws(ClientError) -> NextMessage?
    /// GET /agents/{uuid}/config.
    public var config: @Sendable (_ uuid: String) async throws(ClientError) -> AgentConfig
    /// POST /jobs/{id}/state.
    public var reportState: @Sendable (_ jobId: Int64, JobStateReport) async throws(ClientError) -> Job
    /// POST /jobs/{id}/log?attempt=A&offset=N; returns the log's total size.
    public var appendLog: @Sendable (_ jobId: Int64, _ attempt: Int, _ offset: Int64, Data) async throws(ClientError) -> Int64
    /// GET /api/v1/version (no auth needed).
    public var version: @Sendable () async throws(ClientError) -> VersionInfo
    /// GET /api/v1/agent-binary: the agent binary the server offers, with its announced SHA-256 and version.
    public var agentBinary: @Sendable () async throws(ClientError) -> AgentBinaryDownload

    public init(
        register: @escaping @Sendable (RegisterRequest) async throws(ClientError) -> (agent: Agent, pending: Bool),
        ping: @escaping @Sendable (String, PingRequest) async throws(ClientError) -> PingResponse,
        next: @escaping @Sendable (String, Int) async throws(ClientError) -> NextMessage?,
        config: @escaping @Sendable (String) async throws(ClientError) -> AgentConfig,
        reportState: @escaping @Sendable (Int64, JobStateReport) async throws(ClientError) -> Job,
        appendLog: @escaping @Sendable (Int64, Int, Int64, Data) async throws(ClientError) -> Int64,
        version: @escaping @Sendable () async throws(ClientError) -> VersionInfo,
        agentBinary: @escaping @Sendable () async throws(ClientError) -> AgentBinaryDownload = { () async throws(ClientError) in
            throw ClientError.api(status: 404, error: APIError(.notFound, "no agent binary offered"))
        }
    ) {
        self.register = register
        self.ping = ping
        self.next = next
        self.config = config
        self.reportState = reportState
        self.appendLog = appendLog
        self.version = version
        self.agentBinary = agentBinary
    }
}

/// An agent binary as the server sent it: the bytes and what its headers say they are.
public struct AgentBinaryDownload: Sendable {
    public var bytes: Data
    /// `X-MMS-Agent-SHA256` (to be checked against the bytes).
    public var sha256: String
    /// `X-MMS-Agent-Version`.
    public var version: String
    public init(bytes: Data, sha256: String, version: String) {
        self.bytes = bytes
        self.sha256 = sha256
        self.version = version
    }
}

extension AgentAPI {
    /// The live client: talks to `serverURL` with the agent's secret as bearer token.
    public static func live(serverURL: URL, secret: String) -> AgentAPI {
        live(servers: ServerPool(serverURL), secret: secret)
    }

    /// The live client over several servers: every call goes to the one `servers` uses, and moves on with it.
    /// Plain http goes over the transport's own sockets: these calls are on the way from a job's arrival
    /// to its first log bytes, and from a cancel to its SIGTERM.
    public static func live(servers: ServerPool, secret: String) -> AgentAPI {
        let t = HTTPTransport(servers: servers, token: secret, directHTTP: true)
        // A server that died with its host, or was cut off, never refuses: only a timeout shows it. With other
        // servers to go to, a ping (answered in milliseconds when all is well) gives up after 4 s, so the agent
        // is on another server within two ping intervals; alone, it waits as long as any call.
        let pingTimeout: TimeInterval = servers.servers.others.isEmpty ? 30 : 4
        return AgentAPI(
            register: { (req) async throws(ClientError) in
                let reply = try await t.send("POST", "/api/v1/agents/register", body: MMSJSON.encode(req))
                return (try t.decode(Agent.self, reply.body), reply.status == 202)
            },
            ping: { (uuid, req) async throws(ClientError) in
                try await t.json("POST", "/api/v1/agents/\(uuid)/ping", body: req, as: PingResponse.self, timeout: pingTimeout)
            },
            next: { (uuid, wait) async throws(ClientError) in
                let reply = try await t.send(
                    "GET", "/api/v1/agents/\(uuid)/next", query: [("wait", String(wait))], timeout: TimeInterval(wait + 15))
                if reply.status == 204 || reply.body.isEmpty { return nil }
                return try t.decode(NextMessage.self, reply.body)
            },
            config: { (uuid) async throws(ClientError) in
                try await t.json("GET", "/api/v1/agents/\(uuid)/config", as: AgentConfig.self)
            },
            reportState: { (jobId, report) async throws(ClientError) in
                try await t.json("POST", "/api/v1/jobs/\(jobId)/state", body: report, as: Job.self)
            },
            appendLog: { (jobId, attempt, offset, bytes) async throws(ClientError) in
                let reply = try await t.send(
                    "POST", "/api/v1/jobs/\(jobId)/log", query: [("attempt", String(attempt)), ("offset", String(offset))],
                    body: bytes, contentType: "application/octet-stream", timeout: 60)
                return try t.decode(LogAppendResponse.self, reply.body).size
            },
            version: { () async throws(ClientError) in
                try await t.json("GET", "/api/v1/version", as: VersionInfo.self)
            },
            agentBinary: { () async throws(ClientError) in
                let reply = try await t.send("GET", "/api/v1/agent-binary", timeout: 300)
                guard let sha = reply.headers[AgentBinaryHeaders.sha256.lowercased()],
                      let version = reply.headers[AgentBinaryHeaders.version.lowercased()] else {
                    throw ClientError.badResponse("the agent binary came without its \(AgentBinaryHeaders.sha256) and "
                        + "\(AgentBinaryHeaders.version) headers")
                }
                return AgentBinaryDownload(bytes: reply.body, sha256: sha, version: version)
            }
        )
    }
}
