import CMicroHTTPD
import Foundation
import MonitorModels

/// The HTTP front: libmicrohttpd with epoll internal threads, bodies read within their limit,
/// long polls parked in the hub. It knows nothing of MMS; `route` decides every answer.
public final class HTTPServer: @unchecked Sendable {
    /// Where and how to listen.
    public struct Settings: Sendable {
        public var host: String
        public var port: UInt16
        public var threads: Int = 2
        public var connectionTimeoutSeconds: Int = 90
        /// Seconds a client has to send a request head (also the keep-alive idle limit), and its body.
        public var headerTimeoutSeconds: Int = 30
        public var bodyTimeoutSeconds: Int = 60
        /// Connections one client address may hold; 0 for no cap.
        public var connectionsPerIP: Int = 0
        public var tlsCertPEM: String?
        public var tlsKeyPEM: String?
        /// Largest request body taken (413 above it).
        public var maxBodyBytes: Int = BodyLimit.json
        /// What libmicrohttpd's own diagnostics on stderr start with.
        public var logPrefix: String = "mms-server: http"

        /// Settings for `host`:`port`; TLS when both PEM texts are given.
        public init(host: String, port: UInt16, threads: Int = 2, headerTimeoutSeconds: Int = 30, bodyTimeoutSeconds: Int = 60,
                    connectionsPerIP: Int = 0, tlsCertPEM: String? = nil, tlsKeyPEM: String? = nil) {
            self.host = host
            self.port = port
            self.threads = threads
            self.headerTimeoutSeconds = headerTimeoutSeconds
            self.bodyTimeoutSeconds = bodyTimeoutSeconds
            self.connectionsPerIP = connectionsPerIP
            self.tlsCertPEM = tlsCertPEM
            self.tlsKeyPEM = tlsKeyPEM
        }
    }

    /// The parked long polls; wake a key when what its polls wait on changed.
    public let hub = LongPollHub()
    private var logPrefix: UnsafeMutablePointer<CChar>?
    public private(set) var deadlines = RequestDeadlines(headSeconds: 30, bodySeconds: 60)
    private let route: @Sendable (Request) -> RouteResult
    private let observe: @Sendable (_ request: Request, _ status: Int, _ seconds: Double) -> Void
    private var daemon: OpaquePointer?
    private var timer: Thread?
    private let timerStop = NSCondition()
    private var timerStopped = false
    public private(set) var port: UInt16 = 0
    private var bodyLimit = BodyLimit.json
    public private(set) var connectionLimit: Int = 0

    /// A server answering with `route`; `observe` hears each answer's status and time.
    public init(route: @escaping @Sendable (Request) -> RouteResult,
         observe: @escaping @Sendable (Request, Int, Double) -> Void) {
        self.route = route
        self.observe = observe
    }

