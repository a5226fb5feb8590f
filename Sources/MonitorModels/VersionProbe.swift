import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Runs `BINARY version` and reads the version it prints: the check the server makes before it offers an
/// agent binary and the agent makes before it installs one. Spawned with posix_spawn, not Foundation's
/// `Process`: on Linux its `run()` copies whole `d_name` fields while it lists /proc/self/fd and can read
/// past glibc's buffer and crash the caller (swift-corelibs-foundation PR 5472, seen here in the tests),
/// and a server with thousands of open connections is where that list is longest.
public enum VersionProbe {
    /// Why no version was read, said as the end of "'BINARY version' …".
    public struct Problem: Error, Sendable, Equatable {
        public let text: String
        public init(_ text: String) { self.text = text }
    }

    /// The version `binary version` prints (`mms-agent X.Y.Z`), waiting `timeout` seconds at most.
    public static func ask(_ binary: String, timeout: Double = 10) -> Result<String, Problem> {
        switch run([binary, "version"], timeout: timeout) {
        case .failure(let problem): return .failure(problem)
        case .success(let (status, output)):
            guard status == 0 else { return .failure(Problem("exited with status \(status)")) }
            guard let version = AgentBinaryHeaders.parseVersionOutput(String(decoding: output.prefix(4096), as: UTF8.self)) else {
                return .failure(Problem("did not print 'mms-agent X.Y.Z'"))
            }
            return .success(version)
        }
    }

    /// Runs `argv` with stdin and stderr on /dev/null; its exit status (128+N when killed by signal N) and up
    /// to 64 KiB of its stdout. SIGKILL after `timeout` seconds.
    static func run(_ argv: [String], timeout: Double) -> Result<(Int32, Data), Problem> {
        guard let pipe = CloexecPipe.make() else { return .failure(Problem("cannot be run (no pipe: \(String(cString: strerror(errno))))")) }
        let fds = [pipe.read, pipe.write]
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        var pid: pid_t = 0
        var cargs = argv.map { strdup($0) } + [nil]
        defer { cargs.forEach { free($0) } }
        let rc = posix_spawn(&pid, argv[0], &actions, nil, &cargs, environ)
        close(fds[1])
        guard rc == 0 else {
            close(fds[0])
            return .failure(Problem("cannot be run (\(String(cString: strerror(rc))))"))
        }
        let (output, timedOut) = readAll(fds[0], until: Date().addingTimeInterval(timeout))
        close(fds[0])
        if timedOut { kill(pid, SIGKILL) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        if timedOut { return .failure(Problem("did not finish within \(Int(timeout)) s")) }
        let code = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return .success((code, output))
    }

    /// Reads `fd` until EOF or the deadline; at most 64 KiB are kept. True when the deadline came first.
    private static func readAll(_ fd: Int32, until deadline: Date) -> (Data, Bool) {
        var out = Data()
        var buf = [UInt8](repeating: 0, count: 4096)
        while true {
            let left = deadline.timeIntervalSinceNow
            if left <= 0 { return (out, true) }
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&p, 1, Int32(min(left, 1) * 1000) + 1)
            if ready < 0 && errno == EINTR { continue }
            if ready <= 0 { continue }
            let n = read(fd, &buf, buf.count)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return (out, false) }
            if out.count < 64 * 1024 { out.append(contentsOf: buf[0..<n]) }
        }
    }
}
