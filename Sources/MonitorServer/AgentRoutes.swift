import Foundation
import MonitorModels

/// The agent side of the API: register, ping, config, the `next` long poll, state reports and log appends.
extension Router {
    mutating func addAgentRoutes(_ core: ServiceCore) {
        add("POST", "/api/v1/agents/register", .agent) { req, _ throws(APIError) in .respond(try core.register(req)) }
        add("POST", "/api/v1/agents/{uuid}/ping", .agent) { req, p throws(APIError) in .respond(try core.ping(req, uuid: p[0])) }
        add("GET", "/api/v1/agents/{uuid}/config", .agent) { req, p throws(APIError) in .respond(try core.agentConfig(req, uuid: p[0])) }
        add("GET", "/api/v1/agents/{uuid}/next", .agent) { req, p throws(APIError) in try core.next(req, uuid: p[0]) }
        add("POST", "/api/v1/jobs/{id}/state", .agent) { req, p throws(APIError) in .respond(try core.reportState(req, id: p[0])) }
    }
}

extension ServiceCore {
    func register(_ req: Request) throws(APIError) -> Response {
        let body = try Input.body(req, as: RegisterRequest.self)
        guard let secret = req.bearerToken, secret.utf8.count <= 512 else {
            throw APIError(.unauthorized, "registration needs 'Authorization: Bearer AGENT_SECRET' (the agent's own secret)")
        }
        guard UUID(uuidString: body.uuid) != nil else { throw APIError(.badRequest, "field 'uuid' must be a UUID") }
        if let p = Validation.nameProblem(body.name, field: "name") { throw APIError(.badRequest, p) }
        if let p = Validation.tagListProblem(body.resources, field: "resources") { throw APIError(.badRequest, p) }
        if let p = Validation.tagListProblem(body.environments, field: "environments") { throw APIError(.badRequest, p) }
        let texts = [("hostname", body.hostname), ("os", body.os), ("version", body.version), ("containerRuntime", body.containerRuntime ?? "")]
        for (field, text) in texts where text.count > 256 {
            throw APIError(.badRequest, "field '\(field)' must be at most 256 characters")
        }
        if let sha = body.binarySHA256, !SHA256Stream.isHex(sha) {
            throw APIError(.badRequest, "field 'binarySHA256' must be 64 lower-case hex digits")
        }
        guard MMSVersion.compatible(body.version, MMSVersion.current) else {
            throw APIError(.versionMismatch,
                           "agent version \(body.version) cannot work with server version \(MMSVersion.current); MAJOR.MINOR must match")
        }
        let uuid = body.uuid.lowercased()
        var request = body
        request.uuid = uuid
        let hash = SHA256.hex(secret)
        let now = Date()
        return try locked { () throws(APIError) -> Response in
            try fresh()
            let known = dispatcher.agents[uuid]
            if let known, !constantTimeEqual(Array(hash.utf8), Array(known.secretHash.utf8)) {
                throw APIError(.unauthorized, "agent \(uuid) is registered with another secret")
            }
            if known == nil, secretIndex[hash] != nil {
                throw APIError(.badRequest, "this secret belongs to another agent; make a new secret for a new agent")
            }
            var autoEnable = false
            if known == nil, let key = settings.autoRegisterKey, let given = body.autoRegisterKey {
                autoEnable = constantTimeEqual(Array(key.utf8), Array(given.utf8))
            }
            _ = try mutate(now: now) { d in
                d.register(request, secretHash: hash, ipAddress: req.clientAddress.isEmpty ? nil : req.clientAddress,
                           autoEnable: autoEnable, now: now)
            }
            secretIndex[hash] = uuid
            guard let agent = dispatcher.view(uuid) else { throw APIError(.internalError, "agent vanished") }
            return .json(agent, status: agent.configState == .pending ? 202 : 200)
        }
    }

    func ping(_ req: Request, uuid: String) throws(APIError) -> Response {
        let now = Date()
        return try locked { () throws(APIError) -> Response in
            let record = try requireAgent(req, uuid: uuid)
            let body = try Input.body(req, as: PingRequest.self)
            if let free = body.freeSpaceBytes, free < 0 { throw APIError(.badRequest, "field 'freeSpaceBytes' must not be negative") }
            if let sha = body.binarySHA256, !SHA256Stream.isHex(sha) {
                throw APIError(.badRequest, "field 'binarySHA256' must be 64 lower-case hex digits")
            }
            let changes = try apply(now: now) { d in
                d.ping(uuid, jobId: body.jobId, upgrading: body.runtimeState == .upgrading, binarySHA256: body.binarySHA256,
                        freeSpaceBytes: body.freeSpaceBytes, now: now)
            }
            noteContact(uuid, after: changes, now: now)
            return .json(PingResponse(
                configState: dispatcher.agents[uuid]?.agent.configState ?? record.agent.configState,
                pingIntervalSeconds: settings.pingIntervalSeconds, serverVersion: MMSVersion.current,
                configVersion: configVersion, agentSHA256: settings.agentBinary.sha256))
        }
    }

