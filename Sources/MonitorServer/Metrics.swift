import Foundation
import MonitorModels

/// A Prometheus histogram with fixed buckets (seconds).
struct Histogram: Sendable {
    static let defaultBuckets: [Double] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]
    let buckets: [Double]
    private(set) var counts: [UInt64]
    private(set) var sum = 0.0
    private(set) var count: UInt64 = 0

    init(buckets: [Double] = Histogram.defaultBuckets) {
        self.buckets = buckets
        counts = Array(repeating: 0, count: buckets.count)
    }

    mutating func observe(_ v: Double) {
        for (i, b) in buckets.enumerated() where v <= b { counts[i] += 1 }
        sum += v
        count += 1
    }

    /// Prometheus text lines for this histogram.
    func render(name: String, labels: String = "") -> String {
        var out = ""
        let sep = labels.isEmpty ? "" : labels + ","
        for (i, b) in buckets.enumerated() { out += "\(name)_bucket{\(sep)le=\"\(b)\"} \(counts[i])\n" }
        out += "\(name)_bucket{\(sep)le=\"+Inf\"} \(count)\n"
        let l = labels.isEmpty ? "" : "{\(labels)}"
        out += "\(name)_sum\(l) \(sum)\n\(name)_count\(l) \(count)\n"
        return out
    }
}

/// Request and dispatch metrics, safe to record from any thread.
final class Metrics: @unchecked Sendable {
    private let lock = NSLock()
    private var requestLatency = Histogram()
    private var dispatchLatency = Histogram()
    private var requestsByStatus: [Int: UInt64] = [:]

    func observeRequest(status: Int, seconds: Double, isLongPoll: Bool) {
        lock.withLock {
            requestsByStatus[status, default: 0] += 1
            if !isLongPoll { requestLatency.observe(seconds) }
        }
    }

    /// Time from a job entering the queue to its assignment.
    func observeDispatch(seconds: Double) {
        lock.withLock { dispatchLatency.observe(seconds) }
    }

    /// The request and dispatch parts of /metrics.
    func render() -> String {
        lock.withLock {
            var out = "# HELP mms_http_requests_total HTTP requests answered, by status.\n# TYPE mms_http_requests_total counter\n"
            for (status, n) in requestsByStatus.sorted(by: { $0.key < $1.key }) {
                out += "mms_http_requests_total{status=\"\(status)\"} \(n)\n"
            }
            out += "# HELP mms_http_request_duration_seconds Time to answer a request (long polls excluded).\n"
            out += "# TYPE mms_http_request_duration_seconds histogram\n"
            out += requestLatency.render(name: "mms_http_request_duration_seconds")
            out += "# HELP mms_dispatch_latency_seconds Time from a job entering the queue to its assignment to an agent.\n"
            out += "# TYPE mms_dispatch_latency_seconds histogram\n"
            out += dispatchLatency.render(name: "mms_dispatch_latency_seconds")
            return out
        }
    }
}
