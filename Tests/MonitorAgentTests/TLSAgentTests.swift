import Foundation
import MMSTestSupport
import Testing

/// The real mms-server with `--tls-cert/--tls-key` (a CA made at test time) and the real mms-agent over https.
/// Admin calls from the test go through `curl --cacert`; the agent's URLSession trusts only the system store.
@Suite struct TLSAgentTests {
    /// A temp dir, a test CA, and the real server with a certificate of that CA and the auto-register key
    /// `tls-key`; plus admin calls to it over https.
    static func startServer(_ label: String) async throws -> (String, TestCA, ChildProcess, URL, CurlAdmin) {
        let dir = makeTempDir(label)
        let ca = try await TestCA.make()
        let (server, url) = try await TestServer.launch(
            dataDir: dir + "/data", dir: dir, port: 0,
            extra: ["--tls-cert", ca.certPath, "--tls-key", ca.keyPath, "--auto-register-key", "tls-key"])
        let admin = try CurlAdmin(baseURL: url, token: adminToken(dir + "/data"), caPath: ca.caPath)
        return (dir, ca, server, url, admin)
    }

    /// In a private mount namespace whose system bundle holds the test CA, as after `update-ca-certificates`.
    @Test(.enabled(if: PrivateTrustStore.isAvailable, "needs unshare -m and a bind mount (root or CAP_SYS_ADMIN)"))
    func anAgentWithTheCAInstalledRegistersAndRunsAJobOverHTTPS() async throws {
        let (dir, ca, server, url, admin) = try await Self.startServer("tls")
        defer { ca.remove(); server.signal(SIGKILL) }
        #expect(url.scheme == "https", "the server says https: \(url)")

        let workDir = dir + "/agent"
        let agentArgs = [builtBinary("mms-agent"), "start", "--server", url.absoluteString, "--name", "tls-agent",
                         "--work-dir", workDir, "--auto-register-key", "tls-key", "--ca-cert", ca.caPath]
        // An absolute path: builtBinary hands it back as it is.
        let agent = try ChildProcess("/usr/bin/env", PrivateTrustStore.wrap(agentArgs, bundle: ca.bundlePath),
                                     env: ["MMS_AGENT_KILL_GRACE_MS": "500"], dir: dir)
        let registered = await eventually { agent.stderr.contains("registered as tls-agent") }
        #expect(registered, "the agent registers over https and is authorized by the key:\n\(agent.stderr)")

        let agents = try await admin.call("GET", "/api/v1/agents")
        #expect(agents.status == 200 && agents.body.contains("\"name\":\"tls-agent\"") && agents.body.contains("\"configState\":\"enabled\""),
                "admin GET over https: \(agents)")

        let created = try await admin.call("POST", "/api/v1/jobs", json: #"{"name":"tls-job","commands":["echo hello-over-tls"]}"#)
        #expect(created.status == 201, "job created: \(created)")
        let id = try #require(jobId(created.body))
        var job = (status: 0, body: "")
        let completed = try await eventually {
            job = try await admin.call("GET", "/api/v1/jobs/\(id)")
            return job.body.contains("\"state\":\"completed\"")
        }
        #expect(completed && job.body.contains("\"result\":\"passed\""), "the job passes: \(job)\nagent:\n\(agent.stderr)")
        let log = try await admin.call("GET", "/api/v1/jobs/\(id)/log")
        #expect(log.status == 200 && log.body.contains("hello-over-tls"), "its log arrived over https: \(log)")

        agent.signal(SIGTERM)
        #expect(await agent.exitStatus() == 0, "SIGTERM exits 0:\n\(agent.stderr)")
    }

    /// The host's system store does not hold the test CA.
    @Test func withoutTheCAInstalledTheAgentSaysHowToInstallItAndNothingRegisters() async throws {
        let (dir, ca, server, url, admin) = try await Self.startServer("tls-untrusted")
        defer { ca.remove(); server.signal(SIGKILL) }
        let start = ["start", "--server", url.absoluteString, "--name", "tls-agent", "--auto-register-key", "tls-key"]

        // --ca-cert names a CA the store lacks: exit 2 at once, one line saying what to do.
        let checked = try ChildProcess("mms-agent", start + ["--work-dir", dir + "/checked", "--ca-cert", ca.caPath], dir: dir)
        #expect(await checked.exitStatus() == 2)
        let expected = "mms-agent: --ca-cert \(ca.caPath): this CA is not in the system trust store, and the HTTP client on Linux "
            + "trusts only that store; install it: cp \(ca.caPath) /usr/local/share/ca-certificates/mms-ca.crt && update-ca-certificates\n"
        #expect(checked.stderr == expected, "one line:\n\(checked.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/checked/config.properties"), "no identity made")

        // No --ca-cert: the agent keeps retrying and says why.
        let agent = try ChildProcess("mms-agent", start + ["--work-dir", dir + "/unchecked"], dir: dir)
        let said = await eventually { agent.stderr.contains("TLS handshake failed") }
        #expect(said && agent.stderr.contains("install its CA in the system store: cp CA.pem /usr/local/share/ca-certificates/mms-ca.crt"),
                "the TLS failure and the hint:\n\(agent.stderr)")
        #expect(agent.process.isRunning, "it keeps retrying")
        let agents = try await admin.call("GET", "/api/v1/agents")
        #expect(agents.status == 200 && agents.body.contains(#""agents":[]"#), "nothing registered: \(agents)")
        agent.signal(SIGTERM)
        #expect(await agent.exitStatus() == 0, "SIGTERM while retrying exits 0:\n\(agent.stderr)")
    }

    private static func adminToken(_ dataDir: String) throws -> String {
        try String(contentsOfFile: dataDir + "/admin.token", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private func jobId(_ body: String) -> Int64? {
        guard let data = body.data(using: .utf8),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
        return (object["id"] as? NSNumber)?.int64Value
    }
}
