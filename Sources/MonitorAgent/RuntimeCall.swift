import Foundation
import Synchronization
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
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = args
        process.environment = environment.merging(extraEnvironment) { _, new in new }
        process.standardInput = FileHandle(forReadingAtPath: "/dev/null")
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        let collected = Mutex(Data())
        let reader = Thread {
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            collected.withLock { $0 = data.prefix(65536) }
        }
        do {
            try process.run()
        } catch {
            return Ended(status: 127, output: "cannot run \(executable): \(error.localizedDescription)")
        }
        try? pipe.fileHandleForWriting.close()
        reader.start()
        var stopped: String?
        while process.isRunning {
            if stopped == nil, let reason = shouldStop() {
                stopped = reason
                kill(process.processIdentifier, SIGKILL)
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
        process.waitUntilExit()
        while !reader.isFinished { try? await Task.sleep(for: .milliseconds(5)) }
        let text = String(decoding: collected.withLock { $0 }, as: UTF8.self)
        return Ended(status: process.terminationStatus, output: text, stopped: stopped)
    }

    /// Runs `args` from a thread that may not wait (a signal handler path); the result is dropped.
    func fireAndForget(_ args: [String]) {
        Task.detached { _ = await run(args) }
    }
}
