import Foundation
import MonitorModels

/// A slice of a job's log: the bytes from an offset, the log's total size, and whether it is complete.
public struct LogSlice: Sendable, Equatable {
    public var offset: Int64
    public var bytes: Data
    public var totalSize: Int64
    public var complete: Bool
    public init(offset: Int64, bytes: Data, totalSize: Int64, complete: Bool) {
        self.offset = offset
        self.bytes = bytes
        self.totalSize = totalSize
        self.complete = complete
    }
}

/// The admin-side calls of the contract, as a struct of closures (live over HTTP, or a fake in tests).
public struct AdminAPI: Sendable {
    public var listAgents: @Sendable () async throws(ClientError) -> [Agent]
    public var getAgent: @Sendable (_ uuid: String) async throws(ClientError) -> Agent
    public var patchAgent: @Sendable (_ uuid: String, AgentPatch) async throws(ClientError) -> Agent
    public var bulkPatchAgents: @Sendable (BulkAgentPatch) async throws(ClientError) -> [Agent]
    public var deleteAgent: @Sendable (_ uuid: String) async throws(ClientError) -> Void
    public var createJob: @Sendable (JobSpec) async throws(ClientError) -> Job
    /// GET /jobs?state=S&limit=N, newest first.
    public var listJobs: @Sendable (_ state: JobState?, _ limit: Int?) async throws(ClientError) -> [Job]
    public var getJob: @Sendable (_ id: Int64) async throws(ClientError) -> Job
    public var cancelJob: @Sendable (_ id: Int64) async throws(ClientError) -> Job
    public var rerunJob: @Sendable (_ id: Int64) async throws(ClientError) -> Job
    public var listConfig: @Sendable () async throws(ClientError) -> [ConfigEntry]
    public var putConfig: @Sendable (_ name: String, ConfigEntryInput) async throws(ClientError) -> ConfigEntry
    public var deleteConfig: @Sendable (_ name: String) async throws(ClientError) -> Void
    /// GET /jobs/{id}/log?offset=N&wait=S.
    public var readLog: @Sendable (_ id: Int64, _ offset: Int64, _ waitSeconds: Int) async throws(ClientError) -> LogSlice
    /// GET /jobs/{id}/log?offset=N&timestamps=1: when each line from N reached the server (at most `maxLines` decoded).
    public var readLogTimestamps: @Sendable (_ id: Int64, _ offset: Int64, _ maxLines: Int) async throws(ClientError) -> LogStampPage
    /// GET /events?since=SEQ&wait=S (since nil: just the current `next`).
    public var events: @Sendable (_ since: Int64?, _ waitSeconds: Int) async throws(ClientError) -> EventBatch
    /// GET /api/v1/version.
    public var version: @Sendable () async throws(ClientError) -> VersionInfo
    /// GET /api/v1/whoami: the operator this token belongs to.
    public var whoami: @Sendable () async throws(ClientError) -> OperatorIdentity
    /// GET /api/v1/audit?since=SEQ&limit=N&target=ID, newest first.
    public var listAudit: @Sendable (_ since: Int64?, _ limit: Int?, _ target: String?) async throws(ClientError) -> [AuditEntry]
    /// PATCH /agents/{uuid} (one) or PATCH /agents (several) with `{configState: "disabled", reason?, until?}`.
    public var disableAgents: @Sendable (_ uuids: [String], _ reason: String?, _ until: Date?) async throws(ClientError) -> [Agent]
    /// GET /api/v1/stats?window=W (e.g. "30m").
    public var stats: @Sendable (_ window: String) async throws(ClientError) -> FleetStats
    /// POST /api/v1/agents/push: adds a push agent (`mms-agent serve`), enabled.
    public var addPushAgent: @Sendable (PushAgentRequest) async throws(ClientError) -> Agent
    /// GET /jobs?agent=UUID&state=S&limit=N: the jobs whose current (or last) attempt is on that agent,
    /// newest first (use `listJobs(state:agent:limit:)`).
    public var listAgentJobs: @Sendable (_ state: JobState?, _ agent: String, _ limit: Int?) async throws(ClientError) -> [Job]

