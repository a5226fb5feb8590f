import Foundation
import MonitorModels

/// What a push agent's driver acts on, read under the lock.
struct PushWork: Sendable {
    var uuid: String
    var name: String
    var url: String
    var secret: String
    var caCert: String?
    /// The agent's active job, if any.
    var job: Job?
}

/// Push agents: the admin route that adds one, and the calls their drivers make in place of the agent's own.
extension ServiceCore {
    /// `POST /api/v1/agents/push`: a push agent, enabled; 201 with the agent (never its secret).
    func addPushAgent(_ req: Request) throws(APIError) -> Response {
        let body = try Input.body(req, as: PushAgentRequest.self)
        try Self.validate(body)
        let now = Date()
        let uuid = UUID().uuidString.lowercased()
        // No agent secret: nothing may call the server as this agent. The hash only fills the slot.
        let hash = SHA256.hex("push-agent:" + UUID().uuidString + UUID().uuidString)
        let host = URLComponents(string: body.url)?.host ?? ""
        let agent = Agent(uuid: uuid, name: body.name, hostname: host, configState: .enabled, status: .missing,
                          resources: body.resources, environments: body.environments, registeredAt: now, kind: .push, url: body.url)
        return try locked { () throws(APIError) -> Response in
            try fresh()
            _ = try mutate(now: now) { d in
                var c = d.addPushAgent(agent, secretHash: hash, pushSecret: body.authTokenSecret, pushCACert: body.caCert, now: now)
                c.audit.append(audit(req, "agent.push_add", AuditTarget(kind: "agent", id: uuid, name: body.name),
                                     reason: body.url, now: now))
                return c
            }
            secretIndex[hash] = uuid
            guard let a = dispatcher.view(uuid) else { throw APIError(.internalError, "the new agent vanished") }
            return .json(a, status: 201)
        }
    }

    static func validate(_ body: PushAgentRequest) throws(APIError) {
        if let p = Validation.nameProblem(body.name, field: "name") { throw APIError(.badRequest, p) }
        if let p = Validation.tagListProblem(body.resources, field: "resources") { throw APIError(.badRequest, p) }
        if let p = Validation.tagListProblem(body.environments, field: "environments") { throw APIError(.badRequest, p) }
        guard body.url.count <= 2048, let url = URLComponents(string: body.url), ["http", "https"].contains(url.scheme ?? ""),
              let host = url.host, !host.isEmpty, url.query == nil, url.fragment == nil,
              !body.url.unicodeScalars.contains(where: { $0.value < 0x21 || $0.value == 0x7f }) else {
            throw APIError(.badRequest, "field 'url' must be an http:// or https:// URL with a host and no query, e.g. https://build-7.lab:8000")
        }
        let secretBytes = body.authTokenSecret.utf8.count
        guard secretBytes >= PushAgentRequest.minimumSecretBytes, secretBytes <= 1024 else {
            throw APIError(.badRequest, "field 'authTokenSecret' must be 16 to 1024 bytes (the agent's --auth-token-secret)")
        }
        if let ca = body.caCert {
            guard ca.utf8.count <= Validation.maxCACertBytes, Validation.isPEMCertificate(ca) else {
                throw APIError(.badRequest, "field 'caCert' must be PEM text holding a CERTIFICATE block (at most 64 KiB)")
            }
        }
    }

    /// Whether this server drives push agents: always on its own database; on a shared one only the
    /// holder of the sweeper lease does, so one replica talks to each push agent.
    var drivesPushAgents: Bool { !store.isShared || isSweeper.withLock { $0 } }

    /// The uuids of every push agent, and of every agent, as this server's cache has them (on a shared
    /// database the replica link keeps it caught up; no database read here, the supervisor asks every second).
    func agentUUIDsByKind() -> (push: Set<String>, all: Set<String>) {
        locked {
            var push: Set<String> = []
            for (uuid, r) in dispatcher.agents.storage where r.agent.kind == .push { push.insert(uuid) }
            return (push, Set(dispatcher.agents.storage.keys))
        }
    }

