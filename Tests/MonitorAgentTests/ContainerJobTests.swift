import Foundation
import MonitorModels
import ServerAPIClient
import Testing
@testable import MonitorAgent

/// Container jobs with real podman (contract, "Container jobs"): the job's bash runs in its main container,
/// services answer by name, env/files/secrets arrive, and no container or network outlives the job.
/// Skipped (with the reason printed) only when podman cannot run a container on this machine.
@Suite(.serialized, .enabled(if: Podman.available)) struct ContainerJobTests {
    static func agent(_ server: TestServer, dir: String, name: String, workDir: String, extra: [String] = []) throws -> ChildProcess {
        try ChildProcess("mms-agent", ["start", "--server", server.url.absoluteString, "--name", name, "--work-dir", workDir,
                                       "--container-runtime", "podman"] + extra,
                         env: Podman.env.merging(["MMS_AGENT_KILL_GRACE_MS": "500"]) { $1 }, dir: dir)
    }

    static func mainAndDB(_ mainEnv: [String: String] = [:]) -> [ContainerSpec] {
        [ContainerSpec(name: "main", image: Podman.image, env: mainEnv),
         ContainerSpec(name: "db", image: Podman.image, command: "mkdir -p /srv && echo pong > /srv/ping && httpd -f -p 8080 -h /srv",
                       env: ["ONLY_IN_DB": "1"])]
    }

    @Test func aJobRunsInItsContainerReachesItsServiceAndGetsEnvFilesAndMaskedSecrets() async throws {
        let dir = makeTempDir("containers")
        let server = try await TestServer.start(dir: dir)
        defer { server.child.signal(SIGTERM) }
        let workDir = dir + "/agent"
        let agent = try Self.agent(server, dir: dir, name: "box", workDir: workDir)
        defer { agent.signal(SIGTERM) }
        try await authorizeWhenRegistered(server, agent, workDir: workDir)
        let uuid = try #require(await agentUUID(workDir))
        #expect(try await server.admin.getAgent(uuid).containerRuntime?.hasPrefix("podman ") == true)
        _ = try await server.admin.putConfig("GREETING", ConfigEntryInput(value: "hello-config", secret: false))
        _ = try await server.admin.putConfig("DB_PASSWORD", ConfigEntryInput(value: "hunter2-very-secret", secret: true))
        let spec = JobSpec(
            name: "in a container",
            commands: ["[ -e /run/.containerenv ] && echo \"bash $BASH_VERSION in a container, in $PWD\"",
                       "wget -qO- http://db:8080/ping", "echo \"$GREETING $FOO $MAIN_ONLY ${ONLY_IN_DB:-no-db-env}\"",
                       "cat data.txt", "echo \"password=$DB_PASSWORD\"", "echo made > made-here.txt"],
            env: ["FOO": "job-env"], files: [JobFile(path: "data.txt", content: "file-content\n")],
            secrets: ["DB_PASSWORD"], containers: Self.mainAndDB(["MAIN_ONLY": "main-env"]))
        let created = try await server.admin.createJob(spec)
        let job = try await server.job(created.id, within: 90) { $0.state == .completed }
        let log = try await server.log(created.id)
        #expect(job.result == .passed, "\(job.failureReason ?? "") \(log)")
        let jobDir = workDir + "/jobs/\(created.id)"
        #expect(log.contains("in a container, in \(jobDir)"))
        #expect(log.contains("\npong\n"))
        #expect(log.contains("hello-config job-env main-env no-db-env"))
        #expect(log.contains("\nfile-content\n"))
        #expect(log.contains("password=********") && !log.contains("hunter2"))
        #expect(log.contains("service container db"))
        #expect(Podman.leftovers(owner: workDir).isEmpty)
    }

    @Test func aCancelRemovesEveryContainerAndTheNetwork() async throws {
        let dir = makeTempDir("ccancel")
        let server = try await TestServer.start(dir: dir)
        defer { server.child.signal(SIGTERM) }
        let workDir = dir + "/agent"
        let agent = try Self.agent(server, dir: dir, name: "box", workDir: workDir)
        defer { agent.signal(SIGTERM) }
        try await authorizeWhenRegistered(server, agent, workDir: workDir)
        let created = try await server.admin.createJob(
            JobSpec(name: "long", commands: ["echo \"running$((6*7))\"", "sleep 300"], containers: Self.mainAndDB()))
        _ = try await server.job(created.id, within: 60) { $0.state == .building }
        let printed = await eventually(30) { (try? await server.log(created.id).contains("running42")) ?? false }
        let (seen, seenLog) = (try await server.admin.getJob(created.id), try await server.log(created.id))
        #expect(printed, "\(seen.failureReason ?? "") \(seenLog)")
        let prefix = ContainerSettings.prefix(owner: workDir, job: "\(created.id)")
        #expect(Set(Podman.leftovers(owner: workDir)) == [prefix + "-main", prefix + "-db", prefix])
        _ = try await server.admin.cancelJob(created.id)
        let job = try await server.job(created.id, within: 60) { $0.state == .completed }
        #expect(job.result == .cancelled)
        #expect(Podman.leftovers(owner: workDir).isEmpty)
    }

    @Test func anAgentKilledMidContainerJobRemovesItsContainersWhenItStartsAgain() async throws {
        let dir = makeTempDir("ccrash")
        let server = try await TestServer.start(dir: dir)
        defer { server.child.signal(SIGTERM) }
        let workDir = dir + "/agent"
        let first = try Self.agent(server, dir: dir, name: "box", workDir: workDir)
        try await authorizeWhenRegistered(server, first, workDir: workDir)
        let created = try await server.admin.createJob(
            JobSpec(name: "crashed", commands: ["echo \"running$((6*7))\"", "sleep 300"], containers: Self.mainAndDB()))
        #expect(await eventually(60) { (try? await server.log(created.id).contains("running42")) ?? false })
        #expect(Podman.leftovers(owner: workDir).count == 3)
        first.signal(SIGKILL)
        _ = await first.exitStatus(within: 10)
        let second = try Self.agent(server, dir: dir, name: "box", workDir: workDir)
        defer { second.signal(SIGTERM) }
        #expect(await eventually(30) { second.stderr.contains("removed container") }, "\(second.stderr)")
        let prefix = ContainerSettings.prefix(owner: workDir, job: "\(created.id)")
        #expect(second.stderr.contains("container \(prefix)-main") && second.stderr.contains("network \(prefix)"))
        // The job was rescheduled and may run again here; cancelling it must leave nothing either.
        _ = try await server.admin.cancelJob(created.id)
        _ = try await server.job(created.id, within: 60) { $0.state == .completed }
        #expect(await eventually(30) { Podman.leftovers(owner: workDir).isEmpty }, "\(Podman.leftovers(owner: workDir))")
    }

    @Test func aPullThatFailsFailsTheJobWithTheRuntimesMessage() async throws {
        let dir = makeTempDir("cpull")
        let server = try await TestServer.start(dir: dir)
        defer { server.child.signal(SIGTERM) }
        let workDir = dir + "/agent"
        let udp = try UDPCollector().start()
        defer { udp.close() }
        let agent = try Self.agent(server, dir: dir, name: "box", workDir: workDir,
                                   extra: ["--statsd-host", "127.0.0.1", "--statsd-port", String(udp.port), "--statsd-tags"])
        defer { agent.signal(SIGTERM) }
        try await authorizeWhenRegistered(server, agent, workDir: workDir)
        let created = try await server.admin.createJob(JobSpec(
            name: "no image", commands: ["echo never"], containers: [ContainerSpec(name: "main", image: "127.0.0.1:9/mms/none:1")]))
        let job = try await server.job(created.id, within: 90) { $0.state == .completed }
        #expect(job.result == .failed)
        #expect(job.failureReason?.hasPrefix("cannot pull 127.0.0.1:9/mms/none:1: ") == true, "\(job.failureReason ?? "")")
        #expect(try await !server.log(created.id).contains("never"))
        #expect(await eventually(10) { !udp.lines(named: "mms.agent.container.pull.failed").isEmpty })
        let tags = "|#agent:box,job:no image,image:127.0.0.1:9/mms/none:1"
        #expect(udp.lines(named: "mms.agent.container.pull.failed") == ["mms.agent.container.pull.failed:1|c" + tags])
        #expect(udp.lines(named: "mms.agent.container.pull.duration").allSatisfy { $0.hasPrefix("mms.agent.container.pull.duration:") && $0.hasSuffix("|ms" + tags) })
        #expect(Podman.leftovers(owner: workDir).isEmpty)
    }
}
