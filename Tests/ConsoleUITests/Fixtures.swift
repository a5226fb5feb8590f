import Foundation
import MonitorModels
import ServerAPIClient
@testable import ConsoleUI

/// Fixed data for snapshots: a small fleet in every status, jobs in every state, a few config entries.
enum Fixtures {
    static let now = Date(timeIntervalSince1970: 1_795_000_000) // 2026-11-18T11:06:40Z
    static func ago(_ s: Double) -> Date { now.addingTimeInterval(-s) }

    static let agents: [Agent] = [
        Agent(uuid: "u-01", name: "rec-01", hostname: "rec-01.studio.lan", os: "linux", version: "0.1.0",
              configState: .enabled, status: .idle, resources: ["gpu", "arm64"], environments: ["prod"], lastSeenAt: ago(3)),
        Agent(uuid: "u-02", name: "rec-02", hostname: "rec-02.studio.lan", os: "linux", version: "0.1.0",
              configState: .enabled, status: .building, resources: ["gpu"], environments: ["prod", "staging"],
              currentJobId: 41, lastSeenAt: ago(1)),
        Agent(uuid: "u-03", name: "build-ärm-03", hostname: "arm3", os: "linux", version: "0.1.0",
              configState: .pending, status: .pending, resources: ["arm64"], lastSeenAt: ago(12)),
        Agent(uuid: "u-04", name: "録画-04", hostname: "tokyo-rec", os: "linux", version: "0.1.0",
              configState: .enabled, status: .lostContact, resources: [], lastSeenAt: ago(600)),
        Agent(uuid: "u-05", name: "old-box", hostname: "old", os: "linux", version: "0.0.9",
              configState: .disabled, status: .disabled, resources: ["x86"], lastSeenAt: ago(7200)),
        Agent(uuid: "u-06", name: "rec-06", hostname: "rec-06.studio.lan", os: "linux", version: "0.1.0",
              configState: .enabled, status: .missing, resources: ["gpu"], lastSeenAt: ago(3 * 86400)),
    ]

    static let jobs: [Job] = [
        Job(id: 43, spec: JobSpec(name: "nightly-render", commands: ["make render"], resources: ["gpu", "cuda12"]),
            waitingReason: "no agent has resources [cuda12]; 3 agents have [gpu]", createdAt: ago(30)),
        Job(id: 42, spec: JobSpec(name: "record-stream-7", commands: ["record"]), state: .scheduled,
            waitingReason: "2 matching agents are busy", createdAt: ago(40)),
        Job(id: 41, spec: JobSpec(name: "build-firmware", commands: ["make"]), state: .building, agentUuid: "u-02",
            agentName: "rec-02", createdAt: ago(200), assignedAt: ago(190), startedAt: ago(185)),
        Job(id: 40, spec: JobSpec(name: "unit-tests", commands: ["make test"]), state: .completed, result: .failed,
            exitCode: 2, failureReason: "command exited with 2", agentName: "rec-01", attempt: 2, createdAt: ago(900),
            startedAt: ago(800), finishedAt: ago(677)),
        Job(id: 39, spec: JobSpec(name: "package", commands: ["make dist"]), state: .completed, result: .passed,
            agentName: "rec-01", createdAt: ago(4000), startedAt: ago(3990), finishedAt: ago(3900)),
        Job(id: 38, spec: JobSpec(name: "long-capture", commands: ["capture"]), state: .completed, result: .cancelled,
            failureReason: "cancelled by admin", agentName: "rec-02", createdAt: ago(9000), startedAt: ago(8990), finishedAt: ago(8000)),
    ]

    static let config: [ConfigEntry] = [
        ConfigEntry(name: "RECORDER_PASSWORD", secret: true, value: nil, updatedAt: ago(86400)),
        ConfigEntry(name: "STREAM_ENDPOINT", secret: false, value: "rtmp://ingest.studio.lan/live", updatedAt: ago(3600)),
        ConfigEntry(name: "API_KEY", secret: true, value: nil, updatedAt: ago(60)),
    ]

    static let small = Size(width: 80, height: 24)
    static let large = Size(width: 120, height: 40)
    static let wide = Size(width: 160, height: 48)

    /// A state with the fleet, the jobs and the config loaded, at `size`.
    static func state(_ size: Size = small, readOnly: Bool = false) -> AppState {
        var s = AppState(serverURL: "http://127.0.0.1:8765", readOnly: readOnly, now: now, size: size)
        _ = s.update(.snapshot(agents: agents, jobs: jobs))
        _ = s.update(.configLoaded(config))
        return s
    }

    /// A log of `n` numbered lines with an error line and a tab.
    static func logSlice(lines n: Int, offset: Int64 = 0, complete: Bool = false) -> LogSlice {
        var text = ""
        for i in 1...n {
            switch i {
            case 3: text += "$ make -j8 firmware\n"
            case 5: text += "録画 stream ✓ saved to /srv/recordings/ärm-05.mkv\n"
            case 7: text += "\u{1B}[31merror:\u{1B}[0m disk quota exceeded on /srv/recordings\tretrying\n"
            default: text += "line \(i): compiling module_\(i).c " + String(repeating: "·", count: i % 5) + "\n"
            }
        }
        return LogSlice(offset: offset, bytes: Data(text.utf8), totalSize: offset + Int64(text.utf8.count), complete: complete)
    }
}

extension AppState {
    /// Applies keys in order, returning every effect they asked for.
    mutating func press(_ keys: Key...) -> [Effect] {
        keys.flatMap { update(.key($0)) }
    }

    /// Types a string, one key per character.
    mutating func type(_ text: String) -> [Effect] {
        text.flatMap { update(.key(.char($0))) }
    }
}
