import Foundation
import MonitorModels
#if canImport(Glibc)
import Glibc
#endif

/// How a child process ended, decoded from a `waitpid` status.
public enum ExitStatus: Sendable, Equatable {
    case exited(Int32)
    case signalled(Int32)

    /// Decodes a raw `waitpid` status (the WIFEXITED/WTERMSIG macros, which Swift cannot see).
    public init(raw: Int32) {
        let sig = raw & 0x7f
        self = sig == 0 ? .exited((raw >> 8) & 0xff) : .signalled(sig)
    }

    /// The shell's convention: the exit code, or 128 + signal.
    public var shellCode: Int32 {
        switch self {
        case .exited(let c): c
        case .signalled(let s): 128 + s
        }
    }
}

/// Low-level process control for jobs: spawning bash in its own session, signalling and reaping its group.
public enum ProcessControl {
    /// Makes this process the reaper of its orphaned descendants (Linux), so a job's grandchildren can be
    /// reaped and counted; some container inits never reap. Idempotent; failure only weakens orphan checks.
    public static func becomeSubreaper() {
        #if os(Linux)
        typealias PrctlFn = @convention(c) (Int32, UInt, UInt, UInt, UInt) -> Int32
        guard let sym = dlsym(nil, "prctl") else { return }
        let prctl = unsafeBitCast(sym, to: PrctlFn.self)
        _ = prctl(36 /* PR_SET_CHILD_SUBREAPER */, 1, 0, 0, 0)
        #endif
    }

    /// Spawns `/bin/bash SCRIPT` as the leader of a new session and process group, stdin from /dev/null,
    /// stdout and stderr to `outputFD`, no other descriptors, default signal handling. Returns its pid (= pgid).
    /// With `cwd`, the child starts there and `script` may be relative (bash then names errors after it: "job: line 3: ...").
    /// With `gateFD`, bash also gets it as descriptor 3 (a gated script reads its go from there, then closes it).
    public static func spawnBash(
        script: String, environment: [String: String], outputFD: Int32, cwd: String? = nil, gateFD: Int32? = nil
    ) throws(AgentError) -> pid_t {
        let envp = environment.map { "\($0.key)=\($0.value)" }.sorted()
        var gate = gateFD
        if gateFD == 3 { gate = fcntl(3, F_DUPFD_CLOEXEC, 4) }  // dup2(3, 3) would leave it close-on-exec
        defer { if let gate, gate != gateFD { close(gate) } }
        let (rc, pid) = spawnInNewSession(["/bin/bash", "--noprofile", "--norc", script], environment: envp, cwd: cwd,
                                          resetSignals: true, keep: gate == nil ? 3 : 4) { actions in
            posix_spawn_file_actions_addopen(actions, 0, "/dev/null", O_RDONLY, 0)
            posix_spawn_file_actions_adddup2(actions, outputFD, 1)
            posix_spawn_file_actions_adddup2(actions, outputFD, 2)
            if let gate { posix_spawn_file_actions_adddup2(actions, gate, 3) }
        }
        guard rc == 0 else {
            throw .spawnFailed("cannot start /bin/bash: \(String(cString: strerror(rc))); is bash installed?")
        }
        return pid
    }

    /// Reaps every finished child in process group `pgid` without blocking; returns (pid, status) pairs.
    public static func reapGroup(_ pgid: pid_t) -> [(pid_t, ExitStatus)] {
        var out: [(pid_t, ExitStatus)] = []
        while true {
            var status: Int32 = 0
            let p = waitpid(-pgid, &status, WNOHANG)
            if p <= 0 { break }
            out.append((p, ExitStatus(raw: status)))
        }
        return out
    }

    /// True while any process (zombies included) is in group `pgid`.
    public static func groupAlive(_ pgid: pid_t) -> Bool {
        kill(-pgid, 0) == 0 || errno == EPERM
    }

    /// Sends `signal` to every process in group `pgid`.
    public static func signalGroup(_ pgid: pid_t, _ signal: Int32) {
        _ = kill(-pgid, signal)
    }

    /// The kernel's boot id, to tell whether a recorded pgid is from this boot.
    public static func bootID() -> String { currentBootID }

    private static let currentBootID: String =
        (try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? "unknown"

    /// A connected pair of Unix stream sockets, close-on-exec (a job's start gate: writing to it never raises SIGPIPE).
    public static func cloexecSocketPair() -> (read: Int32, write: Int32)? {
        var fds: [Int32] = [0, 0]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds) == 0 else { return nil }
        return (fds[0], fds[1])
    }

