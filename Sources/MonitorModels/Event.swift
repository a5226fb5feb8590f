/// Kinds of change the events feed reports.
public enum EventType: String, Codable, Sendable, CaseIterable {
    case agentUpdated = "agent.updated"
    case agentDeleted = "agent.deleted"
    case jobUpdated = "job.updated"
    case auditAppended = "audit.appended"
}

/// One change on the server, as GET /api/v1/events reports it.
public struct Event: Codable, Sendable, Equatable {
    public var seq: Int64
    public var type: EventType
    public var agent: Agent?
    public var job: Job?
    public var uuid: String?
    /// The entry an `audit.appended` event announces.
    public var audit: AuditEntry?

    public init(seq: Int64, type: EventType, agent: Agent? = nil, job: Job? = nil, uuid: String? = nil,
                audit: AuditEntry? = nil) {
        self.seq = seq
        self.type = type
        self.agent = agent
        self.job = job
        self.uuid = uuid
        self.audit = audit
    }
}

/// Body of GET /api/v1/events: the events after `since`, and the seq to ask from next.
public struct EventBatch: Codable, Sendable, Equatable {
    public var events: [Event]
    public var next: Int64
    public init(events: [Event], next: Int64) {
        self.events = events
        self.next = next
    }
}
