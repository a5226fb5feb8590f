import Foundation
import MonitorModels

/// Job logs: agents append with offsets, consoles read with offsets and wait for more.
extension Router {
    mutating func addLogRoutes(_ core: ServiceCore) {
        add("POST", "/api/v1/jobs/{id}/log", .agent) { req, p throws(APIError) in .respond(try core.appendLog(req, id: p[0])) }
        add("GET", "/api/v1/jobs/{id}/log", .role(.viewer)) { req, p throws(APIError) in try core.readLog(req, id: p[0]) }
    }
}

extension ServiceCore {
    /// Max bytes one log read returns.
    static let logReadLimit = 1 << 20

    func appendLog(_ req: Request, id: String) throws(APIError) -> Response {
        let jobId = try Input.jobId(id)
        guard let attemptText = req.query["attempt"], let attempt = Int(attemptText), attempt >= 1 else {
            throw APIError(.badRequest, "query parameter 'attempt' must be a positive integer")
        }
        guard let offsetText = req.query["offset"], let offset = Int64(offsetText), offset >= 0 else {
            throw APIError(.badRequest, "query parameter 'offset' must be a non-negative integer")
        }
        let now = Date()
        return try locked { () throws(APIError) -> Response in
            try fresh()
            let uuid = try agentForToken(req)
            return .json(LogAppendResponse(size: try appendLogBytes(jobId, uuid: uuid, attempt: attempt, offset: offset, req.body, now: now)))
        }
    }

    /// Appends `bytes` at `offset` of attempt `attempt`'s log for agent `uuid` (bytes already held are
    /// skipped; past the end is 409 log_gap) and counts as the agent's contact; returns the log's size.
    /// Agents' log route and the push agent drivers both come here. Call with the lock held.
    func appendLogBytes(_ jobId: Int64, uuid: String, attempt: Int, offset: Int64, _ bytes: Data, now: Date) throws(APIError) -> Int64 {
        _ = try reportableJob(jobId, uuid: uuid, attempt: attempt)
        // The job's row as stored, locked: on a shared database another server may have appended, or
        // rescheduled the job since this server's cache was read, so the attempt is judged again here.
        var head: LogHead?
        var size: Int64 = 0
        var gap = false
        do {
            try store.transaction { () throws(DatabaseError) in
                head = try store.lockLogHead(jobId)
                guard let head, head.accepts(attempt, from: uuid) else { return }
                size = head.size
                guard offset <= size else { gap = true; return }
                let end = offset + Int64(bytes.count)
                guard end > size else { return }
                try store.appendLog(jobId, at: size, bytes.subdata(in: Int(size - offset)..<bytes.count), now: now)
                size = end
            }
        } catch { throw Self.unavailable(error) }
        guard let head else { throw APIError(.notFound, "job \(jobId) does not exist") }
        if !head.accepts(attempt, from: uuid) { throw Self.refusedWriter(head, jobId: jobId, attempt: attempt) }
        if gap {
            throw APIError(.logGap, "offset \(offset) is past the end of the log (\(size) bytes); resend from \(size)", size: size)
        }
        if size > (dispatcher.jobs[jobId]?.logSize ?? 0) {
            dispatcher.jobs[jobId]?.logSize = size
            http?.hub.wake([.log(jobId)])
            notifier?.send([.log(jobId)])
        }
        let changes = try apply(now: now) { d in d.contact(uuid, now: now) }
        noteContact(uuid, after: changes, now: now)
        return size
    }

    /// Why the stored row refuses a log append the cache accepted: the job ended or was rescheduled meanwhile.
    static func refusedWriter(_ head: LogHead, jobId: Int64, attempt: Int) -> APIError {
        if head.state == .completed { return APIError(.jobFinished, "job \(jobId) is already completed") }
        return APIError(.jobReassigned, "job \(jobId) attempt \(attempt) was reassigned; it is now attempt \(head.attempt)")
    }

    /// The log of any job, active or completed (nil when it does not exist). Call with the lock held.
    func anyJob(_ jobId: Int64) throws(APIError) -> Job? {
        if let j = dispatcher.jobs[jobId], !store.isShared { return j }  // shared: the stored row is the truth
        do { return try store.job(jobId) } catch { throw Self.unavailable(error) }
    }

    func readLog(_ req: Request, id: String) throws(APIError) -> RouteResult {
        let jobId = try Input.jobId(id)
        let offset = try Input.int(req, "offset", in: 0...Int64.max, default: 0) ?? 0
        let wait = try Input.wait(req)
        let timestamps = try Input.flag(req, "timestamps")
        let now = Date()
        // Answers with what lies past `offset`, or nil while there is nothing yet and the job runs.
        let attempt: @Sendable (Bool) throws(APIError) -> Response? = { [self] final throws(APIError) in
            try locked { () throws(APIError) -> Response? in
                guard let job = try anyJob(jobId) else { throw APIError(.notFound, "job \(jobId) does not exist") }
                if let removed = job.logRemovedAt {
                    throw APIError(.gone, "the log of job \(jobId) was removed on \(RFC3339.format(removed)) "
                        + "(it completed more than --log-retention days before); the job record is kept")
                }
                if offset >= job.logSize && job.state != .completed && !final { return nil }
                return try logAnswer(job, from: offset, timestamps: timestamps, final: final)
            }
        }
        if let r = try attempt(false) { return .respond(r) }
        if wait == 0, let r = try attempt(true) { return .respond(r) }
        return .wait(LongPoll(
            key: .log(jobId), deadline: now.addingTimeInterval(TimeInterval(wait)),
            answer: { (try? attempt(false)) ?? nil },
            timeout: {
                do throws(APIError) { return try attempt(true) ?? .error(APIError(.notFound, "job \(jobId) does not exist")) }
                catch { return .error(error) }
            },
            finished: nil, generation: 0))
    }

    /// The bytes (or timestamped lines) of `job`'s log from `offset`; nil when the timestamped form has
    /// no whole line yet and this is not the `final` answer of a wait. Call with the lock held.
    private func logAnswer(_ job: Job, from offset: Int64, timestamps: Bool, final: Bool) throws(APIError) -> Response? {
        let complete = job.state == .completed
        var window = LogWindow(offset: offset, bytes: Data(), arrivals: LogArrivals([]))
        if offset < job.logSize {
            do {
                window = try store.readLogWindow(job.id, from: offset, limit: Self.logReadLimit, withArrivals: timestamps)
            } catch { throw Self.unavailable(error) }
        }
        var headers = [("X-Log-Size", String(job.logSize)), ("X-Log-Complete", complete ? "true" : "false")]
        guard timestamps else {
            return Response(status: 200, body: window.bytes, contentType: "application/octet-stream", headers: headers)
        }
        let end = offset + Int64(window.bytes.count)
        let (body, next) = LogTimestamps.render(window, reachesCompleteEnd: complete && end >= job.logSize,
                                                windowFull: window.bytes.count >= Self.logReadLimit)
        if body.isEmpty && !complete && !final { return nil }
        headers.append(("X-Log-Next-Offset", String(next)))
        return Response(status: 200, body: body, contentType: "application/x-ndjson", headers: headers)
    }
}
