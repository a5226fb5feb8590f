import Foundation
import MonitorModels
import Testing
@testable import MonitorAgent

/// `mms-agent run` and `version` as a user runs them, plus the flag parsing and identity file.
@Suite struct CommandTests {
    func runJobFile(_ json: String) async throws -> (Int32?, String, String) {
        let dir = makeTempDir("run")
        let path = dir + "/job.json"
        try json.write(toFile: path, atomically: true, encoding: .utf8)
        let child = try ChildProcess("mms-agent", ["run", path], dir: dir)
        let status = await child.exitStatus()
        return (status, child.stdout, child.stderr)
    }

    @Test func runExitsWithTheJobsCodeAndLogsToStdout() async throws {
        let (pass, out, _) = try await runJobFile(#"{"name":"p","commands":["echo hello"],"epilogue":{"always":["echo bye"]}}"#)
        #expect(pass == 0)
        #expect(out == "$ echo hello\nhello\n$ echo bye\nbye\n")
        let (fail, out2, err2) = try await runJobFile(#"{"name":"f","commands":["echo a","exit 7","echo b"]}"#)
        #expect(fail == 7)
        #expect(out2 == "$ echo a\na\n$ exit 7\n")
        #expect(err2.contains("command exited with 7"))
        let (timeout, _, err3) = try await runJobFile(#"{"name":"t","commands":["sleep 20"],"timeoutSeconds":1}"#)
        #expect(timeout == 124)
        #expect(err3.contains("timed out after 1 s"))
    }

    @Test func runRejectsABadFileNamingTheField() async throws {
        let (s1, _, e1) = try await runJobFile(#"{"name":"x"}"#)
        #expect(s1 == 2)
        #expect(e1.contains("missing field 'commands'"))
        let (s2, _, e2) = try await runJobFile(#"{"name":"x","commands":["true"],"files":[{"path":"../up","content":""}]}"#)
        #expect(s2 == 2)
        #expect(e2.contains("files[0].path"))
        let (s3, _, e3) = try await runJobFile(#"{"name":"x","commands":"true"}"#)
        #expect(s3 == 2)
        #expect(e3.contains("'commands'"))
        let (s4, _, e4) = try await runJobFile("not json")
        #expect(s4 == 2)
        #expect(e4.contains("not valid JSON"))
        let missing = try ChildProcess("mms-agent", ["run", "/nonexistent/job.json"], dir: makeTempDir("run"))
        #expect(await missing.exitStatus() == 2)
        #expect(missing.stderr.contains("cannot read /nonexistent/job.json"))
    }

    @Test func versionAndBadFlags() async throws {
        let dir = makeTempDir("flags")
        let version = try ChildProcess("mms-agent", ["version"], dir: dir)
        #expect(await version.exitStatus() == 0)
        #expect(version.stdout == "mms-agent \(MMSVersion.current)\n")
        let bad = try ChildProcess("mms-agent", ["start", "--server", "http://127.0.0.1:1", "--bogus", "x"], dir: dir)
        #expect(await bad.exitStatus() == 2)
        #expect(bad.stderr.contains("unknown flag --bogus"))
    }

    @Test func startOptionsUseFlagsThenEnvironmentThenDefaults() throws {
        let env = ["MS_MON_SERVER_URL": "http://env:1", "MS_MON_AGENT_NAME": "env-name", "MMS_AGENT_WORK_DIR": "/tmp/envdir",
                   "MMS_AUTO_REGISTER_KEY": "envkey"]
        let fromEnv = try StartOptions.parse([], env: env, hostname: "box")
        #expect(fromEnv.serverURL.absoluteString == "http://env:1" && fromEnv.name == "env-name")
        #expect(fromEnv.workDir == "/tmp/envdir" && fromEnv.autoRegisterKey == "envkey")
        let flags = try StartOptions.parse(["--server=https://s:2", "--name", "n", "--resources", "gpu, cam", "--work-dir", "/tmp/w"],
                                           env: env, hostname: "box")
        #expect(flags.serverURL.absoluteString == "https://s:2" && flags.name == "n" && flags.resources == ["gpu", "cam"])
        let defaults = try StartOptions.parse(["--server", "http://s:3"], env: [:], hostname: "box")
        #expect(defaults.name == "box" && defaults.workDir.hasSuffix("/mms-agent"))
        #expect(throws: AgentError.usage("flag --server is required (or set MS_MON_SERVER_URL)")) {
            try StartOptions.parse([], env: [:], hostname: "box")
        }
        #expect(throws: AgentError.self) { try StartOptions.parse(["--server", "ftp://x"], env: [:], hostname: "b") }
        #expect(throws: AgentError.self) { try StartOptions.parse(["--server", "http://x", "--resources", "a b"], env: [:], hostname: "b") }
    }

    @Test func identityIsCreatedOnceWithMode0600AndReused() throws {
        let dir = makeTempDir("id")
        let (first, created) = try AgentIdentity.loadOrCreate(workDir: dir)
        #expect(created && first.secret.count == 64)
        let (again, created2) = try AgentIdentity.loadOrCreate(workDir: dir)
        #expect(!created2 && again == first)
        let mode = try FileManager.default.attributesOfItem(atPath: dir + "/config.properties")[.posixPermissions] as? Int
        #expect(mode == 0o600)
        let text = try String(contentsOfFile: dir + "/config.properties", encoding: .utf8)
        #expect(text.contains("agent.uuid=\(first.uuid)\n") && text.contains("agent.secret=\(first.secret)\n"))
    }

    @Test func aGroupLeftByACrashedRunIsKilledOnStart() async throws {
        let dir = makeTempDir("pgid")
        try "sleep 60 & sleep 60\n".write(toFile: dir + "/left.sh", atomically: true, encoding: .utf8)
        let leader = try ProcessControl.spawnBash(script: dir + "/left.sh", environment: ["PATH": "/usr/bin:/bin"], outputFD: 2)
        PgidFile.record(leader, at: dir + "/job.pgid")
        #expect(ProcessControl.groupAlive(leader))
        #expect(PgidFile.killLeftovers(at: dir + "/job.pgid") == leader)
        #expect(await eventually { _ = ProcessControl.reapGroup(leader); return !ProcessControl.groupAlive(leader) })
        #expect(!FileManager.default.fileExists(atPath: dir + "/job.pgid"))
        try "123 some-other-boot\n".write(toFile: dir + "/job.pgid", atomically: true, encoding: .utf8)
        #expect(PgidFile.killLeftovers(at: dir + "/job.pgid") == nil)
    }
}
