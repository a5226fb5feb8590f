import Foundation
import MonitorModels
import ServerAPIClient

/// A key the operator pressed, already decoded from the terminal.
public enum Key: Sendable, Equatable {
    case char(Character)
    case up, down, left, right, pageUp, pageDown, home, end
    case enter, escape, tab, backTab, backspace, delete
    case ctrlC
}

/// Whether the console currently hears from the server.
public enum ConnectionState: Sendable, Equatable {
    case connected
    /// The server cannot be reached; `reason` says why (shown in the banner).
    case reconnecting(reason: String)
}

/// Everything that can happen to the console: keys, answers from the server, time passing.
public enum Action: Sendable, Equatable {
    case key(Key)
    case mouse(MouseEvent)
    case resized(Size)
    case tick(Date)
    /// A fresh full list (start, after 410 `gone`, after an outage).
    case snapshot(agents: [Agent], jobs: [Job])
    /// Changes from the events long poll.
    case events([Event])
    case connection(ConnectionState)
    /// Calls now go to the server at this URL (after a move between `--server` URLs); shown in the header.
    case serverInUse(String)
    /// The SHA-256 of the agent binary the server offers (GET /api/v1/version `agentSHA256`; nil: none).
    case serverAgentBinary(String?)
    case configLoaded([ConfigEntry])
    /// Agents the server returned after a change the operator made.
    case agentsChanged([Agent], message: String)
    case agentDeleted(uuid: String, message: String)
    case jobChanged(Job, message: String)
    case configChanged(message: String)
    /// Bytes of the open log from the log long poll (the live tail).
    case logReceived(jobId: Int64, LogSlice)
    /// A page of the open log read for a `fetchLog` effect.
    case logPage(jobId: Int64, LogPage)
    /// Reading the open log failed for good; `gone` when the server removed it (410).
    case logFailed(jobId: Int64, String, gone: Bool)
    /// A log search has read this share (0...1) of the log.
    case logSearchProgress(jobId: Int64, LogSearchRequest, Double)
    /// A log search ended.
    case logSearchDone(jobId: Int64, LogSearchRequest, LogSearchOutcome)
    /// Arrival times of lines of the open log, asked for with `fetchStamps`.
    case logStamps(jobId: Int64, LogStampRequest, [LogStamp])
    /// Timestamps could not be read; the message says why.
    case logStampsFailed(jobId: Int64, String)
    /// A log save (`S`) has written this many bytes of `total`.
    case logSaveProgress(LogSaveRequest, written: Int64, total: Int64)
    /// A log save ended.
    case logSaveDone(LogSaveRequest, LogSaveOutcome)
    /// Who this console acts as (GET /whoami).
    case whoami(OperatorIdentity)
    /// An export file was written.
    case exported(path: String, rows: Int)
    /// Bytes of the detail pane's log tail.
    case detailLog(jobId: Int64, LogSlice)
    /// The last jobs of an agent read for `.fetchAgentJobs` (or why they could not be read).
    case agentJobsLoaded(uuid: String, Result<[Job], AgentJobsError>)
    /// The fleet history read for `.loadStats`.
    case statsLoaded(FleetStats)
    /// Audit entries read for `.loadAudit`.
    case auditLoaded([AuditEntry])
    /// Reading the audit log failed.
    case auditFailed(String)
    /// The push agent form's CA cert file was read for `.readCACert` (its PEM text, or why it cannot be used).
    case caCertRead(path: String, Result<String, CACertFileError>)
    /// A call failed; the message is shown as it is (the server's sentence when it sent one).
    case failed(String)
}

/// Work `update` asks the runtime to do; each ends in one or more actions.
public enum Effect: Sendable, Equatable {
    case quit
    case authorize(uuids: [String])
    /// Disable with an optional reason and end (nil: until enabled again).
    case disable(uuids: [String], reason: String?, until: Date?)
    case deleteAgent(uuid: String, name: String)
    case editAgent(uuid: String, AgentPatch)
    /// Add a push agent (`mms-agent serve`) the server reaches at its URL.
    case addPushAgent(PushAgentRequest)
    /// Read the push agent form's CA cert file on this machine (then the form sends the agent with it).
    case readCACert(path: String)
    case createJob(JobSpec)
    case cancelJob(Int64)
    case rerunJob(Int64)
    case loadConfig
    /// Follow a job's log from `offset` for the detail pane (replaces any other detail tail).
    case tailDetail(jobId: Int64, offset: Int64)
    case stopDetailTail
    /// Read an agent's last `AgentJobs.fetchLimit` jobs (GET /api/v1/jobs?agent=UUID) for the detail.
    case fetchAgentJobs(uuid: String)
    /// Read the last 30 minutes of fleet history.
    case loadStats
    /// Read the audit entries newer than `since` (the first page when nil).
    case loadAudit(since: Int64?)
    case putConfig(name: String, ConfigEntryInput)
    case deleteConfig(name: String)
    /// Start (or restart) the log long poll for a job from a byte offset; replaces any other tail.
    case tailLog(jobId: Int64, offset: Int64)
    /// Read a page of a job's log (replaces any page read still running).
    case fetchLog(jobId: Int64, LogFetch)
    /// Search a job's whole log page by page, reporting progress (replaces any other search).
    case searchLog(jobId: Int64, LogSearchRequest)
    case cancelSearch
    /// Read the arrival times of the lines starting in from..<to.
    case fetchStamps(jobId: Int64, LogStampRequest)
    /// Ring the terminal's bell.
    case bell
    /// Put text on the clipboard of the operator's terminal (OSC 52).
    case copy(String)
    /// Write a CSV export to a file.
    case export(path: String, contents: String, rows: Int)
    /// Save a job's whole log to a new file (replaces any other save).
    case saveLog(LogSaveRequest)
    /// Stop the running log save and remove its partial file.
    case cancelSave
    /// Stop every log read: the tail, page reads, searches.
    case stopLog
}
