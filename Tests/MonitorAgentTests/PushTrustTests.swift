import Foundation
import MMSTestSupport
import MonitorModels
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A push agent that answers with another job's id is not trusted: no contact counts, its job moves on.
@Suite struct PushTrustTests {
    /// A fake push agent (python3's http.server): alive and idle, but it answers every POST /jobs with job 999999.
    static let liar = #"""
    import json, sys
    from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler
    class H(BaseHTTPRequestHandler):
        def answer(self, status, body):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        def do_GET(self):
            if self.path == "/is_alive": self.answer(200, {"status": "ok", "version": sys.argv[1]})
            elif self.path == "/status": self.answer(200, {"state": "idle", "version": sys.argv[1]})
            else: self.answer(404, {"error": {"code": "not_found", "message": "no"}})
        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            self.answer(202, {"jobId": 999999})
        def log_message(self, *args): pass
    s = ThreadingHTTPServer(("127.0.0.1", 0), H)
    print(s.server_address[1], flush=True)
    s.serve_forever()
    """#

    @Test func anAgentAnsweringWithAnotherJobsIdLosesItsJob() async throws {
        let dir = makeTempDir("push-liar")
        try Data(Self.liar.utf8).write(to: URL(fileURLWithPath: dir + "/liar.py"))
        let fake = try ChildProcess("/usr/bin/python3", [dir + "/liar.py", MMSVersion.current], dir: dir)
        defer { fake.signal(SIGKILL) }
        var port = ""
        _ = await eventually(10) { port = fake.stdout.trimmingCharacters(in: .whitespacesAndNewlines); return !port.isEmpty }
        let server = try await TestServer.start(dir: dir, extra: ["--lost-contact-after", "3", "--auto-register-key", "k"])
        defer { server.child.signal(SIGKILL) }
        let liar = try await server.admin.addPushAgent(PushAgentRequest(
            name: "liar", url: "http://127.0.0.1:\(port)", authTokenSecret: ServeProcess.secret, resources: ["lab"]))
        #expect(await eventually(10) { (try? await server.admin.getAgent(liar.uuid))?.status == .idle })
        let job = try await server.admin.createJob(JobSpec(name: "kept-safe", commands: ["echo ran-here"], resources: ["lab"]))
        _ = try await server.job(job.id) { $0.agentUuid == liar.uuid }
        let pull = try ChildProcess("mms-agent", ["start", "--server", server.url.absoluteString, "--name", "pull-1", "--work-dir",
                                                  dir + "/pull", "--auto-register-key", "k", "--resources", "lab"], dir: dir)
        defer { pull.signal(SIGKILL) }
        let done = try await server.job(job.id, within: 40) { $0.state == .completed }
        // Until pull-1 is up the liar is the only agent with `lab`, so an attempt may go to it again (and be
        // distrusted again): the job ends on pull-1 whatever the number of attempts it took.
        #expect(done.result == .passed && done.agentName == "pull-1" && done.attempt >= 2, "\(done)\n\(server.child.stderr)")
        #expect(server.child.stderr.contains("push agent liar at http://127.0.0.1:\(port): it answered job \(job.id) with job 999999"),
                "\(server.child.stderr)")
        #expect(try await server.log(job.id).contains("[mms] agent liar lost contact; job rescheduled"))
    }

    /// A fake push agent whose job goes `building` with an ssh command holding a terminal escape: the server
    /// must not record it (the console would print it) and must stop trusting the agent.
    static let escaper = #"""
    import json, re, sys
    from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler
    class H(BaseHTTPRequestHandler):
        job = 0
        def answer(self, status, body, headers=()):
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(data)))
            for k, v in headers: self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)
        def do_GET(self):
            if self.path == "/is_alive": return self.answer(200, {"status": "ok", "version": sys.argv[1]})
            if self.path == "/status": return self.answer(200, {"state": "running", "jobId": H.job, "version": sys.argv[1]})
            m = re.match(r"^/jobs/(\d+)(/log)?", self.path)
            if not m or int(m.group(1)) != H.job: return self.answer(404, {"error": {"code": "not_found", "message": "no"}})
            if m.group(2): return self.answer(200, b"", [("X-Log-Size", "0"), ("X-Log-Complete", "false"), ("X-Job-Phase", "building")])
            self.answer(200, {"id": H.job, "attempt": 1, "logBase": 0, "state": "running", "phase": "building",
                              "startedAt": "2026-11-30T09:00:00Z", "sshCommand": "ssh -p 22 me@box\u001b]52;c;ZXZpbA==\u0007"})
        def do_POST(self):
            H.job = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))["id"]
            self.answer(202, {"jobId": H.job, "phase": "preparing"})
        def log_message(self, *args): pass
    s = ThreadingHTTPServer(("127.0.0.1", 0), H)
    print(s.server_address[1], flush=True)
    s.serve_forever()
    """#

    @Test func anSSHCommandWithAnEscapeIsRefusedAndTheAgentDistrusted() async throws {
        let dir = makeTempDir("push-escaper")
        try Data(Self.escaper.utf8).write(to: URL(fileURLWithPath: dir + "/escaper.py"))
        let fake = try ChildProcess("/usr/bin/python3", [dir + "/escaper.py", MMSVersion.current], dir: dir)
        defer { fake.signal(SIGKILL) }
        var port = ""
        _ = await eventually(10) { port = fake.stdout.trimmingCharacters(in: .whitespacesAndNewlines); return !port.isEmpty }
        let server = try await TestServer.start(dir: dir)
        defer { server.child.signal(SIGKILL) }
        let agent = try await server.admin.addPushAgent(PushAgentRequest(
            name: "escaper", url: "http://127.0.0.1:\(port)", authTokenSecret: ServeProcess.secret, resources: []))
        #expect(await eventually(10) { (try? await server.admin.getAgent(agent.uuid))?.status == .idle })
        let job = try await server.admin.createJob(JobSpec(name: "keys", commands: ["true"]))
        let said = "push agent escaper at http://127.0.0.1:\(port): its job \(job.id) answer is not what the push API says "
            + "(field 'sshCommand' must not contain control characters)"
        #expect(await eventually(15) { server.child.stderr.contains(said) }, "\(server.child.stderr)")
        let seen = try await server.admin.getJob(job.id)
        #expect(seen.state == .preparing && seen.sshCommand == nil, "\(seen)")
    }
}
