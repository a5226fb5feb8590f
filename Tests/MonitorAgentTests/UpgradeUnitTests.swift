import Foundation
import MMSCrypto
import MonitorModels
import ServerAPIClient
import Testing
@testable import MonitorAgent

/// The rules of the supervisor, the registration file and WORK_DIR/bin, without an agent process.
@Suite struct UpgradeUnitTests {
    @Test func supervisorBacksOffFrom1To60SecondsAndResetsAfterALongRun() {
        var p = SupervisorPolicy()
        let delays = (0..<8).map { _ in p.exited(.signalled(9), ran: .seconds(1)) }
        #expect(delays == [1, 2, 4, 8, 16, 32, 60, 60].map { .restart(after: .seconds($0)) })
        #expect(p.exited(.exited(1), ran: .seconds(120)) == .restart(after: .seconds(1)))
        #expect(p.exited(.exited(0), ran: .seconds(1)) == .restart(after: .seconds(2)))
    }

    @Test func fatalExitsEndTheSupervisorUnlessANewBinaryIsOnProbation() {
        var p = SupervisorPolicy()
        #expect(p.exited(.exited(4), ran: .seconds(1)) == .exit(4))
        #expect(p.exited(.exited(5), ran: .seconds(1)) == .exit(5))
        #expect(p.exited(.exited(2), ran: .seconds(1)) == .exit(2))
        #expect(p.exited(.exited(75), ran: .seconds(50)) == .restartNow)
        #expect(p.onProbation)
        #expect(p.exited(.exited(4), ran: .seconds(1)) == .restart(after: .seconds(1)))
    }

    @Test func threeQuickCrashesOfANewBinaryRollItBackAndALongRunProvesIt() {
        var p = SupervisorPolicy()
        #expect(p.exited(.exited(75), ran: .seconds(10)) == .restartNow)
        #expect(p.exited(.exited(1), ran: .seconds(1)) == .restart(after: .seconds(1)))
        #expect(p.exited(.signalled(11), ran: .seconds(2)) == .restart(after: .seconds(2)))
        #expect(p.exited(.exited(1), ran: .seconds(1)) == .rollBack)
        #expect(!p.onProbation)

        var q = SupervisorPolicy()
        _ = q.exited(.exited(75), ran: .seconds(10))
        _ = q.exited(.exited(1), ran: .seconds(1))
        _ = q.exited(.exited(1), ran: .seconds(1))
        #expect(q.exited(.exited(1), ran: .seconds(31)) == .restart(after: .seconds(4)))  // ran 30 s: proven
        #expect(!q.onProbation)
        #expect(q.exited(.exited(1), ran: .seconds(1)) == .restart(after: .seconds(8)))
    }

    @Test func onlyAChildOfItsSupervisorTakesTheLinkAndTheVariableNeverStays() {
        for value in ["3:1", "3", "x:y", "2:\(getppid())"] {  // not our parent, malformed, malformed, stdio
            setenv(Supervisor.linkVariable, value, 1)
            #expect(!SupervisorLink.adopt(), "\(value)")
            #expect(ProcessInfo.processInfo.environment[Supervisor.linkVariable] == nil)
        }
    }

    @Test func registrationFileFillsWhatFlagsLeaveOpen() throws {
        let text = "# GoCD style\nagent.auto.register.key = k-1\nagent.auto.register.resources=gpu, cam\n"
            + "agent.auto.register.environments: prod\n! other comment\nagent.auto.register.hostname=rec-07\nunknown=x\n"
        let file = RegistrationFile.parse(text)
        #expect(file == RegistrationFile(key: "k-1", resources: ["gpu", "cam"], environments: ["prod"], hostname: "rec-07"))

        var plain = try StartOptions.parse(["--server", "http://s:1", "--work-dir", "/tmp/w"], env: [:], hostname: "box")
        try file.apply(to: &plain)
        #expect(plain.name == "rec-07" && plain.autoRegisterKey == "k-1")
        #expect(plain.resources == ["gpu", "cam"] && plain.environments == ["prod"])

        var flags = try StartOptions.parse(["--server", "http://s:1", "--name", "mine", "--resources", "x",
                                            "--auto-register-key", "flag-key"], env: ["MS_MON_AGENT_NAME": "ignored"], hostname: "box")
        try file.apply(to: &flags)
        #expect(flags.name == "mine" && flags.autoRegisterKey == "flag-key" && flags.resources == ["x"])
        #expect(flags.environments == ["prod"])
        var fromEnv = try StartOptions.parse(["--server", "http://s:1"], env: ["MS_MON_AGENT_NAME": "env-name",
                                                                               "MMS_AUTO_REGISTER_KEY": "env-key"], hostname: "box")
        try file.apply(to: &fromEnv)
        #expect(fromEnv.name == "env-name" && fromEnv.autoRegisterKey == "env-key")

        var bad = plain
        #expect(throws: AgentError.self) { try RegistrationFile.parse("agent.auto.register.resources=a b").apply(to: &bad) }
    }

