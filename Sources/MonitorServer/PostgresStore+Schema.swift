import Foundation

/// The PostgreSQL schema, version 1: the SQLite tables (dates as float8 epoch seconds, text that may
/// hold NUL as bytea) plus what several servers share: revisions, tombstones, batched contacts, the
/// stored events feed and leases.
extension PostgresStore {
    static let schemaV1 = """
        CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE agents(
          uuid TEXT PRIMARY KEY, name TEXT NOT NULL, hostname BYTEA NOT NULL, os BYTEA NOT NULL,
          version BYTEA NOT NULL, ip_address TEXT, config_state TEXT NOT NULL, resources TEXT NOT NULL,
          environments TEXT NOT NULL, secret_hash TEXT NOT NULL, registered_at DOUBLE PRECISION NOT NULL,
          last_seen_at DOUBLE PRECISION, lost_contact BOOLEAN NOT NULL DEFAULT FALSE, idle_since DOUBLE PRECISION,
          rev BIGINT NOT NULL DEFAULT 0);
        CREATE INDEX agents_by_rev ON agents(rev);
        CREATE TABLE agent_tombstones(uuid TEXT PRIMARY KEY, rev BIGINT NOT NULL);
        CREATE TABLE agent_contacts(uuid TEXT PRIMARY KEY, seen_at DOUBLE PRECISION NOT NULL) WITH (fillfactor = 50);
        CREATE TABLE jobs(
          id BIGSERIAL PRIMARY KEY, spec TEXT NOT NULL, state TEXT NOT NULL, result TEXT,
          exit_code BIGINT, failure_reason BYTEA, agent_uuid TEXT, agent_name TEXT, attempt BIGINT NOT NULL,
          log_size BIGINT NOT NULL, created_at DOUBLE PRECISION NOT NULL, assigned_at DOUBLE PRECISION,
          started_at DOUBLE PRECISION, finished_at DOUBLE PRECISION, log_removed_at DOUBLE PRECISION,
          cancel_asked_at DOUBLE PRECISION, rev BIGINT NOT NULL DEFAULT 0);
        CREATE INDEX jobs_by_state ON jobs(state, id);
        CREATE INDEX jobs_by_rev ON jobs(rev);
        CREATE INDEX jobs_log_expiry ON jobs(finished_at) WHERE state = 'completed' AND log_removed_at IS NULL;
        CREATE TABLE job_attempts(job_id BIGINT NOT NULL, attempt BIGINT NOT NULL, agent_uuid TEXT NOT NULL,
          PRIMARY KEY(job_id, attempt));
        CREATE TABLE log_chunks(job_id BIGINT NOT NULL, start BIGINT NOT NULL, data BYTEA NOT NULL, arrivals BYTEA,
          PRIMARY KEY(job_id, start));
        ALTER TABLE log_chunks ALTER COLUMN data SET STORAGE EXTERNAL;
        CREATE TABLE config(name TEXT PRIMARY KEY, value BYTEA NOT NULL, secret BOOLEAN NOT NULL,
          updated_at DOUBLE PRECISION NOT NULL);
        CREATE TABLE events(seq BIGINT PRIMARY KEY, body TEXT NOT NULL);
        CREATE TABLE leases(name TEXT PRIMARY KEY, holder TEXT NOT NULL, until DOUBLE PRECISION NOT NULL);
        INSERT INTO meta(key, value) VALUES ('rev', '0'),
          ('event_seq', (floor(extract(epoch FROM clock_timestamp()) * 1000) * 1000)::BIGINT::TEXT);
        INSERT INTO schema_version(version) VALUES (1);
        """

    /// Version 2 (contract version 2): push agents, container runtime, binary hash, disable reasons, the
    /// job's ssh command; operators, the audit log (numbered under the change lock) and fleet statistics.
    static let schemaV2 = """
        ALTER TABLE agents ADD COLUMN kind TEXT NOT NULL DEFAULT 'pull';
        ALTER TABLE agents ADD COLUMN url TEXT;
        ALTER TABLE agents ADD COLUMN push_secret BYTEA;
        ALTER TABLE agents ADD COLUMN push_ca_cert BYTEA;
        ALTER TABLE agents ADD COLUMN container_runtime BYTEA;
        ALTER TABLE agents ADD COLUMN binary_sha256 TEXT;
        ALTER TABLE agents ADD COLUMN disabled_reason BYTEA;
        ALTER TABLE agents ADD COLUMN disabled_by TEXT;
        ALTER TABLE agents ADD COLUMN disabled_at DOUBLE PRECISION;
        ALTER TABLE agents ADD COLUMN disabled_until DOUBLE PRECISION;
        ALTER TABLE jobs ADD COLUMN ssh_command BYTEA;
        CREATE TABLE operators(name TEXT PRIMARY KEY, role TEXT NOT NULL, token_hash TEXT NOT NULL UNIQUE,
          created_at DOUBLE PRECISION NOT NULL);
        CREATE TABLE audit(seq BIGINT PRIMARY KEY, at DOUBLE PRECISION NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
          target_kind TEXT NOT NULL, target_id TEXT NOT NULL, target_name BYTEA, reason BYTEA, from_addr TEXT);
        CREATE INDEX audit_by_target ON audit(target_id, seq);
        CREATE INDEX audit_by_time ON audit(at);
        CREATE TABLE stats_samples(minute BIGINT PRIMARY KEY, body TEXT NOT NULL);
        INSERT INTO schema_version(version) VALUES (2);
        """

    /// Version 3: an agent's own last jobs (GET /api/v1/jobs?agent=UUID).
    static let schemaV3 = """
        CREATE INDEX jobs_by_agent ON jobs(agent_uuid, id);
        INSERT INTO schema_version(version) VALUES (3);
        """
}
