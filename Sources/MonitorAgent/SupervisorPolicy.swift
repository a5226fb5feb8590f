import Foundation

/// What the supervisor does when the agent proper exits: a value type fed each exit and how long that run
/// lasted, so the restart, backoff and rollback rules are tested without processes.
/// - exit 75 (a new binary installed): start it at once; the new binary is on probation.
/// - on probation, a non-zero exit within 30 s of starting counts; the third in a row rolls back.
/// - a run that lasts 30 s (or exits 0) ends probation.
/// - exits 2, 4 and 5 (bad flags, version mismatch with no binary offered, identity refused) end the
///   supervisor with the same status: starting again would not help.
/// - anything else (a crash, kill -9): start again after 1 s, 2 s, 4 s … 60 s; back to 1 s after a run of 60 s.
public struct SupervisorPolicy: Sendable, Equatable {
    /// What to do next.
    public enum Decision: Sendable, Equatable {
        case restartNow
        case restart(after: Duration)
        case rollBack
        case exit(Int32)
    }

    /// How long a new binary must run before its exits stop counting towards a rollback.
    public static let probationRun: Duration = .seconds(30)
    /// Quick non-zero exits of a new binary, in a row, that roll it back.
    public static let crashesBeforeRollback = 3

    public private(set) var onProbation = false
    public private(set) var quickCrashes = 0
    private var nextDelay: Duration = .seconds(1)

    public init() {}

    /// The agent proper ended with `status` after running for `ran`.
    public mutating func exited(_ status: ExitStatus, ran: Duration) -> Decision {
        if status == .exited(AgentError.upgradedExitCode) {
            onProbation = true
            quickCrashes = 0
            nextDelay = .seconds(1)
            return .restartNow
        }
        let failed = status != .exited(0)
        if onProbation {
            if failed && ran < Self.probationRun {
                quickCrashes += 1
                if quickCrashes >= Self.crashesBeforeRollback {
                    onProbation = false
                    quickCrashes = 0
                    nextDelay = .seconds(1)
                    return .rollBack
                }
                return .restart(after: backoff())
            }
            onProbation = false
            quickCrashes = 0
        }
        if case .exited(let code) = status, [2, 4, 5].contains(code) { return .exit(code) }
        if ran >= .seconds(60) { nextDelay = .seconds(1) }
        return .restart(after: backoff())
    }

    private mutating func backoff() -> Duration {
        let delay = nextDelay
        nextDelay = min(.seconds(60), nextDelay * 2)
        return delay
    }
}
