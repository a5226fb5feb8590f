import Foundation
import MonitorModels
import ServerAPIClient

/// The live end of the log of the job the detail pane shows.
public struct DetailTail: Sendable, Equatable {
    public var jobId: Int64
    /// Complete lines, oldest first (the last `keep`).
    public var lines: [String] = []
    /// Bytes after the last newline.
    public var partial = Data()
    /// The offset the next bytes start at.
    public var offset: Int64
    public static let keep = 200
    /// Bytes read from the end when the tail starts.
    public static let startBytes: Int64 = 16 << 10

    public init(jobId: Int64, offset: Int64) {
        self.jobId = jobId
        self.offset = offset
    }

    /// Takes bytes that follow the held ones (others are ignored); a first read may start mid-line.
    mutating func take(_ slice: LogSlice) {
        guard slice.offset == offset else { return }
        var data = partial + slice.bytes
        let first = lines.isEmpty && partial.isEmpty && offset > 0
        offset += Int64(slice.bytes.count)
        if first, let nl = data.firstIndex(of: 10) { data = data[(nl + 1)...] }  // drop the cut first line
        var start = data.startIndex
        while let nl = data[start...].firstIndex(of: 10) {
            lines.append(LogText.clean(String(decoding: data[start..<nl], as: UTF8.self)))
            start = nl + 1
        }
        partial = Data(data[start...])
        if lines.count > Self.keep { lines.removeFirst(lines.count - Self.keep) }
    }
}

/// The detail pane's layout: beside the list from 140 columns, else full-screen on `i`.
public enum DetailLayout {
    /// The narrowest terminal that shows the pane beside the list.
    public static let splitFrom = 140

    /// Columns of the list when the pane is beside it; nil below `splitFrom`.
    public static func listWidth(_ size: Size) -> Int? {
        size.width >= splitFrom ? size.width - max(60, size.width * 2 / 5) : nil
    }
}

extension AppState {
    /// True when a detail is on screen: beside the list on a wide terminal, or opened full-screen.
    public var detailShown: Bool {
        guard view == .agents || view == .jobs else { return false }
        return detailOpen || DetailLayout.listWidth(size) != nil
    }

    /// The job whose log tail the detail shows: the selected job, or the job of the selected agent.
    var detailJobId: Int64? {
        guard detailShown else { return nil }
        return view == .jobs ? selectedJob?.id : selectedAgent?.currentJobId
    }

    /// Starts, moves or stops the detail's log tail to match what is on screen.
    mutating func detailFollowUps() -> [Effect] {
        let want = detailJobId
        if want == detailTail?.jobId { return [] }
        guard let id = want else {
            detailTail = nil
            return [.stopDetailTail]
        }
        let size = jobs[id]?.logSize ?? 0
        let from = max(0, size - DetailTail.startBytes)
        detailTail = DetailTail(jobId: id, offset: from)
        return [.tailDetail(jobId: id, offset: from)]
    }

    /// Bytes of the detail's log tail.
    mutating func detailLogReceived(_ id: Int64, _ slice: LogSlice) {
        guard detailTail?.jobId == id else { return }
        detailTail?.take(slice)
    }

    /// `i`: the detail full-screen (below 140 columns) on and off.
    mutating func toggleDetail() -> [Effect] {
        if DetailLayout.listWidth(size) != nil, !detailOpen {
            message = Message("the detail is beside the list at this width")
            return []
        }
        detailOpen.toggle()
        return []
    }

    /// Keys while the detail is open full-screen: Esc or `i` closes it, Enter opens the job's log, moves pass on.
    mutating func detailKey(_ key: Key) -> [Effect]? {
        guard detailOpen, view == .agents || view == .jobs else { return nil }
        switch key {
        case .escape, .char("i"):
            detailOpen = false
            return []
        case .enter, .char("l"):
            let id = view == .jobs ? selectedJob?.id : selectedAgent?.currentJobId
            guard let id else { message = Message("\(selectedAgent?.name ?? "it") runs no job"); return [] }
            detailOpen = false
            return openLog(id, from: view)
        default:
            return nil
        }
    }
}

/// The last 20 jobs of an agent and whether it looks flaky: its own last 50 jobs (read from the server,
/// with the newer state of any the console holds), judged against the jobs the console holds.
struct AgentRecord {
    var recent: [Job]
    /// Its failures of job names that passed on other agents, in its last 50 jobs.
    var suspectFailures: Int
    var flaky: Bool { suspectFailures >= 3 }

    init(_ agent: Agent, jobs: [Int64: Job], fetched: [Job] = []) {
        let isMine = { (j: Job) in j.agentUuid == agent.uuid || (j.agentUuid == nil && j.agentName == agent.name) }
        var mine = Dictionary(fetched.filter(isMine).map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        for j in jobs.values where isMine(j) { mine[j.id] = j }
        let last = mine.values.sorted { $0.id > $1.id }.prefix(AgentJobs.fetchLimit)
        recent = Array(last.prefix(20))
        let passedElsewhere = Set(jobs.values.filter { $0.result == .passed && !isMine($0) }.map(\.name))
        suspectFailures = last.filter { $0.result == .failed && passedElsewhere.contains($0.name) }.count
    }
}
