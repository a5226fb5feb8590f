import Foundation
import MonitorModels

/// The server's durable state in PostgreSQL (`--database URL`): the same tables as `SQLiteStore`,
/// so several servers can share it. A main connection serves the service's lock; a side connection
/// the lastSeenAt flush and /metrics. A lost connection fails the call (503) and is reconnected by
/// the next one: never silently inside a transaction.
final class PostgresStore: Store {
    static let schemaVersion: Int64 = 3
    /// The advisory lock key migrations run under ("mms-migrate").
    static let migrationLock: Int64 = 0x6d6d_732d_6d69_67
    let conninfo: String
    /// The revision of the shared change in progress (set by `beginSharedChange`, cleared when its
    /// transaction ends); stamped on every agent and job row written meanwhile.
    var revision: Int64?
    let main: PGSession
    let side: PGSession
    private let encoder = MMSJSON.encoder()
    private let decoder = MMSJSON.decoder()

    /// Connects and brings the schema up to date (under an advisory lock, so replicas starting together
    /// migrate once).
    init(conninfo: String) throws(DatabaseError) {
        self.conninfo = conninfo
        main = try PGSession(conninfo: conninfo)
        side = try PGSession(conninfo: conninfo)
        try migrate()
    }

    /// The connection string without its password, for messages.
    static func redacted(_ conninfo: String) -> String {
        var text = conninfo
        if let scheme = text.range(of: "://"), let at = text.range(of: "@", range: scheme.upperBound..<text.endIndex),
           let colon = text.range(of: ":", range: scheme.upperBound..<at.lowerBound) {
            text.replaceSubrange(colon.upperBound..<at.lowerBound, with: "***")
        }
        return text.replacingOccurrences(of: #"password\s*=\s*\S+"#, with: "password=***", options: .regularExpression)
    }

    func close() {
        main.close()
        side.close()
    }

    func transaction<T>(_ body: () throws(DatabaseError) -> T) throws(DatabaseError) -> T {
        defer { revision = nil }
        return try main.transaction(body)
    }

    var isShared: Bool { true }

    func isReachable() -> Bool {
        (try? side.run { c throws(PGError) in try c.query("SELECT 1", []) }) != nil
    }

    private func migrate() throws(DatabaseError) {
        try main.run { c throws(PGError) in
            try c.query("SELECT pg_advisory_lock($1)", [.int(Self.migrationLock)])
            defer { try? c.query("SELECT pg_advisory_unlock($1)", [.int(Self.migrationLock)]) }
            try c.exec("CREATE TABLE IF NOT EXISTS schema_version(version BIGINT NOT NULL)")
            var current: Int64 = 0
            try c.query("SELECT COALESCE(MAX(version), 0) FROM schema_version", []) { row throws(PGError) in current = try row.int(0) }
            if current > Self.schemaVersion {
                throw PGError(sqlstate: nil, "the database was written by a newer mms-server (schema \(current)); upgrade this server")
            }
            if current < 1 {
                try c.transaction { () throws(PGError) in try c.exec(Self.schemaV1) }
            }
            if current < 2 {
                try c.transaction { () throws(PGError) in try c.exec(Self.schemaV2) }
            }
            if current < 3 {
                try c.transaction { () throws(PGError) in try c.exec(Self.schemaV3) }
            }
        }
    }


    // MARK: - Meta

    func meta(_ key: String) throws(DatabaseError) -> String? {
        try main.run { c throws(PGError) in
            var v: String?
            try c.query("SELECT value FROM meta WHERE key = $1", [.text(key)]) { row throws(PGError) in v = try row.text(0) }
            return v
        }
    }

    func setMeta(_ key: String, _ value: String) throws(DatabaseError) {
        try main.run { c throws(PGError) in
            try c.query("INSERT INTO meta(key, value) VALUES($1, $2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                        [.text(key), .text(value)])
        }
    }

    func claimMeta(_ key: String, _ value: String) throws(DatabaseError) -> String {
        try main.run { c throws(PGError) in
            try c.query("INSERT INTO meta(key, value) VALUES($1, $2) ON CONFLICT(key) DO NOTHING", [.text(key), .text(value)])
        }
        return try meta(key) ?? value
    }

    // MARK: - Agents

    func loadAgents() throws(DatabaseError) -> [(Agent, String)] {
        try loadAgentStates().map { ($0.agent, $0.secretHash) }
    }

    func loadAgentStates() throws(DatabaseError) -> [StoredAgent] {
        try agentStates("WHERE TRUE", [])
    }

    /// Agents with their newest contact (the agents row or a server's batched flush, whichever is later).
    func agentStates(_ filter: String, _ params: [PGValue]) throws(DatabaseError) -> [StoredAgent] {
        try main.run { c throws(PGError) in
            var out: [StoredAgent] = []
            try c.query("""
                SELECT a.uuid, a.name, a.hostname, a.os, a.version, a.ip_address, a.config_state, a.resources,
                       a.environments, a.secret_hash, a.registered_at, GREATEST(a.last_seen_at, c.seen_at),
                       a.lost_contact, a.idle_since, a.kind, a.url, a.push_secret, a.push_ca_cert, a.container_runtime,
                       a.binary_sha256, a.disabled_reason, a.disabled_by, a.disabled_at, a.disabled_until
                FROM agents a LEFT JOIN agent_contacts c ON c.uuid = a.uuid \(filter)
                """, params) { row throws(PGError) in
                let agent = Agent(
                    uuid: try row.text(0), name: try row.text(1), hostname: try row.utf8(2), os: try row.utf8(3),
                    version: try row.utf8(4), ipAddress: try row.optText(5),
                    configState: AgentConfigState(rawValue: try row.text(6)) ?? .pending,
                    resources: decodeList(try row.text(7)), environments: decodeList(try row.text(8)),
                    registeredAt: try row.date(10), lastSeenAt: try row.optDate(11),
                    kind: AgentKind(rawValue: try row.text(14)) ?? .pull, url: try row.optText(15),
                    containerRuntime: try row.optUTF8(18), binarySHA256: try row.optText(19),
                    disabledReason: try row.optUTF8(20), disabledBy: try row.optText(21),
                    disabledAt: try row.optDate(22), disabledUntil: try row.optDate(23))
                out.append(StoredAgent(agent: agent, secretHash: try row.text(9), lostContact: try row.bool(12),
                                       idleSince: try row.optDate(13), pushSecret: try row.optUTF8(16),
                                       pushCACert: try row.optUTF8(17)))
            }
            return out
        }
    }

    func saveAgent(_ s: StoredAgent) throws(DatabaseError) {
        let a = s.agent
        let params: [PGValue] = [
            .text(a.uuid), .text(a.name), .utf8(a.hostname), .utf8(a.os), .utf8(a.version), .opt(a.ipAddress),
            .text(a.configState.rawValue), .text(encodeList(a.resources)), .text(encodeList(a.environments)),
            .text(s.secretHash), .date(a.registeredAt), .opt(a.lastSeenAt), .bool(s.lostContact), .opt(s.idleSince),
            .int(revision ?? 0), .text(a.kind.rawValue), .opt(a.url), .opt(s.pushSecret.map { Data($0.utf8) }),
            .opt(s.pushCACert.map { Data($0.utf8) }), .opt(a.containerRuntime.map { Data($0.utf8) }), .opt(a.binarySHA256),
            .opt(a.disabledReason.map { Data($0.utf8) }), .opt(a.disabledBy), .opt(a.disabledAt), .opt(a.disabledUntil),
        ]
        try main.run { c throws(PGError) in
            try c.query("""
                INSERT INTO agents(uuid, name, hostname, os, version, ip_address, config_state, resources, environments,
                                   secret_hash, registered_at, last_seen_at, lost_contact, idle_since, rev, kind, url,
                                   push_secret, push_ca_cert, container_runtime, binary_sha256, disabled_reason,
                                   disabled_by, disabled_at, disabled_until)
                VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,$23,$24,$25)
                ON CONFLICT(uuid) DO UPDATE SET name=excluded.name, hostname=excluded.hostname, os=excluded.os,
                  version=excluded.version, ip_address=excluded.ip_address, config_state=excluded.config_state,
                  resources=excluded.resources, environments=excluded.environments,
                  last_seen_at=GREATEST(agents.last_seen_at, excluded.last_seen_at),
                  lost_contact=excluded.lost_contact, idle_since=excluded.idle_since, rev=excluded.rev,
                  kind=excluded.kind, url=excluded.url, push_secret=excluded.push_secret,
                  push_ca_cert=excluded.push_ca_cert, container_runtime=excluded.container_runtime,
                  binary_sha256=excluded.binary_sha256, disabled_reason=excluded.disabled_reason,
                  disabled_by=excluded.disabled_by, disabled_at=excluded.disabled_at, disabled_until=excluded.disabled_until
                """, params)
            try c.query("DELETE FROM agent_tombstones WHERE uuid = $1", [.text(a.uuid)])
        }
    }

    func deleteAgent(_ uuid: String) throws(DatabaseError) {
        let rev = revision ?? 0
        try main.run { c throws(PGError) in
            try c.query("DELETE FROM agents WHERE uuid = $1", [.text(uuid)])
            try c.query("DELETE FROM agent_contacts WHERE uuid = $1", [.text(uuid)])
            try c.query("""
                INSERT INTO agent_tombstones(uuid, rev) VALUES($1, $2) ON CONFLICT(uuid) DO UPDATE SET rev = excluded.rev
                """, [.text(uuid), .int(rev)])
        }
    }

    /// Contact goes to the narrow `agent_contacts` table (HOT updates, no index on the time), not to
    /// the agents rows, so frequent pings do not bloat the table every server reads.
    func recordLastSeen(_ seen: [(uuid: String, at: Date)]) throws(DatabaseError) {
        guard !seen.isEmpty else { return }
        let sorted = seen.sorted(by: { $0.uuid < $1.uuid })  // one lock order for every server
        let uuids = PostgresStore.textArray(sorted.map(\.uuid))
        let times = "{" + sorted.map { String($0.at.timeIntervalSince1970) }.joined(separator: ",") + "}"
        try side.run { c throws(PGError) in
            try c.query("""
                INSERT INTO agent_contacts(uuid, seen_at)
                SELECT u, t FROM unnest($1::TEXT::TEXT[], $2::TEXT::FLOAT8[]) AS x(u, t) WHERE EXISTS (SELECT 1 FROM agents a WHERE a.uuid = x.u)
                ON CONFLICT(uuid) DO UPDATE SET seen_at = GREATEST(agent_contacts.seen_at, excluded.seen_at)
                """, [.text(uuids), .text(times)])
        }
    }

    // MARK: - Jobs

    static let jobColumns = """
        id, spec, state, result, exit_code, failure_reason, agent_uuid, agent_name, attempt, log_size,
        created_at, assigned_at, started_at, finished_at, log_removed_at, ssh_command
        """

    private func job(from row: PGRow) throws(PGError) -> Job? {
        guard let spec = try? decoder.decode(JobSpec.self, from: Data(try row.text(1).utf8)),
              let state = JobState(rawValue: try row.text(2)) else { return nil }
        return Job(
            id: try row.int(0), spec: spec, state: state, result: try row.optText(3).flatMap(JobResult.init(rawValue:)),
            exitCode: try row.optInt(4).map { Int($0) }, failureReason: try row.optUTF8(5), agentUuid: try row.optText(6),
            agentName: try row.optText(7), attempt: Int(try row.int(8)), logSize: try row.int(9), createdAt: try row.date(10),
            assignedAt: try row.optDate(11), startedAt: try row.optDate(12), finishedAt: try row.optDate(13),
            logRemovedAt: try row.optDate(14), sshCommand: try row.optUTF8(15))
    }

    func jobs(_ sql: String, _ params: [PGValue]) throws(DatabaseError) -> [Job] {
        try main.run { c throws(PGError) in
            var out: [Job] = []
            try c.query(sql, params) { row throws(PGError) in if let j = try job(from: row) { out.append(j) } }
            return out
        }
    }

    func insertJob(_ spec: JobSpec, now: Date) throws(DatabaseError) -> Job {
        let specText = String(decoding: (try? encoder.encode(spec)) ?? Data("{}".utf8), as: UTF8.self)
        let id = try main.run { c throws(PGError) -> Int64 in
            var id: Int64 = 0
            try c.query("""
                INSERT INTO jobs(spec, state, attempt, log_size, created_at, rev) VALUES($1, 'scheduled', 1, 0, $2, $3) RETURNING id
                """, [.text(specText), .date(now), .int(revision ?? 0)]) { row throws(PGError) in id = try row.int(0) }
            return id
        }
        return Job(id: id, spec: spec, createdAt: now)
    }

    func updateJob(_ j: Job, cancelAskedAt: Date?) throws(DatabaseError) {
        let params: [PGValue] = [
            .text(j.state.rawValue), .opt(j.result?.rawValue), .opt(j.exitCode.map { Int64($0) }),
            .opt(j.failureReason.map { Data($0.utf8) }), .opt(j.agentUuid), .opt(j.agentName), .int(Int64(j.attempt)),
            .opt(j.assignedAt), .opt(j.startedAt), .opt(j.finishedAt), .opt(cancelAskedAt), .int(revision ?? 0), .int(j.id),
            .opt(j.sshCommand.map { Data($0.utf8) }),
        ]
        try main.run { c throws(PGError) in
            try c.query("""
                UPDATE jobs SET state=$1, result=$2, exit_code=$3, failure_reason=$4, agent_uuid=$5, agent_name=$6,
                  attempt=$7, assigned_at=$8, started_at=$9, finished_at=$10, cancel_asked_at=$11, rev=$12,
                  ssh_command=$14 WHERE id=$13
                """, params)
            if let uuid = j.agentUuid, j.state == .assigned {
                try c.query("""
                    INSERT INTO job_attempts(job_id, attempt, agent_uuid) VALUES($1,$2,$3)
                    ON CONFLICT(job_id, attempt) DO UPDATE SET agent_uuid = excluded.agent_uuid
                    """, [.int(j.id), .int(Int64(j.attempt)), .text(uuid)])
            }
        }
    }

    func cancelsAsked() throws(DatabaseError) -> [Int64: Date] {
        try main.run { c throws(PGError) in
            var out: [Int64: Date] = [:]
            try c.query("SELECT id, cancel_asked_at FROM jobs WHERE state = 'cancelling' AND cancel_asked_at IS NOT NULL", []) {
                row throws(PGError) in out[try row.int(0)] = try row.date(1)
            }
            return out
        }
    }

    func job(_ id: Int64) throws(DatabaseError) -> Job? {
        try jobs("SELECT \(Self.jobColumns) FROM jobs WHERE id = $1", [.int(id)]).first
    }

    func activeJobs() throws(DatabaseError) -> [Job] {
        try jobs("SELECT \(Self.jobColumns) FROM jobs WHERE state != 'completed' ORDER BY id", [])
    }

    func listJobs(state: JobState?, agent: String?, limit: Int) throws(DatabaseError) -> [Job] {
        var conditions: [String] = []
        var args: [PGValue] = []
        if let state { args.append(.text(state.rawValue)); conditions.append("state = $\(args.count)") }
        if let agent { args.append(.text(agent)); conditions.append("agent_uuid = $\(args.count)") }
        let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ") + " "
        args.append(.int(Int64(limit)))
        return try jobs("SELECT \(Self.jobColumns) FROM jobs \(filter)ORDER BY id DESC LIMIT $\(args.count)", args)
    }

    func completedJobCount() throws(DatabaseError) -> Int {
        try side.run { c throws(PGError) in
            var n = 0
            try c.query("SELECT COUNT(*) FROM jobs WHERE state = 'completed'", []) { row throws(PGError) in n = Int(try row.int(0)) }
            return n
        }
    }

    func attemptOwners() throws(DatabaseError) -> [Int64: [Int: String]] {
        try main.run { c throws(PGError) in
            var out: [Int64: [Int: String]] = [:]
            try c.query("""
                SELECT a.job_id, a.attempt, a.agent_uuid FROM job_attempts a JOIN jobs j ON j.id = a.job_id
                WHERE j.state != 'completed'
                """, []) { row throws(PGError) in out[try row.int(0), default: [:]][Int(try row.int(1))] = try row.text(2) }
            return out
        }
    }

    func attemptAgents(_ jobId: Int64) throws(DatabaseError) -> Set<String> {
        try main.run { c throws(PGError) in
            var out: Set<String> = []
            try c.query("SELECT agent_uuid FROM job_attempts WHERE job_id = $1", [.int(jobId)]) { row throws(PGError) in out.insert(try row.text(0)) }
            return out
        }
    }

    // MARK: - Configuration

    func configEntries() throws(DatabaseError) -> [StoredConfigEntry] {
        try main.run { c throws(PGError) in
            var out: [StoredConfigEntry] = []
            try c.query("SELECT name, value, secret, updated_at FROM config ORDER BY name", []) { row throws(PGError) in
                out.append(StoredConfigEntry(name: try row.text(0), value: try row.utf8(1), secret: try row.bool(2), updatedAt: try row.date(3)))
            }
            return out
        }
    }

    func putConfig(_ name: String, value: String, secret: Bool, now: Date) throws(DatabaseError) {
        try main.run { c throws(PGError) in
            try c.query("""
                INSERT INTO config(name, value, secret, updated_at) VALUES($1,$2,$3,$4)
                ON CONFLICT(name) DO UPDATE SET value=excluded.value, secret=excluded.secret, updated_at=excluded.updated_at
                """, [.text(name), .utf8(value), .bool(secret), .date(now)])
        }
    }

    func deleteConfig(_ name: String) throws(DatabaseError) {
        try main.run { c throws(PGError) in try c.query("DELETE FROM config WHERE name = $1", [.text(name)]) }
    }

    // MARK: - Helpers

    private func encodeList(_ list: [String]) -> String {
        String(decoding: (try? encoder.encode(list)) ?? Data("[]".utf8), as: UTF8.self)
    }

    private func decodeList(_ text: String) -> [String] {
        (try? decoder.decode([String].self, from: Data(text.utf8))) ?? []
    }
}

/// Text that may hold any character, NUL included (which PostgreSQL's text type refuses), kept as its
/// UTF-8 bytes in a bytea column: hostnames, os and version strings, failure reasons, configuration values.
extension PGValue {
    static func utf8(_ s: String) -> PGValue { .bytes(Data(s.utf8)) }
}

extension PGRow {
    func utf8(_ i: Int32) throws(PGError) -> String { String(decoding: try bytes(i), as: UTF8.self) }
    func optUTF8(_ i: Int32) throws(PGError) -> String? { isNull(i) ? nil : try utf8(i) }
}
