import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// `mms-agent start` as GoCD's bootstrapper: it holds the work-dir lock and runs the agent proper as a child
/// (WORK_DIR/bin/mms-agent when present, else its own executable, with the same arguments), starts it again
/// when it dies (`SupervisorPolicy`), rolls a new binary back after three quick crashes, and on SIGTERM/SIGINT
/// forwards SIGTERM to the child and exits with it.
///
/// The child knows it is supervised by the descriptor it inherits: the read end of a pipe whose write end only
/// the supervisor holds, named in MMS_AGENT_SUPERVISOR_FD as `FD:SUPERVISOR_PID` (`SupervisorLink`). The child then skips the lock
/// (the supervisor holds it for both), and when the pipe reports end-of-file (the supervisor died, even by
/// SIGKILL) it kills itself with SIGKILL, as if it had crashed with it: nothing runs unlocked.
public final class Supervisor: Sendable {
    /// The environment variable naming the inherited descriptor.
    public static let linkVariable = "MMS_AGENT_SUPERVISOR_FD"

    private let arguments: [String]
    private let bin: AgentBinaryDir
    private let log: AgentLogger
    private let state = Mutex<(child: pid_t?, stopping: Bool)>((nil, false))
    /// The write end of each running child's link, closed once the child has ended.
    private let pipes = Mutex<[pid_t: Int32]>([:])
    /// The write end of each running child's link, closed once the child has ended.
    /// A supervisor passing `arguments` (everything after `start`) to each child it runs for `workDir`.
    public init(arguments: [String], workDir: String, log: AgentLogger) {
        self.arguments = arguments
        self.bin = AgentBinaryDir(workDir: workDir)
        self.log = log
    }

    /// Runs children until SIGTERM/SIGINT or a fatal exit; returns the exit status for `mms-agent start`.
    public func run() async -> Int32 {
        let signals = SignalWatcher(signals: [SIGTERM, SIGINT]) { [self] _ in stop() }
        defer { signals.cancel() }
        var policy = SupervisorPolicy()
        while true {
            let executable = bin.executableToRun()
            guard let pid = spawn(executable) else {
                log("supervisor: cannot start the agent from \(executable): \(String(cString: strerror(errno)))")
                guard executable == bin.current else { return 1 }
                let bad = bin.rollBack()  // a new binary that cannot even be started: the one before it, or our own
                log("supervisor: rolled back to the previous binary; SHA-256 \(bad ?? "unknown") will not be installed again")
                continue
            }
            let started = ContinuousClock.now
            let status = await waitForExit(pid)
            if state.withLock({ $0.stopping }) {
                return status == .exited(0) || status == .exited(AgentError.upgradedExitCode) ? 0 : status.shellCode
            }
            switch policy.exited(status, ran: .now - started) {
            case .restartNow:
                log("supervisor: starting the new agent binary")
            case .restart(let delay):
                log("supervisor: the agent (pid \(pid)) \(Self.describe(status)); starting it again in \(delay.components.seconds) s")
                if await sleepUnlessStopping(delay) { return 0 }
            case .rollBack:
                let bad = bin.rollBack()
                log("supervisor: the new agent binary (SHA-256 \(bad ?? "unknown")) exited non-zero "
                    + "\(SupervisorPolicy.crashesBeforeRollback) times within 30 s of starting; rolled back to the previous "
                    + "binary, and this SHA-256 will not be installed again")
            case .exit(let code):
                log("supervisor: the agent \(Self.describe(status)); not starting it again")
                return code
            }
        }
    }

    /// Stops the child (SIGTERM: it cancels its job as before) and then the supervisor.
    public func stop() {
        let child = state.withLock { s -> pid_t? in
            s.stopping = true
            return s.child
        }
        if let child { kill(child, SIGTERM) }
    }

    private func spawn(_ executable: String) -> pid_t? {
        guard let link = ProcessControl.cloexecPipe() else { return nil }
        defer { close(link.read) }
        // The write end stays open here (close-on-exec, so no later child or job holds it) for the child's life.
        var theirs = link.read
        if theirs == 3 { theirs = fcntl(3, F_DUPFD_CLOEXEC, 4) }  // dup2(3, 3) would leave it close-on-exec
        defer { if theirs != link.read { close(theirs) } }
        var env = ProcessInfo.processInfo.environment
        env[Self.linkVariable] = "3:\(getpid())"  // the descriptor, and who must be this child's parent
        let envp = env.map { "\($0.key)=\($0.value)" }.sorted()
        let (rc, pid) = state.withLock { s -> (Int32, pid_t) in
            let (rc, pid) = ProcessControl.spawnInNewSession([executable, "start"] + arguments, environment: envp,
                                                             resetSignals: true, keep: 4) { actions in
                posix_spawn_file_actions_adddup2(actions, theirs, 3)
            }
            if rc == 0 {
                s.child = pid
                if s.stopping { kill(pid, SIGTERM) }  // a SIGTERM that came while it was being started
            }
            return (rc, pid)
        }
        guard rc == 0 else {
            close(link.write)
            errno = rc
            return nil
        }
        log("supervisor: running the agent from \(executable) (pid \(pid))")
        pipes.withLock { $0[pid] = link.write }
        return pid
    }

    /// Waits for the child to end (polling waitpid: a supervisor has nothing else to do), then closes its link.
    private func waitForExit(_ pid: pid_t) async -> ExitStatus {
        var raw: Int32 = 0
        while true {
            let r = waitpid(pid, &raw, WNOHANG)
            if r == pid { break }
            if r < 0 && errno != EINTR { raw = 0; break }
            try? await Task.sleep(for: .milliseconds(50))
        }
        state.withLock { $0.child = nil }
        if let fd = pipes.withLock({ $0.removeValue(forKey: pid) }) { close(fd) }
        return ExitStatus(raw: raw)
    }

    /// Sleeps `delay` unless a stop comes first; true when stopping.
    private func sleepUnlessStopping(_ delay: Duration) async -> Bool {
        let until = ContinuousClock.now + delay
        while ContinuousClock.now < until {
            if state.withLock({ $0.stopping }) { return true }
            try? await Task.sleep(for: min(.milliseconds(100), until - .now))
        }
        return state.withLock { $0.stopping }
    }

    static func describe(_ status: ExitStatus) -> String {
        switch status {
        case .exited(let code): "exited with status \(code)"
        case .signalled(let sig): "was killed by signal \(sig)"
        }
    }
}

/// The child's side of the supervisor link: present when this process was started by a supervisor.
public enum SupervisorLink {
    /// Takes over the descriptor named in MMS_AGENT_SUPERVISOR_FD (`FD:PID`): true when it is a pipe and PID is
    /// this process's parent. It is made close-on-exec (jobs never hold it) and watched; at its end-of-file this
    /// process kills itself.
    public static func adopt() -> Bool {
        guard let text = ProcessInfo.processInfo.environment[Supervisor.linkVariable] else { return false }
        unsetenv(Supervisor.linkVariable)  // not for jobs, nor for anything this agent starts
        let parts = text.split(separator: ":")
        guard parts.count == 2, let fd = Int32(parts[0]), fd >= 3, let parent = Int32(parts[1]), parent == getppid() else {
            return false
        }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFIFO else { return false }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        let watcher = Thread {
            var byte: UInt8 = 0
            while true {
                let n = read(fd, &byte, 1)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
            }
            kill(getpid(), SIGKILL)  // the supervisor is gone: go with it, as in a crash
        }
        watcher.name = "mms-supervisor-link"
        watcher.start()
        return true
    }
}
