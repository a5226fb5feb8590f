import Foundation
import MonitorHTTP
import MonitorModels
#if canImport(Glibc)
import Glibc
#endif

extension AgentCommand {
    /// `mms-agent serve`: flags, the TLS files, the work-dir lock and leftovers of a crashed run, then the push
    /// API until SIGTERM (which stops the running job as `start` does).
    static func serve(_ args: [String]) async throws(AgentError) {
        let options = try ServeOptions.parse(args, env: ProcessInfo.processInfo.environment, hostname: Host.name)
        let tls = options.insecureHTTP ? nil : try options.tlsPEM()
        let statsd = try StatsD.make(options.statsd, agentName: options.name)
        let lock = try WorkDirLock.acquire(workDir: options.workDir)
        defer { withExtendedLifetime(lock) {} }
        let log = AgentLogger.stderr
        if let pgid = PgidFile.killLeftovers(at: options.workDir + "/job.pgid") {
            log("killed process group \(pgid) left by an earlier run of the agent")
        }
        let runtime = try await checkContainerRuntime(options.jobHost, workDir: options.workDir, log: log)
        ProcessControl.becomeSubreaper()
        let agent = ServeAgent(options: options, log: log, statsd: statsd, grace: graceFromEnvironment(), containerRuntime: runtime)
        defer { agent.shutDown() }
        let router = Router.serve(agent)
        let http = HTTPServer(route: { router.handle($0) }, observe: { _, _, _ in })
        var settings = HTTPServer.Settings(host: options.host, port: options.port, tlsCertPEM: tls?.cert, tlsKeyPEM: tls?.key)
        settings.logPrefix = "mms-agent: http"
        settings.maxBodyBytes = 16 << 20  // a job with its files and the configuration it may see
        do {
            try http.start(settings)
        } catch {
            if tls != nil {
                throw .unreadableFile("cannot serve HTTPS with --tls-cert-path \(options.tlsCertPath) and --tls-key-path "
                    + "\(options.tlsKeyPath): \(error.message) (are they a PEM certificate and its private key?)")
            }
            throw .io(error.message)
        }
        agent.attach(http.hub)
        if options.insecureHTTP { log("serving plain HTTP (--insecure-http): tokens and logs cross the network unencrypted") }
        let host = options.host.contains(":") ? "[\(options.host)]" : options.host
        LocalRun.writeAll(1, Data("mms-agent serving on \(options.insecureHTTP ? "http" : "https")://\(host):\(http.port)\n".utf8))
        let sshNote = options.jobHost.sshJumpPoint ? ", SSH jump points in \(options.jobHost.authorizedKeys ?? "")" : ""
        log("mms-agent \(MMSVersion.current) serving: work dir \(options.workDir)\(sshNote)")
        let stopped = WakeSignal()
        let signals = SignalWatcher(signals: [SIGTERM, SIGINT]) { _ in stopped.notify() }
        defer { signals.cancel() }
        await stopped.wait()
        await agent.stop()
        http.stop()
        log("stopped")
    }
}
