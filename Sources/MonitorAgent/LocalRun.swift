import Foundation
import MonitorModels
#if canImport(Glibc)
import Glibc
#endif

/// `mms-agent run JOB.json`: one job in a temporary dir, log on stdout, the job's exit code.
public enum LocalRun {
    /// Reads and checks a job file; the error names the field that is wrong.
    public static func load(path: String) throws(AgentError) -> JobSpec {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .badJobFile("cannot read \(path): no such file or not readable")
        }
        let spec: JobSpec
        do {
            spec = try MMSJSON.decode(JobSpec.self, from: data)
        } catch {
            throw .badJobFile("\(path): \(error.message)")
        }
        if let problem = Validation.jobSpecProblem(spec) { throw .badJobFile("\(path): \(problem)") }
        return spec
    }

    /// Runs the job file and returns the exit status; SIGINT/SIGTERM cancel the job.
    public static func run(path: String, grace: Duration = .seconds(10)) async -> Int32 {
        let spec: JobSpec
        do {
            spec = try load(path: path)
        } catch {
            LocalRun.writeAll(2, Data("mms-agent: \(error.description)\n".utf8))
            return error.exitCode
        }
        let base = NSTemporaryDirectory() + "mms-agent-run-\(getpid())-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: base) }
        var options = RunnerOptions()
        options.grace = grace
        let env = JobEnvironment.build(agent: ProcessInfo.processInfo.environment, config: nil, spec: spec)
        if spec.runsInContainers {
            let requested = ProcessInfo.processInfo.environment["MMS_CONTAINER_RUNTIME"]
            if case .success(let runtime) = await ContainerRuntime.detect(requested, environment: ProcessInfo.processInfo.environment) {
                var settings = ContainerSettings(runtime: runtime, owner: base, prefix: ContainerSettings.prefix(owner: base, job: "run"))
                settings.jobEnvironment = JobEnvironment.build(agent: [:], config: nil, spec: spec)
                options.containers = settings
            }
        }
        let runner = JobRunner(spec: spec, jobDir: base + "/job", controlDir: base + "/control", environment: env,
                               options: options, output: { writeAll(1, $0) })
        let signals = SignalWatcher(signals: [SIGINT, SIGTERM]) { _ in runner.cancel(reason: "agent stopped") }
        defer { signals.cancel() }
        do {
            try runner.prepare()
        } catch {
            LocalRun.writeAll(2, Data("mms-agent: \(error.description)\n".utf8))
            return error.exitCode
        }
        let outcome = await runner.run()
        let summary = outcome.result == .passed ? "passed" : "\(outcome.result.rawValue): \(outcome.failureReason ?? "")"
        LocalRun.writeAll(2, Data("mms-agent: job '\(spec.name)' \(summary)\n".utf8))
        return outcome.processExitCode
    }

    /// Writes all of `data` to `fd`.
    static func writeAll(_ fd: Int32, _ data: Data) {
        data.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                let n = write(fd, raw.baseAddress! + done, raw.count - done)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return }
                done += n
            }
        }
    }
}

/// Turns SIGINT/SIGTERM into a callback (the default action is suspended while it lives).
public final class SignalWatcher: @unchecked Sendable {  // sources are set once in init and only cancelled
    private let sources: [DispatchSourceSignal]

    /// Watches `signals`, calling `handler` with the signal number on a background queue.
    public init(signals: [Int32], handler: @escaping @Sendable (Int32) -> Void) {
        var sources: [DispatchSourceSignal] = []
        for sig in signals {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { handler(sig) }
            source.resume()
            sources.append(source)
        }
        self.sources = sources
    }

    /// Stops watching.
    public func cancel() { for s in sources { s.cancel() } }
}