    /// Starts listening; throws a sentence when the address cannot be used.
    public func start(_ s: Settings) throws(ServerStartError) {
        deadlines = RequestDeadlines(headSeconds: s.headerTimeoutSeconds, bodySeconds: s.bodyTimeoutSeconds)
        bodyLimit = s.maxBodyBytes
        let limit = Int(cmhd_raise_nofile_limit())
        connectionLimit = max(64, limit - 64)  // leave room for the database, logs and the listener
        var errbuf = [CChar](repeating: 0, count: 512)
        if logPrefix == nil { logPrefix = strdup(s.logPrefix) }  // the daemon's logger reads it; freed in deinit
        let cls = Unmanaged.passUnretained(self).toOpaque()
        let d: OpaquePointer? = s.host.withCString { host in
            withOptionalCString(s.tlsCertPEM) { cert in
                withOptionalCString(s.tlsKeyPEM) { key in
                    var c = cmhd_config(
                        host: host, port: s.port, connection_limit: UInt32(connectionLimit),
                        connection_timeout: UInt32(s.connectionTimeoutSeconds), thread_pool_size: UInt32(s.threads),
                        per_ip_connection_limit: UInt32(s.connectionsPerIP), tls_cert_pem: cert, tls_key_pem: key,
                        log_prefix: logPrefix)
                    return cmhd_start(&c, HTTPServer.accessHandler, cls, HTTPServer.completedHandler, cls,
                                      HTTPServer.connectionHandler, cls, &errbuf, errbuf.count)
                }
            }
        }
        guard let d else {
            throw ServerStartError(message: String(decoding: errbuf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        daemon = d
        port = cmhd_bound_port(d)
        let t = Thread { [unowned self] in self.runDeadlines() }
        t.name = "mms-longpoll-deadlines"
        timer = t
        t.start()
    }

    deinit {
        if daemon == nil { free(logPrefix) }  // a daemon never stopped may still log with it
    }

    /// Stops accepting, answers parked polls, lets in-flight requests finish, and stops the daemon.
    public func stop() {
        guard let d = daemon else { return }
        _ = MHD_quiesce_daemon(d)
        hub.stopAll()
        // Resumed polls answer on the daemon's threads (an answer may read the database): wait for
        // every one to be queued, then a moment for the bytes to leave, before connections close.
        let until = Date().addingTimeInterval(5)
        while (hub.count > 0 || hub.unansweredCount > 0) && Date() < until { usleep(5_000) }
        usleep(20_000)
        MHD_stop_daemon(d)
        daemon = nil
        timerStop.withLock {
            timerStopped = true
            timerStop.signal()
        }
    }

    private func runDeadlines() {
        var lastCut = DispatchTime.now().uptimeNanoseconds
        while true {
            let stop = timerStop.withLock { () -> Bool in
                if !timerStopped { _ = timerStop.wait(until: Date().addingTimeInterval(0.025)) }
                return timerStopped
            }
            if stop { return }
            hub.expire(now: Date())
            let now = RequestDeadlines.now()
            if now &- lastCut >= 250_000_000 {
                deadlines.cut(now: now)
                lastCut = now
            }
        }
    }

    // MARK: - libmicrohttpd callbacks

    private static let accessHandler: MHD_AccessHandlerCallback = { cls, connection, url, method, _, uploadData, uploadSize, conCls in
        guard let cls, let connection, let conCls, let uploadSize else { return .NO }
        let server = Unmanaged<HTTPServer>.fromOpaque(cls).takeUnretainedValue()
        if conCls.pointee == nil {
            server.deadlines.headArrived(connection)
            let ctx = server.newContext(connection, url: url, method: method)
            conCls.pointee = Unmanaged.passRetained(ctx).toOpaque()
            if let len = RequestContext.header(connection, "Content-Length").flatMap(Int.init), len > ctx.bodyLimit {
                server.deadlines.requestArrived(connection)
                ctx.tooLarge = true
                ctx.routed = true
                return server.send(ctx, .error(APIError(.payloadTooLarge, "the body is larger than \(ctx.bodyLimit) bytes")))
            }
            return .YES
        }
        let ctx = Unmanaged<RequestContext>.fromOpaque(conCls.pointee!).takeUnretainedValue()
        if uploadSize.pointee > 0 {
            let n = uploadSize.pointee
            if !ctx.tooLarge, let uploadData {
                if ctx.request.body.count + n > ctx.bodyLimit {
                    ctx.tooLarge = true
                    ctx.request.body = Data()
                } else {
                    uploadData.withMemoryRebound(to: UInt8.self, capacity: n) { ctx.request.body.append($0, count: n) }
                }
            }
            uploadSize.pointee = 0
            return .YES
        }
        if !ctx.routed { server.deadlines.requestArrived(connection) }
        return server.respond(ctx)
    }

    private static let completedHandler: MHD_RequestCompletedCallback = { cls, connection, conCls, _ in
        if let cls, let connection {
            Unmanaged<HTTPServer>.fromOpaque(cls).takeUnretainedValue().deadlines.answered(connection)
        }
        guard let conCls, let raw = conCls.pointee else { return }
        let ctx = Unmanaged<RequestContext>.fromOpaque(raw).takeRetainedValue()
        conCls.pointee = nil
        ctx.poll?.finished?()
    }

    private static let connectionHandler: MHD_NotifyConnectionCallback = { cls, connection, _, event in
        guard let cls, let connection else { return }
        let deadlines = Unmanaged<HTTPServer>.fromOpaque(cls).takeUnretainedValue().deadlines
        switch event {
        case .CONNECTION_NOTIFY_STARTED: deadlines.opened(connection, socket: cmhd_connection_fd(connection))
        case .CONNECTION_NOTIFY_CLOSED: deadlines.closed(connection)
        default: break
        }
    }

    private func newContext(_ connection: OpaquePointer, url: UnsafePointer<CChar>?, method: UnsafePointer<CChar>?) -> RequestContext {
        let methodText = method.map { String(cString: $0) } ?? "GET"
        // The peer address is kept by registration and by the audit log (changes: not GET or HEAD);
        // reads skip the lookup.
        var address = ""
        if methodText != "GET" && methodText != "HEAD" {
            var addr = [CChar](repeating: 0, count: 64)
            cmhd_client_address(connection, &addr, addr.count)
            address = String(decoding: addr.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        var request = Request(
            method: methodText,
            path: url.map { String(cString: $0) } ?? "/",
            query: RequestContext.queryArguments(connection),
            authorization: RequestContext.header(connection, "Authorization"),
            contentType: RequestContext.header(connection, "Content-Type"),
            body: Data(),
            clientAddress: address)
        if methodText == "POST" { request.host = RequestContext.header(connection, "Host") }
        return RequestContext(connection: connection, request: request, bodyLimit: bodyLimit)
    }

    /// Routes a complete request, or answers a resumed long poll.
    private func respond(_ ctx: RequestContext) -> MHD_Result {
        if ctx.tooLarge {
            if ctx.routed { return .YES }
            ctx.routed = true
            return send(ctx, .error(APIError(.payloadTooLarge, "the body is larger than \(ctx.bodyLimit) bytes")))
        }
        if !ctx.routed {
            ctx.routed = true
            switch route(ctx.request) {
            case .respond(let r): return send(ctx, r)
            case .wait(let poll): ctx.poll = poll
            }
        }
        guard let poll = ctx.poll else { return .YES }
        while true {
            if let r = poll.answer() { return send(ctx, r) }
            if hub.isStopping || Date() >= poll.deadline { return send(ctx, poll.timeout()) }
            ctx.poll?.generation = hub.currentGeneration
            if let again = ctx.poll?.answer() { return send(ctx, again) }
            if hub.park(ctx) { return .YES }
        }
    }

    private func send(_ ctx: RequestContext, _ r: Response) -> MHD_Result {
        let resp: OpaquePointer? = r.body.withUnsafeBytes { raw in
            MHD_create_response_from_buffer(raw.count, UnsafeMutableRawPointer(mutating: raw.baseAddress), .RESPMEM_MUST_COPY)
        }
        guard let resp else { return .NO }
        if !r.contentType.isEmpty { MHD_add_response_header(resp, "Content-Type", r.contentType) }
        for (k, v) in r.headers { MHD_add_response_header(resp, k, v) }
        let ok = MHD_queue_response(ctx.connection, UInt32(r.status), resp)
        MHD_destroy_response(resp)
        if ctx.poll != nil { hub.answered(ctx) }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - ctx.startedNanos) / 1e9
        observe(ctx.request, r.status, seconds)
        return ok
    }
}

/// Why the server could not start listening.
public struct ServerStartError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var description: String { message }
    public init(message: String) { self.message = message }
}

private func withOptionalCString<R>(_ s: String?, _ body: (UnsafePointer<CChar>?) -> R) -> R {
    guard let s else { return body(nil) }
    return s.withCString { body($0) }
}
