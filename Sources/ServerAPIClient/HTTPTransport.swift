import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import MonitorModels

/// Why a call to the server failed: the server said no (with the contract's JSON error), or it could not be reached.
public enum ClientError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The server answered with an error status and the contract's JSON error.
    case api(status: Int, error: APIError)
    /// The server could not be reached, or the connection broke (down, restarting, wrong address).
    case unreachable(String)
    /// The server answered something this client cannot read.
    case badResponse(String)

    public var description: String {
        switch self {
        case .api(_, let error): error.message
        case .unreachable(let message): message
        case .badResponse(let message): message
        }
    }

    /// The contract's error code when the server sent one.
    public var code: APIErrorCode? {
        if case .api(_, let e) = self { return e.knownCode }
        return nil
    }

    /// HTTP status when the server answered.
    public var status: Int? {
        if case .api(let s, _) = self { return s }
        return nil
    }

    /// True when retrying later may help: unreachable, or a 5xx answer.
    public var isTransient: Bool {
        switch self {
        case .unreachable: true
        case .api(let status, _): status >= 500
        case .badResponse: false
        }
    }
}

/// An HTTP answer: status, headers (lower-cased names) and body.
public struct HTTPReply: Sendable {
    public var status: Int
    public var headers: [String: String]
    public var body: Data
    public init(status: Int, headers: [String: String] = [:], body: Data = Data()) {
        self.status = status
        self.headers = headers
        self.body = body
    }
}

/// Sends requests to an MMS server with a bearer token and turns error answers into ClientError.
/// Every request goes through `servers`: with several servers a call that cannot reach one is tried on the next.
public struct HTTPTransport: Sendable {
    /// The preferred server (the first of `servers`).
    public var baseURL: URL { servers.servers.first }
    /// The servers this transport's calls go to, shared with whoever watches the moves.
    public let servers: ServerPool
    public let token: String
    let session: URLSession
    /// Plain http without URLSession (see `PlainHTTPClient`), per server, when asked for and the URL allows it.
    let direct: [URL: PlainHTTPClient]

    /// A transport for `baseURL` (e.g. http://127.0.0.1:8765) that authenticates with `token`.
    /// For https it trusts the system store only (see `TrustStore`): on Linux a program cannot add a CA.
    public init(baseURL: URL, token: String, directHTTP: Bool = false,
                environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.init(servers: ServerPool(baseURL), token: token, directHTTP: directHTTP, environment: environment)
    }

    /// A transport whose calls go to the servers of `servers` (see `ServerPool`), authenticating with `token`.
    /// With `directHTTP`, an `http://` server is spoken to over sockets of the transport's own (~0.03 ms a
    /// request on loopback instead of URLSession's ~0.5 ms); https, and any http when a proxy is set in the
    /// environment, still go through URLSession.
    public init(servers: ServerPool, token: String, directHTTP: Bool = false,
                environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.servers = servers
        self.token = token
        var direct: [URL: PlainHTTPClient] = [:]
        if directHTTP {
            for url in servers.servers.all { direct[url] = Self.directClient(url, environment: environment) }
        }
        self.direct = direct
        let config = URLSessionConfiguration.ephemeral
        config.timeoutIntervalForRequest = 90
        config.timeoutIntervalForResource = 120
        config.httpMaximumConnectionsPerHost = 8
        config.requestCachePolicy = .reloadIgnoringLocalCacheData
        config.urlCache = nil
        self.session = URLSession(configuration: config)
    }

    /// The direct client for a plain `http://` URL with a host, unless a proxy variable is set (libcurl honours those).
    static func directClient(_ url: URL, environment: [String: String]) -> PlainHTTPClient? {
        guard url.scheme?.lowercased() == "http", var host = url.host, !host.isEmpty else { return nil }
        let proxies = ["http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"]
        if proxies.contains(where: { !(environment[$0] ?? "").isEmpty }) { return nil }
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return PlainHTTPClient(host: host, port: UInt16(url.port ?? 80), server: url.absoluteString)
    }

