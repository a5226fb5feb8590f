import Foundation
import MMSTestSupport
import Testing

/// The real mms-console against the real mms-server over https (a CA made at test time).
@Suite(.serialized) struct TLSConsoleTests {
    /// In tmux, in a private mount namespace whose system bundle holds the test CA (as after
    /// `update-ca-certificates`), with a real agent in another such namespace: connected, lists the agent,
    /// authorizes it over https.
    @Test(.enabled(if: PrivateTrustStore.isAvailable, "needs unshare -m and a bind mount (root or CAP_SYS_ADMIN)"))
    func theConsoleWithTheCAInstalledConnectsListsAndAuthorizesOverHTTPS() async throws {
        let ca = try await TestCA.make()
        defer { ca.remove() }
        let server = try ServerProcess(extra: ["--tls-cert", ca.certPath, "--tls-key", ca.keyPath])
        defer { server.stop(); server.removeData() }
        let products = ServerProcess.productsDir
        let workDir = ca.dir + "/agent"
        let agent = Process()
        agent.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        agent.arguments = PrivateTrustStore.wrap(
            [products.appendingPathComponent("mms-agent").path, "start", "--server", server.url.absoluteString,
             "--name", "tls-agent", "--work-dir", workDir, "--ca-cert", ca.caPath], bundle: ca.bundlePath)
        agent.standardOutput = FileHandle.nullDevice
        agent.standardError = FileHandle.nullDevice
        try agent.run()
        defer { if agent.isRunning { kill(agent.processIdentifier, SIGKILL) } }  // never blocks a pool thread

        let tokenFile = ca.dir + "/admin.token"
        try Data(server.token.utf8).write(to: URL(fileURLWithPath: tokenFile))
        let console = PrivateTrustStore.shellLine(
            [products.appendingPathComponent("mms-console").path, "--server", server.url.absoluteString,
             "--token-file", tokenFile, "--ca-cert", ca.caPath], bundle: ca.bundlePath)
        let tmux = try Tmux(width: 120, height: 40, command: "env TERM=tmux-256color \(console); echo CONSOLE-EXITED $?; sleep 20")
        defer { tmux.kill() }

        var step = await tmux.waitUntil { $0.contains("tls-agent") && $0.contains("Pending") }
        #expect(step.found && step.screen.contains("connected") && step.screen.contains(server.url.absoluteString),
                "connected to the https server, the pending agent listed:\n\(step.screen)")
        tmux.send("a")
        step = await tmux.waitFor("authorized tls-agent")
        #expect(step.found, "authorize over https:\n\(step.screen)")
        step = await tmux.waitFor("Idle")
        #expect(step.found, "the agent turns idle:\n\(step.screen)")
        tmux.send("q")
        step = await tmux.waitFor("CONSOLE-EXITED 0")
        #expect(step.found, "q exits 0:\n\(step.screen)")
        agent.terminate()
        #expect(await eventually { !agent.isRunning } && agent.terminationStatus == 0, "the agent stops on SIGTERM")
    }

    /// The host's system store does not hold the test CA: exit 2 before the terminal is touched.
    @Test func withoutTheCAInstalledTheConsoleSaysHowToInstallIt() async throws {
        let ca = try await TestCA.make()
        defer { ca.remove() }
        let server = try ServerProcess(extra: ["--tls-cert", ca.certPath, "--tls-key", ca.keyPath])
        defer { server.stop(); server.removeData() }
        let console = ServerProcess.productsDir.appendingPathComponent("mms-console").path
        let args = ["--server", server.url.absoluteString, "--token", server.token]

        let checked = try await ProgramRun.run(console, args + ["--ca-cert", ca.caPath])
        #expect(checked.status == 2)
        #expect(checked.stderr == "mms-console: --ca-cert \(ca.caPath): this CA is not in the system trust store, and the HTTP "
            + "client on Linux trusts only that store; install it: cp \(ca.caPath) /usr/local/share/ca-certificates/mms-ca.crt "
            + "&& update-ca-certificates\n", "one line:\n\(checked.stderr)")

        let unchecked = try await ProgramRun.run(console, args)
        #expect(unchecked.status == 2)
        #expect(unchecked.stderr.contains("TLS handshake failed")
            && unchecked.stderr.contains("install its CA in the system store: cp CA.pem /usr/local/share/ca-certificates/mms-ca.crt"),
            "the TLS failure and the hint:\n\(unchecked.stderr)")
        #expect(checked.stdout.isEmpty && unchecked.stdout.isEmpty, "terminal untouched")
    }
}
