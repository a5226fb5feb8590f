import Foundation
import MonitorModels

/// Admin routes for jobs: create, list, get, cancel, rerun.
extension Router {
    mutating func addAdminJobRoutes(_ core: ServiceCore) {
        add("POST", "/api/v1/jobs", .role(.operator)) { req, _ throws(APIError) in
            return .respond(.json(try core.createJob(try Input.body(req, as: JobSpec.self), req, action: "job.create"), status: 201))
        }
        add("GET", "/api/v1/jobs", .role(.viewer)) { req, _ throws(APIError) in .respond(try core.listJobs(req)) }
        add("GET", "/api/v1/jobs/{id}", .role(.viewer)) { req, p throws(APIError) in
            let id = try Input.jobId(p[0])
            return .respond(.json(try core.locked { () throws(APIError) -> Job in
                guard let job = try core.anyJob(id) else { throw APIError(.notFound, "job \(id) does not exist") }
                return core.withReason(job, now: Date())
            }))
        }
        add("POST", "/api/v1/jobs/{id}/cancel", .role(.operator)) { req, p throws(APIError) in .respond(try core.cancelJob(req, id: p[0])) }
        add("POST", "/api/v1/jobs/{id}/rerun", .role(.operator)) { req, p throws(APIError) in
            let id = try Input.jobId(p[0])
            let spec = try core.locked { () throws(APIError) -> JobSpec in
                guard let job = try core.anyJob(id) else { throw APIError(.notFound, "job \(id) does not exist") }
                return job.spec
            }
            return .respond(.json(try core.createJob(spec, req, action: "job.rerun", reason: "rerun of job \(id)"), status: 201))
        }
    }
}

extension ServiceCore {
    /// Validates a spec, stores it with its audit entry, and queues it.
    func createJob(_ spec: JobSpec, _ req: Request, action: String, reason: String? = nil) throws(APIError) -> Job {
        if let p = Validation.jobSpecProblem(spec) { throw APIError(.badRequest, p) }
        let now = Date()
        return try locked { () throws(APIError) -> Job in
            if !spec.secrets.isEmpty || spec.imagePullSecret != nil {
                let known: Set<String>
                do { known = Set(try store.configEntries().filter(\.secret).map(\.name)) } catch { throw Self.unavailable(error) }
                if let missing = spec.secrets.first(where: { !known.contains($0) }) {
                    throw APIError(.badRequest, "field 'secrets' names '\(missing)', which is not a secret configuration entry")
                }
                if let pull = spec.imagePullSecret, !known.contains(pull) {
                    throw APIError(.badRequest, "field 'imagePullSecret' names '\(pull)', which is not a secret configuration entry")
                }
            }
            let entry = { (job: Job) in
                self.audit(req, action, AuditTarget(kind: "job", id: String(job.id), name: job.name), reason: reason, now: now)
            }
            if !store.isShared { return withReason(try insertAndDispatch(spec, now: now, audit: entry), now: now) }
            let job: Job
            var stored: [AuditEntry] = []
            do {
                job = try store.transaction { () throws(DatabaseError) -> Job in
                    let job = try store.insertJob(spec, now: now)
                    stored = try store.appendAudit([entry(job)])
                    return job
                }
            } catch { throw Self.unavailable(error) }
            announceAudit(stored)
            // The job is stored: from here a failure to record its assignment only leaves it queued.
            do {
                let changes = try mutate(now: now) { d in d.add(job, now: now) }
                return withReason(changes.jobs[job.id] ?? job, now: now)
            } catch {
                dispatcher.jobs[job.id] = job
                return withReason(job, now: now)
            }
        }
    }

    func listJobs(_ req: Request) throws(APIError) -> Response {
        let limit = Int(try Input.int(req, "limit", in: 1...1000, default: 200) ?? 200)
        var state: JobState?
        if let text = req.query["state"] {
            guard let s = JobState(rawValue: text) else {
                throw APIError(.badRequest, "query parameter 'state' must be one of \(JobState.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            state = s
        }
        let agent = req.query["agent"]
        if let agent, UUID(uuidString: agent) == nil {
            throw APIError(.badRequest, "query parameter 'agent' must be an agent's UUID")
        }
        let now = Date()
        return try locked { () throws(APIError) -> Response in
            var jobs: [Job]
            do { jobs = try store.listJobs(state: state, agent: agent, limit: limit) } catch { throw Self.unavailable(error) }
            jobs = jobs.map { withReason(dispatcher.jobs[$0.id] ?? $0, now: now) }
            return .json(JobList(jobs: jobs))
        }
    }

    func cancelJob(_ req: Request, id: String) throws(APIError) -> Response {
        let jobId = try Input.jobId(id)
        let now = Date()
        let cancelled = try locked { () throws(APIError) -> Job in
            guard let job = try anyJob(jobId) else { throw APIError(.notFound, "job \(jobId) does not exist") }
            guard job.state != .completed else {
                throw APIError(.jobFinished, "job \(jobId) is already completed (\(job.result?.rawValue ?? "done"))")
            }
            let changes = try mutate(now: now) { d in
                var c = d.cancel(jobId, now: now)
                if !c.isEmpty {
                    c.audit.append(audit(req, "job.cancel", AuditTarget(kind: "job", id: String(jobId), name: job.name), now: now))
                }
                return c
            }
            return withReason(changes.jobs[jobId] ?? dispatcher.jobs[jobId] ?? job, now: now)
        }
        // Encoded outside the lock: the agent's poll, woken by the cancel, needs the lock to answer.
        return .json(cancelled, status: 202)
    }
}
