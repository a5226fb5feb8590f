import Foundation
import MonitorModels

/// A running mms-server: the store, the dispatcher, the HTTP front and the ticker, wired together.
public final class MMSServer: @unchecked Sendable {
    let core: ServiceCore
    private let http: HTTPServer
    private let ticker: Ticker
    private let binaryWatcher: AgentBinaryWatcher
    /// The drivers of push agents (`mms-agent serve`).
    private let push: PushSupervisor
    /// Shared database: the thread that hears the other servers' changes.
    private let listener: ReplicaListener?
    private let stopLock = NSLock()
    private var stopped = false

    /// The address it listens on, e.g. http://127.0.0.1:8765.
    public let url: URL
    /// The port it listens on (useful after --port 0).
    public let port: Int
    /// The admin token in force.
    public let adminToken: String
    /// Every route as "METHOD /path/{param}" (used to check docs/openapi.yaml against the server).
    public let routeTable: [String]
    /// Who may call each route (the role test walks it).
    let routeAccess: [String: Access]

    /// Opens the data dir, loads the state and starts listening.
    public static func start(_ options: ServerOptions) throws(ServerStartError) -> MMSServer {
        try MMSServer(options)
    }

    private init(_ o: ServerOptions) throws(ServerStartError) {
        try DataDir.prepare(o.dataDir)
        let store = try ServiceCore.openStore(dataDir: o.dataDir, databaseURL: o.databaseURL)
        adminToken = try DataDir.adminToken(o.adminToken, dataDir: o.dataDir, shared: o.databaseURL == nil ? nil : store)
        var settings = ServerSettings(adminToken: adminToken, autoRegisterKey: o.autoRegisterKey,
                                      pingIntervalSeconds: o.pingInterval, lostContactAfter: o.lostContactAfter,
                                      logRetention: o.logRetentionDays == 0 ? nil : TimeInterval(o.logRetentionDays) * 86400)
        settings.agentBinary = AgentBinary(path: o.agentBinary)
        settings.agentBinary.refresh()
        binaryWatcher = AgentBinaryWatcher(binary: settings.agentBinary, interval: TimeInterval(o.pingInterval))
        let core = try ServiceCore.load(store, settings: settings, now: Date())
        self.core = core
        let router = Router.mms(core)
        routeTable = router.table
        routeAccess = router.access
        let metrics = core.metrics
        http = HTTPServer(
            route: { router.handle($0) },
            observe: { req, status, seconds in
                let longPoll = req.path.hasSuffix("/next") || req.path.hasSuffix("/events") || req.query["wait"] != nil
                metrics.observeRequest(status: status, seconds: seconds, isLongPoll: longPoll)
            })
        core.http = http
        var tls: (String, String)?
        if let cert = o.tlsCert, let key = o.tlsKey {
            guard let c = try? String(contentsOfFile: cert, encoding: .utf8) else {
                throw ServerStartError(message: "--tls-cert \(cert): cannot read the file")
            }
            guard let k = try? String(contentsOfFile: key, encoding: .utf8) else {
                throw ServerStartError(message: "--tls-key \(key): cannot read the file")
            }
            tls = (c, k)
        }
        try http.start(.init(host: o.host, port: o.port, threads: o.threads, headerTimeoutSeconds: o.headerTimeout,
                             bodyTimeoutSeconds: o.bodyTimeout, connectionsPerIP: o.maxConnectionsPerIP,
                             tlsCertPEM: tls?.0, tlsKeyPEM: tls?.1))
        port = Int(http.port)
        let listening = "\(o.host.contains(":") ? "[\(o.host)]" : o.host):\(port)"
        core.replicaID.withLock { $0 = o.replicaID ?? listening }
        let scheme = tls == nil ? "http" : "https"
        let hostPart = o.host.contains(":") ? "[\(o.host)]" : o.host
        url = URL(string: "\(scheme)://\(hostPart):\(port)") ?? URL(fileURLWithPath: "/")
        ticker = Ticker(core: core)
        ticker.start()
        binaryWatcher.start()
        let push = PushSupervisor(core: core)
        self.push = push
        http.hub.observe { push.woke($0) }
        push.start()
        if let shared = store as? PostgresStore {
            core.renewSweeperLease(now: Date())
            listener = ReplicaListener(conninfo: shared.conninfo, core: core)
            listener?.start()
        } else {
            listener = nil
        }
    }