    /// Builds a client from its calls (the live one, or a fake).
    public init(
        listAgents: @escaping @Sendable () async throws(ClientError) -> [Agent],
        getAgent: @escaping @Sendable (_ uuid: String) async throws(ClientError) -> Agent,
        patchAgent: @escaping @Sendable (_ uuid: String, AgentPatch) async throws(ClientError) -> Agent,
        bulkPatchAgents: @escaping @Sendable (BulkAgentPatch) async throws(ClientError) -> [Agent],
        deleteAgent: @escaping @Sendable (_ uuid: String) async throws(ClientError) -> Void,
        createJob: @escaping @Sendable (JobSpec) async throws(ClientError) -> Job,
        listJobs: @escaping @Sendable (_ state: JobState?, _ limit: Int?) async throws(ClientError) -> [Job],
        getJob: @escaping @Sendable (_ id: Int64) async throws(ClientError) -> Job,
        cancelJob: @escaping @Sendable (_ id: Int64) async throws(ClientError) -> Job,
        rerunJob: @escaping @Sendable (_ id: Int64) async throws(ClientError) -> Job,
        listConfig: @escaping @Sendable () async throws(ClientError) -> [ConfigEntry],
        putConfig: @escaping @Sendable (_ name: String, ConfigEntryInput) async throws(ClientError) -> ConfigEntry,
        deleteConfig: @escaping @Sendable (_ name: String) async throws(ClientError) -> Void,
        readLog: @escaping @Sendable (_ id: Int64, _ offset: Int64, _ waitSeconds: Int) async throws(ClientError) -> LogSlice,
        events: @escaping @Sendable (_ since: Int64?, _ waitSeconds: Int) async throws(ClientError) -> EventBatch,
        version: @escaping @Sendable () async throws(ClientError) -> VersionInfo,
        readLogTimestamps: @escaping @Sendable (_ id: Int64, _ offset: Int64, _ maxLines: Int) async throws(ClientError) -> LogStampPage
            = { _, _, _ throws(ClientError) in throw .badResponse("this client has no log timestamps") },
        whoami: @escaping @Sendable () async throws(ClientError) -> OperatorIdentity
            = { () throws(ClientError) in throw .badResponse("this client has no whoami") },
        listAudit: @escaping @Sendable (_ since: Int64?, _ limit: Int?, _ target: String?) async throws(ClientError) -> [AuditEntry]
            = { _, _, _ throws(ClientError) in throw .badResponse("this client has no audit log") },
        disableAgents: @escaping @Sendable (_ uuids: [String], _ reason: String?, _ until: Date?) async throws(ClientError) -> [Agent]
            = { _, _, _ throws(ClientError) in throw .badResponse("this client cannot disable with a reason") },
        stats: @escaping @Sendable (_ window: String) async throws(ClientError) -> FleetStats
            = { _ throws(ClientError) in throw .badResponse("this client has no fleet history") },
        addPushAgent: @escaping @Sendable (PushAgentRequest) async throws(ClientError) -> Agent
            = { _ throws(ClientError) in throw .badResponse("this client cannot add push agents") },
        listAgentJobs: @escaping @Sendable (_ state: JobState?, _ agent: String, _ limit: Int?) async throws(ClientError) -> [Job]
            = { _, _, _ throws(ClientError) in throw .badResponse("this client cannot list an agent's jobs") }
    ) {
        self.listAgentJobs = listAgentJobs
        self.listAgents = listAgents
        self.getAgent = getAgent
        self.patchAgent = patchAgent
        self.bulkPatchAgents = bulkPatchAgents
        self.deleteAgent = deleteAgent
        self.createJob = createJob
        self.listJobs = listJobs
        self.getJob = getJob
        self.cancelJob = cancelJob
        self.rerunJob = rerunJob
        self.listConfig = listConfig
        self.putConfig = putConfig
        self.deleteConfig = deleteConfig
        self.readLog = readLog
        self.readLogTimestamps = readLogTimestamps
        self.events = events
        self.version = version
        self.whoami = whoami
        self.listAudit = listAudit
        self.disableAgents = disableAgents
        self.stats = stats
        self.addPushAgent = addPushAgent
    }
}

extension AdminAPI {
    /// The live client: talks to `serverURL` with the admin token.
    public static func live(serverURL: URL, token: String) -> AdminAPI {
        live(servers: ServerPool(serverURL), token: token)
    }

