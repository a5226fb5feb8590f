import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One run of an external tool (the container runtime) with its output captured, stopped early when
/// `shouldStop` says so (a cancel, a deadline): the agent's only way to call `docker` or `podman`.
struct RuntimeCall: Sendable {
    /// How a call ended.
    struct Ended: Sendable {
        var status: Int32
        /// stdout and stderr, merged, at most 64 KiB kept.
        var output: String
        /// Set when `shouldStop` ended it: the reason it gave.
        var stopped: String?
        /// The output's last non-empty line, trimmed: what the runtime said went wrong.
        var message: String {
            let lines = output.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            return lines.last(where: { !$0.hasPrefix("failed to connect to syslog") }) ?? "exit status \(status)"
        }
        var ok: Bool { status == 0 && stopped == nil }
    }

    let executable: String
    let environment: [String: String]

    /// Runs `args`, polling `shouldStop` every 20 ms (a non-nil reason kills the tool and ends the call).
    func run(_ args: [String], extraEnvironment: [String: String] = [:],
             shouldStop: @escaping @Sendable () -> String? = { nil }) async -> Ended {
        // Spawned by hand and waited for by pid, output to a file: `run -d` leaves conmon holding what the tool
        // inherited (stdout, and the socket Foundation's Process waits on) for as long as the container lives.
        let outPath = NSTemporaryDirectory() + "mms-runtime-\(getpid())-\(UUID().uuidString.prefix(12)).out"
        let fd = open(outPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return Ended(status: 127, output: "cannot make \(outPath): \(String(cString: strerror(errno)))") }
        defer { unlink(outPath) }
        let env = environment.merging(extraEnvironment) { _, new in new }.map { "\($0.key)=\($0.value)" }
        let (rc, pid) = ProcessControl.spawnInNewSession([executable] + args, environment: env, resetSignals: true) { actions in
            posix_spawn_file_actions_addopen(actions, 0, "/dev/null", O_RDONLY, 0)
            posix_spawn_file_actions_adddup2(actions, fd, 1)
            posix_spawn_file_actions_adddup2(actions, fd, 2)
        }
        close(fd)
        guard rc == 0 else { return Ended(status: 127, output: "cannot run \(executable): \(String(cString: strerror(rc)))") }
        var stopped: String?
        var status: Int32 = 0
        while true {
            let done = waitpid(pid, &status, WNOHANG)
            if done == pid || (done < 0 && errno != EINTR) { break }
            if stopped == nil, let reason = shouldStop() {
                stopped = reason
                kill(pid, SIGKILL)
            }
            try? await Task.sleep(for: .milliseconds(10))
        }
        let data = FileManager.default.contents(atPath: outPath) ?? Data()
        let text = String(decoding: data.prefix(65536), as: UTF8.self)
        let code = ExitStatus(raw: status).shellCode
        return Ended(status: code, output: text, stopped: stopped)
    }

    /// Runs `args` from a thread that may not wait (a signal handler path); the result is dropped.
    func fireAndForget(_ args: [String]) {
        Task.detached { _ = await run(args) }
    }
}
