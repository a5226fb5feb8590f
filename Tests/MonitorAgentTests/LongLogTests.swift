import Foundation
import MonitorModels
import ServerAPIClient
import Testing
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Long logs from a real agent through a real server: few stored rows, whole reads, byte-exact.
@Suite(.serialized) struct LongLogTests {
    /// One plain GET of a job's log from `offset`, as curl would make it: (status, body, headers).
    func rawRead(_ server: TestServer, _ id: Int64, offset: Int64) async throws -> (Int, Data, [String: String]) {
        var req = URLRequest(url: server.url.appendingPathComponent("api/v1/jobs/\(id)/log"))
        req.url = URL(string: req.url!.absoluteString + "?offset=\(offset)")
        let token = try String(contentsOfFile: server.dataDir + "/admin.token", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        req.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        let (data, resp) = try await URLSession.shared.data(for: req)
        let http = try #require(resp as? HTTPURLResponse)
        var headers: [String: String] = [:]
        for (k, v) in http.allHeaderFields { if let k = k as? String, let v = v as? String { headers[k.lowercased()] = v } }
        return (http.statusCode, data, headers)
    }

    /// A value of the server's /metrics.
    func metric(_ server: TestServer, _ name: String) async throws -> Int? {
        let (data, _) = try await URLSession.shared.data(from: server.url.appendingPathComponent("metrics"))
        let line = String(decoding: data, as: UTF8.self).split(separator: "\n").first { $0.hasPrefix(name + " ") }
        return line.flatMap { Int($0.split(separator: " ").last ?? "") }
    }

    @Test func aQuickThreeThousandLineJobIsStoredInFewRowsAndOneCurlReadsItWhole() async throws {
        let dir = makeTempDir("lines")
        let server = try await TestServer.start(dir: dir)
        defer { server.child.signal(SIGTERM) }
        let agent = try startAgent(server, workDir: dir + "/w", dir: dir)
        defer { agent.signal(SIGTERM) }
        try await authorizeWhenRegistered(server, agent, workDir: dir + "/w")

        let job = try await server.admin.createJob(JobSpec(name: "chatty", commands: ["for i in $(seq 1 3000); do echo \"line $i\"; done"]))
        let done = try await server.job(job.id) { $0.state == .completed }
        #expect(done.result == .passed)
        let expected = "$ for i in $(seq 1 3000); do echo \"line $i\"; done\n" + (1...3000).map { "line \($0)\n" }.joined()
        let (status, body, headers) = try await rawRead(server, job.id, offset: 0)
        #expect(status == 200 && String(decoding: body, as: UTF8.self) == expected)
        #expect(headers["x-log-size"] == String(expected.utf8.count) && headers["x-log-complete"] == "true")
        let chunks = try #require(try await metric(server, "mms_log_chunks"))
        #expect(chunks <= 4, "a 3,000-line job is stored in \(chunks) rows")
    }

    @Test func aHundredMegabyteLogReadsBackByteExact() async throws {
        let dir = makeTempDir("100mb")
        let server = try await TestServer.start(dir: dir)
        defer { server.child.signal(SIGTERM) }
        let agent = try startAgent(server, workDir: dir + "/w", dir: dir)
        defer { agent.signal(SIGTERM) }
        try await authorizeWhenRegistered(server, agent, workDir: dir + "/w")

        let copy = dir + "/written.txt"
        let command = "seq 1 12600000 | tee \(copy)"
        let job = try await server.admin.createJob(JobSpec(name: "big", commands: [command]))
        let done = try await server.job(job.id, within: 240) { $0.state == .completed }
        #expect(done.result == .passed)
        var expected = Data("$ \(command)\n".utf8)
        expected.append(try Data(contentsOf: URL(fileURLWithPath: copy)))
        #expect(expected.count > 100_000_000)
        #expect(done.logSize == Int64(expected.count))

        var read = Data(capacity: expected.count)
        while read.count < expected.count {
            let (status, body, _) = try await rawRead(server, job.id, offset: Int64(read.count))
            try #require(status == 200 && !body.isEmpty)
            #expect(body.count == min(1 << 20, expected.count - read.count), "every answer is a whole MiB but the last")
            read.append(body)
        }
        #expect(read == expected)
        let chunks = try #require(try await metric(server, "mms_log_chunks"))
        #expect(chunks <= expected.count / (64 * 1024), "\(chunks) rows for \(expected.count) bytes")
    }
}
