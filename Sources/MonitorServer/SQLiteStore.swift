import Foundation
import MonitorModels

/// The server's durable state in SQLite (WAL, synchronous=FULL): agents, jobs, logs, configuration.
/// Every method runs in the caller's serialization (the service's lock); writes commit before returning.
final class SQLiteStore: Store {
    static let schemaVersion: Int64 = 5
    let db: Database
    /// The database file.
    let path: String
    private let encoder = MMSJSON.encoder()
    private let decoder = MMSJSON.decoder()

    /// A second connection for writes and reads that must not wait for the main one (the periodic
    /// lastSeenAt flush, /metrics totals), behind its own lock.
    private var side: Database?
    private let sideLock = NSLock()

    /// Opens or creates `DATA_DIR/mms.sqlite3` and brings its schema up to date.
    init(dataDir: String) throws(DatabaseError) {
        path = dataDir + "/mms.sqlite3"
        db = try Database(path: path)
        try db.exec("PRAGMA journal_mode=WAL")
        try db.exec("PRAGMA synchronous=FULL")
        try db.exec("PRAGMA foreign_keys=ON")
        try migrate()
        side = try? Database(path: path)
    }

    func close() {
        sideLock.withLock {
            side?.close()
            side = nil
        }
        db.close()
    }

    func transaction<T>(_ body: () throws(DatabaseError) -> T) throws(DatabaseError) -> T {
        try db.transaction(body)
    }

    func isReachable() -> Bool {
        (try? onSide { db throws(DatabaseError) in try db.query("SELECT COUNT(*) FROM schema_version") }) != nil
            && FileManager.default.fileExists(atPath: path)
    }

    /// Runs `body` on the side connection, under its own lock.
    func onSide<T>(_ body: (Database) throws(DatabaseError) -> T) throws(DatabaseError) -> T {
        sideLock.lock()
        defer { sideLock.unlock() }
        guard let db = side else { throw DatabaseError(code: 1, message: "the side connection is closed") }
        return try body(db)
    }