    @Test func removingTheKeyLineKeepsEveryOtherByte() throws {
        let dir = makeTempDir("regfile")
        let path = RegistrationFile.path(in: dir)
        let text = "# keep me  \r\nagent.auto.register.key=secret\r\nagent.auto.register.resources=gpu\n\n  trailing spaces   \nno newline"
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        chmod(path, 0o640)
        #expect(RegistrationFile.removeKeyLine(workDir: dir) == .removed)
        let after = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect(after == Data("# keep me  \r\nagent.auto.register.resources=gpu\n\n  trailing spaces   \nno newline".utf8))
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o640)
        // Lines end at \n, \r\n or a lone \r, alike when parsing and when removing.
        let mac = Data("agent.auto.register.key=k\ragent.auto.register.resources=gpu\r".utf8)
        #expect(RegistrationFile.parse(mac) == RegistrationFile(key: "k", resources: ["gpu"]))
        #expect(RegistrationFile.withoutKeyLines(mac) == Data("agent.auto.register.resources=gpu\r".utf8))
        #expect(RegistrationFile.removeKeyLine(workDir: dir) == .absent)  // nothing left to remove: unchanged
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == after)
    }

    /// A script standing in for a binary: `version` prints `version`, anything else exits `exit`.
    static func script(_ path: String, version: String = MMSVersion.current, exit code: Int = 0) throws -> Data {
        let text = "#!/bin/sh\nif [ \"$1\" = version ]; then echo \"mms-agent \(version)\"; exit 0; fi\nexit \(code)\n"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o755)
        return Data(text.utf8)
    }

    @Test func installChecksTheSHA256AndTheVersionThenKeepsThePreviousBinary() throws {
        let dir = makeTempDir("bindir")
        let bin = AgentBinaryDir(workDir: dir)
        let running = dir + "/running"
        let old = try Self.script(running, exit: 0)
        let good = Data("#!/bin/sh\necho \"mms-agent \(MMSVersion.current)\"\n# good\n".utf8)
        let sha = SHA256Stream.hex(good)

        #expect(throws: UpgradeProblem.self) {
            try bin.install(good, headerSHA256: String(repeating: "0", count: 64), expected: nil,
                            serverVersion: MMSVersion.current, running: running)
        }
        #expect(throws: UpgradeProblem.self) {
            try bin.install(good, headerSHA256: sha, expected: String(repeating: "1", count: 64),
                            serverVersion: MMSVersion.current, running: running)
        }
        #expect(throws: UpgradeProblem.self) {
            try bin.install(good, headerSHA256: sha, expected: sha, serverVersion: "99.0.0", running: running)
        }
        let broken = Data("#!/bin/sh\nexit 1\n".utf8)
        #expect(throws: UpgradeProblem.self) {
            try bin.install(broken, headerSHA256: SHA256Stream.hex(broken), expected: nil,
                            serverVersion: MMSVersion.current, running: running)
        }
        #expect(!FileManager.default.fileExists(atPath: bin.current))
        #expect(!FileManager.default.fileExists(atPath: bin.incoming))

        let version = try bin.install(good, headerSHA256: sha, expected: sha, serverVersion: MMSVersion.current, running: running)
        #expect(version == MMSVersion.current)
        #expect(try Data(contentsOf: URL(fileURLWithPath: bin.current)) == good)
        #expect(try Data(contentsOf: URL(fileURLWithPath: bin.previous)) == old)
        #expect(bin.executableToRun() == bin.current)

        #expect(bin.rollBack() == sha)
        #expect(try Data(contentsOf: URL(fileURLWithPath: bin.current)) == old)
        #expect(bin.rolledBack() == [sha])
        #expect(bin.rollBack() == SHA256Stream.hex(old))  // no previous left: back to the supervisor's own binary
        #expect(!FileManager.default.fileExists(atPath: bin.current))
        #expect(bin.executableToRun() == AgentBinaryDir.ownExecutable())
    }
}

/// A 409 version_mismatch at registration: the agent installs the server's binary when it offers one.
@Suite struct VersionMismatchUpgradeTests {
    func session(_ dir: String, flags: [String] = [], offer: Bool) throws -> (AgentSession, FakeAgentServer, Data) {
        let options = try StartOptions.parse(["--server", "http://127.0.0.1:1", "--name", "old", "--work-dir", dir] + flags,
                                             env: [:], hostname: "h")
        let fake = FakeAgentServer(registerError: .api(status: 409, error: APIError(.versionMismatch, "versions differ")))
        let script = Data("#!/bin/sh\necho \"mms-agent 9.9.0\"\n".utf8)
        let sha = SHA256Stream.hex(script)
        let running = dir + "/running-agent"
        _ = try UpgradeUnitTests.script(running)
        let session = AgentSession(options: options, identity: .generate(), log: fake.logger,
                                   binary: (running, AgentBinaryDir.sha256(ofFile: running) ?? "")) { _ in
            var api = fake.api()
            api.version = { () async throws(ClientError) in VersionInfo(version: "9.9.0", agentSHA256: offer ? sha : nil) }
            api.agentBinary = { () async throws(ClientError) in AgentBinaryDownload(bytes: script, sha256: sha, version: "9.9.0") }
            return api
        }
        return (session, fake, script)
    }

    @Test func theServersBinaryIsInstalledInsteadOfExiting4() async throws {
        let dir = makeTempDir("vm-up")
        let (session, _, script) = try session(dir, offer: true)
        var exit: Int32?
        do { try await session.run() } catch { exit = error.exitCode }
        #expect(exit == AgentError.upgradedExitCode)
        #expect(try Data(contentsOf: URL(fileURLWithPath: dir + "/bin/mms-agent")) == script)
        #expect(FileManager.default.fileExists(atPath: dir + "/bin/mms-agent.previous"))
    }

    @Test func withoutAnOfferOrWithNoAutoUpgradeItExits4() async throws {
        for (flags, offer) in [([String](), false), (["--no-auto-upgrade"], true)] {
            let dir = makeTempDir("vm-4")
            let (session, _, _) = try session(dir, flags: flags, offer: offer)
            await #expect(throws: AgentError.versionMismatch(agent: MMSVersion.current, server: "9.9.0")) { try await session.run() }
            #expect(!FileManager.default.fileExists(atPath: dir + "/bin/mms-agent"))
        }
    }
}
