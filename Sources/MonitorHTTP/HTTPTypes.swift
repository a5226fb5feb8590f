import Foundation
import MonitorModels

/// One HTTP request as the routes see it (body complete, within its size limit).
public struct Request: Sendable {
    public var method: String
    public var path: String
    public var query: [String: String]
    public var authorization: String?
    public var contentType: String?
    public var body: Data
    public var clientAddress: String
    /// The `Host` header: the name or address (with `:port` when given) the caller reached this server by.
    public var host: String? = nil
    /// The operator the token belongs to, set by the router on operator routes.
    public var actor: OperatorIdentity? = nil

    /// A request as the router sees it.
    public init(method: String, path: String, query: [String: String], authorization: String?, contentType: String?,
                body: Data, clientAddress: String, actor: OperatorIdentity? = nil) {
        self.method = method
        self.path = path
        self.query = query
        self.authorization = authorization
        self.contentType = contentType
        self.body = body
        self.clientAddress = clientAddress
        self.actor = actor
    }

    /// The host part of `host` (no port, no IPv6 brackets); nil when the request named none or something that
    /// is not a host name or address (only letters, digits, `.`, `-` and, in brackets, `:`).
    public var hostName: String? {
        guard let host, !host.isEmpty, host.utf8.count <= 255 else { return nil }
        let name: Substring
        if host.hasPrefix("[") {
            guard let end = host.firstIndex(of: "]") else { return nil }
            name = host[host.index(after: host.startIndex)..<end]
        } else {
            name = host.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        }
        let allowed = host.hasPrefix("[") ? ".-:" : ".-"
        guard !name.isEmpty, name.allSatisfy({ ($0.isASCII && ($0.isLetter || $0.isNumber)) || allowed.contains($0) }) else { return nil }
        return String(name)
    }

    /// The bearer token, if the request carries one.
    public var bearerToken: String? {
        guard let auth = authorization else { return nil }
        let parts = auth.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        let token = parts[1].trimmingCharacters(in: .whitespaces)
        return token.isEmpty ? nil : token
    }
}

/// An HTTP answer.
public struct Response: Sendable {
    public var status: Int
    public var body: Data
    public var contentType: String
    public var headers: [(String, String)]

    /// An answer with a status, body, content type and extra headers.
    public init(status: Int, body: Data = Data(), contentType: String = "application/json", headers: [(String, String)] = []) {
        self.status = status
        self.body = body
        self.contentType = contentType
        self.headers = headers
    }

    /// A JSON answer.
    public static func json<T: Encodable>(_ value: T, status: Int = 200) -> Response {
        Response(status: status, body: MMSJSON.encode(value))
    }

    /// The contract's JSON error with its status.
    public static func error(_ e: APIError) -> Response {
        Response(status: e.httpStatus, body: MMSJSON.encode(APIErrorEnvelope(error: e)))
    }

    /// 204 with no body.
    public static let noContent = Response(status: 204, contentType: "")
}

/// What a long poll waits on; a wake of a key re-evaluates every poll parked on it.
public enum WaitKey: Hashable, Sendable {
    case agentNext(String)
    case log(Int64)
    case events
}

/// A parked long poll: how to answer it when woken, and when it gives up.
public struct LongPoll: Sendable {
    public var key: WaitKey
    public var deadline: Date
    /// The answer if there is one now; nil keeps waiting (re-parked until the deadline).
    public var answer: @Sendable () -> Response?
    /// The answer at the deadline or at shutdown.
    public var timeout: @Sendable () -> Response
    /// Called once when the request ends however it ends (e.g. a `next` poll stops counting as contact).
    public var finished: (@Sendable () -> Void)?
    /// A wake generation taken when `answer` last found nothing; a park with an older one re-checks first.
    public var generation: UInt64

    /// A poll on `key` until `deadline`.
    public init(key: WaitKey, deadline: Date, answer: @escaping @Sendable () -> Response?,
                timeout: @escaping @Sendable () -> Response, finished: (@Sendable () -> Void)? = nil, generation: UInt64) {
        self.key = key
        self.deadline = deadline
        self.answer = answer
        self.timeout = timeout
        self.finished = finished
        self.generation = generation
    }
}

/// What a route decided: answer now, or park the request as a long poll.
public enum RouteResult: Sendable {
    case respond(Response)
    case wait(LongPoll)
}

/// The body limit a request is held to while it is read.
public enum BodyLimit {
    public static let json = 1 << 20
    public static let logChunk = 1 << 20
}