    /// What the driver of push agent `uuid` acts on now; nil once the agent is deleted.
    func pushWork(_ uuid: String) -> PushWork? {
        locked {
            guard let r = dispatcher.agents[uuid], r.agent.kind == .push, let url = r.agent.url, let secret = r.pushSecret else { return nil }
            let job = r.currentJobId.flatMap { dispatcher.jobs[$0] }
            return PushWork(uuid: uuid, name: r.agent.name, url: url, secret: secret, caCert: r.pushCACert, job: job)
        }
    }

    /// The push agent answered (`/is_alive` or a job call): it counts as contact. `/is_alive` also says its
    /// version and container runtime (`.some(nil)`: none).
    func pushContact(_ uuid: String, version: String? = nil, containerRuntime: String?? = nil) {
        let now = Date()
        locked {
            guard let changes = try? apply(now: now, { d in
                d.pushContact(uuid, version: version, containerRuntime: containerRuntime, now: now)
            }) else { return }
            noteContact(uuid, after: changes, now: now)
        }
    }

    /// The push agent took the job: it is `building`, or `preparing` while its containers and jump point are
    /// set up (as a pull agent reports it at its start).
    func pushStarted(_ jobId: Int64, attempt: Int, uuid: String, phase: PushJobPhase) throws(APIError) {
        try pushReport(jobId, uuid: uuid, JobStateReport(attempt: attempt, state: phase == .preparing ? .preparing : .building))
    }

    /// The push agent's job left `preparing`: its first command runs, and its jump point (if any) is open.
    func pushBuilding(_ jobId: Int64, attempt: Int, uuid: String, sshCommand: String?) throws(APIError) {
        try pushReport(jobId, uuid: uuid, JobStateReport(attempt: attempt, state: .building, sshCommand: sshCommand))
    }

    /// The push agent's job ended with `status` (its log copied before).
    func pushCompleted(_ jobId: Int64, attempt: Int, uuid: String, _ status: PushJobStatus) throws(APIError) {
        let result = status.result ?? .failed
        try pushReport(jobId, uuid: uuid, JobStateReport(
            attempt: attempt, state: .completed, result: result, exitCode: result == .cancelled ? nil : status.exitCode,
            failureReason: status.failureReason.map { String($0.prefix(1024)) }))
    }

    private func pushReport(_ jobId: Int64, uuid: String, _ report: JobStateReport) throws(APIError) {
        let now = Date()
        try locked { () throws(APIError) in
            try fresh()
            _ = try reportableJob(jobId, uuid: uuid, attempt: report.attempt)
            // Judged again inside the change: on a shared database the cache checked above may be behind.
            let changes = try mutate(now: now) { d throws(APIError) in try d.acceptReport(jobId, from: uuid, report, now: now) }
            noteContact(uuid, after: changes, now: now)
        }
    }

    /// Copies bytes of the push agent's log into the job's log at `offset`; returns the log's size.
    func pushAppendLog(_ jobId: Int64, attempt: Int, uuid: String, offset: Int64, _ bytes: Data) throws(APIError) -> Int64 {
        let now = Date()
        return try locked { () throws(APIError) -> Int64 in
            try fresh()
            return try appendLogBytes(jobId, uuid: uuid, attempt: attempt, offset: offset, bytes, now: now)
        }
    }

    /// The push agent answered but does not hold the job the server gave it (it was restarted): the job is
    /// rescheduled, as for a pull agent that comes back without its job.
    func pushLostJob(_ uuid: String) {
        let now = Date()
        locked { _ = try? mutate(now: now) { d in d.ping(uuid, jobId: nil, now: now) } }
    }

    /// What a job may see of the configuration: every non-secret entry and the secret ones it names.
    func pushJobConfig(_ spec: JobSpec) throws(APIError) -> PushJobConfig {
        let entries = try locked { () throws(APIError) -> [StoredConfigEntry] in
            do { return try store.configEntries() } catch { throw Self.unavailable(error) }
        }
        var config = PushJobConfig()
        for e in entries where !e.secret || spec.secrets.contains(e.name) {
            config.entries[e.name] = e.value
            if e.secret { config.secret.append(e.name) }
        }
        return config
    }
}