    /// Builds the URL for an API path such as "/api/v1/agents" with query items, on the server in use.
    public func url(_ path: String, query: [(String, String)] = []) -> URL {
        Self.url(servers.inUse, path, query: query)
    }

    /// Builds the URL for an API path with query items on the server at `base`.
    static func url(_ base: URL, _ path: String, query: [(String, String)]) -> URL {
        var comps = URLComponents(url: base, resolvingAgainstBaseURL: false) ?? URLComponents()
        let prefix = comps.path.hasSuffix("/") ? String(comps.path.dropLast()) : comps.path
        comps.percentEncodedPath = prefix + path
        if !query.isEmpty {
            comps.queryItems = query.map { URLQueryItem(name: $0.0, value: $0.1) }
        }
        return comps.url ?? base
    }

    /// Sends one request; any status >= 400 becomes `ClientError.api`, transport failures `.unreachable`.
    /// `timeout` bounds the whole request (long polls pass more than their wait). A request that creates
    /// something passes `repeatable: false`: it is tried on another server only when it surely never got anywhere.
    /// A long poll (a `wait` above 0 in the query) follows the pool when it moves (`ServerPool.runFollowingMoves`).
    public func send(
        _ method: String, _ path: String, query: [(String, String)] = [], body: Data? = nil,
        contentType: String = "application/json", timeout: TimeInterval = 30, repeatable: Bool = true
    ) async throws(ClientError) -> HTTPReply {
        let attempt: @Sendable (URL) async throws(ClientError) -> HTTPReply = { (base) async throws(ClientError) in
            try await sendOnce(to: base, method, path, query: query, body: body, contentType: contentType, timeout: timeout)
        }
        if repeatable, query.contains(where: { $0.0 == "wait" && (Int($0.1) ?? 0) > 0 }) {
            return try await servers.runFollowingMoves(attempt)
        }
        return try await servers.run(repeatable: repeatable, attempt)
    }

    /// One try of a request at the server `base`.
    func sendOnce(
        to base: URL, _ method: String, _ path: String, query: [(String, String)], body: Data?,
        contentType: String, timeout: TimeInterval
    ) async throws(ClientError) -> HTTPReply {
        if let plain = direct[base] {
            var comps = URLComponents(url: Self.url(base, path, query: query), resolvingAgainstBaseURL: false) ?? URLComponents()
            if comps.percentEncodedPath.isEmpty { comps.percentEncodedPath = "/" }
            var headers = [("Authorization", "Bearer \(token)"), ("Accept", "application/json")]
            if body != nil { headers.append(("Content-Type", contentType)) }
            let reply = try await plain.send(
                method: method, target: comps.percentEncodedPath + (comps.percentEncodedQuery.map { "?" + $0 } ?? ""),
                headers: headers, body: body, timeout: timeout)
            if reply.status >= 400 { throw Self.apiError(reply) }
            return reply
        }
        var request = URLRequest(url: Self.url(base, path, query: query))
        request.httpMethod = method
        request.timeoutInterval = timeout
        request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        request.setValue("application/json", forHTTPHeaderField: "Accept")
        if let body {
            request.httpBody = body
            request.setValue(contentType, forHTTPHeaderField: "Content-Type")
        }
        let data: Data
        let response: URLResponse
        do {
            (data, response) = try await session.data(for: request)
        } catch {
            throw .unreachable("cannot reach the server at \(base.absoluteString): \(Self.describe(error))")
        }
        guard let http = response as? HTTPURLResponse else {
            throw .badResponse("the server at \(base.absoluteString) did not answer HTTP")
        }
        var headers: [String: String] = [:]
        for (k, v) in http.allHeaderFields {
            if let k = k as? String, let v = v as? String { headers[k.lowercased()] = v }
        }
        let reply = HTTPReply(status: http.statusCode, headers: headers, body: data)
        if reply.status >= 400 {
            throw Self.apiError(reply)
        }
        return reply
    }

