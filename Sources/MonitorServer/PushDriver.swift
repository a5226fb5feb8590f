import CurlHTTP
import Foundation
import MonitorModels
import Synchronization

/// Drives one push agent in the place of its own client: `/is_alive` every ping interval (contact), the
/// delivery of its job, the copy of its log into the job's log as it grows (a long poll), its result, and
/// cancels. An answer that is not what the push API says makes the agent untrusted: its answers stop
/// counting as contact (so lost contact and reschedule take their course) until a `GET /status` makes sense.
final class PushDriver: @unchecked Sendable {
    let uuid: String
    private let core: ServiceCore
    private let cond = NSCondition()
    private var poked = false
    private var stopped = false
    /// Whether its answers are believed (and the job attempt it misbehaved on: never trusted again while that
    /// attempt is its job), the job attempt whose log is being copied, the cancel already sent.
    private let state = Mutex<(trusted: Bool, distrustedJob: (Int64, Int)?, copying: (Int64, Int)?, cancelSent: (Int64, Int)?)>(
        (true, nil, nil, nil))
    private let clientBox = Mutex<(ca: String?, client: CurlClient)?>(nil)

    init(uuid: String, core: ServiceCore) {
        self.uuid = uuid
        self.core = core
    }

    func start() {
        let ping = Thread { [self] in pingLoop() }
        ping.name = "mms-push-ping"
        ping.start()
        let control = Thread { [self] in controlLoop() }
        control.name = "mms-push-control"
        control.start()
    }

    func stop() {
        cond.withLock {
            stopped = true
            cond.broadcast()
        }
    }

    /// Something about this agent changed (a job assigned, a cancel): look now.
    func poke() {
        cond.withLock {
            poked = true
            cond.broadcast()
        }
    }

    private var isStopped: Bool { cond.withLock { stopped } }

    /// Waits for a poke (or `seconds`); false once stopped.
    private func waitForPoke(_ seconds: TimeInterval) -> Bool {
        cond.withLock {
            let until = Date().addingTimeInterval(seconds)
            while !poked && !stopped && cond.wait(until: until) {}
            poked = false
            return !stopped
        }
    }

    /// Sleeps unless stopped; false once stopped.
    private func pause(_ seconds: TimeInterval) -> Bool {
        cond.withLock {
            let until = Date().addingTimeInterval(seconds)
            while !stopped && cond.wait(until: until) {}
            return !stopped
        }
    }

    private func calls(_ work: PushWork) -> PushAgentCalls {
        let client = clientBox.withLock { box -> CurlClient in
            if let box, box.ca == work.caCert { return box.client }
            let c = CurlClient(caCertPEM: work.caCert)
            box = (work.caCert, c)
            return c
        }
        return PushAgentCalls(url: work.url, secret: work.secret, agentUUID: uuid, client: client)
    }

    private var trusted: Bool { state.withLock { $0.trusted } }

    /// True while `job` is the attempt the agent misbehaved on.
    private func isDistrusted(_ job: Job?) -> Bool {
        state.withLock { s in
            guard !s.trusted, let bad = s.distrustedJob, let job else { return false }
            return bad == (job.id, job.attempt)
        }
    }

    private func distrust(_ work: PushWork, _ why: String) {
        let first = state.withLock { s -> Bool in
            defer {
                s.trusted = false
                s.distrustedJob = work.job.map { ($0.id, $0.attempt) }
            }
            return s.trusted
        }
        if first { ServerLog.line("push agent \(work.name) at \(work.url): \(why); not trusted until it answers as the push API says") }
    }

    private func handle(_ error: PushCallError, _ work: PushWork) -> TimeInterval {
        switch error {
        case .misbehaved(let why): distrust(work, why); return 1
        case .unreachable, .busy: return 0.5
        case .notFound: return 0.5
        }
    }

    // MARK: - Reachability

