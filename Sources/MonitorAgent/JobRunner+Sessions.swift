import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A job's bash sessions: started (gated or not), watched to their end, stopped on cancel or timeout.
extension JobRunner {
    /// How a session ended: its shell exited, the deadline passed, or the job was cancelled.
    enum SessionEnd: Equatable {
        case exited(ExitStatus)
        case timedOut
        case cancelled(String)
    }

    /// Runs one bash session to its end, or stops its group on cancel or at `deadline`.
    func session(
        _ script: String, name: String, outputFD: Int32, deadline: ContinuousClock.Instant, deadlineNote: String
    ) async throws(AgentError) -> SessionEnd {
        let started = try startSession(script, name: name, outputFD: outputFD, gated: false)
        return await finish(started, deadline: deadline, deadlineNote: deadlineNote)
    }

    /// A started bash session: its process group and (when gated) the write end of its gate.
    struct StartedSession {
        let pid: pid_t
        let gate: Int32?

        /// Lets the session run its commands (`go`), or makes it exit before the first one; true for go.
        func openGate(_ go: Bool) -> Bool {
            guard let gate else { return true }
            let ok = go && send(gate, "go\n", 3, Int32(MSG_NOSIGNAL)) == 3  // a socket: no SIGPIPE if bash is gone
            close(gate)
            return ok
        }
    }

    /// Writes the session's script, spawns bash for it (waiting at its gate when `gated`), and hands the
    /// process group to the watchdog and job.pgid.
    func startSession(_ script: String, name: String, outputFD: Int32, gated: Bool) throws(AgentError) -> StartedSession {
        let path = controlDir + "/" + name
        if let problem = JobFiles.writeScratch(path, script) { throw .io("cannot write \(path): \(problem)") }
        var spawned = name
        if let container {  // bash runs in the main container; the host keeps the gate and the runtime client
            spawned = name + ".host"
            let wrapper = container.sessionWrapper(script: path, gated: gated)
            if let problem = JobFiles.writeScratch(path + ".host", wrapper) { throw .io("cannot write \(path).host: \(problem)") }
        }
        var gate: (read: Int32, write: Int32)?
        if gated {
            guard let fds = ProcessControl.cloexecSocketPair() else {
                throw .io("cannot make a socket pair: \(String(cString: strerror(errno)))")
            }
            gate = fds
        }
        let pid: pid_t
        do {
            defer { if let gate { close(gate.read) } }
            pid = try ProcessControl.spawnBash(script: spawned, environment: environment, outputFD: outputFD, cwd: controlDir,
                                              gateFD: gate?.read)
        } catch {
            if let gate { close(gate.write) }
            throw error
        }
        watchdog.watch(pid)
        PgidFile.record(pid, at: options.pgidFile)
        let cancelled = control.withLock { c -> Bool in
            c.pgid = pid
            c.termSentAt = nil
            return c.reason != nil
        }
        if cancelled { _ = terminate(pid) }  // a cancel that came while bash was starting
        return StartedSession(pid: pid, gate: gate?.write)
    }

    /// Ends a session whose gate stayed shut: nothing of the job ran, so its group is killed outright.
    func abandon(_ started: StartedSession) async {
        ProcessControl.signalGroup(started.pid, SIGKILL)
        let giveUp = clock.now + .seconds(5)
        while clock.now < giveUp {
            _ = ProcessControl.reapGroup(started.pid)
            if !ProcessControl.groupAlive(started.pid) { break }
            try? await Task.sleep(for: options.pollInterval)
        }
        ended(started)
    }

    func ended(_ started: StartedSession) {
        control.withLock { c in
            c.pgid = nil
            c.termSentAt = nil
        }
        watchdog.watch(0)
        PgidFile.clear(at: options.pgidFile)
    }

    /// Waits for a started session to end, or stops its group on cancel or at `deadline`.
    func finish(_ started: StartedSession, deadline: ContinuousClock.Instant, deadlineNote: String) async -> SessionEnd {
        let pid = started.pid
        defer { ended(started) }
        var shell: ExitStatus?
        while true {
            for (p, st) in ProcessControl.reapGroup(pid) where p == pid { shell = st }
            if let shell {
                if ProcessControl.groupAlive(pid) { _ = await stopGroup(pid) }
                // A cancel signals the group itself, so the shell may be gone before this loop sees the reason.
                if let reason = stopReason { return .cancelled(reason) }
                return .exited(shell)
            }
            if let reason = stopReason {
                _ = await stopGroup(pid)
                return .cancelled(reason)
            }
            if clock.now >= deadline {
                if !isCancelled { note(deadlineNote) }
                _ = await stopGroup(pid)
                if let reason = stopReason { return .cancelled(reason) }
                return .timedOut
            }
            try? await Task.sleep(for: options.pollInterval)
        }
    }

    /// SIGTERM to the group (unless a cancel already sent it), SIGKILL after the grace period counted from
    /// that SIGTERM; returns once the group is gone (or gives up).
    func stopGroup(_ pgid: pid_t) async -> Bool {
        let killAt = terminate(pgid) + options.grace
        while clock.now < killAt {
            _ = ProcessControl.reapGroup(pgid)
            if !ProcessControl.groupAlive(pgid) { return true }
            try? await Task.sleep(for: options.pollInterval)
        }
        signalSession(pgid, SIGKILL)
        let giveUp = clock.now + .seconds(5)
        while clock.now < giveUp {
            _ = ProcessControl.reapGroup(pgid)
            if !ProcessControl.groupAlive(pgid) { return true }
            try? await Task.sleep(for: options.pollInterval)
        }
        return false
    }
}
