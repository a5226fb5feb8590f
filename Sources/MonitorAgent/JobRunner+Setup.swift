import Foundation
import MonitorModels

/// What a job needs between its start and its first command (its containers, its SSH jump point), and the
/// removal of both when it ends.
extension JobRunner {
    /// How the setup went: the commands may run, or the job ends with `outcome` before any of them.
    enum SetupEnd {
        case go
        case stop(JobOutcome)
    }

    /// Starts the containers (pulls count toward the timeout: `deadline`), opens the jump point, then
    /// calls `onCommandsStart` with the ssh command. A failed pull or start is a failed job with the
    /// runtime's message as its reason.
    func setUp(deadline: ContinuousClock.Instant) async -> SetupEnd {
        if let container {
            let timeout = spec.timeoutSeconds
            let shouldStop: @Sendable () -> String? = { [self] in
                stopReason ?? (clock.now >= deadline ? "timed out after \(timeout) s" : nil)
            }
            if let problem = await container.start(note: { [self] in note($0) }, shouldStop: shouldStop) {
                if let reason = stopReason { return .stop(JobOutcome(result: .cancelled, failureReason: reason)) }
                note(problem)
                let code = clock.now >= deadline ? 124 : nil
                return .stop(JobOutcome(result: .failed, exitCode: code, failureReason: problem))
            }
        }
        var sshCommand: String?
        if let jumpPoint {
            do {
                sshCommand = try jumpPoint.open(environment: environment, jobDir: jobDir, controlDir: controlDir,
                                                container: container, host: options.sshHost)
                note("SSH jump point open: \(sshCommand ?? "")")
            } catch {
                note("no SSH jump point: \(error.description)")
            }
        }
        if let hook = options.onCommandsStart, !(await hook(sshCommand)) {
            return .stop(JobOutcome(result: .cancelled, failureReason: stopReason ?? "the server did not confirm the job's start"))
        }
        return .go
    }

    /// Closes the jump point (keys, script, shells) and removes the containers and the network; says any
    /// problem in the job's log.
    func tearDown() async {
        if let jumpPoint { for problem in jumpPoint.close() { note("closing the SSH jump point: \(problem)") } }
        if let container, let problem = await container.remove() { note(problem) }
    }

    /// One log line for each feature the job asks for that this agent does not offer (keys without
    /// `--ssh-jump-point`).
    func noteIgnoredFeatures() {
        if !spec.sshPublicKeys.isEmpty && options.jumpPoint == nil {
            note("sshPublicKeys ignored: this agent was not started with --ssh-jump-point")
        }
    }

    /// The outcome of a container job on an agent with no working container runtime.
    func noContainerRuntime() -> JobOutcome {
        let reason = "this agent has no working container runtime (see --container-runtime)"
        note(reason)
        return JobOutcome(result: .failed, exitCode: nil, failureReason: reason)
    }
}
