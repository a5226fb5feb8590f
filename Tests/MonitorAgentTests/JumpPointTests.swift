import Foundation
import MonitorModels
import ServerAPIClient
import Testing
@testable import MonitorAgent

/// The SSH jump point with a real sshd and ssh client (contract, "SSH jump point"): the job's key opens a
/// shell in the job dir with the job's env and nothing else; the key, the jump point and the shells are
/// gone when the job ends, also after the agent was killed and started again.
@Suite(.serialized, .enabled(if: TestSSHD.unavailableReason == nil)) struct JumpPointTests {
    static let otherLines = "# not MMS's\nssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEo6zKzB0Y3KpGyt0hQ8r2tqY5f1u2b4b9b8b7b6b5b4 someone@else\n"
        + "no-newline-at-the-end"

    static func agent(_ server: TestServer, _ sshd: TestSSHD, dir: String, workDir: String, extra: [String] = []) throws -> ChildProcess {
        try ChildProcess("mms-agent", ["start", "--server", server.url.absoluteString, "--name", "ssh-box", "--work-dir", workDir,
                                       "--ssh-jump-point", "--authorized-keys", sshd.keysFile, "--ssh-host", "127.0.0.1",
                                       "--ssh-port", String(sshd.port)] + extra,
                         env: ["MMS_AGENT_KILL_GRACE_MS": "500"].merging(Podman.env) { $1 }, dir: dir)
    }

    /// A job that runs until the file `stop` appears in its dir.
    static func waitingJob(_ key: String, containers: [ContainerSpec] = []) -> JobSpec {
        JobSpec(name: "debug me", commands: ["echo \"up$((6*7))\"", "while [ ! -e stop ]; do sleep 0.1; done"],
                env: ["JOB_VAR": "from the job"], containers: containers, sshPublicKeys: [key])
    }

    @Test func theKeyOpensTheJobAndEverythingIsGoneWhenItEnds() async throws {
        let dir = makeTempDir("ssh")
        let sshd = try await TestSSHD.start(dir: dir)
        defer { sshd.stop() }
        try Self.otherLines.write(toFile: sshd.keysFile, atomically: true, encoding: .utf8)
        let server = try await TestServer.start(dir: dir)
        defer { server.child.signal(SIGTERM) }
        let workDir = dir + "/agent"
        let agent = try Self.agent(server, sshd, dir: dir, workDir: workDir)
        defer { agent.signal(SIGTERM) }
        try await authorizeWhenRegistered(server, agent, workDir: workDir)
        let created = try await server.admin.createJob(Self.waitingJob(sshd.clientPublicKey))
        let job = try await server.job(created.id, within: 30) { $0.sshCommand != nil }
        #expect(job.state == .building)
        #expect(job.sshCommand == "ssh -t -p \(sshd.port) \(JumpPoint.userName())@127.0.0.1")
        let jobDir = workDir + "/jobs/\(created.id)"
        let keys = try String(contentsOfFile: sshd.keysFile, encoding: .utf8)
        let line = "command=\"bash \(jobDir)/ssh_jump_point\",restrict,pty \(sshd.clientPublicKey.split(separator: " ").prefix(2).joined(separator: " ")) mms-job-\(created.id)"
        #expect(keys == Self.otherLines + "\n" + line + "\n")
        let answer = sshd.ssh("pwd; echo \"[$JOB_VAR]\"; echo \"${SSH_ORIGINAL_COMMAND:-none}\"; touch from-ssh")
        #expect(answer.status == 0, "\(answer.output)")
        #expect(answer.output == "\(jobDir)\n[from the job]\nnone\n", "\(answer.output)")
        #expect(FileManager.default.fileExists(atPath: jobDir + "/from-ssh"))
        #expect(sshd.ssh("echo \"$MMS_AUTO_REGISTER_KEY\" | grep -c . ; true").output == "0\n")
        // A shell that is still open when the job ends is ended with it.
        let open = try sshd.openShell("echo shell-open; exec sleep 300")
        #expect(await eventually(15) { open.stdout.contains("shell-open") }, "\(open.stderr)")
        // The job is ended from here, not over ssh: the agent ends every jump point shell with the job, so a
        // session that ends the job may itself be cut before it exits (ssh then says 255).
        #expect(FileManager.default.createFile(atPath: jobDir + "/stop", contents: nil))
        let done = try await server.job(created.id, within: 30) { $0.state == .completed }
        #expect(done.result == .passed && done.sshCommand == nil)
        #expect(await eventually(15) { open.exited }, "the shell outlived its job")
        #expect(try String(contentsOfFile: sshd.keysFile, encoding: .utf8) == Self.otherLines,
                "\(String(describing: try? String(contentsOfFile: sshd.keysFile, encoding: .utf8)))")
        #expect(!FileManager.default.fileExists(atPath: jobDir + "/ssh_jump_point"))
        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: "/tmp/ssh_jump_point")) != jobDir + "/ssh_jump_point")
        #expect(sshd.ssh("true").status != 0)
    }

    @Test(.enabled(if: Podman.available)) func inAContainerJobTheKeyOpensBashInTheMainContainer() async throws {
        let dir = makeTempDir("sshc")
        let sshd = try await TestSSHD.start(dir: dir)
        defer { sshd.stop() }
        let server = try await TestServer.start(dir: dir)
        defer { server.child.signal(SIGTERM) }
        let workDir = dir + "/agent"
        let agent = try Self.agent(server, sshd, dir: dir, workDir: workDir, extra: ["--container-runtime", "podman"])
        defer { agent.signal(SIGTERM) }
        try await authorizeWhenRegistered(server, agent, workDir: workDir)
        let spec = Self.waitingJob(sshd.clientPublicKey, containers: [ContainerSpec(name: "main", image: Podman.image)])
        let created = try await server.admin.createJob(spec)
        let running = try await server.job(created.id, within: 60) { $0.sshCommand != nil || $0.state == .completed }
        let runningLog = try await server.log(created.id)
        #expect(running.sshCommand != nil, "\(running.state) \(running.failureReason ?? "") \(runningLog)")
        let answer = sshd.ssh("[ -e /run/.containerenv ] && echo in-container; pwd; echo \"[$JOB_VAR]\"")
        #expect(answer.output == "in-container\n\(workDir)/jobs/\(created.id)\n[from the job]\n", "\(answer.output)")
        // The job is ended from here, not over ssh: the agent ends every jump point shell with the job, so a
        // session that ends the job may itself be cut before it exits (ssh then says 255).
        #expect(FileManager.default.createFile(atPath: workDir + "/jobs/\(created.id)/stop", contents: nil))
        let done = try await server.job(created.id, within: 30) { $0.state == .completed }
        #expect(done.result == .passed)
        #expect(try String(contentsOfFile: sshd.keysFile, encoding: .utf8).isEmpty)
        #expect(Podman.leftovers(owner: workDir).isEmpty)
    }

    @Test func aKilledAgentClosesTheJumpPointWhenItStartsAgain() async throws {
        let dir = makeTempDir("sshcrash")
        let sshd = try await TestSSHD.start(dir: dir)
        defer { sshd.stop() }
        try Self.otherLines.write(toFile: sshd.keysFile, atomically: true, encoding: .utf8)
        let server = try await TestServer.start(dir: dir)
        defer { server.child.signal(SIGTERM) }
        let workDir = dir + "/agent"
        let first = try Self.agent(server, sshd, dir: dir, workDir: workDir)
        try await authorizeWhenRegistered(server, first, workDir: workDir)
        let created = try await server.admin.createJob(Self.waitingJob(sshd.clientPublicKey))
        _ = try await server.job(created.id, within: 30) { $0.sshCommand != nil }
        let open = try sshd.openShell("echo shell-open; exec sleep 300")
        #expect(await eventually(15) { open.stdout.contains("shell-open") }, "\(open.stderr)")
        first.signal(SIGKILL)
        _ = await first.exitStatus(within: 10)
        let second = try Self.agent(server, sshd, dir: dir, workDir: workDir)
        defer { second.signal(SIGTERM) }
        #expect(await eventually(20) { second.stderr.contains("closed the SSH jump point of job \(created.id)") }, "\(second.stderr)")
        #expect(await eventually(15) { open.exited }, "the shell outlived the crashed agent's job")
        // The job runs again on the restarted agent; its key comes back, and goes once it is cancelled.
        _ = try await server.admin.cancelJob(created.id)
        _ = try await server.job(created.id, within: 30) { $0.state == .completed }
        #expect(try String(contentsOfFile: sshd.keysFile, encoding: .utf8) == Self.otherLines,
                "\(String(describing: try? String(contentsOfFile: sshd.keysFile, encoding: .utf8)))")
    }

    @Test func anAgentWithoutTheFlagRunsTheJobAndSaysTheKeysWereIgnored() async throws {
        let dir = makeTempDir("sshoff")
        let server = try await TestServer.start(dir: dir)
        defer { server.child.signal(SIGTERM) }
        let workDir = dir + "/agent"
        let agent = try startAgent(server, workDir: workDir, dir: dir)
        defer { agent.signal(SIGTERM) }
        try await authorizeWhenRegistered(server, agent, workDir: workDir)
        let key = try #require(try? Self.makeKey(dir))
        let created = try await server.admin.createJob(JobSpec(name: "plain", commands: ["echo ran"], sshPublicKeys: [key]))
        let job = try await server.job(created.id) { $0.state == .completed }
        let log = try await server.log(created.id)
        #expect(job.result == .passed && job.sshCommand == nil)
        #expect(log.components(separatedBy: "sshPublicKeys ignored: this agent was not started with --ssh-jump-point").count == 2, "\(log)")
        #expect(!FileManager.default.fileExists(atPath: workDir + "/ssh"))
    }

    @Test func keysWithOptionsOrGarbageAreRefusedAtCreation() async throws {
        let dir = makeTempDir("sshbad")
        let server = try await TestServer.start(dir: dir)
        defer { server.child.signal(SIGTERM) }
        let key = try Self.makeKey(dir)
        let bad = ["command=\"id\" " + key, "no-pty " + key, "ssh-ed25519 not-base64!", "ssh-dss AAAAB3NzaC1kc3MAAACBAP== x",
                   "ssh-rsa " + String(key.split(separator: " ")[1]), key + "\nssh-ed25519 AAAA", "", "garbage"]
        for line in bad {
            do {
                _ = try await server.admin.createJob(JobSpec(name: "bad key", commands: ["true"], sshPublicKeys: [line]))
                Issue.record("accepted \(line)")
            } catch {
                #expect(error.code == .badRequest && error.description.contains("sshPublicKeys[0]"), "\(line): \(error.description)")
            }
        }
        do {
            _ = try await server.admin.createJob(JobSpec(name: "many", commands: ["true"], sshPublicKeys: Array(repeating: key, count: 21)))
            Issue.record("accepted 21 keys")
        } catch {
            #expect(error.code == .badRequest && error.description.contains("sshPublicKeys"))
        }
        #expect(try await server.admin.listJobs(nil, nil).isEmpty)
        _ = try await server.admin.createJob(JobSpec(name: "good", commands: ["true"], sshPublicKeys: [key]))
    }

    static func makeKey(_ dir: String) throws -> String {
        let path = dir + "/key-\(UUID().uuidString.prefix(6))"
        let gen = Podman.sh("ssh-keygen -q -t ed25519 -N '' -C someone@laptop -f \(path)")
        if gen.status != 0 { throw TestFailure(gen.output) }
        return try String(contentsOfFile: path + ".pub", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