    private func migrate() throws(DatabaseError) {
        try db.exec("CREATE TABLE IF NOT EXISTS schema_version(version INTEGER NOT NULL)")
        var current: Int64 = 0
        try db.query("SELECT MAX(version) FROM schema_version") { row in current = row.optInt(0) ?? 0 }
        if current > Self.schemaVersion {
            throw DatabaseError(code: 1, message: "the data dir was written by a newer mms-server (schema \(current)); upgrade this server")
        }
        if current < 1 {
            try db.transaction { () throws(DatabaseError) in
                try db.exec("""
                    CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
                    CREATE TABLE agents(
                      uuid TEXT PRIMARY KEY, name TEXT NOT NULL, hostname TEXT NOT NULL, os TEXT NOT NULL,
                      version TEXT NOT NULL, ip_address TEXT, config_state TEXT NOT NULL, resources TEXT NOT NULL,
                      environments TEXT NOT NULL, secret_hash TEXT NOT NULL, registered_at REAL NOT NULL, last_seen_at REAL);
                    CREATE TABLE jobs(
                      id INTEGER PRIMARY KEY AUTOINCREMENT, spec TEXT NOT NULL, state TEXT NOT NULL, result TEXT,
                      exit_code INTEGER, failure_reason TEXT, agent_uuid TEXT, agent_name TEXT, attempt INTEGER NOT NULL,
                      log_size INTEGER NOT NULL, created_at REAL NOT NULL, assigned_at REAL, started_at REAL, finished_at REAL);
                    CREATE INDEX jobs_by_state ON jobs(state, id);
                    CREATE TABLE job_attempts(job_id INTEGER NOT NULL, attempt INTEGER NOT NULL, agent_uuid TEXT NOT NULL,
                      PRIMARY KEY(job_id, attempt));
                    CREATE TABLE log_chunks(job_id INTEGER NOT NULL, start INTEGER NOT NULL, data BLOB NOT NULL,
                      PRIMARY KEY(job_id, start));
                    CREATE TABLE config(name TEXT PRIMARY KEY, value TEXT NOT NULL, secret INTEGER NOT NULL, updated_at REAL NOT NULL);
                    INSERT INTO schema_version(version) VALUES (1);
                    """)
            }
        }
        if current < 2 {
            // Version 2: arrival times of log chunks, and logs removed by retention.
            try db.transaction { () throws(DatabaseError) in
                try db.exec("""
                    ALTER TABLE log_chunks ADD COLUMN arrivals BLOB;
                    ALTER TABLE jobs ADD COLUMN log_removed_at REAL;
                    CREATE INDEX jobs_log_expiry ON jobs(finished_at) WHERE state = 'completed' AND log_removed_at IS NULL;
                    INSERT INTO schema_version(version) VALUES (2);
                    """)
            }
        }
        if current < 3 {
            // Version 3: what the dispatcher kept only in memory (lost contact, idle since, cancel asked),
            // and revisions (read by replicas on PostgreSQL; kept alike here).
            try db.transaction { () throws(DatabaseError) in
                try db.exec("""
                    ALTER TABLE agents ADD COLUMN lost_contact INTEGER NOT NULL DEFAULT 0;
                    ALTER TABLE agents ADD COLUMN idle_since REAL;
                    ALTER TABLE jobs ADD COLUMN cancel_asked_at REAL;
                    INSERT INTO schema_version(version) VALUES (3);
                    """)
            }
        }
        if current < 4 {
            // Version 4 (contract version 2): push agents, container runtime, binary hash, disable reasons,
            // the job's ssh command; operators, the audit log and fleet statistics.
            try db.transaction { () throws(DatabaseError) in
                try db.exec("""
                    ALTER TABLE agents ADD COLUMN kind TEXT NOT NULL DEFAULT 'pull';
                    ALTER TABLE agents ADD COLUMN url TEXT;
                    ALTER TABLE agents ADD COLUMN push_secret TEXT;
                    ALTER TABLE agents ADD COLUMN push_ca_cert TEXT;
                    ALTER TABLE agents ADD COLUMN container_runtime TEXT;
                    ALTER TABLE agents ADD COLUMN binary_sha256 TEXT;
                    ALTER TABLE agents ADD COLUMN disabled_reason TEXT;
                    ALTER TABLE agents ADD COLUMN disabled_by TEXT;
                    ALTER TABLE agents ADD COLUMN disabled_at REAL;
                    ALTER TABLE agents ADD COLUMN disabled_until REAL;
                    ALTER TABLE jobs ADD COLUMN ssh_command TEXT;
                    CREATE TABLE operators(name TEXT PRIMARY KEY, role TEXT NOT NULL, token_hash TEXT NOT NULL UNIQUE,
                      created_at REAL NOT NULL);
                    CREATE TABLE audit(seq INTEGER PRIMARY KEY, at REAL NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
                      target_kind TEXT NOT NULL, target_id TEXT NOT NULL, target_name TEXT, reason TEXT, from_addr TEXT);
                    CREATE INDEX audit_by_target ON audit(target_id, seq);
                    CREATE INDEX audit_by_time ON audit(at);
                    CREATE TABLE stats_samples(minute INTEGER PRIMARY KEY, body TEXT NOT NULL);
                    INSERT INTO schema_version(version) VALUES (4);
                    """)
            }
        }
        if current < 5 {
            // Version 5: an agent's own last jobs (GET /api/v1/jobs?agent=UUID).
            try db.transaction { () throws(DatabaseError) in
                try db.exec("CREATE INDEX jobs_by_agent ON jobs(agent_uuid, id); INSERT INTO schema_version(version) VALUES (5);")
            }
        }
    }

    // MARK: - Meta

    func meta(_ key: String) throws(DatabaseError) -> String? {
        var v: String?
        try db.query("SELECT value FROM meta WHERE key = ?", [.text(key)]) { row in v = row.text(0) }
        return v
    }

