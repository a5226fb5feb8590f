import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A child process started with posix_spawn and reaped by a thread of its own, for the tests that drive
/// real binaries. Not Foundation's `Process`: on Linux its `run()` can read past a buffer while it lists
/// /proc/self/fd and crash the whole test process (swift-corelibs-foundation PR 5472; it did here, in the
/// heavy batch, where the test process holds many descriptors).
public final class SpawnedChild: Sendable {
    /// Where a standard descriptor of the child goes.
    public enum Stdio: Sendable {
        case null
        /// Appended to this file (which must exist).
        case file(String)
        /// This descriptor of the test process (e.g. a pipe's write end).
        case descriptor(Int32)
    }

    public let processIdentifier: Int32
    private let status = Reaped()

    /// Starts `path` (searched on PATH when it has no slash) with `args`; `environment` nil keeps the test's own.
    public init(_ path: String, _ args: [String], environment: [String: String]? = nil,
                stdout: Stdio = .null, stderr: Stdio = .null) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        for (fd, target) in [(Int32(1), stdout), (Int32(2), stderr)] {
            switch target {
            case .null: posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", O_WRONLY, 0)
            case .file(let file): posix_spawn_file_actions_addopen(&actions, fd, file, O_WRONLY | O_APPEND, 0)
            case .descriptor(let d): posix_spawn_file_actions_adddup2(&actions, d, fd)
            }
        }
        let env = environment ?? ProcessInfo.processInfo.environment
        var argv = ([path] + args).map { strdup($0) } + [nil]
        var envp = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawnp(&pid, path, &actions, nil, &argv, &envp)
        guard rc == 0 else { throw SpawnError(message: "cannot start \(path): \(String(cString: strerror(rc)))") }
        processIdentifier = pid
        let status = status, child = pid
        let reaper = Thread {
            var raw: Int32 = 0
            while waitpid(child, &raw, 0) < 0 && errno == EINTR {}
            status.value.withLock { $0 = (raw & 0x7f) == 0 ? (raw >> 8) & 0xff : raw & 0x7f }
        }
        reaper.name = "child-reaper"
        reaper.start()
    }

    public var isRunning: Bool { status.value.withLock { $0 == nil } }
    /// The exit code, or the signal number when a signal ended it (as Foundation's); nil while it runs.
    public var terminationStatus: Int32? { status.value.withLock { $0 } }

    /// Sends `signal` unless the child was reaped (its pid may belong to another process by then).
    public func signal(_ signal: Int32) { if isRunning { kill(processIdentifier, signal) } }
    public func terminate() { signal(SIGTERM) }

    /// Blocks until the child was reaped.
    public func waitUntilExit() { while isRunning { usleep(5_000) } }
}

/// The exit status of a reaped child, shared with its reaper thread.
final class Reaped: Sendable {
    let value = Mutex<Int32?>(nil)
}

public struct SpawnError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public var description: String { message }
}
