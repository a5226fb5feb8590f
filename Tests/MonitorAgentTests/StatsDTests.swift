import Foundation
import MMSTestSupport
import MonitorModels
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// StatsD datagrams from real `serve` and `start` agents, caught by a UDP socket in the test.
@Suite struct StatsDTests {
    /// The value of a metric line `NAME:VALUE|TYPE...`.
    static func value(_ line: String) -> Int64? {
        guard let colon = line.firstIndex(of: ":"), let bar = line.firstIndex(of: "|") else { return nil }
        return Int64(line[line.index(after: colon)..<bar])
    }

    @Test func serveSendsJobMetricsWithTags() async throws {
        let dir = makeTempDir("statsd-serve")
        let udp = try UDPCollector().start()
        defer { udp.close() }
        let serve = try await ServeProcess.start(dir: dir, ca: nil, name: "push-7", extra: [
            "--statsd-host", "127.0.0.1", "--statsd-port", String(udp.port), "--statsd-namespace", "lab.push", "--statsd-tags"])
        #expect(try await serve.call("GET", "/is_alive", token: nil).status == 200)
        let created = Date().addingTimeInterval(-2)
        let spec = JobSpec(name: "stats-job", commands: ["echo hello", "sleep 0.2"])
        #expect(try await serve.call("POST", "/jobs", body: ServeProcess.jobBody(3, spec, createdAt: created)).status == 202)
        let (log, _) = try await serve.wholeLog(3)
        let names = ["lab.push.up", "lab.push.job.started", "lab.push.job.passed", "lab.push.job.duration", "lab.push.job.queue_wait"]
        let arrived = await eventually(10) { names.allSatisfy { !udp.lines(named: $0).isEmpty } }
        #expect(arrived, "every metric arrived: \(udp.lines)")
        #expect(udp.lines(named: "lab.push.up").first == "lab.push.up:1|g|#agent:push-7")
        #expect(udp.lines(named: "lab.push.job.started") == ["lab.push.job.started:1|c|#agent:push-7,job:stats-job"])
        #expect(udp.lines(named: "lab.push.job.passed") == ["lab.push.job.passed:1|c|#agent:push-7,job:stats-job"])
        let duration = try #require(udp.lines(named: "lab.push.job.duration").first)
        #expect(duration.hasSuffix("|ms|#agent:push-7,job:stats-job") && (200...30_000).contains(Self.value(duration) ?? -1), "\(duration)")
        let wait = try #require(udp.lines(named: "lab.push.job.queue_wait").first)
        #expect((2000...30_000).contains(Self.value(wait) ?? -1), "queue wait counts from createdAt: \(wait)")
        let bytes = udp.lines(named: "lab.push.log.bytes").compactMap(Self.value).reduce(0, +)
        #expect(bytes == Int64(log.utf8.count), "log.bytes adds up to the log served: \(udp.lines)")
        #expect(udp.lines(named: "lab.push.job.failed").isEmpty)
        await serve.stop()
    }

    @Test func aDeadStatsDPortChangesNothing() async throws {
        let dir = makeTempDir("statsd-dead")
        let udp = try UDPCollector()
        let deadPort = udp.port
        udp.close()  // nothing listens there now: each datagram draws an ICMP port-unreachable
        let serve = try await ServeProcess.start(dir: dir, ca: nil, extra: ["--statsd-host", "127.0.0.1", "--statsd-port", String(deadPort)])
        for id in Int64(1)...3 {
            #expect(try await serve.call("POST", "/jobs", body: ServeProcess.jobBody(id, JobSpec(name: "j", commands: ["echo ok-\(id)"]))).status == 202)
            let (log, _) = try await serve.wholeLog(id)
            #expect(log == "$ echo ok-\(id)\nok-\(id)\n")
            let status = try MMSJSON.decode(PushJobStatus.self, from: try await serve.call("GET", "/jobs/\(id)").body)
            #expect(status.result == .passed)
        }
        #expect(try await serve.call("GET", "/is_alive", token: nil).status == 200)
        await serve.stop()
    }

    @Test func startSendsPingJobAndServerErrorMetrics() async throws {
        let dir = makeTempDir("statsd-start")
        let udp = try UDPCollector().start()
        defer { udp.close() }
        let server = try await TestServer.start(dir: dir, extra: ["--auto-register-key", "k"])
        defer { server.child.signal(SIGKILL) }
        let statsd = ["--statsd-host", "127.0.0.1", "--statsd-port", String(udp.port)]
        let agent = try ChildProcess("mms-agent", ["start", "--server", server.url.absoluteString, "--name", "pull-1", "--work-dir",
                                                   dir + "/agent", "--auto-register-key", "k"] + statsd, dir: dir)
        let created = try await server.admin.createJob(JobSpec(name: "pulled", commands: ["echo from-pull"]))
        let done = try await server.job(created.id) { $0.state == .completed }
        #expect(done.result == .passed, "\(agent.stderr)")
        let names = ["mms.agent.up", "mms.agent.server.rtt", "mms.agent.job.started", "mms.agent.job.passed", "mms.agent.job.duration",
                     "mms.agent.job.queue_wait", "mms.agent.log.bytes"]
        let arrived = await eventually(15) { names.allSatisfy { !udp.lines(named: $0).isEmpty } }
        #expect(arrived, "every metric arrived: \(udp.lines)")
        #expect(udp.lines(named: "mms.agent.up").allSatisfy { $0 == "mms.agent.up:1|g" })
        #expect(udp.lines(named: "mms.agent.server.rtt").allSatisfy { $0.hasSuffix("|ms") && Self.value($0) != nil })
        let bytes = udp.lines(named: "mms.agent.log.bytes").compactMap(Self.value).reduce(0, +)
        #expect(bytes == done.logSize, "log.bytes adds up to what the server holds")
        // The server goes away: failed calls count as server.errors.
        server.child.signal(SIGKILL)
        let errors = await eventually(20) { !udp.lines(named: "mms.agent.server.errors").isEmpty }
        #expect(errors && udp.lines(named: "mms.agent.server.errors").allSatisfy { $0 == "mms.agent.server.errors:1|c" })
        await agent.stop()
    }
}