    /// Stops accepting, answers in-flight requests and long polls, and closes the database.
    public func stop() {
        let first = stopLock.withLock { () -> Bool in
            defer { stopped = true }
            return !stopped
        }
        guard first else { return }
        ticker.stop()
        binaryWatcher.stop()
        push.stop()
        listener?.stop()
        http.stop()
        core.close()
    }

    deinit { stop() }
}

extension Router {
    /// Every route of the contract.
    static func mms(_ core: ServiceCore) -> Router {
        var r = Router(authenticate: { req throws(APIError) in try core.authenticateOperator(req) })
        // Answers that never change are encoded once (these are the hot path of health checks).
        let health = Response.json(HealthStatus())
        let unhealthy = Response.json(HealthStatus(status: "unavailable", database: "unreachable"), status: 503)
        r.add("GET", "/healthz", .open) { _, _ throws(APIError) in .respond(core.isDatabaseReachable ? health : unhealthy) }
        r.add("GET", "/api/v1/version", .open) { _, _ throws(APIError) in
            .respond(.json(VersionInfo(agentSHA256: core.settings.agentBinary.sha256)))
        }
        r.add("GET", "/metrics", .open) { _, _ throws(APIError) in
            .respond(Response(status: 200, body: Data(core.renderMetrics().utf8), contentType: "text/plain; version=0.0.4"))
        }
        r.addAgentRoutes(core)
        r.addAgentBinaryRoutes(core)
        r.addLogRoutes(core)
        // Before /api/v1/agents/{uuid}, which would take POST .../push as an agent named "push".
        r.add("POST", "/api/v1/agents/push", .role(.admin)) { req, _ throws(APIError) in .respond(try core.addPushAgent(req)) }
        r.addAdminAgentRoutes(core)
        r.addAdminJobRoutes(core)
        r.addAdminConfigRoutes(core)
        r.addStatsRoutes(core)
        r.addOperatorRoutes(core)
        return r
    }
}

/// Runs the service's periodic work every 100 ms (lost contact, deadlines of cancels, lastSeenAt flush),
/// and log retention every minute.
final class Ticker: @unchecked Sendable {
    private let core: ServiceCore
    private let cond = NSCondition()
    private var stopping = false
    private var thread: Thread?

    init(core: ServiceCore) { self.core = core }

    func start() {
        let t = Thread { [self] in
            var ticks = 0
            var sampledMinute: Int64 = -1
            while true {
                let stop = cond.withLock { () -> Bool in
                    if !stopping { _ = cond.wait(until: Date().addingTimeInterval(0.1)) }
                    return stopping
                }
                if stop { return }
                ticks += 1
                core.tick(now: Date(), flush: ticks % core.contactFlushTicks == 0)
                if ticks % 600 == 1 {  // at start, then every minute
                    core.removeExpiredLogs(now: Date())
                    core.trimSharedEvents()
                    core.trimAudit(now: Date())
                }
                if ticks % 10 == 0 {
                    core.checkDatabase()
                    core.renewSweeperLease(now: Date())
                    let now = Date()
                    if FleetHistory.minute(now) != sampledMinute, core.sampleFleet(now: now) {
                        sampledMinute = FleetHistory.minute(now)
                    }
                }
            }
        }
        t.name = "mms-ticker"
        thread = t
        t.start()
    }

    func stop() {
        cond.withLock {
            stopping = true
            cond.signal()
        }
    }
}
