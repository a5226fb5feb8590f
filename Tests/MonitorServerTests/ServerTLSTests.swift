import Foundation
import MMSTestSupport
import Testing

/// The real mms-server with `--tls-cert/--tls-key` (a CA and a certificate for 127.0.0.1 made at test time).
@Suite struct ServerTLSTests {
    @Test func servesHTTPSAndClosesPlainHTTPOnTheTLSPortCleanly() async throws {
        let ca = try await TestCA.make()
        defer { ca.remove() }
        let server = try ServerProcess(extra: ["--tls-cert", ca.certPath, "--tls-key", ca.keyPath])
        defer { server.stop(); server.removeData() }
        #expect(server.url.absoluteString == "https://127.0.0.1:\(server.port)", "the listening line says https: \(server.url)")

        let trusted = CurlAdmin(baseURL: server.url, token: server.token, caPath: ca.caPath)
        let health = try await trusted.call("GET", "/healthz")
        #expect(health.status == 200 && health.body == #"{"database":"ok","status":"ok"}"#, "curl --cacert: \(health)")
        let agents = try await trusted.call("GET", "/api/v1/agents")
        #expect(agents.status == 200 && agents.body.contains(#""agents""#), "an admin call over https: \(agents)")

        // Plain HTTP to the TLS port: no HTTP answer, the server closes the connection (well before the
        // 30 s header timeout could), and carries on.
        let plain = RawHTTP.exchange(port: server.port, Data("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".utf8))
        #expect(!plain.hasPrefix("HTTP/"), "no plain-text answer: \(plain)")
        let fd = try #require(RawHTTP.connect(port: server.port))
        defer { close(fd) }
        #expect(RawHTTP.send(fd, Data("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".utf8)))
        #expect(RawHTTP.closedByServer(fd, seconds: 20), "the server closes a plain-HTTP connection on its TLS port")
        #expect(server.process.isRunning)
        #expect(try await trusted.call("GET", "/healthz").status == 200, "still serving https")

        // The certificate is really checked: curl with only the host's store refuses it.
        let untrusted = try await ProgramRun.run("curl", ["-sS", "-m", "30", server.url.absoluteString + "/healthz"])
        #expect(untrusted.status == 60 && untrusted.stderr.contains("SSL certificate problem"), "curl without the CA: \(untrusted)")
    }
}