    /// Sends JSON and decodes a JSON answer.
    public func json<Out: Decodable>(
        _ method: String, _ path: String, query: [(String, String)] = [], body: (some Encodable)? = Optional<Int>.none,
        as: Out.Type, timeout: TimeInterval = 30, repeatable: Bool = true
    ) async throws(ClientError) -> Out {
        let data = body.map { MMSJSON.encode($0) }
        let reply = try await send(method, path, query: query, body: data, timeout: timeout, repeatable: repeatable)
        return try decode(Out.self, reply.body)
    }

    /// Decodes an answer body, reporting unreadable answers as `.badResponse`.
    public func decode<Out: Decodable>(_ type: Out.Type, _ data: Data) throws(ClientError) -> Out {
        do {
            return try MMSJSON.decode(type, from: data)
        } catch {
            throw .badResponse("the server sent an answer this client cannot read: \(error.message)")
        }
    }

    /// The typed error of an error answer: the contract's JSON error, or a sentence quoting the body.
    static func apiError(_ reply: HTTPReply) -> ClientError {
        if let env = try? MMSJSON.decode(APIErrorEnvelope.self, from: reply.body) {
            return .api(status: reply.status, error: env.error)
        }
        let text = String(decoding: reply.body.prefix(200), as: UTF8.self)
        let code: APIErrorCode = reply.status >= 500 ? .internalError : .badRequest
        return .api(status: reply.status, error: APIError(code, "the server answered \(reply.status): \(text)"))
    }

    /// How `describe` says a connection the server refused.
    static let refused = "connection refused"
    /// How `describe` says a host name that does not resolve.
    static let unknownHost = "unknown host"
    /// How `describe` says a failure that happened before the request left this machine (safe to send elsewhere).
    static let notSentReasons = [refused, unknownHost]

    /// A transport failure in a few words ("connection refused", "timed out", a TLS hint…).
    static func describe(_ error: Error) -> String {
        guard let u = error as? URLError else { return error.localizedDescription }
        switch u.code {
        case .cannotConnectToHost: return refused
        case .timedOut: return "timed out"
        case .networkConnectionLost: return "connection lost"
        case .cannotFindHost, .dnsLookupFailed: return unknownHost
        case .secureConnectionFailed, .serverCertificateUntrusted, .serverCertificateHasBadDate,
             .serverCertificateNotYetValid, .serverCertificateHasUnknownRoot:
            return TLSFailure.describe(u.localizedDescription, untrusted: true)
        default:
            // libcurl's TLS failures reach URLSession on Linux as code -1 (unknown) with curl's message.
            return TLSFailure.isTLS(u.localizedDescription)
                ? TLSFailure.describe(u.localizedDescription, untrusted: false) : u.localizedDescription
        }
    }
}

/// Turns libcurl's TLS failure messages into a sentence that says what to do.
enum TLSFailure {
    /// True when curl's message is about TLS ("SSL certificate problem: …", "SSL: no alternative …", "OpenSSL/…").
    static func isTLS(_ message: String) -> Bool {
        message.contains("SSL") || message.contains("TLS") || message.contains("certificate")
    }

    /// "TLS handshake failed (MESSAGE): WHAT TO DO".
    static func describe(_ message: String, untrusted: Bool) -> String {
        let hint: String
        if untrusted || message.contains("certificate problem") || message.contains("unknown root") {
            hint = "the server's certificate is not trusted here; install its CA in the system store: "
                + "\(TrustStore.installHint("CA.pem")) (--ca-cert CA.pem then checks it is there)"
        } else if message.contains("subject name") || message.contains("host name") {
            hint = "the server's certificate does not name this host; use a --server URL whose host is in the "
                + "certificate's subjectAltName"
        } else if message.contains("wrong version number") {
            hint = "the server does not seem to speak https; try an http:// --server URL"
        } else {
            hint = "check the server's --tls-cert and that its CA is in this machine's system store"
        }
        return "TLS handshake failed (\(message)): \(hint)"
    }
}
