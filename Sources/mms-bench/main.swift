import ConsoleUI
import Foundation
import MonitorModels

// mms-bench: console figures for `make bench`. Builds the console's state with N agents (and a job
// per 10 agents), applies a stream of agent events as the live console would, renders frames at
// 120x40, and prints one JSON line: median and p99 frame time (update + render), and RSS; also the first
// frame (10k agents from JSON to screen), frames at 160x48 with the detail pane, and the bytes of 24 h of
// fleet history as GET /stats sends them.
// Usage: mms-bench console-frame [AGENTS]

func rssMiB() -> Double {
    guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
          let kib = Double(line.split(separator: " ").dropFirst().first ?? "") else { return 0 }
    return kib / 1024
}

let args = Array(CommandLine.arguments.dropFirst())
guard args.first == "console-frame" else {
    FileHandle.standardError.write(Data("usage: mms-bench console-frame [AGENTS]\n".utf8))
    exit(2)
}
let count = args.count > 1 ? Int(args[1]) ?? 10_000 : 10_000
let statuses: [AgentStatus] = [.idle, .building, .preparing, .disabled, .lostContact, .pending]
let now = Date()
var agents: [Agent] = []
agents.reserveCapacity(count)
for i in 0..<count {
    agents.append(Agent(
        uuid: UUID().uuidString.lowercased(), name: String(format: "rec-%05d", i), hostname: "host-\(i).lab", os: "Linux",
        version: MMSVersion.current, ipAddress: "10.0.\(i / 256).\(i % 256)", configState: .enabled,
        status: statuses[i % statuses.count], resources: ["recorder", "ffmpeg"], environments: ["production"],
        registeredAt: now, lastSeenAt: now))
}
var jobs: [Job] = []
for i in 0..<(count / 10) {
    let running = i % 3 == 0
    let spec = JobSpec(name: "record hall \(i)", commands: ["record"])
    jobs.append(Job(id: Int64(i + 1), spec: spec, state: running ? .building : .completed, result: running ? nil : .passed,
                    agentUuid: agents[i].uuid, agentName: agents[i].name, createdAt: now))
}
let size = Size(width: 120, height: 40)
// First frame: the agent list as it comes off the wire (JSON), the snapshot, the first render.
let wire = MMSJSON.encode(AgentList(agents: agents))
let firstStart = DispatchTime.now().uptimeNanoseconds
let decoded = (try? MMSJSON.decode(AgentList.self, from: wire).agents) ?? []
let decodeMs = Double(DispatchTime.now().uptimeNanoseconds - firstStart) / 1e6
var state = AppState(serverURL: "http://127.0.0.1:8765", size: size)
_ = state.update(.snapshot(agents: decoded, jobs: jobs))
_ = render(state, size)
let firstFrameMs = Double(DispatchTime.now().uptimeNanoseconds - firstStart) / 1e6

var frames: [Double] = []
var seq: Int64 = 1
for i in 0..<500 {
    // One live change per frame: an agent changes status (as the events feed reports), then a redraw.
    var changed = agents[(i * 7919) % count]
    changed.status = statuses[(i + 1) % statuses.count]
    changed.lastSeenAt = Date()
    seq += 1
    let event = Event(seq: seq, type: .agentUpdated, agent: changed)
    let t0 = DispatchTime.now().uptimeNanoseconds
    _ = state.update(.events([event]))
    if i % 50 == 0 { _ = state.update(.key(.down)) }
    let screen = render(state, size)
    let t1 = DispatchTime.now().uptimeNanoseconds
    withExtendedLifetime(screen) {}
    frames.append(Double(t1 - t0) / 1e6)
}
frames.sort()

// Frames at 160x48, where the detail pane (the selected agent, its recent jobs) is beside the list.
let wide = Size(width: 160, height: 48)
var wideState = AppState(serverURL: "http://127.0.0.1:8765", size: wide)
_ = wideState.update(.snapshot(agents: agents, jobs: jobs))
var detail: [Double] = []
for i in 0..<500 {
    var changed = agents[(i * 7919) % count]
    changed.status = statuses[(i + 1) % statuses.count]
    let t0 = DispatchTime.now().uptimeNanoseconds
    _ = wideState.update(.events([Event(seq: Int64(i + 1), type: .agentUpdated, agent: changed)]))
    if i % 50 == 0 { _ = wideState.update(.key(.down)) }
    let screen = render(wideState, wide)
    withExtendedLifetime(screen) {}
    detail.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
}
detail.sort()

/// GET /stats?window=24h as the server answers it for a busy fleet: every minute, five-digit counts, four statuses.
let day = 24 * 60 + 1
let series: [Int?] = (0..<day).map { 10_000 + $0 % 500 }
let stats = FleetStats(step: 60, waiting: series, running: series,
                       agents: ["idle": series, "building": series, "lostContact": series.map { _ in 12 }, "disabled": series.map { _ in 3 }])
let statsBytes = MMSJSON.encode(stats).count

let result: [String: Double] = [
    "first_frame_ms": (firstFrameMs * 10).rounded() / 10,
    "first_frame_decode_ms": (decodeMs * 10).rounded() / 10,
    "detail_frame_ms": (detail[detail.count / 2] * 1000).rounded() / 1000,
    "stats_24h_kib": (Double(statsBytes) / 1024 * 10).rounded() / 10,
    "agents": Double(count), "frame_ms": (frames[frames.count / 2] * 1000).rounded() / 1000,
    "frame_p99_ms": (frames[frames.count * 99 / 100] * 1000).rounded() / 1000, "rss_mib": (rssMiB() * 10).rounded() / 10,
]
let json = (try? JSONSerialization.data(withJSONObject: result, options: [.sortedKeys])) ?? Data("{}".utf8)
print(String(decoding: json, as: UTF8.self))
