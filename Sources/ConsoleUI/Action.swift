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
    case resized(Size)
    case tick(Date)
    /// A fresh full list (start, after 410 `gone`, after an outage).
    case snapshot(agents: [Agent], jobs: [Job])
    /// Changes from the events long poll.
    case events([Event])
    case connection(ConnectionState)
    /// Calls now go to the server at this URL (after a move between `--server` URLs); shown in the header.
    case serverInUse(String)
    case configLoaded([ConfigEntry])
    /// Agents the server returned after a change the operator made.
    case agentsChanged([Agent], message: String)
    case agentDeleted(uuid: String, message: String)
    case jobChanged(Job, message: String)
    case configChanged(message: String)
    /// Bytes of the open log from the log long poll.
    case logReceived(jobId: Int64, LogSlice)
    /// A call failed; the message is shown as it is (the server's sentence when it sent one).
    case failed(String)
}

/// Work `update` asks the runtime to do; each ends in one or more actions.
public enum Effect: Sendable, Equatable {
    case quit
    case authorize(uuids: [String])
    case disable(uuids: [String])
    case deleteAgent(uuid: String, name: String)
    case editAgent(uuid: String, AgentPatch)
    case createJob(JobSpec)
    case cancelJob(Int64)
    case rerunJob(Int64)
    case loadConfig
    case putConfig(name: String, ConfigEntryInput)
    case deleteConfig(name: String)
    /// Start (or restart) the log long poll for a job from a byte offset; replaces any other tail.
    case tailLog(jobId: Int64, offset: Int64)
    case stopLog
}