    func agentConfig(_ req: Request, uuid: String) throws(APIError) -> Response {
        let now = Date()
        return try locked { () throws(APIError) -> Response in
            let record = try requireAgent(req, uuid: uuid)
            guard record.agent.configState == .enabled else {
                throw APIError(.agentNotAuthorized,
                               "agent \(record.agent.name) is not authorized; an operator must authorize it in mms-console")
            }
            let changes = try apply(now: now) { d in d.contact(uuid, now: now) }
            noteContact(uuid, after: changes, now: now)
            let entries: [StoredConfigEntry]
            do { entries = try store.configEntries() } catch { throw Self.unavailable(error) }
            var values: [String: String] = [:]
            for e in entries { values[e.name] = e.value }
            return .json(AgentConfig(version: configVersion, entries: values, secret: entries.filter(\.secret).map(\.name)))
        }
    }

    func next(_ req: Request, uuid: String) throws(APIError) -> RouteResult {
        let wait = try Input.wait(req)
        let now = Date()
        try locked { () throws(APIError) in
            _ = try requireAgent(req, uuid: uuid)
            let changes = try apply(now: now) { d in d.pollBegan(uuid, now: now) }
            noteSeen(uuid, after: changes)
        }
        let poll = LongPoll(
            key: .agentNext(uuid), deadline: now.addingTimeInterval(TimeInterval(wait)),
            answer: { [self] in
                locked { () -> Response? in
                    guard let message = dispatcher.nextMessage(for: uuid) else { return nil }
                    if case .job(var job) = message {
                        job.configVersion = configVersion
                        if store.isShared {  // another server may have written to its log: start after it
                            guard let size = try? store.lockLogSize(job.id) else { return nil }
                            job.logSize = size
                        }
                        return .json(NextMessage.job(job))
                    }
                    return .json(message)
                }
            },
            timeout: { .noContent },
            finished: { [self] in locked { dispatcher.pollEnded(uuid, now: Date()) } },
            generation: 0)
        return .wait(poll)
    }

    /// The active job `jobId` if `uuid` may report on attempt `attempt`; 409 job_finished for a
    /// completed one, 403 for an agent that never had it. Call with the lock held.
    func reportableJob(_ jobId: Int64, uuid: String, attempt: Int) throws(APIError) -> Job {
        if dispatcher.jobs[jobId] != nil {
            return try dispatcher.checkReporter(jobId, uuid: uuid, attempt: attempt)
        }
        let stored: Job?
        let owners: Set<String>
        do {
            stored = try store.job(jobId)
            owners = try store.attemptAgents(jobId)
        } catch { throw Self.unavailable(error) }
        guard let stored else { throw APIError(.notFound, "job \(jobId) does not exist") }
        guard owners.contains(uuid) || stored.agentUuid == uuid else {
            throw APIError(.forbidden, "job \(jobId) is not assigned to this agent")
        }
        throw APIError(.jobFinished, "job \(jobId) is already completed (\(stored.result?.rawValue ?? "done"))")
    }

    func reportState(_ req: Request, id: String) throws(APIError) -> Response {
        let jobId = try Input.jobId(id)
        let now = Date()
        return try locked { () throws(APIError) -> Response in
            try fresh()
            let uuid = try agentForToken(req)
            let body = try Input.body(req, as: JobStateReport.self)
            if let ssh = body.sshCommand, let p = Validation.nameProblem(ssh, field: "sshCommand") { throw APIError(.badRequest, p) }
            if let reason = body.failureReason, reason.count > 1024 {
                throw APIError(.badRequest, "field 'failureReason' must be at most 1024 characters")
            }
            _ = try reportableJob(jobId, uuid: uuid, attempt: body.attempt)  // on the cache: 403 and job_finished
            // Judged again inside the change: on a shared database another server may have rescheduled the
            // job since the cache was read.
            let changes = try mutate(now: now) { d throws(APIError) in try d.acceptReport(jobId, from: uuid, body, now: now) }
            noteContact(uuid, after: changes, now: now)
            guard let job = changes.jobs[jobId] ?? dispatcher.jobs[jobId] else {
                throw APIError(.jobFinished, "job \(jobId) is already completed")
            }
            return .json(withReason(job, now: now))
        }
    }
}
