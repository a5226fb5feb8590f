import Foundation
import MonitorModels
import MonitorHTTP
import ServerAPIClient
import Testing
@testable import MonitorAgent

/// Container jobs and the SSH jump point on a push agent (`mms-agent serve --container-runtime podman
/// --ssh-jump-point`), driven by a real mms-server, with real podman, sshd and ssh (contract, "Container jobs"
/// and "SSH jump point": both flags hold for `start` and `serve`).
@Suite(.serialized, .enabled(if: Podman.available && TestSSHD.unavailableReason == nil)) struct PushContainerTests {
    /// A server, a private sshd and a push agent with podman and jump points, added to the server and Idle.
    static func fleet(_ label: String, workDir: String? = nil) async throws
        -> (dir: String, sshd: TestSSHD, server: TestServer, serve: ServeProcess, agent: Agent) {
        let dir = makeTempDir(label)
        let sshd = try await TestSSHD.start(dir: dir)
        try JumpPointTests.otherLines.write(toFile: sshd.keysFile, atomically: true, encoding: .utf8)
        let server = try await TestServer.start(dir: dir)
        _ = try await server.admin.putConfig("DB_PASSWORD", ConfigEntryInput(value: "hunter2-push-secret", secret: true))
        let serve = try await startServe(dir: dir, sshd: sshd, workDir: workDir ?? dir + "/serve")
        let agent = try await server.admin.addPushAgent(PushAgentRequest(
            name: "push-box", url: serve.url, authTokenSecret: ServeProcess.secret, resources: [], caCert: nil))
        let ready = await eventually(20) {
            let a = try? await server.admin.getAgent(agent.uuid)
            return a?.status == .idle && a?.containerRuntime?.hasPrefix("podman ") == true
        }
        #expect(ready, "the push agent is Idle with its runtime: \(server.child.stderr) \(serve.child.stderr)")
        return (dir, sshd, server, serve, agent)
    }

    /// `mms-agent serve` with podman and jump points in `workDir`; the ssh host is left to the agent (the
    /// name the server reached it by).
    static func startServe(dir: String, sshd: TestSSHD, workDir: String) async throws -> ServeProcess {
        try await ServeProcess.start(dir: dir, ca: nil, name: "push-box", extra: [
            "--container-runtime", "podman", "--ssh-jump-point", "--authorized-keys", sshd.keysFile, "--ssh-port", String(sshd.port),
        ], env: Podman.env, workDir: workDir)
    }

    /// A job in `main` beside service `db` that runs until the file `stop` appears in its dir.
    static func waitingJob(_ key: String) -> JobSpec {
        JobSpec(name: "push in containers",
                commands: ["[ -e /run/.containerenv ] && echo \"in-container$((6*7))\"", "wget -qO- http://db:8080/ping",
                           "echo \"password=$DB_PASSWORD\"", "while [ ! -e stop ]; do sleep 0.1; done"],
                env: ["JOB_VAR": "from the job"], secrets: ["DB_PASSWORD"], containers: ContainerJobTests.mainAndDB(),
                sshPublicKeys: [key])
    }

    @Test func aPushedContainerJobReachesItsServiceOpensItsJumpPointAndLeavesNothing() async throws {
        let (_, sshd, server, serve, agent) = try await Self.fleet("push-ctr")
        defer { sshd.stop(); server.child.signal(SIGTERM) }
        let since = try await server.admin.events(nil, 0).next
        let created = try await server.admin.createJob(Self.waitingJob(sshd.clientPublicKey))
        let job = try await server.job(created.id, within: 90) { $0.sshCommand != nil || $0.state == .completed }
        let early = try await server.log(created.id)
        #expect(job.state == .building && job.agentUuid == agent.uuid, "\(job) \(early)")
        #expect(job.sshCommand == "ssh -t -p \(sshd.port) \(JumpPoint.userName())@127.0.0.1", "\(job.sshCommand ?? "none")")
        #expect(await eventually(30) { (try? await server.log(created.id).contains("in-container42")) ?? false })
        let jobDir = serve.workDir + "/jobs/\(created.id)"
        let answer = sshd.ssh("[ -e /run/.containerenv ] && echo in-container; pwd; echo \"[$JOB_VAR]\"")
        #expect(answer.output == "in-container\n\(jobDir)\n[from the job]\n", "\(answer.output)")
        // The job is ended from here, not over ssh: the agent ends every jump point shell with the job, so a
        // session that ends the job may itself be cut before it exits (ssh then says 255).
        #expect(FileManager.default.createFile(atPath: jobDir + "/stop", contents: nil))
        let done = try await server.job(created.id, within: 60) { $0.state == .completed }
        let log = try await server.log(created.id)
        #expect(done.result == .passed && done.sshCommand == nil, "\(done.failureReason ?? "") \(log)")
        let states = try await server.admin.events(since, 0).events.compactMap { $0.job?.id == created.id ? $0.job?.state : nil }
        #expect(states.firstIndex(of: .preparing).map { $0 < (states.firstIndex(of: .building) ?? 0) } == true,
                "preparing while pulling and starting, building from the first command: \(states)")
        #expect(log.contains("service container db") && log.contains("\npong\n"), "\(log)")
        #expect(log.contains("password=********") && !log.contains("hunter2"))
        #expect(try String(contentsOfFile: sshd.keysFile, encoding: .utf8) == JumpPointTests.otherLines)
        #expect(Podman.leftovers(owner: serve.workDir).isEmpty)
        await serve.stop()
    }

    @Test func aCancelAndACrashOfThePushAgentLeaveNoContainerKeyOrShell() async throws {
        let (dir, sshd, server, first, _) = try await Self.fleet("push-ctr-crash")
        defer { sshd.stop(); server.child.signal(SIGTERM) }
        let workDir = first.workDir
        let cancelled = try await server.admin.createJob(Self.waitingJob(sshd.clientPublicKey))
        _ = try await server.job(cancelled.id, within: 90) { $0.sshCommand != nil }
        #expect(Podman.leftovers(owner: workDir).count == 3)
        _ = try await server.admin.cancelJob(cancelled.id)
        let stopped = try await server.job(cancelled.id, within: 60) { $0.state == .completed }
        #expect(stopped.result == .cancelled)
        #expect(await eventually(10) { Podman.leftovers(owner: workDir).isEmpty }, "\(Podman.leftovers(owner: workDir))")
        #expect(try String(contentsOfFile: sshd.keysFile, encoding: .utf8) == JumpPointTests.otherLines)

        let crashed = try await server.admin.createJob(Self.waitingJob(sshd.clientPublicKey))
        _ = try await server.job(crashed.id, within: 90) { $0.sshCommand != nil }
        let open = try sshd.openShell("echo shell-open; exec sleep 300")
        #expect(await eventually(15) { open.stdout.contains("shell-open") }, "\(open.stderr)")
        first.child.signal(SIGKILL)
        _ = await first.child.exitStatus(within: 10)
        let second = try await Self.startServe(dir: dir, sshd: sshd, workDir: workDir)
        defer { second.child.signal(SIGTERM) }
        let prefix = ContainerSettings.prefix(owner: workDir, job: "\(crashed.id)")
        #expect(second.child.stderr.contains("container \(prefix)-main") && second.child.stderr.contains("network \(prefix)"),
                "\(second.child.stderr)")
        #expect(second.child.stderr.contains("closed the SSH jump point of job \(crashed.id)"), "\(second.child.stderr)")
        #expect(await eventually(15) { open.exited }, "the shell outlived the crashed agent's job")
        #expect(Podman.leftovers(owner: workDir).isEmpty)
        #expect(try String(contentsOfFile: sshd.keysFile, encoding: .utf8) == JumpPointTests.otherLines)
    }
}

