import Foundation
import MonitorModels
import Testing
@testable import MonitorAgent

@Suite struct JobRunnerTests {
    @Test func commandsShareOneSessionAndAreEchoed() async throws {
        let spec = JobSpec(name: "s", commands: [
            "mkdir -p sub && cd sub", "export GREETING='hi there'", "echo \"in $(basename $PWD): $GREETING\"",
            "cat <<'EOF'\nheredoc 'quoted' \"x\"\nEOF", "echo it\\'s done",
        ])
        let (outcome, log, _) = try await runJob(spec)
        #expect(outcome == JobOutcome(result: .passed, exitCode: 0))
        #expect(log.contains("$ mkdir -p sub && cd sub\n"))
        #expect(log.contains("in sub: hi there\n"))
        #expect(log.contains("heredoc 'quoted' \"x\"\n"))
        #expect(log.contains("it's done\n"))
    }

    // Found by `mms-fuzz jobfile`: a quote followed by a combining mark is one Character to Swift, so the
    // script's quoting left that quote bare and bash read the rest of the command as shell code.
    @Test func aQuoteBeforeACombiningMarkStaysQuoted() async throws {
        let text = "it'\u{301}s; echo broken'\u{301}"
        let spec = JobSpec(name: "q", commands: ["printf '%s\\n' \(JobScript.quote(text))"])
        let (outcome, log, _) = try await runJob(spec)
        #expect(outcome == JobOutcome(result: .passed, exitCode: 0))
        #expect(log.hasSuffix("\n" + text + "\n"), "\(log)")
    }

    @Test func environmentLayersAndStdinIsDevNull() async throws {
        let spec = JobSpec(name: "e", commands: ["echo \"A=$A B=$B C=$C\"", "read line; echo \"read=$?\""], env: ["B": "job"],
                           secrets: ["TOKEN"])
        let env = JobEnvironment.build(agent: ["PATH": "/usr/bin:/bin", "A": "agent", "B": "agent", "C": "agent", "MMS_AUTO_REGISTER_KEY": "k"],
                                        config: AgentConfig(version: 1, entries: ["C": "config", "TOKEN": "s3cret", "OTHER": "hidden"],
                                                            secret: ["TOKEN", "OTHER"]),
                                        spec: spec)
        #expect(env["OTHER"] == nil && env["TOKEN"] == "s3cret" && env["MMS_AUTO_REGISTER_KEY"] == nil)
        let (outcome, log, _) = try await runJob(spec, env: env)
        #expect(outcome.result == .passed)
        #expect(log.contains("A=agent B=job C=config\n"))
        #expect(log.contains("read=1\n"))
    }

    @Test func filesAreWrittenWithTheirModes() async throws {
        let spec = JobSpec(name: "f", commands: ["./bin/hello.sh", "stat -c '%a %n' bin/hello.sh data/secret.txt"],
                           files: [JobFile(path: "bin/hello.sh", content: "#!/bin/sh\necho hello from file\n", mode: "0755"),
                                   JobFile(path: "data/secret.txt", content: "x", mode: "0600")])
        let (outcome, log, _) = try await runJob(spec)
        #expect(outcome.result == .passed)
        #expect(log.contains("hello from file\n"))
        #expect(log.contains("755 bin/hello.sh\n"))
        #expect(log.contains("600 data/secret.txt\n"))
    }

    // Found by `mms-fuzz jobfile`: NSString.deletingLastPathComponent traps on paths such as "a/", so a
    // job whose file path ended in a slash crashed the agent (Tests/FuzzCorpus/jobfile/crash-trailing-slashes.json).
    @Test func aFilePathEndingInASlashIsAnErrorNotACrash() throws {
        let dir = makeTempDir("files")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(JobFiles.parentDir(of: "a/", in: dir) == dir)
        #expect(JobFiles.parentDir(of: "x/a//", in: dir) == dir + "/x")
        #expect(JobFiles.parentDir(of: "b/c.txt", in: dir) == dir + "/b")
        for path in ["a/", "x/a/", "NF/////eq/.>/////"] {
            #expect(throws: AgentError.self) { try JobFiles.write([JobFile(path: path, content: "x")], into: dir) }
        }
        try JobFiles.write([JobFile(path: "b//c.txt", content: "x")], into: dir)
        #expect(FileManager.default.contents(atPath: dir + "/b/c.txt") == Data("x".utf8))
    }

    @Test func firstFailureStopsAndEpilogueRunsEveryLineInOrder() async throws {
        let spec = JobSpec(name: "fail", commands: ["echo one", "exit_code() { return 2; }; exit_code", "echo never"],
                           epilogue: Epilogue(always: ["echo always1", "false", "echo always2"],
                                              onPass: ["echo passed"], onFail: ["echo failed-hook"]))
        let (outcome, log, _) = try await runJob(spec)
        #expect(outcome == JobOutcome(result: .failed, exitCode: 2, failureReason: "command exited with 2"))
        #expect(!log.contains("never"))
        #expect(!log.contains("\npassed"))
        let order = ["one\n", "always1\n", "$ false\n", "always2\n", "failed-hook\n"].map { log.range(of: $0)?.lowerBound }
        #expect(order.allSatisfy { $0 != nil })
        #expect(order.compactMap { $0 } == order.compactMap { $0 }.sorted())
    }

