import Foundation
import MonitorModels

/// The last jobs of the agent the detail shows, read from the server (GET /api/v1/jobs?agent=UUID):
/// the console holds only the newest jobs of the fleet, so an agent's own history comes from there.
public struct AgentJobs: Sendable, Equatable {
    public var uuid: String
    /// Its last `fetchLimit` jobs, newest first, as last read (empty until the first answer).
    public var jobs: [Job] = []
    /// A read is running.
    public var inFlight = true
    /// A job event for this agent came after the last read began: read again (at most once a second).
    public var stale = false
    /// When the last read began.
    public var requestedAt: Date
    /// Why the last read failed (the detail then judges from the jobs the console holds).
    public var error: String?
    /// How many jobs a read asks for (the flaky flag looks at the last 50).
    public static let fetchLimit = 50
    /// The shortest time between two reads.
    public static let minInterval: TimeInterval = 1

    public init(uuid: String, requestedAt: Date) {
        self.uuid = uuid
        self.requestedAt = requestedAt
    }
}

extension AppState {
    /// The agent whose detail is on screen.
    var detailAgentUuid: String? {
        guard detailShown, view == .agents else { return nil }
        return selectedAgent?.uuid
    }

    /// Starts, repeats or drops the read of the shown agent's last jobs to match what is on screen.
    mutating func agentJobsFollowUps() -> [Effect] {
        guard let uuid = detailAgentUuid else {
            agentJobs = nil
            return []
        }
        guard var held = agentJobs, held.uuid == uuid else {
            agentJobs = AgentJobs(uuid: uuid, requestedAt: now)
            return [.fetchAgentJobs(uuid: uuid)]
        }
        guard held.stale, !held.inFlight, now.timeIntervalSince(held.requestedAt) >= AgentJobs.minInterval else { return [] }
        held.stale = false
        held.inFlight = true
        held.requestedAt = now
        agentJobs = held
        return [.fetchAgentJobs(uuid: uuid)]
    }

    /// A job event: when it concerns the shown agent (now or before), its last jobs are read again soon.
    mutating func noteAgentJob(_ new: Job, old: Job?) {
        guard let uuid = agentJobs?.uuid, new.agentUuid == uuid || old?.agentUuid == uuid else { return }
        agentJobs?.stale = true
    }

    /// The answer to `.fetchAgentJobs`.
    mutating func agentJobsLoaded(_ uuid: String, _ result: Result<[Job], AgentJobsError>) {
        guard agentJobs?.uuid == uuid else { return }
        agentJobs?.inFlight = false
        switch result {
        case .success(let list):
            // An older server ignores `agent=` and lists every agent's jobs: keep this agent's only.
            agentJobs?.jobs = list.filter { $0.agentUuid == uuid }
            agentJobs?.error = nil
        case .failure(let e):
            agentJobs?.error = e.message
        }
    }
}

/// Why an agent's last jobs could not be read.
public struct AgentJobsError: Error, Sendable, Equatable {
    public var message: String
    public init(_ message: String) { self.message = message }
}
