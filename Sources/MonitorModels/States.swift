/// How the server reaches an agent: `pull` agents poll it; the server pushes jobs to `push` agents
/// (`mms-agent serve`).
public enum AgentKind: String, Codable, Sendable, CaseIterable {
    case pull, push
}

/// What the admin decided about an agent.
public enum AgentConfigState: String, Codable, Sendable, CaseIterable {
    case pending, enabled, disabled
}

/// What the console shows for an agent: the first of these that applies (contract, "Agent status").
public enum AgentStatus: String, Codable, Sendable, CaseIterable {
    case pending, missing, lostContact, cancelling, building, preparing, upgrading, disabled, idle

    /// The operator-facing name, e.g. "Lost Contact".
    public var displayName: String {
        switch self {
        case .pending: "Pending"
        case .missing: "Missing"
        case .lostContact: "Lost Contact"
        case .cancelling: "Cancelling"
        case .building: "Building"
        case .preparing: "Preparing"
        case .upgrading: "Upgrading"
        case .disabled: "Disabled"
        case .idle: "Idle"
        }
    }
}

/// Where a job is in its life.
public enum JobState: String, Codable, Sendable, CaseIterable, Comparable {
    case scheduled, assigned, preparing, building, cancelling, completed

    /// Order used to keep reports moving forward only.
    public var rank: Int {
        switch self {
        case .scheduled: 0
        case .assigned: 1
        case .preparing: 2
        case .building: 3
        case .cancelling: 4
        case .completed: 5
        }
    }

    /// True while an agent holds the job (assigned up to cancelling).
    public var isActive: Bool { self != .scheduled && self != .completed }

    public static func < (a: JobState, b: JobState) -> Bool { a.rank < b.rank }
}

/// How a completed job ended.
public enum JobResult: String, Codable, Sendable, CaseIterable {
    case passed, failed, cancelled
}

/// What an agent says it is doing, in pings. `upgrading` (version 2): no job, taking no new work,
/// replacing its binary with the server's.
public enum RuntimeState: String, Codable, Sendable, CaseIterable {
    case idle, preparing, building, cancelling, upgrading
}

/// States an agent may report for its job through POST /jobs/{id}/state.
public enum ReportedJobState: String, Codable, Sendable, CaseIterable {
    case preparing, building, completed

    /// The job state this report moves the job to.
    public var jobState: JobState {
        switch self {
        case .preparing: .preparing
        case .building: .building
        case .completed: .completed
        }
    }
}