    @Test func exitAndSetEStillRunTheEpilogueInTheSameSession() async throws {
        let setE = JobSpec(name: "e", commands: ["export KEPT=yes", "set -e; false; echo not-here"],
                           epilogue: Epilogue(always: ["echo kept=$KEPT", "exit 7", "echo after-exit"], onFail: ["echo fail-hook"]))
        let (o1, log1, _) = try await runJob(setE)
        #expect(o1 == JobOutcome(result: .failed, exitCode: 1, failureReason: "command exited with 1"))
        #expect(!log1.contains("\nnot-here\n"))
        #expect(log1.contains("kept=yes\n"))
        #expect(log1.contains("after-exit\n"))
        #expect(log1.contains("fail-hook\n"))

        let exit3 = JobSpec(name: "x", commands: ["exit 3", "echo never"], epilogue: Epilogue(onFail: ["echo hook"]))
        let (o2, log2, _) = try await runJob(exit3)
        #expect(o2.exitCode == 3)
        #expect(log2.contains("hook\n") && !log2.contains("never"))

        let syntax = JobSpec(name: "y", commands: ["echo \"unterminated", "echo never"])
        let (o3, log3, _) = try await runJob(syntax)
        #expect(o3.result == .failed && o3.exitCode == 2)
        #expect(!log3.contains("\nnever\n"))
    }

    @Test func timeoutStopsTheJobThenRunsTheFailEpilogue() async throws {
        let spec = JobSpec(name: "t", commands: ["echo start", "sleep 30", "echo never"],
                           epilogue: Epilogue(always: ["echo cleanup"], onPass: ["echo pass-hook"], onFail: ["echo fail-hook"]),
                           timeoutSeconds: 1)
        let started = Date()
        let (outcome, log, _) = try await runJob(spec)
        #expect(outcome == JobOutcome(result: .failed, exitCode: 124, failureReason: "timed out after 1 s"))
        #expect(outcome.processExitCode == 124)
        #expect(log.contains("[mms] timed out after 1 s"))
        #expect(log.contains("cleanup\n") && log.contains("fail-hook\n") && !log.contains("pass-hook"))
        #expect(Date().timeIntervalSince(started) < 120, "a hang, not a speed check")
    }

    @Test func cancelKillsAGrandchildThatIgnoresSIGTERMAfterTheGrace() async throws {
        let spec = JobSpec(name: "c", commands: [
            "bash -c 'trap \"\" TERM; echo $$ > grandchild.pid; while true; do sleep 0.05; done' &", "wait",
        ], epilogue: Epilogue(always: ["echo epilogue-ran"]))
        let pidBox = OutputBox()
        let started = Date()
        let (outcome, log, _) = try await runJob(spec, grace: .milliseconds(700)) { runner, _, jobDir in
            let text = await waitForPid(atPath: jobDir + "/grandchild.pid").map { "\($0)\n" } ?? ""
            pidBox.append(Data(text.utf8))
            runner.cancel(reason: "cancelled by admin")
        }
        #expect(outcome == JobOutcome(result: .cancelled, failureReason: "cancelled by admin"))
        #expect(!log.contains("epilogue-ran"))
        #expect(Date().timeIntervalSince(started) >= 0.7)
        let pid = try #require(Int32(pidBox.text.trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(!processAlive(pid))
    }

    @Test func backgroundProcessesDoNotOutliveAPassingJob() async throws {
        let spec = JobSpec(name: "bg", commands: ["sleep 60 & echo $! > sleeper.pid", "echo done"])
        let (outcome, _, jobDir) = try await runJob(spec)
        #expect(outcome.result == .passed)
        let pid = try #require(Int32((try String(contentsOfFile: jobDir + "/sleeper.pid", encoding: .utf8))
            .trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(!processAlive(pid))
    }

    @Test func descriptorsOfTheAgentDoNotLeakIntoJobs() async throws {
        let path = makeTempDir("fd") + "/held"
        let fd = open(path, O_CREAT | O_RDWR, 0o600)  // deliberately without O_CLOEXEC
        defer { close(fd) }
        let spec = JobSpec(name: "fd", commands: ["ls /proc/$$/fd > fds.txt; tr '\\n' ' ' < fds.txt; echo"])
        let (outcome, log, _) = try await runJob(spec)
        #expect(outcome.result == .passed)
        let listed = log.split(separator: "\n").last(where: { !$0.hasPrefix("$") }).map(String.init) ?? ""
        let fds = Set(listed.split(separator: " ").compactMap { Int32($0) })
        #expect(!fds.contains(fd))
        #expect(fds.isSubset(of: [0, 1, 2, 255]))
    }

    @Test func aTimeoutDuringTheEpilogueDoesNotChangeThePassingResult() async throws {
        let spec = JobSpec(name: "slow-epilogue", commands: ["echo built"],
                           epilogue: Epilogue(always: ["sleep 30"], onPass: ["echo never"]), timeoutSeconds: 1)
        let (outcome, log, _) = try await runJob(spec)
        #expect(outcome == JobOutcome(result: .passed, exitCode: 0))
        #expect(log.contains("[mms] timed out after 1 s: stopping the job\n"))
        #expect(!log.contains("\nnever\n"))
    }
}
