import CurlHTTP
import Foundation
import MMSCrypto
import MMSTestSupport
import MonitorHTTP
import MonitorModels
import Testing
@testable import MonitorAgent

/// `mms-agent serve` as a real process over HTTPS with a CA made at test time: auth, jobs, logs, cancel.
@Suite struct ServeTests {
    static func errorCode(_ r: CurlResponse) -> String? {
        (try? MMSJSON.decode(APIErrorEnvelope.self, from: r.body))?.error.code
    }

    static func forged(header: String, claims: String, secret: String = ServeProcess.secret) -> String {
        let input = Base64URL.encode(Array(header.utf8)) + "." + Base64URL.encode(Array(claims.utf8))
        return input + "." + Base64URL.encode(HMACSHA256.authenticationCode(for: Array(input.utf8), key: Array(secret.utf8)))
    }

    @Test func servesHTTPSAndRefusesEveryBadToken() async throws {
        let dir = makeTempDir("serve-auth")
        let ca = try await TestCA.make()
        let serve = try await ServeProcess.start(dir: dir, ca: ca)
        defer { ca.remove() }
        #expect(serve.url.hasPrefix("https://127.0.0.1:"), "stdout names the https URL: \(serve.url)")

        let alive = try await serve.call("GET", "/is_alive", token: nil)
        #expect(alive.status == 200 && (try? MMSJSON.decode(PushAgentAlive.self, from: alive.body)) == PushAgentAlive())
        // Without the test CA the certificate is not trusted: the TLS is real.
        let untrusted = CurlClient(caCertPEM: nil)
        #expect(throws: CurlError.self) { try untrusted.send("GET", serve.url + "/is_alive", timeout: 10) }

        let now = Date().timeIntervalSince1970
        let refused: [(String, String?)] = [
            ("no token", nil),
            ("bad signature", ServeProcess.token(secret: "another-secret-0123456789")),
            ("alg none", Base64URL.encode(Array(#"{"alg":"none"}"#.utf8)) + "." + Base64URL.encode(Array("{}".utf8)) + "."),
            ("HS384 header", Self.forged(header: #"{"alg":"HS384","typ":"JWT"}"#, claims: "{}")),
            ("RS256 header", Self.forged(header: #"{"alg":"RS256","typ":"JWT"}"#, claims: "{}")),
            ("expired", Self.forged(header: #"{"alg":"HS256"}"#, claims: #"{"exp":\#(Int(now) - 120)}"#)),
            ("not yet valid", Self.forged(header: #"{"alg":"HS256"}"#, claims: #"{"nbf":\#(Int(now) + 600)}"#)),
            ("garbage", "this-is-not-a-jwt"),
        ]
        for (what, token) in refused {
            for (method, path) in [("GET", "/status"), ("POST", "/jobs"), ("GET", "/jobs/1/log")] {
                let r = try await serve.call(method, path, token: token, body: method == "POST" ? Data("{}".utf8) : nil)
                #expect(r.status == 401 && Self.errorCode(r) == "unauthorized", "\(what) on \(method) \(path): \(r.status)")
            }
        }
        let ok = try await serve.call("GET", "/status")
        #expect(ok.status == 200 && (try? MMSJSON.decode(PushAgentStatus.self, from: ok.body))?.state == .idle)
        // Within the 60 s leeway an expired token still works (the clock read again: the calls above may
        // have taken long on a loaded machine).
        let late = Self.forged(header: #"{"alg":"HS256"}"#, claims: #"{"exp":\#(Int(Date().timeIntervalSince1970) - 30)}"#)
        #expect(try await serve.call("GET", "/status", token: late).status == 200)
        await serve.stop()
    }

    @Test func runsAJobAloneWithItsLogConfigAndResult() async throws {
        let dir = makeTempDir("serve-job")
        let ca = try await TestCA.make()
        let serve = try await ServeProcess.start(dir: dir, ca: ca)
        defer { ca.remove() }
        let spec = JobSpec(
            name: "push-job", commands: ["cat note.txt", "echo token=$API_TOKEN plain=$PLAIN", "echo ran >> \(dir)/runs", "while [ ! -e \(dir)/go ]; do sleep 0.02; done",
                                          "for i in $(seq 1 200); do echo line-$i; done", "exit 3"],
            files: [JobFile(path: "note.txt", content: "from-a-file\n")], epilogue: Epilogue(always: ["echo epilogue-ran"]),
            secrets: ["API_TOKEN"])
        let config = PushJobConfig(entries: ["API_TOKEN": "sup3r-s3cret", "PLAIN": "visible"], secret: ["API_TOKEN"])
        let body = ServeProcess.jobBody(41, spec, config: config)
        let first = try await serve.call("POST", "/jobs", body: body)
        #expect(first.status == 202 && (try? MMSJSON.decode(PushJobAccepted.self, from: first.body))?.jobId == 41)
        let again = try await serve.call("POST", "/jobs", body: body)
        #expect(again.status == 202, "the same job again is accepted without a second run")
        let other = try await serve.call("POST", "/jobs", body: ServeProcess.jobBody(42, spec))
        #expect(other.status == 409 && Self.errorCode(other) == "agent_busy")
        #expect(try await serve.call("GET", "/jobs/42").status == 404)
        let running = try await serve.call("GET", "/status")
        #expect((try? MMSJSON.decode(PushAgentStatus.self, from: running.body)) == PushAgentStatus(state: .running, jobId: 41))
        _ = FileManager.default.createFile(atPath: dir + "/go", contents: nil)  // the job waits for this before it ends

        let (log, _) = try await serve.wholeLog(41)
        let expectedLines = (1...200).map { "line-\($0)" }.joined(separator: "\n")
        #expect(log.contains("from-a-file\n") && log.contains("token=******** plain=visible") && !log.contains("sup3r-s3cret"))
        #expect(log.contains(expectedLines + "\n$ exit 3\n") && log.hasSuffix("epilogue-ran\n"), "log in order:\n\(log)")
        let status = try MMSJSON.decode(PushJobStatus.self, from: try await serve.call("GET", "/jobs/41").body)
        #expect(status.state == .completed && status.result == .failed && status.exitCode == 3
                && status.failureReason == "command exited with 3" && status.attempt == 1 && status.finishedAt != nil)
        #expect(try String(contentsOfFile: dir + "/runs", encoding: .utf8) == "ran\n", "one run only")
        let finished = try MMSJSON.decode(PushAgentStatus.self, from: try await serve.call("GET", "/status").body)
        #expect(finished == PushAgentStatus(state: .finished, jobId: 41, result: .failed))
        // Reading past the end answers at once with no bytes; a bad offset is a 400.
        let past = try await serve.call("GET", "/jobs/41/log?offset=999999&wait=5")
        #expect(past.status == 200 && past.body.isEmpty && past.header("X-Log-Complete") == "true")
        #expect(try await serve.call("GET", "/jobs/41/log?offset=-1").status == 400)

        // The next job replaces the last one.
        let next = try await serve.call("POST", "/jobs", body: ServeProcess.jobBody(43, JobSpec(name: "next", commands: ["true"])))
        #expect(next.status == 202)
        #expect(try await serve.call("GET", "/jobs/41").status == 404)
        let (nextLog, _) = try await serve.wholeLog(43)
        #expect(nextLog == "$ true\n")
        #expect(try await serve.call("POST", "/jobs", body: Data("{\"id\":5}".utf8)).status == 400)
        await serve.stop()
    }

    @Test func cancelStopsTheJobAndEveryProcessOfIt() async throws {
        let dir = makeTempDir("serve-cancel")
        let serve = try await ServeProcess.start(dir: dir, ca: nil)
        let spec = JobSpec(name: "long", commands: ["sleep 300 & echo $! > \(dir)/bg.pid", "echo started", "wait"],
                           epilogue: Epilogue(always: ["echo epilogue-must-not-run"]))
        #expect(try await serve.call("POST", "/jobs", body: ServeProcess.jobBody(7, spec)).status == 202)
        let pid = try #require(await waitForPid(atPath: dir + "/bg.pid"))
        let cancel = try await serve.call("POST", "/jobs/7/cancel")
        #expect(cancel.status == 202)
        let (log, _) = try await serve.wholeLog(7)
        let status = try MMSJSON.decode(PushJobStatus.self, from: try await serve.call("GET", "/jobs/7").body)
        #expect(status.result == .cancelled && status.failureReason == "cancelled by admin" && status.exitCode == nil)
        #expect(!processAlive(pid), "the job's background process is gone")
        #expect(log.contains("started") && !log.contains("epilogue-must-not-run"))
        #expect(try await serve.call("POST", "/jobs/7/cancel").status == 202, "a cancel after the end changes nothing")
        #expect(try await serve.call("POST", "/jobs/8/cancel").status == 404)
        await serve.stop()
    }

    @Test func sigtermStopsTheRunningJobAndExitsZero() async throws {
        let dir = makeTempDir("serve-stop")
        let serve = try await ServeProcess.start(dir: dir, ca: nil)
        #expect(serve.child.stderr.contains("--insecure-http"), "plain HTTP is said on stderr: \(serve.child.stderr)")
        #expect(serve.url.hasPrefix("http://127.0.0.1:"))
        let spec = JobSpec(name: "long", commands: ["sleep 300 & echo $! > \(dir)/bg.pid", "wait"])
        #expect(try await serve.call("POST", "/jobs", body: ServeProcess.jobBody(9, spec)).status == 202)
        let pid = try #require(await waitForPid(atPath: dir + "/bg.pid"))
        serve.child.signal(SIGTERM)
        // The agent lingers until the ended job's status is read once: the first completed answer is the one.
        var last: PushJobStatus?
        _ = await eventually(20) {
            if let s = try? MMSJSON.decode(PushJobStatus.self, from: await serve.call("GET", "/jobs/9").body) { last = s }
            return last?.state == .completed
        }
        #expect(last?.id == 9 && last?.result == .cancelled && last?.failureReason == "agent stopped",
                "the stopping agent reports the job cancelled: agent stopped (\(String(describing: last)))")
        #expect(await serve.child.exitStatus() == 0)
        #expect(!processAlive(pid))
    }

    @Test func badFlagsExitTwoNamingTheProblem() async throws {
        let dir = makeTempDir("serve-flags")
        let cases: [([String], [String: String], String)] = [
            (["serve", "--insecure-http"], [:], "--auth-token-secret is required"),
            (["serve", "--insecure-http", "--auth-token-secret", "short"], [:], "at least 16 bytes"),
            (["serve", "--port", "0"], ["MMS_AGENT_AUTH_TOKEN_SECRET": ServeProcess.secret], "--tls-cert-path server.crt"),
            (["serve", "--port", "0", "--tls-cert-path", dir + "/none.crt", "--tls-key-path", dir + "/none.key"],
             ["MMS_AGENT_AUTH_TOKEN_SECRET": ServeProcess.secret], "none.crt"),
            (["serve", "--insecure-http", "--tls-cert-path", "x"], ["MMS_AGENT_AUTH_TOKEN_SECRET": ServeProcess.secret], "cannot be combined"),
            (["serve", "--bogus"], ["MMS_AGENT_AUTH_TOKEN_SECRET": ServeProcess.secret], "unknown flag --bogus"),
        ]
        for (args, env, message) in cases {
            let child = try ChildProcess("mms-agent", args + ["--work-dir", dir + "/w"], env: env, dir: dir)
            #expect(await child.exitStatus() == 2 && child.stderr.contains(message), "\(args): \(child.stderr)")
        }
    }
}

/// The push agent's routes are the ones docs/openapi-push-agent.yaml describes.
@Suite struct ServeSpecTests {
    @Test func theServeRoutesAreTheDocumentedOnes() throws {
        let spec = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../docs/openapi-push-agent.yaml")
        let text = try String(contentsOf: spec, encoding: .utf8)
        var documented: Set<String> = []
        var path: String?
        var inPaths = false
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            if line == "paths:" { inPaths = true; continue }
            if inPaths, !line.isEmpty, !line.hasPrefix(" ") { inPaths = false }
            guard inPaths else { continue }
            if line.hasPrefix("  /"), line.hasSuffix(":"), !line.hasPrefix("   ") {
                path = String(line.dropFirst(2).dropLast())
            } else if let p = path, let m = ["get", "post"].first(where: { line == "    \($0):" }) {
                documented.insert("\(m.uppercased()) \(p)")
            }
        }
        let options = try ServeOptions.parse(["--insecure-http"], env: ["MMS_AGENT_AUTH_TOKEN_SECRET": ServeProcess.secret], hostname: "h")
        let served = Set(Router.serve(ServeAgent(options: options)).table)
        #expect(served == documented && served.count == 6, "served \(served.sorted()), documented \(documented.sorted())")
    }
}
