import Foundation
import MMSTestSupport
import MonitorModels
import Synchronization
import Testing
@testable import ServerAPIClient

/// A loopback server that answers each request with the next scripted answer (raw bytes), counting
/// connections; an answer of nil closes the connection without a word, an empty one keeps it silent for 5 s.
final class ScriptedHTTPServer: Sendable {
    let port: Int
    private let listener: Int32
    private let script: Mutex<[[UInt8]?]>
    private let counts = Mutex<(connections: Int, requests: Int)>((0, 0))

    init(_ answers: [String?]) throws {
        script = Mutex(answers.map { $0.map { Array($0.utf8) } })
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        guard bound, listen(fd, 16) == 0 else {
            close(fd)
            throw POSIXError(.EADDRINUSE)
        }
        listener = fd
        port = Int(UInt16(bigEndian: addr.sin_port))
        let t = Thread { [self] in acceptLoop() }
        t.start()
    }

    deinit { close(listener) }

    var connections: Int { counts.withLock { $0.connections } }
    var requests: Int { counts.withLock { $0.requests } }

    /// accept4 (glibc, _GNU_SOURCE: not in Swift's Glibc module).
    private static let accept4: @convention(c) (Int32, UnsafeMutablePointer<sockaddr>?, UnsafeMutablePointer<socklen_t>?, Int32) -> Int32 =
        unsafeBitCast(dlsym(nil, "accept4"), to: (@convention(c) (Int32, UnsafeMutablePointer<sockaddr>?, UnsafeMutablePointer<socklen_t>?, Int32) -> Int32).self)

    private func acceptLoop() {
        while true {
            let fd = Self.accept4(listener, nil, nil, Int32(SOCK_CLOEXEC.rawValue))  // no child of another test keeps it open
            if fd < 0 && errno == EINTR { continue }  // a child of another test ended (SIGCHLD)
            if fd < 0 { return }
            counts.withLock { $0.connections += 1 }
            let t = Thread { [self] in serve(fd) }
            t.start()
        }
    }

    private func serve(_ fd: Int32) {
        defer { close(fd) }
        var pending: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            // One request: the head, then Content-Length bytes of body.
            while !pending.containsHeadEnd {
                let n = recv(fd, &buf, buf.count, 0)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return }
                pending += buf[0..<n]
            }
            let headEnd = pending.headEnd!
            let head = String(decoding: pending[..<headEnd], as: UTF8.self).lowercased()
            let length = head.components(separatedBy: "\r\n").first { $0.hasPrefix("content-length:") }
                .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
            while pending.count < headEnd + 4 + length {
                let n = recv(fd, &buf, buf.count, 0)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return }
                pending += buf[0..<n]
            }
            pending.removeFirst(headEnd + 4 + length)
            counts.withLock { $0.requests += 1 }
            guard let answer = script.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) else { return }
            if answer.isEmpty {
                sleep(5)
                return
            }
            _ = answer.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        }
    }
}

private extension Array where Element == UInt8 {
    var headEnd: Int? {
        guard count >= 4 else { return nil }
        return (0...(count - 4)).first { self[$0] == 13 && self[$0 + 1] == 10 && self[$0 + 2] == 13 && self[$0 + 3] == 10 }
    }
    var containsHeadEnd: Bool { headEnd != nil }
}

/// A loopback port nothing listens on (bound, then released).
func freePort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
    }
    return Int(UInt16(bigEndian: addr.sin_port))
}

@Suite struct DirectHTTPTests {
    func transport(_ port: Int) -> HTTPTransport {
        HTTPTransport(baseURL: URL(string: "http://127.0.0.1:\(port)")!, token: "t", directHTTP: true, environment: [:])
    }

