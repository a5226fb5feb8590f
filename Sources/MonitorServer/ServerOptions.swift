import Foundation

/// mms-server's settings from flags and environment (flags win).
public struct ServerOptions: Sendable, Equatable {
    public var host = "127.0.0.1"
    public var port: UInt16 = 8765
    public var dataDir = "./mms-data"
    public var adminToken: String?
    public var autoRegisterKey: String?
    public var pingInterval = 5
    public var lostContactAfter: TimeInterval = 300
    public var tlsCert: String?
    public var tlsKey: String?
    /// libmicrohttpd epoll threads.
    public var threads = 2
    /// Seconds a client has to send a request head (also how long an idle kept-alive connection stays).
    public var headerTimeout = 30
    /// Seconds a client has to send a request body once its head arrived.
    public var bodyTimeout = 60
    /// Connections one client address may hold at once; 0 for no cap.
    public var maxConnectionsPerIP = 0
    /// Days a completed job's log is kept; 0 keeps logs forever.
    public var logRetentionDays = 90
    /// PostgreSQL to keep everything in (a postgres:// URL or a libpq key=value string); nil for SQLite in the data dir.
    public var databaseURL: String?
    /// This server's name among replicas (/metrics `mms_build_info`); nil for HOST:PORT.
    public var replicaID: String?
    /// The agent binary offered at GET /api/v1/agent-binary (`--agent-binary`); mms-server's main defaults it to
    /// `mms-agent` beside its own executable when that exists. Nil offers none.
    public var agentBinary: String?

    public init() {}

    /// What the command line asks for.
    public enum Command: Sendable, Equatable {
        case run(ServerOptions)
        case help
        case version
    }

    public static let usage = """
        usage: mms-server [--host 127.0.0.1] [--port 8765] [--data-dir ./mms-data | --database postgres://USER@HOST:PORT/DB]
                          [--admin-token TOKEN] [--auto-register-key KEY] [--replica-id ID]
                          [--ping-interval 5] [--lost-contact-after 300]
                          [--tls-cert PEM --tls-key PEM] [--log-retention 90] [--agent-binary PATH] [--version] [--help]
        tuning: [--threads 2] [--header-timeout 30] [--body-timeout 60] [--max-connections-per-ip 0]
               mms-server operator add|list|remove|rotate …   (see mms-server operator --help)
        env: MMS_HOST, MMS_PORT, MMS_DATA_DIR, MMS_DATABASE_URL, MMS_ADMIN_TOKEN, MMS_AUTO_REGISTER_KEY (flags win)
        """

    /// Parses flags (after the program name) over environment fallbacks; the error names the flag.
    public static func parse(_ args: [String], environment env: [String: String]) throws(OptionsError) -> Command {
        var o = ServerOptions()
        if let v = env["MMS_HOST"], !v.isEmpty { o.host = v }
        if let v = env["MMS_PORT"], !v.isEmpty { o.port = try port(v, flag: "MMS_PORT") }
        if let v = env["MMS_DATA_DIR"], !v.isEmpty { o.dataDir = v }
        if let v = env["MMS_ADMIN_TOKEN"], !v.isEmpty { o.adminToken = v }
        if let v = env["MMS_AUTO_REGISTER_KEY"], !v.isEmpty { o.autoRegisterKey = v }
        if let v = env["MMS_DATABASE_URL"], !v.isEmpty { o.databaseURL = v }
        var i = 0
        func value(_ flag: String) throws(OptionsError) -> String {
            i += 1
            guard i < args.count, !args[i].hasPrefix("--") || args[i] == "--" else { throw OptionsError("\(flag) needs a value") }
            return args[i]
        }
        while i < args.count {
            var arg = args[i]
            var inline: String?
            if arg.hasPrefix("--"), let eq = arg.firstIndex(of: "=") {
                inline = String(arg[arg.index(after: eq)...])
                arg = String(arg[..<eq])
            }
            func v() throws(OptionsError) -> String { if let inline { return inline }; return try value(arg) }
            switch arg {
            case "--help", "-h": return .help
            case "--version": return .version
            case "--host": o.host = try v()
            case "--port": o.port = try port(try v(), flag: "--port")
            case "--data-dir": o.dataDir = try v()
            case "--admin-token": o.adminToken = try v()
            case "--auto-register-key": o.autoRegisterKey = try v()
            case "--ping-interval": o.pingInterval = try int(try v(), flag: "--ping-interval", 1...3600)
            case "--lost-contact-after": o.lostContactAfter = TimeInterval(try int(try v(), flag: "--lost-contact-after", 1...86400))
            case "--tls-cert": o.tlsCert = try v()
            case "--tls-key": o.tlsKey = try v()
            case "--database": o.databaseURL = try v()
            case "--replica-id": o.replicaID = try v()
            case "--agent-binary": o.agentBinary = try v()
            case "--log-retention": o.logRetentionDays = try int(try v(), flag: "--log-retention", 0...36500)
            case "--threads": o.threads = try int(try v(), flag: "--threads", 1...64)
            case "--header-timeout": o.headerTimeout = try int(try v(), flag: "--header-timeout", 1...3600)
            case "--body-timeout": o.bodyTimeout = try int(try v(), flag: "--body-timeout", 1...3600)
            case "--max-connections-per-ip": o.maxConnectionsPerIP = try int(try v(), flag: "--max-connections-per-ip", 0...1_000_000)
            default: throw OptionsError("unknown flag \(arg)")
            }
            i += 1
        }
        if (o.tlsCert == nil) != (o.tlsKey == nil) { throw OptionsError("--tls-cert and --tls-key go together") }
        if o.host.isEmpty { throw OptionsError("--host must not be empty") }
        if o.dataDir.isEmpty { throw OptionsError("--data-dir must not be empty") }
        if let b = o.agentBinary, b.isEmpty { throw OptionsError("--agent-binary must not be empty") }
        if let t = o.adminToken, t.isEmpty { throw OptionsError("--admin-token must not be empty") }
        if let d = o.databaseURL, d.isEmpty || !(d.hasPrefix("postgres://") || d.hasPrefix("postgresql://") || d.contains("=")) {
            throw OptionsError("--database must be a postgres:// URL or a libpq key=value string, not '\(d)'")
        }
        if let r = o.replicaID, r.isEmpty || r.count > 128 || r.contains(where: { $0 == "\"" || $0 == "\\" || $0.isNewline }) {
            throw OptionsError("--replica-id must be 1-128 characters without quotes, backslashes or newlines")
        }
        return .run(o)
    }

    private static func port(_ text: String, flag: String) throws(OptionsError) -> UInt16 {
        guard let p = UInt16(text) else { throw OptionsError("\(flag) must be a port number from 0 to 65535, not '\(text)'") }
        return p
    }

    private static func int(_ text: String, flag: String, _ range: ClosedRange<Int>) throws(OptionsError) -> Int {
        guard let n = Int(text), range.contains(n) else {
            throw OptionsError("\(flag) must be a whole number from \(range.lowerBound) to \(range.upperBound), not '\(text)'")
        }
        return n
    }
}

/// A bad flag, with a sentence that names it.
public struct OptionsError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
