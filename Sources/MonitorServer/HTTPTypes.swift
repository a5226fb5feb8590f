import Foundation
import MonitorModels

/// One HTTP request as the routes see it (body complete, within its size limit).
struct Request: Sendable {
    var method: String
    var path: String
    var query: [String: String]
    var authorization: String?
    var contentType: String?
    var body: Data
    var clientAddress: String
    /// The operator the token belongs to, set by the router on operator routes.
    var actor: OperatorIdentity? = nil

    /// The bearer token, if the request carries one.
    var bearerToken: String? {
        guard let auth = authorization else { return nil }
        let parts = auth.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        let token = parts[1].trimmingCharacters(in: .whitespaces)
        return token.isEmpty ? nil : token
    }
}

/// An HTTP answer.
struct Response: Sendable {
    var status: Int
    var body: Data
    var contentType: String
    var headers: [(String, String)]

    init(status: Int, body: Data = Data(), contentType: String = "application/json", headers: [(String, String)] = []) {
        self.status = status
        self.body = body
        self.contentType = contentType
        self.headers = headers
    }

    /// A JSON answer.
    static func json<T: Encodable>(_ value: T, status: Int = 200) -> Response {
        Response(status: status, body: MMSJSON.encode(value))
    }

    /// The contract's JSON error with its status.
    static func error(_ e: APIError) -> Response {
        Response(status: e.httpStatus, body: MMSJSON.encode(APIErrorEnvelope(error: e)))
    }

    static let noContent = Response(status: 204, contentType: "")
}

/// What a long poll waits on; a wake of a key re-evaluates every poll parked on it.
enum WaitKey: Hashable, Sendable {
    case agentNext(String)
    case log(Int64)
    case events
}

/// A parked long poll: how to answer it when woken, and when it gives up.
struct LongPoll: Sendable {
    var key: WaitKey
    var deadline: Date
    /// The answer if there is one now; nil keeps waiting (re-parked until the deadline).
    var answer: @Sendable () -> Response?
    /// The answer at the deadline or at shutdown.
    var timeout: @Sendable () -> Response
    /// Called once when the request ends however it ends (e.g. a `next` poll stops counting as contact).
    var finished: (@Sendable () -> Void)?
    /// A wake generation taken when `answer` last found nothing; a park with an older one re-checks first.
    var generation: UInt64
}

/// What a route decided: answer now, or park the request as a long poll.
enum RouteResult: Sendable {
    case respond(Response)
    case wait(LongPoll)
}

/// The body limit a request is held to while it is read.
enum BodyLimit {
    static let json = 1 << 20
    static let logChunk = 1 << 20
}
