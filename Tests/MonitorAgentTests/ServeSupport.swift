import CurlHTTP
import Foundation
import MMSCrypto
import MMSTestSupport
import MonitorModels
#if canImport(Glibc)
import Glibc
#endif

/// A real `mms-agent serve` process on 127.0.0.1, port 0, and a libcurl client that trusts its CA.
final class ServeProcess: @unchecked Sendable {
    static let secret = "push-agent-secret-0123456789"
    let child: ChildProcess
    let url: String
    let client: CurlClient
    let workDir: String

    /// Starts serve with the certificate of `ca` (or `--insecure-http` when nil) and `extra` flags, in `workDir`
    /// (a fresh one when nil), with `env` added to its environment.
    static func start(dir: String, ca: TestCA?, name: String = "push-1", extra: [String] = [], env: [String: String] = [:],
                      workDir: String? = nil) async throws -> ServeProcess {
        let workDir = workDir ?? dir + "/serve-\(UUID().uuidString.prefix(6))"
        var args = ["serve", "--host", "127.0.0.1", "--port", "0", "--work-dir", workDir, "--name", name]
        if let ca { args += ["--tls-cert-path", ca.certPath, "--tls-key-path", ca.keyPath] } else { args.append("--insecure-http") }
        let child = try ChildProcess("mms-agent", args + extra,
                                     env: ["MMS_AGENT_AUTH_TOKEN_SECRET": secret, "MMS_AGENT_KILL_GRACE_MS": "500"].merging(env) { $1 },
                                     dir: dir)
        var url: String?
        _ = await eventually(20) {
            url = child.stdout.split(separator: "\n").first { $0.hasPrefix("mms-agent serving on ") }
                .map { String($0.dropFirst("mms-agent serving on ".count)) }
            return url != nil || !child.process.isRunning
        }
        guard let url else { throw TestFailure("mms-agent serve did not start: \(child.stderr)") }
        let pem = try ca.map { try String(contentsOfFile: $0.caPath, encoding: .utf8) }
        return ServeProcess(child: child, url: url, client: CurlClient(caCertPEM: pem), workDir: workDir)
    }

    private init(child: ChildProcess, url: String, client: CurlClient, workDir: String) {
        self.child = child
        self.url = url
        self.client = client
        self.workDir = workDir
    }

    /// A valid token: HS256 with the agent's secret, expiring in a minute.
    static func token(secret: String = ServeProcess.secret, exp: TimeInterval = 60) -> String {
        let now = Date().timeIntervalSince1970
        return JWT.signHS256(JWTClaims(sub: "test", iat: now, exp: now + exp), secret: Array(secret.utf8))
    }

    /// One call on a thread of its own (the client blocks); `token` nil sends no Authorization header.
    func call(_ method: String, _ path: String, token: String? = ServeProcess.token(), body: Data? = nil,
              timeout: TimeInterval = 30) async throws -> CurlResponse {
        var headers: [(String, String)] = []
        if let token { headers.append(("Authorization", "Bearer \(token)")) }
        if body != nil { headers.append(("Content-Type", "application/json")) }
        let client = client, url = url, sent = headers
        return try await onThread { () throws(CurlError) in
            try client.send(method, url + path, headers: sent, body: body, timeout: timeout)
        }
    }

    /// The JSON body of POST /jobs for `spec` as job `id`.
    static func jobBody(_ id: Int64, _ spec: JobSpec, attempt: Int = 1, config: PushJobConfig = PushJobConfig(),
                        createdAt: Date = Date()) -> Data {
        MMSJSON.encode(PushJobRequest(job: Job(id: id, spec: spec, state: .assigned, attempt: attempt, createdAt: createdAt), config: config))
    }

    /// The whole log of job `id`, read with offsets and long polls until the agent says it is complete.
    func wholeLog(_ id: Int64, within seconds: Double = 60) async throws -> (log: String, reads: Int) {
        var data = Data()
        var reads = 0
        let until = Date().addingTimeInterval(seconds)
        while Date() < until {
            let r = try await call("GET", "/jobs/\(id)/log?offset=\(data.count)&wait=10")
            reads += 1
            guard r.status == 200 else { throw TestFailure("log read answered \(r.status): \(String(decoding: r.body, as: UTF8.self))") }
            data.append(r.body)
            if r.header("X-Log-Complete") == "true" && Int64(data.count) >= Int64(r.header("X-Log-Size") ?? "0") ?? 0 { break }
        }
        return (String(decoding: data, as: UTF8.self), reads)
    }

    func stop() async { await child.stop() }
}

/// Runs a blocking call on a new thread and hands its result back.
func onThread<T: Sendable, E: Error>(_ body: @escaping @Sendable () throws(E) -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let t = Thread {
            do { continuation.resume(returning: try body()) } catch { continuation.resume(throwing: error) }
        }
        t.start()
    }
}

/// A UDP socket on 127.0.0.1 that collects StatsD lines.
final class UDPCollector: @unchecked Sendable {
    let fd: Int32
    let port: UInt16
    private let lock = NSLock()
    private var received: [String] = []
    private var reader: Thread?

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        self.fd = fd
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        guard fd >= 0, ok else { throw TestFailure("cannot bind a UDP socket") }
        port = UInt16(bigEndian: addr.sin_port)
        var tv = timeval(tv_sec: 0, tv_usec: 100_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Starts reading datagrams.
    func start() -> UDPCollector {
        let t = Thread { [self] in
            var buf = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = recv(fd, &buf, buf.count, 0)
                if n > 0 {
                    let lines = String(decoding: buf[0..<n], as: UTF8.self).split(separator: "\n").map(String.init)
                    lock.withLock { received += lines }
                } else if n == 0 || (errno != EAGAIN && errno != EINTR) {
                    return
                }
            }
        }
        reader = t
        t.start()
        return self
    }

    /// Every line received so far.
    var lines: [String] { lock.withLock { received } }

    /// Lines whose metric name is `name`.
    func lines(named name: String) -> [String] { lines.filter { $0.hasPrefix(name + ":") } }

    func close() { shutdown(fd, Int32(SHUT_RDWR)); Glibc.close(fd) }
}
