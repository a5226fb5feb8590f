import Foundation
import Testing
import MonitorModels
@testable import MonitorServer

/// Long logs over HTTP: whole reads, timestamps, retention.
@Suite struct LogReadTests {
    /// A job taken by a fresh agent and reported building; returns (job id, agent secret).
    func runningJob(_ s: TestServer, name: String = "rec") async throws -> (Int64, String) {
        let only = "only-\(UUID().uuidString.prefix(8))"  // so no other agent of the test takes it
        let (uuid, secret) = try await s.registerAgent("agent-\(only)", resources: [only])
        let job = try await s.createJob(JobSpec(name: name, commands: ["record"], resources: [only]))
        _ = try await s.call("GET", "/api/v1/agents/\(uuid)/next?wait=5", token: secret)
        let r = try await s.call("POST", "/api/v1/jobs/\(job.id)/state", token: secret, json: #"{"attempt":1,"state":"building"}"#)
        precondition(r.status == 200, "building answered \(r.status) \(r.text)")
        return (job.id, secret)
    }

    func append(_ s: TestServer, _ id: Int64, _ secret: String, at offset: Int, _ text: String) async throws -> TestServer.Reply {
        try await s.call("POST", "/api/v1/jobs/\(id)/log?attempt=1&offset=\(offset)", token: secret,
                         body: Data(text.utf8), contentType: "application/octet-stream")
    }

    func complete(_ s: TestServer, _ id: Int64, _ secret: String) async throws {
        let r = try await s.call("POST", "/api/v1/jobs/\(id)/state", token: secret,
                                 json: #"{"attempt":1,"state":"completed","result":"passed","exitCode":0}"#)
        precondition(r.status == 200, "completed answered \(r.status) \(r.text)")
    }

    @Test func oneReadReturnsAThousandSmallAppendsWholeWithTheirArrivalTimes() async throws {
        let s = try TestServer()
        let (id, secret) = try await runningJob(s)
        var expected = ""
        for i in 0..<1_000 {
            let line = i % 100 == 7 ? "\n" : "line \(i) \"quoted\"\n"
            #expect(try await append(s, id, secret, at: expected.utf8.count, line).status == 200)
            expected += line
        }
        let running = try await s.call("GET", "/api/v1/jobs/\(id)/log?offset=0", token: s.admin)
        #expect(running.text == expected && running.headers["x-log-size"] == String(expected.utf8.count))
        try await complete(s, id, secret)
        #expect(try s.server.core.locked { try s.server.core.store.logChunkCount(id) } <= 4)
        let whole = try await s.call("GET", "/api/v1/jobs/\(id)/log?offset=0", token: s.admin)
        #expect(whole.text == expected && whole.headers["x-log-complete"] == "true")

        let stamped = try await s.call("GET", "/api/v1/jobs/\(id)/log?offset=0&timestamps=1", token: s.admin)
        #expect(stamped.status == 200 && stamped.headers["content-type"] == "application/x-ndjson")
        #expect(stamped.headers["x-log-next-offset"] == String(expected.utf8.count))
        let lines = stamped.text.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        #expect(lines.count == 1_000)
        var offset = 0
        var previous = Date.distantPast
        for (line, want) in zip(lines, expected.split(separator: "\n", omittingEmptySubsequences: false)) {
            let o = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            #expect(o["offset"] as? Int == offset && o["text"] as? String == String(want))
            let at = try #require(RFC3339.parse(o["at"] as? String ?? ""))
            #expect(at >= previous && abs(at.timeIntervalSinceNow) < 120)
            previous = at
            offset += want.utf8.count + 1
        }
    }

    @Test func aTimestampedReadHoldsBackAPartialLineUntilItEndsOrTheJobCompletes() async throws {
        let s = try TestServer()
        let (id, secret) = try await runningJob(s)
        _ = try await append(s, id, secret, at: 0, "one\ntw")
        let first = try await s.call("GET", "/api/v1/jobs/\(id)/log?offset=0&timestamps=1", token: s.admin)
        #expect(first.text.split(separator: "\n").count == 1 && first.headers["x-log-next-offset"] == "4")
        let nothingYet = try await s.call("GET", "/api/v1/jobs/\(id)/log?offset=4&timestamps=1&wait=0", token: s.admin)
        #expect(nothingYet.status == 200 && nothingYet.text.isEmpty && nothingYet.headers["x-log-next-offset"] == "4")
        // A waiting read is answered when the line ends.
        async let waited = s.call("GET", "/api/v1/jobs/\(id)/log?offset=4&timestamps=1&wait=10", token: s.admin)
        try await Task.sleep(for: .milliseconds(200))
        _ = try await append(s, id, secret, at: 6, "o\nthr")
        let w = try await waited
        #expect(w.text.contains(#""offset":4,"text":"two""#) && w.headers["x-log-next-offset"] == "8")
        try await complete(s, id, secret)
        let last = try await s.call("GET", "/api/v1/jobs/\(id)/log?offset=8&timestamps=1", token: s.admin)
        #expect(last.text.contains(#""offset":8,"text":"thr""#) && last.headers["x-log-next-offset"] == "11")
        #expect(try await s.call("GET", "/api/v1/jobs/\(id)/log?timestamps=yes", token: s.admin).errorCode == "bad_request")
    }

    @Test func retentionRemovesOldLogsKeepsTheJobAndSaysSo() async throws {
        let s = try TestServer()
        let (id, secret) = try await runningJob(s, name: "old")
        _ = try await append(s, id, secret, at: 0, "kept for a while\n")
        try await complete(s, id, secret)
        let (fresh, secret2) = try await runningJob(s, name: "fresh")
        _ = try await append(s, fresh, secret2, at: 0, "still running\n")
        let metricsBefore = try await s.call("GET", "/metrics").text
        #expect(metricsBefore.contains("mms_log_bytes 31\n"))

        #expect(s.server.core.removeExpiredLogs(now: Date().addingTimeInterval(89 * 86400)) == 0)
        #expect(s.server.core.removeExpiredLogs(now: Date().addingTimeInterval(91 * 86400)) == 1)
        let job = try await s.call("GET", "/api/v1/jobs/\(id)", token: s.admin).decode(Job.self)
        #expect(job.logRemovedAt != nil && job.logSize == 17 && job.result == .passed)
        let read = try await s.call("GET", "/api/v1/jobs/\(id)/log?offset=0", token: s.admin)
        #expect(read.status == 410 && read.errorCode == "gone" && read.errorMessage?.contains("removed") == true)
        #expect(try await s.call("GET", "/api/v1/jobs/\(fresh)/log?offset=0", token: s.admin).text == "still running\n")
        #expect(try await s.call("GET", "/metrics").text.contains("mms_log_bytes 14\n"))
        // The removal is on disk: still gone after a restart.
        try s.restart()
        #expect(try await s.call("GET", "/api/v1/jobs/\(id)/log?offset=0", token: s.admin).status == 410)
    }
}
