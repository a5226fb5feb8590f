import Foundation
import MonitorModels

/// The settings of `mms-agent serve` (a push agent), from flags with environment fallbacks (flags win).
public struct ServeOptions: Sendable, Equatable {
    /// The HMAC-SHA256 key of the JWTs callers present (`--auth-token-secret` or MMS_AGENT_AUTH_TOKEN_SECRET).
    public var authTokenSecret: String
    public var host = "0.0.0.0"
    public var port: UInt16 = 8000
    public var workDir: String
    /// Name in StatsD tags and the agent's log lines (`--name`, MS_MON_AGENT_NAME, else the hostname).
    public var name: String
    public var tlsCertPath = "server.crt"
    public var tlsKeyPath = "server.key"
    /// Plain HTTP (`--insecure-http`): said on stderr at start.
    public var insecureHTTP = false
    public var statsd = StatsDOptions()
    /// Container runtime and SSH jump point flags (shared with `start`).
    public var jobHost = JobHostOptions()

    /// The environment variable holding the secret, so it need not sit in `ps`.
    public static let secretVariable = "MMS_AGENT_AUTH_TOKEN_SECRET"

    /// The usage text of `mms-agent serve`.
    public static let usage = """
    usage: mms-agent serve [--auth-token-secret SECRET] [--host 0.0.0.0] [--port 8000] [--work-dir DIR] [--name NAME]
                           [--tls-cert-path server.crt --tls-key-path server.key | --insecure-http]
                           \(StatsDOptions.usage)
                           \(JobHostOptions.usage)
           (the secret may come from \(secretVariable) instead; at least 16 bytes)
    """

    init(authTokenSecret: String, workDir: String, name: String) {
        self.authTokenSecret = authTokenSecret
        self.workDir = workDir
        self.name = name
    }

    /// Parses the arguments after `serve`. `env` supplies MMS_AGENT_AUTH_TOKEN_SECRET, MMS_AGENT_WORK_DIR and
    /// MS_MON_AGENT_NAME; `hostname` is the default name.
    public static func parse(_ args: [String], env: [String: String], hostname: String) throws(AgentError) -> ServeOptions {
        let valued: Set<String> = ["--auth-token-secret", "--host", "--port", "--work-dir", "--name", "--tls-cert-path", "--tls-key-path"]
        let flags = try Flags.parse(args, valued: valued.union(StatsDOptions.valuedFlags).union(JobHostOptions.valuedFlags),
                                    switches: StatsDOptions.switches.union(JobHostOptions.switches).union(["--insecure-http"]))
        guard let secret = flags["--auth-token-secret"] ?? env[secretVariable], !secret.isEmpty else {
            throw .usage("flag --auth-token-secret is required (or set \(secretVariable))")
        }
        guard secret.utf8.count >= PushAgentRequest.minimumSecretBytes else {
            throw .usage("flag --auth-token-secret must be at least \(PushAgentRequest.minimumSecretBytes) bytes long")
        }
        let name = flags["--name"] ?? env["MS_MON_AGENT_NAME"] ?? hostname
        var o = ServeOptions(authTokenSecret: secret, workDir: flags["--work-dir"] ?? env["MMS_AGENT_WORK_DIR"] ?? "./mms-agent",
                             name: name.isEmpty ? hostname : name)
        if let host = flags["--host"] {
            guard !host.isEmpty else { throw .usage("flag --host must not be empty") }
            o.host = host
        }
        if let p = flags["--port"] {
            guard let port = UInt16(p) else { throw .usage("flag --port must be a port from 0 to 65535") }
            o.port = port
        }
        o.insecureHTTP = flags["--insecure-http"] != nil
        if o.insecureHTTP && (flags["--tls-cert-path"] != nil || flags["--tls-key-path"] != nil) {
            throw .usage("flag --insecure-http cannot be combined with --tls-cert-path or --tls-key-path")
        }
        o.tlsCertPath = flags["--tls-cert-path"] ?? o.tlsCertPath
        o.tlsKeyPath = flags["--tls-key-path"] ?? o.tlsKeyPath
        o.statsd = try StatsDOptions.from(flags)
        o.jobHost = try JobHostOptions.from(flags, env: env)
        o.workDir = URL(fileURLWithPath: o.workDir).standardizedFileURL.path
        return o
    }

    /// The PEM texts of the certificate and key; an error naming the file that is missing or unreadable.
    func tlsPEM() throws(AgentError) -> (cert: String, key: String) {
        func read(_ path: String, _ flag: String) throws(AgentError) -> String {
            guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8), !text.isEmpty else {
                throw .unreadableFile("\(flag) \(path): cannot read the file (pass a PEM file, or --insecure-http for plain HTTP)")
            }
            return text
        }
        return (try read(tlsCertPath, "--tls-cert-path"), try read(tlsKeyPath, "--tls-key-path"))
    }
}