/// The jump point on a push agent without podman or sshd: the phase and ssh command its job reports, the
/// flags, and a push agent started without `--ssh-jump-point` saying in the log why the keys were ignored.
@Suite struct PushJumpPointTests {
    @Test func aJobWithKeysReportsBuildingWithItsSSHCommandAndItsKeyGoesWithIt() async throws {
        let dir = makeTempDir("push-ssh-phase")
        let keys = dir + "/authorized_keys"
        let serve = try await ServeProcess.start(dir: dir, ca: nil, extra: ["--ssh-jump-point", "--authorized-keys", keys, "--ssh-port", "2222"])
        defer { serve.child.signal(SIGKILL) }
        let key = try JumpPointTests.makeKey(dir)
        let body = ServeProcess.jobBody(7, JobSpec(name: "keys", commands: ["sleep 30"], sshPublicKeys: [key]))
        let accepted = try await serve.call("POST", "/jobs", body: body)
        #expect(accepted.status == 202, "\(String(decoding: accepted.body, as: UTF8.self))")
        let answer = try MMSJSON.decode(PushJobAccepted.self, from: accepted.body)
        #expect(answer.jobId == 7 && answer.phase == .preparing)
        var status: PushJobStatus?
        #expect(await eventually(15) {
            status = try? MMSJSON.decode(PushJobStatus.self, from: (try? await serve.call("GET", "/jobs/7"))?.body ?? Data())
            return status?.phase == .building
        })
        // Host: the name the caller reached the agent by (ServeProcess calls 127.0.0.1).
        #expect(status?.sshCommand == "ssh -t -p 2222 \(JumpPoint.userName())@127.0.0.1", "\(String(describing: status))")
        #expect(try String(contentsOfFile: keys, encoding: .utf8).contains("mms-job-7"))
        let log = try await serve.call("GET", "/jobs/7/log?offset=0&wait=5&phase=preparing")
        #expect(log.status == 200 && log.header("X-Job-Phase") == "building")
        let badPhase = try await serve.call("GET", "/jobs/7/log?offset=0&phase=ready")
        #expect(badPhase.status == 400)
        #expect(try await serve.call("POST", "/jobs/7/cancel").status == 202)
        #expect(await eventually(15) {
            (try? MMSJSON.decode(PushJobStatus.self, from: (try? await serve.call("GET", "/jobs/7"))?.body ?? Data()))?.state == .completed
        })
        let after = try MMSJSON.decode(PushJobStatus.self, from: try await serve.call("GET", "/jobs/7").body)
        #expect(after.result == .cancelled && after.sshCommand == nil && after.phase == nil)
        #expect(try String(contentsOfFile: keys, encoding: .utf8).isEmpty)
    }

    @Test func theJobHostFlagsParseForServeAsForStart() throws {
        let env = [ServeOptions.secretVariable: ServeProcess.secret]
        let o = try ServeOptions.parse(["--insecure-http", "--container-runtime", "podman", "--ssh-jump-point", "--authorized-keys", "/k/keys",
                                        "--ssh-host", "build-7.lab", "--ssh-port", "2200"], env: env, hostname: "h")
        #expect(o.jobHost.containerRuntime == "podman" && o.jobHost.sshJumpPoint && o.jobHost.authorizedKeys == "/k/keys")
        #expect(o.jobHost.sshHost == "build-7.lab" && o.jobHost.sshPort == 2200)
        let bad: [([String], String)] = [
            (["--container-runtime", "rkt"], "must be docker or podman"), (["--ssh-port", "22"], "needs --ssh-jump-point"),
            (["--ssh-jump-point", "--ssh-port", "0"], "--ssh-port must be a port"), (["--ssh-jump-point", "--ssh-host", "a b"], "--ssh-host"),
        ]
        for (args, message) in bad {
            #expect(throws: AgentError.self, "\(args)") { try ServeOptions.parse(["--insecure-http"] + args, env: env, hostname: "h") }
            do { _ = try ServeOptions.parse(["--insecure-http"] + args, env: env, hostname: "h") } catch {
                #expect(error.description.contains(message), "\(args): \(error.description)")
            }
        }
    }

    @Test func serveAndStartHelpPrintTheirFlags() async throws {
        let dir = makeTempDir("serve-help")
        for (command, flag) in [("serve", "--auth-token-secret"), ("start", "--server")] {
            let child = try ChildProcess("mms-agent", [command, "--help"], dir: dir)
            #expect(await child.exitStatus() == 0, "\(command): \(child.stderr)")
            #expect(child.stdout.contains(flag) && child.stdout.contains("--ssh-jump-point") && child.stdout.contains("--container-runtime"),
                    "\(command): \(child.stdout)")
        }
    }

    @Test func theHostHeaderGivesAHostNameOrNothing() {
        func name(_ host: String?) -> String? {
            var r = Request(method: "POST", path: "/jobs", query: [:], authorization: nil, contentType: nil, body: Data(), clientAddress: "")
            r.host = host
            return r.hostName
        }
        #expect(name("127.0.0.1:8000") == "127.0.0.1" && name("build-7.lab") == "build-7.lab" && name("[::1]:8000") == "::1")
        for bad in [nil, "", ":8000", "[::1", "a b", "evil;rm -rf", "x$(id)", "[::1;x]:1", String(repeating: "a", count: 300), "ho\nst"] {
            #expect(name(bad) == nil, "\(String(describing: bad))")
        }
    }

    @Test func keysOnAPushedJobAreIgnoredWithALogLine() async throws {
        let (dir, ca, server, serve, _) = try await PushAgentTests.fleet("push-ssh-off")
        defer { ca.remove(); server.child.signal(SIGKILL) }
        let key = try JumpPointTests.makeKey(dir)
        let created = try await server.admin.createJob(JobSpec(name: "plain", commands: ["echo ran"], sshPublicKeys: [key]))
        let job = try await server.job(created.id) { $0.state == .completed }
        let log = try await server.log(created.id)
        #expect(job.result == .passed && job.sshCommand == nil, "\(log)")
        #expect(log.components(separatedBy: "sshPublicKeys ignored: this agent was not started with --ssh-jump-point").count == 2, "\(log)")
        #expect(!FileManager.default.fileExists(atPath: serve.workDir + "/ssh"))
        await serve.stop()
    }
}