    /// The live client over several servers: every call goes to the one `servers` uses, and moves on with it.
    public static func live(servers: ServerPool, token: String) -> AdminAPI {
        let t = HTTPTransport(servers: servers, token: token)
        let none: Int? = nil
        return AdminAPI(
            listAgents: { () async throws(ClientError) in
                try await t.json("GET", "/api/v1/agents", body: none, as: AgentList.self).agents
            },
            getAgent: { (uuid) async throws(ClientError) in
                try await t.json("GET", "/api/v1/agents/\(uuid)", body: none, as: Agent.self)
            },
            patchAgent: { (uuid, patch) async throws(ClientError) in
                try await t.json("PATCH", "/api/v1/agents/\(uuid)", body: patch, as: Agent.self)
            },
            bulkPatchAgents: { (patch) async throws(ClientError) in
                try await t.json("PATCH", "/api/v1/agents", body: patch, as: AgentList.self).agents
            },
            deleteAgent: { (uuid) async throws(ClientError) in
                _ = try await t.send("DELETE", "/api/v1/agents/\(uuid)")
            },
            createJob: { (spec) async throws(ClientError) in
                try await t.json("POST", "/api/v1/jobs", body: spec, as: Job.self, repeatable: false)
            },
            listJobs: { (state, limit) async throws(ClientError) in
                var q: [(String, String)] = []
                if let state { q.append(("state", state.rawValue)) }
                if let limit { q.append(("limit", String(limit))) }
                return try await t.json("GET", "/api/v1/jobs", query: q, body: none, as: JobList.self).jobs
            },
            getJob: { (id) async throws(ClientError) in
                try await t.json("GET", "/api/v1/jobs/\(id)", body: none, as: Job.self)
            },
            cancelJob: { (id) async throws(ClientError) in
                try await t.json("POST", "/api/v1/jobs/\(id)/cancel", body: none, as: Job.self)
            },
            rerunJob: { (id) async throws(ClientError) in
                try await t.json("POST", "/api/v1/jobs/\(id)/rerun", body: none, as: Job.self, repeatable: false)
            },
            listConfig: { () async throws(ClientError) in
                try await t.json("GET", "/api/v1/config", body: none, as: ConfigEntryList.self).entries
            },
            putConfig: { (name, input) async throws(ClientError) in
                try await t.json("PUT", "/api/v1/config/\(name)", body: input, as: ConfigEntry.self)
            },
            deleteConfig: { (name) async throws(ClientError) in
                _ = try await t.send("DELETE", "/api/v1/config/\(name)")
            },
            readLog: { (id, offset, wait) async throws(ClientError) in
                let reply = try await t.send(
                    "GET", "/api/v1/jobs/\(id)/log", query: [("offset", String(offset)), ("wait", String(wait))],
                    timeout: TimeInterval(wait + 15))
                let total = Int64(reply.headers["x-log-size"] ?? "") ?? offset + Int64(reply.body.count)
                let complete = reply.headers["x-log-complete"] == "true"
                return LogSlice(offset: offset, bytes: reply.body, totalSize: total, complete: complete)
            },
            events: { (since, wait) async throws(ClientError) in
                var q: [(String, String)] = [("wait", String(wait))]
                if let since { q.append(("since", String(since))) }
                return try await t.json("GET", "/api/v1/events", query: q, body: none, as: EventBatch.self, timeout: TimeInterval(wait + 15))
            },
            version: { () async throws(ClientError) in
                try await t.json("GET", "/api/v1/version", body: none, as: VersionInfo.self)
            },
            readLogTimestamps: { (id, offset, maxLines) async throws(ClientError) in
                let reply = try await t.send("GET", "/api/v1/jobs/\(id)/log", query: [("offset", String(offset)), ("timestamps", "1")])
                guard reply.headers["content-type"]?.hasPrefix("application/x-ndjson") == true else {
                    throw .badResponse("the server at \(servers.inUse.absoluteString) does not send log timestamps (it is older than this console)")
                }
                let next = reply.headers["x-log-next-offset"].flatMap { Int64($0) }
                return try LogStampReader.parse(reply.body, maxLines: maxLines, headerNext: next)
            },
            whoami: { () async throws(ClientError) in
                try await t.json("GET", "/api/v1/whoami", body: none, as: OperatorIdentity.self)
            },
            listAudit: { (since, limit, target) async throws(ClientError) in
                var q: [(String, String)] = []
                if let since { q.append(("since", String(since))) }
                if let limit { q.append(("limit", String(limit))) }
                if let target { q.append(("target", target)) }
                return try await t.json("GET", "/api/v1/audit", query: q, body: none, as: AuditPage.self).entries
            },
            disableAgents: { (uuids, reason, until) async throws(ClientError) in
                if uuids.count == 1 {
                    let patch = AgentPatch(configState: .disabled, reason: reason, until: until)
                    return [try await t.json("PATCH", "/api/v1/agents/\(uuids[0])", body: patch, as: Agent.self)]
                }
                let patch = BulkAgentPatch(uuids: uuids, configState: .disabled, reason: reason, until: until)
                return try await t.json("PATCH", "/api/v1/agents", body: patch, as: AgentList.self).agents
            },
            stats: { (window) async throws(ClientError) in
                try await t.json("GET", "/api/v1/stats", query: [("window", window)], body: none, as: FleetStats.self)
            },
            addPushAgent: { (request) async throws(ClientError) in
                try await t.json("POST", "/api/v1/agents/push", body: request, as: Agent.self, repeatable: false)
            },
            listAgentJobs: { (state, agent, limit) async throws(ClientError) in
                var q: [(String, String)] = [("agent", agent)]
                if let state { q.append(("state", state.rawValue)) }
                if let limit { q.append(("limit", String(limit))) }
                return try await t.json("GET", "/api/v1/jobs", query: q, body: none, as: JobList.self).jobs
            }
        )
    }

    /// GET /jobs with any of its filters, newest first: one state, one agent's jobs (those whose current or
    /// last attempt is on it), at most `limit` (the server's default 200 when nil).
    public func listJobs(state: JobState? = nil, agent: String? = nil, limit: Int? = nil) async throws(ClientError) -> [Job] {
        if let agent { return try await listAgentJobs(state, agent, limit) }
        return try await listJobs(state, limit)
    }
}