    func setMeta(_ key: String, _ value: String) throws(DatabaseError) {
        try db.query("INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                     [.text(key), .text(value)])
    }

    func claimMeta(_ key: String, _ value: String) throws(DatabaseError) -> String {
        try db.query("INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO NOTHING", [.text(key), .text(value)])
        return try meta(key) ?? value
    }

    // MARK: - Agents

    /// Every stored agent, with its secret hash.
    func loadAgents() throws(DatabaseError) -> [(Agent, String)] {
        try loadAgentStates().map { ($0.agent, $0.secretHash) }
    }

    func loadAgentStates() throws(DatabaseError) -> [StoredAgent] {
        var out: [StoredAgent] = []
        try db.query("""
            SELECT uuid, name, hostname, os, version, ip_address, config_state, resources, environments, secret_hash,
                   registered_at, last_seen_at, lost_contact, idle_since, kind, url, push_secret, push_ca_cert,
                   container_runtime, binary_sha256, disabled_reason, disabled_by, disabled_at, disabled_until FROM agents
            """) { row in
            let agent = Agent(
                uuid: row.text(0), name: row.text(1), hostname: row.text(2), os: row.text(3), version: row.text(4),
                ipAddress: row.optText(5), configState: AgentConfigState(rawValue: row.text(6)) ?? .pending,
                resources: decodeList(row.text(7)), environments: decodeList(row.text(8)),
                registeredAt: row.date(10), lastSeenAt: row.optDate(11),
                kind: AgentKind(rawValue: row.text(14)) ?? .pull, url: row.optText(15),
                containerRuntime: row.optText(18), binarySHA256: row.optText(19), disabledReason: row.optText(20),
                disabledBy: row.optText(21), disabledAt: row.optDate(22), disabledUntil: row.optDate(23))
            out.append(StoredAgent(agent: agent, secretHash: row.text(9), lostContact: row.int(12) != 0, idleSince: row.optDate(13),
                                   pushSecret: row.optText(16), pushCACert: row.optText(17)))
        }
        return out
    }

    func saveAgent(_ s: StoredAgent) throws(DatabaseError) {
        let a = s.agent
        try db.query("""
            INSERT INTO agents(uuid, name, hostname, os, version, ip_address, config_state, resources, environments,
                               secret_hash, registered_at, last_seen_at, lost_contact, idle_since, kind, url, push_secret,
                               push_ca_cert, container_runtime, binary_sha256, disabled_reason, disabled_by, disabled_at,
                               disabled_until)
            VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
            ON CONFLICT(uuid) DO UPDATE SET name=excluded.name, hostname=excluded.hostname, os=excluded.os,
              version=excluded.version, ip_address=excluded.ip_address, config_state=excluded.config_state,
              resources=excluded.resources, environments=excluded.environments,
              last_seen_at=excluded.last_seen_at,
              lost_contact=excluded.lost_contact, idle_since=excluded.idle_since, kind=excluded.kind, url=excluded.url,
              push_secret=excluded.push_secret, push_ca_cert=excluded.push_ca_cert,
              container_runtime=excluded.container_runtime, binary_sha256=excluded.binary_sha256,
              disabled_reason=excluded.disabled_reason, disabled_by=excluded.disabled_by,
              disabled_at=excluded.disabled_at, disabled_until=excluded.disabled_until
            """, [.text(a.uuid), .text(a.name), .text(a.hostname), .text(a.os), .text(a.version), .opt(a.ipAddress),
                  .text(a.configState.rawValue), .text(encodeList(a.resources)), .text(encodeList(a.environments)),
                  .text(s.secretHash), .date(a.registeredAt), .opt(a.lastSeenAt), .int(s.lostContact ? 1 : 0),
                  .opt(s.idleSince), .text(a.kind.rawValue), .opt(a.url), .opt(s.pushSecret), .opt(s.pushCACert),
                  .opt(a.containerRuntime), .opt(a.binarySHA256), .opt(a.disabledReason), .opt(a.disabledBy),
                  .opt(a.disabledAt), .opt(a.disabledUntil)])
    }

    func recordLastSeen(_ seen: [(uuid: String, at: Date)]) throws(DatabaseError) {
        try onSide { db throws(DatabaseError) in
            try db.transaction { () throws(DatabaseError) in
                for (uuid, date) in seen {
                    try db.query("UPDATE agents SET last_seen_at = MAX(COALESCE(last_seen_at, 0), ?) WHERE uuid = ?",
                                 [.date(date), .text(uuid)])
                }
            }
        }
    }

    func deleteAgent(_ uuid: String) throws(DatabaseError) {
        try db.query("DELETE FROM agents WHERE uuid = ?", [.text(uuid)])
    }

    // MARK: - Jobs

    private static let jobColumns = """
        id, spec, state, result, exit_code, failure_reason, agent_uuid, agent_name, attempt, log_size,
        created_at, assigned_at, started_at, finished_at, log_removed_at, ssh_command
        """

    private func job(from row: Row) -> Job? {
        guard let spec = try? decoder.decode(JobSpec.self, from: Data(row.text(1).utf8)),
              let state = JobState(rawValue: row.text(2)) else { return nil }
        return Job(
            id: row.int(0), spec: spec, state: state, result: row.optText(3).flatMap(JobResult.init(rawValue:)),
            exitCode: row.optInt(4).map { Int($0) }, failureReason: row.optText(5), agentUuid: row.optText(6),
            agentName: row.optText(7), attempt: Int(row.int(8)), logSize: row.int(9), createdAt: row.date(10),
            assignedAt: row.optDate(11), startedAt: row.optDate(12), finishedAt: row.optDate(13),
            logRemovedAt: row.optDate(14), sshCommand: row.optText(15))
    }

    /// Inserts a new job and returns it with its id.
    func insertJob(_ spec: JobSpec, now: Date) throws(DatabaseError) -> Job {
        let specText = String(decoding: (try? encoder.encode(spec)) ?? Data("{}".utf8), as: UTF8.self)
        try db.query("INSERT INTO jobs(spec, state, attempt, log_size, created_at) VALUES(?, 'scheduled', 1, 0, ?)",
                     [.text(specText), .date(now)])
        return Job(id: db.lastInsertRowID, spec: spec, createdAt: now)
    }

    /// Writes a job's state fields (the spec never changes).
    func updateJob(_ j: Job, cancelAskedAt: Date?) throws(DatabaseError) {
        try db.query("""
            UPDATE jobs SET state=?, result=?, exit_code=?, failure_reason=?, agent_uuid=?, agent_name=?, attempt=?,
              assigned_at=?, started_at=?, finished_at=?, cancel_asked_at=?, ssh_command=? WHERE id=?
            """, [.text(j.state.rawValue), .opt(j.result?.rawValue), .opt(j.exitCode.map { Int64($0) }),
                  .opt(j.failureReason), .opt(j.agentUuid), .opt(j.agentName), .int(Int64(j.attempt)),
                  .opt(j.assignedAt), .opt(j.startedAt), .opt(j.finishedAt), .opt(cancelAskedAt), .opt(j.sshCommand),
                  .int(j.id)])
        if let uuid = j.agentUuid, j.state == .assigned {
            try db.query("INSERT OR REPLACE INTO job_attempts(job_id, attempt, agent_uuid) VALUES(?,?,?)",
                         [.int(j.id), .int(Int64(j.attempt)), .text(uuid)])
        }
    }

    func cancelsAsked() throws(DatabaseError) -> [Int64: Date] {
        var out: [Int64: Date] = [:]
        try db.query("SELECT id, cancel_asked_at FROM jobs WHERE state = 'cancelling' AND cancel_asked_at IS NOT NULL") { row in
            out[row.int(0)] = row.date(1)
        }
        return out
    }

    func job(_ id: Int64) throws(DatabaseError) -> Job? {
        var out: Job?
        try db.query("SELECT \(Self.jobColumns) FROM jobs WHERE id = ?", [.int(id)]) { row in out = job(from: row) }
        return out
    }

    /// Jobs that are not completed (loaded into the dispatcher at start).
    func activeJobs() throws(DatabaseError) -> [Job] {
        var out: [Job] = []
        try db.query("SELECT \(Self.jobColumns) FROM jobs WHERE state != 'completed' ORDER BY id") { row in
            if let j = job(from: row) { out.append(j) }
        }
        return out
    }

    /// Newest first, optionally one state only.
    func listJobs(state: JobState?, agent: String?, limit: Int) throws(DatabaseError) -> [Job] {
        var conditions: [String] = []
        var args: [SQLValue] = []
        if let state { conditions.append("state = ?"); args.append(.text(state.rawValue)) }
        if let agent { conditions.append("agent_uuid = ?"); args.append(.text(agent)) }
        let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ") + " "
        var out: [Job] = []
        try db.query("SELECT \(Self.jobColumns) FROM jobs \(filter)ORDER BY id DESC LIMIT ?", args + [.int(Int64(limit))]) { row in
            if let j = job(from: row) { out.append(j) }
        }
        return out
    }

    func completedJobCount() throws(DatabaseError) -> Int {
        var n = 0
        try db.query("SELECT COUNT(*) FROM jobs WHERE state = 'completed'") { row in n = Int(row.int(0)) }
        return n
    }

    /// Attempt owners of the active jobs: job → attempt → agent uuid.
    func attemptOwners() throws(DatabaseError) -> [Int64: [Int: String]] {
        var out: [Int64: [Int: String]] = [:]
        try db.query("""
            SELECT a.job_id, a.attempt, a.agent_uuid FROM job_attempts a JOIN jobs j ON j.id = a.job_id
            WHERE j.state != 'completed'
            """) { row in out[row.int(0), default: [:]][Int(row.int(1))] = row.text(2) }
        return out
    }

    // MARK: - Configuration

    func configEntries() throws(DatabaseError) -> [StoredConfigEntry] {
        var out: [StoredConfigEntry] = []
        try db.query("SELECT name, value, secret, updated_at FROM config ORDER BY name") { row in
            out.append(StoredConfigEntry(name: row.text(0), value: row.text(1), secret: row.int(2) != 0, updatedAt: row.date(3)))
        }
        return out
    }

    func putConfig(_ name: String, value: String, secret: Bool, now: Date) throws(DatabaseError) {
        try db.query("""
            INSERT INTO config(name, value, secret, updated_at) VALUES(?,?,?,?)
            ON CONFLICT(name) DO UPDATE SET value=excluded.value, secret=excluded.secret, updated_at=excluded.updated_at
            """, [.text(name), .text(value), .int(secret ? 1 : 0), .date(now)])
    }

    func deleteConfig(_ name: String) throws(DatabaseError) {
        try db.query("DELETE FROM config WHERE name = ?", [.text(name)])
    }

    // MARK: - Helpers

    private func encodeList(_ list: [String]) -> String {
        String(decoding: (try? encoder.encode(list)) ?? Data("[]".utf8), as: UTF8.self)
    }

    private func decodeList(_ text: String) -> [String] {
        (try? decoder.decode([String].self, from: Data(text.utf8))) ?? []
    }
}

extension SQLiteStore {
    /// Agents that ever held an attempt of a job.
    func attemptAgents(_ jobId: Int64) throws(DatabaseError) -> Set<String> {
        var out: Set<String> = []
        try db.query("SELECT agent_uuid FROM job_attempts WHERE job_id = ?", [.int(jobId)]) { row in out.insert(row.text(0)) }
        return out
    }
}
