import Foundation
import MonitorModels

extension ServiceCore {
    /// /metrics: agents by status, jobs by state, request and dispatch histograms.
    func renderMetrics() -> String {
        let (agentCounts, jobCounts, parked) = locked { () -> ([AgentStatus: Int], [JobState: Int], Int) in
            var a: [AgentStatus: Int] = [:]
            for r in dispatcher.agents.values { a[dispatcher.status(r), default: 0] += 1 }
            var j: [JobState: Int] = [:]
            for job in dispatcher.jobs.values { j[job.state, default: 0] += 1 }
            j[.completed] = (try? store.completedJobCount()) ?? 0
            return (a, j, http?.hub.count ?? 0)
        }
        var out = "# HELP mms_build_info The server's version and replica name.\n# TYPE mms_build_info gauge\n"
        out += "mms_build_info{version=\"\(MMSVersion.current)\",replica=\"\(replicaID.withLock { $0 })\"} 1\n"
        out += "# HELP mms_agents Agents by status.\n# TYPE mms_agents gauge\n"
        for s in AgentStatus.allCases { out += "mms_agents{status=\"\(s.rawValue)\"} \(agentCounts[s] ?? 0)\n" }
        out += "# HELP mms_jobs Jobs by state.\n# TYPE mms_jobs gauge\n"
        for s in JobState.allCases { out += "mms_jobs{state=\"\(s.rawValue)\"} \(jobCounts[s] ?? 0)\n" }
        out += "# HELP mms_long_polls_parked Long polls waiting now.\n# TYPE mms_long_polls_parked gauge\n"
        out += "mms_long_polls_parked \(parked)\n"
        if let logs = try? store.logTotals() {
            out += "# HELP mms_log_bytes Bytes of job logs held (logs removed by --log-retention not counted).\n"
            out += "# TYPE mms_log_bytes gauge\nmms_log_bytes \(logs.bytes)\n"
            out += "# HELP mms_log_chunks Stored rows holding job logs (small appends are merged).\n"
            out += "# TYPE mms_log_chunks gauge\nmms_log_chunks \(logs.chunks)\n"
        }
        if let cut = http?.deadlines.counts() {
            out += "# HELP mms_http_connections_cut_total Connections closed for sending a request too slowly "
            out += "(head: includes kept-alive connections idle past --header-timeout).\n"
            out += "# TYPE mms_http_connections_cut_total counter\n"
            out += "mms_http_connections_cut_total{waiting_for=\"head\"} \(cut.head)\n"
            out += "mms_http_connections_cut_total{waiting_for=\"body\"} \(cut.body)\n"
        }
        return out + metrics.render()
    }
}
