import Foundation
import MonitorModels
import MMSTestSupport
import ServerAPIClient
import Testing
@testable import MonitorAgent

/// Hostile clients against the real mms-server process: many idle connections, raw garbage,
/// invalid UTF-8. The server keeps answering and nothing it stored changes.
@Suite(.serialized) struct HostileInputTests {
    @Test func tenThousandIdleConnectionsAndTheServerStillAnswers() async throws {
        var limit = rlimit()
        getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
        limit.rlim_cur = limit.rlim_max
        setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
        try #require(limit.rlim_cur > 10_300, "needs an open-files hard limit above 10,300")
        let dir = makeTempDir("idle")
        // Idle connections are what this test holds: give them more than the default 30 s to send a request.
        let server = try await TestServer.start(dir: dir, extra: ["--header-timeout", "600"])
        defer { server.child.signal(SIGTERM) }
        let port = server.url.port ?? 0
        var fds: [Int32] = []
        defer { for fd in fds { close(fd) } }
        for _ in 0..<10_000 {
            guard let fd = RawHTTP.connect(port: port) else { break }
            fds.append(fd)
        }
        #expect(fds.count == 10_000)
        let answer = RawHTTP.exchange(port: port, Data("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8))
        #expect(answer.hasPrefix("HTTP/1.1 200"), "answer with 10,000 idle connections open: \(answer.prefix(100))")
        // Some of the idle ones are still served too.
        let request = Array("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
        var served = 0
        for fd in fds.prefix(50) {
            _ = RawHTTP.send(fd, Data(request))
        }
        for fd in fds.prefix(50) where RawHTTP.receive(fd, seconds: 5).hasPrefix("HTTP/1.1 200") { served += 1 }
        #expect(served == 50)
    }

    @Test func garbageInvalidUTF8AndTruncatedBodiesNeverCrashTheServer() async throws {
        let dir = makeTempDir("garbage")
        let server = try await TestServer.start(dir: dir)
        defer { server.child.signal(SIGTERM) }
        let port = server.url.port ?? 0
        let token = try String(contentsOfFile: server.dataDir + "/admin.token", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let invalidName: [UInt8] = Array(#"{"name":"bad "#.utf8) + [0xff, 0xfe, 0xc3] + Array(#"","commands":["true"]}"#.utf8)
        let cases: [[UInt8]] = [
            Array("\u{0}\u{1}\u{2} not http at all\r\n\r\n".utf8),
            Array("GET / HTTP/9.9\r\n\r\n".utf8),
            Array("POST /api/v1/jobs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(token)\r\nContent-Length: 100\r\n\r\n{\"na".utf8),
            Array("POST /api/v1/jobs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(token)\r\nContent-Length: \(invalidName.count)\r\nConnection: close\r\n\r\n".utf8)
                + invalidName,
            Array("GET /api/v1/jobs?limit=%ff%fe HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(token)\r\nConnection: close\r\n\r\n".utf8),
            Array("GET /\(String(repeating: "a", count: 20_000)) HTTP/1.1\r\nHost: x\r\n\r\n".utf8),
            Array("POST /api/v1/jobs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(token)\r\nContent-Length: -5\r\n\r\n".utf8),
        ]
        for bytes in cases {
            let answer = RawHTTP.exchange(port: port, Data(bytes))
            #expect(!answer.contains(" 500 "), "no server error for \(bytes.prefix(40)): \(answer.prefix(200))")
        }
        let bad = RawHTTP.exchange(port: port, Data("POST /api/v1/jobs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(token)\r\nContent-Length: \(invalidName.count)\r\nConnection: close\r\n\r\n".utf8) + invalidName)
        #expect(bad.hasPrefix("HTTP/1.1 400"), "invalid UTF-8 in a name is a 400: \(bad.prefix(200))")
        #expect(try await server.admin.listJobs(nil, nil).isEmpty)
        // Invalid UTF-8 in a log is stored and returned byte for byte.
        let agent = try startAgent(server, workDir: dir + "/w", dir: dir)
        defer { agent.signal(SIGTERM) }
        try await authorizeWhenRegistered(server, agent, workDir: dir + "/w")
        let job = try await server.admin.createJob(JobSpec(name: "bytes", commands: ["printf 'a\\xff\\xfeb\\n'"]))
        _ = try await server.job(job.id) { $0.state == .completed }
        let slice = try await server.admin.readLog(job.id, 0, 0)
        #expect(slice.bytes.suffix(5) == Data([0x61, 0xff, 0xfe, 0x62, 0x0a]))
        #expect(server.child.process.isRunning)
    }
}