    @Test func keepsTheConnectionAliveAndReadsLengthAndChunkedBodies() async throws {
        let server = try ScriptedHTTPServer([
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n4;x=y\r\ndefg\r\n0\r\n\r\n",
            "HTTP/1.1 204 No Content\r\n\r\n",
        ])
        let t = transport(server.port)
        #expect(t.direct[t.baseURL] != nil)
        #expect(try await t.send("GET", "/a").body == Data("hello".utf8))
        #expect(try await t.send("POST", "/b", body: Data("xyz".utf8)).body == Data("abcdefg".utf8))
        let empty = try await t.send("GET", "/c")
        #expect(empty.status == 204 && empty.body.isEmpty)
        #expect(server.connections == 1 && server.requests == 3)
    }

    @Test func aKeptAliveConnectionTheServerClosedIsReplacedOnce() async throws {
        // The second request finds its kept-alive connection closed without an answer: it goes again on a new one.
        let server = try ScriptedHTTPServer(["HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", nil,
                                             "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nagain"])
        let t = transport(server.port)
        #expect(try await t.send("GET", "/one").body == Data("ok".utf8))
        #expect(try await t.send("POST", "/two", body: Data("x".utf8)).body == Data("again".utf8))
        #expect(server.connections == 2)
    }

    @Test func errorAnswersBecomeTypedErrorsAndSilenceTimesOut() async throws {
        let body = #"{"error":{"code":"log_gap","message":"resend from 7","size":7}}"#
        let server = try ScriptedHTTPServer(["HTTP/1.1 409 Conflict\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"])
        let t = transport(server.port)
        await #expect(throws: ClientError.api(status: 409, error: APIError(.logGap, "resend from 7", size: 7))) {
            try await t.send("POST", "/log", body: Data())
        }
        let silent = try ScriptedHTTPServer([""])
        do {
            _ = try await transport(silent.port).send("GET", "/x", timeout: 0.5)
            Issue.record("a silent server answered")
        } catch {
            #expect(error.isTransient && error.description.contains("timed out"))
        }
    }

    @Test func refusedConnectionsAreUnreachableAndProxiesKeepURLSession() async throws {
        let port = freePort()
        let t = transport(port)
        do {
            _ = try await t.send("GET", "/healthz", timeout: 2)
            Issue.record("a refused connection answered")
        } catch {
            #expect(error.isTransient && error.description.contains("connection refused"))
        }
        let proxied = HTTPTransport(baseURL: URL(string: "http://127.0.0.1:\(port)")!, token: "t", directHTTP: true,
                                    environment: ["http_proxy": "http://proxy:3128"])
        #expect(proxied.direct.isEmpty)
        #expect(HTTPTransport(baseURL: URL(string: "https://127.0.0.1:\(port)")!, token: "t", directHTTP: true).direct.isEmpty)
    }

    @Test func aRefusedServerInAListIsLeftForTheNext() async throws {
        let server = try ServerProcess()
        let dead = URL(string: "http://127.0.0.1:\(freePort())")!
        let pool = ServerPool(ServerList(dead, [server.url]))
        let uuid = UUID().uuidString.lowercased()
        let api = AgentAPI.live(servers: pool, secret: "secret-\(uuid)")
        let (agent, _) = try await api.register(RegisterRequest(uuid: uuid, name: "moved", hostname: "h", os: "linux"))
        #expect(agent.uuid == uuid && pool.inUse == server.url)
    }

    @Test func theAgentCallsWorkAgainstARealServer() async throws {
        let server = try ServerProcess()
        let uuid = UUID().uuidString.lowercased()
        let api = AgentAPI.live(serverURL: server.url, secret: "secret-\(uuid)")
        let (agent, pending) = try await api.register(RegisterRequest(uuid: uuid, name: "direct", hostname: "h", os: "linux"))
        #expect(agent.uuid == uuid && pending)
        #expect(try await api.next(uuid, 1) == nil)
        await #expect(throws: ClientError.self) { try await api.config(uuid) }
        let other = AgentAPI.live(serverURL: server.url, secret: "another-secret")
        do {
            _ = try await other.register(RegisterRequest(uuid: uuid, name: "direct", hostname: "h", os: "linux"))
            Issue.record("a second secret was accepted")
        } catch {
            #expect(error.code == .unauthorized)
        }
    }
}
