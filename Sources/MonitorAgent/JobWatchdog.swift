import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The watchdog of an agent's jobs: one tiny shell in a session of its own, started once, reading process
/// group numbers from a socket only this agent holds. The runner names each job session's group when it
/// starts and 0 when it ends. If the agent dies (even by SIGKILL) the socket closes, and the watchdog sends
/// SIGTERM to the group it last heard of and SIGKILL after the grace period: a job never outlives a crashed
/// agent. One process for every job, so starting a job costs a write, not a spawn.
public final class JobWatchdog: Sendable {
    /// The watchdog's `$0`, so it can be told apart in `ps` (and in tests).
    public static let processName = "mms-watchdog"

    private let grace: Duration
    private let process = Mutex<(pid: pid_t, fd: Int32)?>(nil)

    /// A watchdog that waits `grace` between SIGTERM and SIGKILL; its process starts at the first `watch`.
    public init(grace: Duration) {
        self.grace = grace
    }

    /// Guards group `pgid` from now on (0: none), starting the watchdog process (again) when needed.
    /// False when it cannot be started: job.pgid remains the fallback (a restarted agent kills what is left).
    @discardableResult
    public func watch(_ pgid: pid_t) -> Bool {
        let line = Array("\(pgid)\n".utf8)
        return process.withLock { p -> Bool in
            for _ in 0..<2 {
                if p == nil { p = spawn() }
                guard let current = p else { return false }
                if send(current.fd, line, line.count, Int32(MSG_NOSIGNAL)) == line.count { return true }
                Self.stop(current)  // it died (someone killed it): start another
                p = nil
            }
            return false
        }
    }

    /// Stops the watchdog process without it killing anything, and reaps it.
    public func shutDown() {
        if let current = process.withLock({ p -> (pid: pid_t, fd: Int32)? in
            defer { p = nil }
            return p
        }) {
            Self.stop(current)
        }
    }

    private static func stop(_ p: (pid: pid_t, fd: Int32)) {
        kill(p.pid, SIGKILL)
        var status: Int32 = 0
        _ = waitpid(p.pid, &status, 0)
        close(p.fd)
    }

    private func spawn() -> (pid: pid_t, fd: Int32)? {
        guard let (theirs, ours) = ProcessControl.cloexecSocketPair() else { return nil }
        defer { close(theirs) }
        let (secs, attos) = grace.components
        let seconds = String(format: "%.3f", Double(secs) + Double(attos) / 1e18)
        let script = "g=0; while read -r n; do g=$n; done; [ \"$g\" -gt 0 ] 2>/dev/null || exit 0; "
            + "kill -TERM -\"$g\" 2>/dev/null; sleep \(seconds); kill -KILL -\"$g\" 2>/dev/null"
        // Its own session: signals to the agent's group do not reach it.
        let (rc, pid) = ProcessControl.spawnInNewSession(
            ["/bin/sh", "-c", script, Self.processName], environment: ["PATH=/usr/bin:/bin"], resetSignals: false
        ) { actions in
            posix_spawn_file_actions_adddup2(actions, theirs, 0)
            posix_spawn_file_actions_addopen(actions, 1, "/dev/null", O_WRONLY, 0)
            posix_spawn_file_actions_addopen(actions, 2, "/dev/null", O_WRONLY, 0)
        }
        guard rc == 0 else {
            close(ours)
            return nil
        }
        return (pid, ours)
    }
}
