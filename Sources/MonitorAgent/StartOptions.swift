import Foundation
import MonitorModels
import ServerAPIClient

/// The settings of `mms-agent start`, from flags with environment fallbacks (flags win).
public struct StartOptions: Sendable, Equatable {
    /// The servers of `--server A,B,…`, preferred first (one URL: a list of one).
    public var servers: ServerList
    /// The preferred server (the first of `servers`).
    public var serverURL: URL { servers.first }
    public var name: String
    public var workDir: String
    public var resources: [String] = []
    public var environments: [String] = []
    public var autoRegisterKey: String?
    /// A CA file that must be in the system trust store (`--ca-cert`); checked at start, adds no trust itself.
    public var caCert: String?
    /// False with `--no-auto-upgrade`: the agent keeps its binary whatever the server offers.
    public var autoUpgrade = true
    /// The settings given by a flag or the environment (`name`, `resources`, `environments`, `autoRegisterKey`):
    /// WORK_DIR/agent-registration.properties fills in only the others.
    public var explicit: Set<String> = []
    /// Where StatsD metrics go (no host: none are sent).
    public var statsd = StatsDOptions()
    /// Container runtime and SSH jump point flags (shared with `serve`).
    public var jobHost = JobHostOptions()

    /// The usage text of `mms-agent`.
    public static let usage = """
    usage: mms-agent start --server URL[,URL…] [--name NAME] [--work-dir DIR] [--resources a,b] [--environments e,f]
                           [--auto-register-key KEY] [--ca-cert PEM] [--no-auto-upgrade]
                           \(StatsDOptions.usage)
                           \(JobHostOptions.usage)
           mms-agent serve --auth-token-secret SECRET [--port 8000] … (mms-agent serve --help)
           mms-agent run JOB.json
           mms-agent version
    """

    /// Parses the arguments after `start`. `env` supplies MS_MON_SERVER_URL, MS_MON_AGENT_NAME,
    /// MMS_AGENT_WORK_DIR, MMS_AUTO_REGISTER_KEY; `hostname` is the default name.
    public static func parse(_ args: [String], env: [String: String], hostname: String) throws(AgentError) -> StartOptions {
        let known: Set<String> = ["--server", "--name", "--work-dir", "--resources", "--environments", "--auto-register-key", "--ca-cert"]
        let flags = try Flags.parse(args, valued: known.union(StatsDOptions.valuedFlags).union(JobHostOptions.valuedFlags),
                                    switches: StatsDOptions.switches.union(JobHostOptions.switches).union(["--no-auto-upgrade"]))
        guard let server = flags["--server"] ?? env["MS_MON_SERVER_URL"], !server.isEmpty else {
            throw .usage("flag --server is required (or set MS_MON_SERVER_URL)")
        }
        let servers: ServerList
        do {
            servers = try ServerList.parse(server)
        } catch {
            throw .usage("flag --server \(error.message)")
        }
        let name = flags["--name"] ?? env["MS_MON_AGENT_NAME"] ?? hostname
        if name.isEmpty { throw .usage("flag --name must not be empty") }
        var options = StartOptions(servers: servers, name: name, workDir: flags["--work-dir"] ?? env["MMS_AGENT_WORK_DIR"] ?? "./mms-agent")
        options.resources = try list(flags["--resources"], flag: "--resources")
        options.environments = try list(flags["--environments"], flag: "--environments")
        options.autoRegisterKey = flags["--auto-register-key"] ?? env["MMS_AUTO_REGISTER_KEY"]
        options.caCert = flags["--ca-cert"]  // checked against the system trust store at start (TrustStore)
        options.statsd = try StatsDOptions.from(flags)
        options.autoUpgrade = flags["--no-auto-upgrade"] == nil
        if flags["--name"] != nil || env["MS_MON_AGENT_NAME"] != nil { options.explicit.insert("name") }
        if flags["--resources"] != nil { options.explicit.insert("resources") }
        if flags["--environments"] != nil { options.explicit.insert("environments") }
        if options.autoRegisterKey != nil { options.explicit.insert("autoRegisterKey") }
        options.workDir = URL(fileURLWithPath: options.workDir).standardizedFileURL.path
        options.jobHost = try JobHostOptions.from(flags, env: env)
        return options
    }

    private static func list(_ text: String?, flag: String) throws(AgentError) -> [String] {
        guard let text else { return [] }
        let items = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        for item in items where !Validation.isTagName(item) {
            throw .usage("flag \(flag): '\(item)' must match [A-Za-z0-9_.-]{1,64}")
        }
        return items
    }
}