    private func pingLoop() {
        var first = true
        while first || pause(TimeInterval(max(1, core.settings.pingIntervalSeconds))) {
            first = false
            guard core.drivesPushAgents, let work = core.pushWork(uuid) else { continue }
            let c = calls(work)
            do {
                if trusted {
                    let alive = try c.isAlive(timeout: TimeInterval(min(5, max(1, core.settings.pingIntervalSeconds))))
                    core.pushContact(uuid, version: alive.version, containerRuntime: .some(alive.containerRuntime))
                } else {
                    if isDistrusted(work.job) { continue }  // no contact: lost contact and reschedule take their course
                    _ = try c.status()
                    state.withLock {
                        $0.trusted = true
                        $0.distrustedJob = nil
                    }
                    ServerLog.line("push agent \(work.name) at \(work.url) answers as the push API says again")
                    core.pushContact(uuid)
                    poke()
                }
            } catch {
                _ = handle(error, work)
            }
        }
    }

    // MARK: - Jobs

    private func controlLoop() {
        while waitForPoke(0.5) {
            guard core.drivesPushAgents, let work = core.pushWork(uuid), let job = work.job, !isDistrusted(job) else { continue }
            let c = calls(work)
            switch job.state {
            case .assigned: deliver(job, work, c)
            case .preparing, .building: copy(job, work, c, base: nil)
            case .cancelling:
                sendCancel(job, work, c)
                copy(job, work, c, base: nil)
            case .scheduled, .completed: break
            }
        }
    }

    private func deliver(_ job: Job, _ work: PushWork, _ c: PushAgentCalls) {
        do {
            let config = try core.pushJobConfig(job.spec)
            let accepted = try c.submit(PushJobRequest(job: job, config: config))
            guard trusted else { return }
            core.pushContact(uuid)
            try core.pushStarted(job.id, attempt: job.attempt, uuid: uuid, phase: accepted.phase ?? .building)
            copy(job, work, c, base: job.logSize)
        } catch let error as PushCallError {
            if case .busy = error { cancelStrayJob(keeping: job, work, c) }
            _ = pause(handle(error, work))
        } catch {
            _ = pause(0.5)  // the server refused (the job moved on, or the database is away): look again
        }
    }

    /// The agent runs a job the server did not give it (left from before a restart or a reschedule): stop it.
    private func cancelStrayJob(keeping job: Job, _ work: PushWork, _ c: PushAgentCalls) {
        guard let status = try? c.status(), status.state == .running, let stray = status.jobId else { return }
        if stray == job.id, (try? c.job(stray))?.attempt == job.attempt { return }
        ServerLog.line("push agent \(work.name) runs job \(stray), which is not its job now; cancelling it there")
        try? c.cancel(stray)
    }

    private func sendCancel(_ job: Job, _ work: PushWork, _ c: PushAgentCalls) {
        let sent = state.withLock { s in s.cancelSent.map { $0 == (job.id, job.attempt) } ?? false }
        guard !sent else { return }
        do {
            try c.cancel(job.id)
            state.withLock { $0.cancelSent = (job.id, job.attempt) }
        } catch .notFound {
            core.pushLostJob(uuid)
        } catch {
            _ = handle(error, work)
        }
    }

    /// Starts copying the job's log on a thread of its own unless that runs already.
    private func copy(_ job: Job, _ work: PushWork, _ c: PushAgentCalls, base: Int64?) {
        let mine = state.withLock { s -> Bool in
            if let running = s.copying, running == (job.id, job.attempt) { return false }
            s.copying = (job.id, job.attempt)
            return true
        }
        guard mine else { return }
        let t = Thread { [self] in
            var copier = PushLogCopy(driver: self, core: core, uuid: uuid, jobId: job.id, attempt: job.attempt, base: base)
            copier.run(work, c)
            state.withLock { s in if let running = s.copying, running == (job.id, job.attempt) { s.copying = nil } }
            poke()
        }
        t.name = "mms-push-log"
        t.start()
    }

    /// For the log copy: whether to go on, and how misbehaviour and waits are handled.
    var keepsGoing: Bool { !isStopped && core.drivesPushAgents }
    func failed(_ error: PushCallError, _ work: PushWork) -> Bool { pause(handle(error, work)) }
    var isTrusted: Bool { trusted }
}