    /// `pipe2(O_CLOEXEC)`: a pipe whose ends no spawned job inherits (dup2 into 1/2 clears the flag there).
    public static func cloexecPipe() -> (read: Int32, write: Int32)? { CloexecPipe.make() }

    /// posix_spawn of `argv` (argv[0] is the program's path) as the leader of a new session and process
    /// group, with the descriptors `stdio` sets up and none from `keep` up (3 unless stdio set up 3), no
    /// blocked signals, and (with `resetSignals`) the usual signals back at their defaults. Returns
    /// posix_spawn's code and the pid.
    static func spawnInNewSession(
        _ argv: [String], environment: [String], cwd: String? = nil, resetSignals: Bool, keep: Int32 = 3,
        stdio: (UnsafeMutablePointer<posix_spawn_file_actions_t>) -> Void
    ) -> (Int32, pid_t) {
        var actions = posix_spawn_file_actions_t()
        var attr = posix_spawnattr_t()
        posix_spawn_file_actions_init(&actions)
        posix_spawnattr_init(&attr)
        defer {
            posix_spawn_file_actions_destroy(&actions)
            posix_spawnattr_destroy(&attr)
        }
        stdio(&actions)
        closeFrom(keep, &actions)
        if let cwd { addChdir(&actions, cwd) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attr, &empty)
        let setsid: Int32 = 0x80  // POSIX_SPAWN_SETSID (glibc >= 2.26)
        var flags = setsid | Int32(POSIX_SPAWN_SETSIGMASK)
        if resetSignals {
            var defaults = sigset_t()
            sigemptyset(&defaults)
            for s in [SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGQUIT, SIGCHLD, SIGUSR1, SIGUSR2] { sigaddset(&defaults, s) }
            posix_spawnattr_setsigdefault(&attr, &defaults)
            flags |= Int32(POSIX_SPAWN_SETSIGDEF)
        }
        posix_spawnattr_setflags(&attr, Int16(flags))
        var pid: pid_t = 0
        let rc = withCStrings(argv) { cargv in
            withCStrings(environment) { cenv in posix_spawn(&pid, argv[0], &actions, &attr, cargv, cenv) }
        }
        return (rc, pid)
    }

    /// Adds "close every descriptor from `first` up" to spawn actions (glibc 2.34+), so nothing the agent holds leaks.
    private static func closeFrom(_ first: Int32, _ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>) {
        typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
        let name = "posix_spawn_file_actions_addclosefrom_np"
        guard let sym = dlsym(nil, name) else { return }
        _ = unsafeBitCast(sym, to: AddCloseFrom.self)(actions, first)
    }

    /// Adds a chdir to spawn actions (glibc 2.29+); the script cds to the job dir itself either way.
    private static func addChdir(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ dir: String) {
        typealias AddChdir = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32
        guard let sym = dlsym(nil, "posix_spawn_file_actions_addchdir_np") else { return }
        _ = unsafeBitCast(sym, to: AddChdir.self)(actions, dir)
    }

    private static func withCStrings<R>(_ strings: [String], _ body: ([UnsafeMutablePointer<CChar>?]) -> R) -> R {
        var ptrs: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
        ptrs.append(nil)
        defer { for p in ptrs { free(p) } }
        return body(ptrs)
    }
}

extension ProcessControl {
    /// SIGKILLs every process whose session id is in `sids` (the shells of a closed SSH jump point).
    static func killSessions(_ sids: Set<pid_t>) {
        guard !sids.isEmpty else { return }
        for _ in 0..<3 {  // a shell may fork while the first pass runs
            var found = false
            for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
                guard let pid = pid_t(entry), pid > 1, let sid = sessionID(of: pid), sids.contains(sid) else { continue }
                found = true
                kill(pid, SIGKILL)
            }
            if !found { return }
        }
    }

    /// The session id of `pid` (field 6 of /proc/PID/stat), nil when it is gone.
    static func sessionID(of pid: pid_t) -> pid_t? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return fields.count > 3 ? pid_t(fields[3]) : nil
    }
}

extension ProcessControl {
    /// Reaps this process's zombie children named `name` (a subreaper inherits the runtime's `conmon`
    /// processes, which die with their containers). Only those: other children belong to their own waiters.
    static func reapZombies(named name: String) {
        let me = getpid()
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = pid_t(entry), let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let open = stat.firstIndex(of: "("), let close = stat.lastIndex(of: ")") else { continue }
            let comm = stat[stat.index(after: open)..<close]
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard comm == name, fields.count > 1, fields[0] == "Z", pid_t(fields[1]) == me else { continue }
            var status: Int32 = 0
            _ = waitpid(pid, &status, WNOHANG)
        }
    }
}
