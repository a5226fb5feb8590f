import Foundation
import MonitorModels

/// Who may call a route: anyone, an agent (its handler checks the secret), or an operator with at
/// least a role (checked by the router before the handler runs).
public enum Access: Sendable, Equatable {
    case open, agent
    case role(OperatorRole)
    /// An agent's secret, or an operator with at least this role (checked by the handler).
    case agentOrRole(OperatorRole)
}

/// Matches a path to a route and a method to its handler; 404 for unknown paths, 405 for known
/// paths with another method. Every APIError a handler throws becomes the contract's JSON error.
public struct Router: Sendable {
    /// A route's handler: the request (its operator set on operator routes) and the path parameters, in order.
    public typealias Handler = @Sendable (Request, [String]) throws(APIError) -> RouteResult
    /// Finds the operator a request's token belongs to (401/403 when it is nobody's).
    public typealias Authenticator = @Sendable (Request) throws(APIError) -> OperatorIdentity

    private struct Route: Sendable {
        var segments: [String]  // "*" matches one segment, captured in order
        var methods: [String: (access: Access, handler: Handler)]
    }

    private var routes: [Route] = []
    private let authenticate: Authenticator

    /// All routes as "METHOD /path/{param}" lines (for the spec check).
    public private(set) var table: [String] = []
    /// Who may call each route, by "METHOD /path/{param}" (the role test walks it).
    public private(set) var access: [String: Access] = [:]

    /// A router whose operator routes are admitted by `authenticate` (a push agent, with none, passes one that refuses).
    public init(authenticate: @escaping Authenticator) {
        self.authenticate = authenticate
    }

    /// Adds a handler for `method` on `pattern` (`{name}` segments are parameters) with who may call it.
    public mutating func add(_ method: String, _ pattern: String, _ access: Access, _ handler: @escaping Handler) {
        let segments = pattern.split(separator: "/").map { $0.hasPrefix("{") ? "*" : String($0) }
        table.append("\(method) \(pattern)")
        self.access["\(method) \(pattern)"] = access
        if let i = routes.firstIndex(where: { $0.segments == segments }) {
            routes[i].methods[method] = (access, handler)
        } else {
            routes.append(Route(segments: segments, methods: [method: (access, handler)]))
        }
    }

    /// Sets the request's operator, or refuses it: 403 naming the role the route needs.
    private func admit(_ req: inout Request, _ access: Access) throws(APIError) {
        guard case .role(let needed) = access else { return }
        let who = try authenticate(req)
        guard who.role >= needed else {
            throw APIError(.forbidden, "this needs the \(needed.rawValue) role; \(who.name) is \(who.role == .operator ? "an" : "a") \(who.role.rawValue)")
        }
        req.actor = who
    }

    /// Routes one request.
    public func handle(_ req: Request) -> RouteResult {
        let parts = req.path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        for route in routes where route.segments.count == parts.count {
            var params: [String] = []
            var ok = true
            for (p, s) in zip(parts, route.segments) {
                if s == "*" { params.append(p) } else if p != s { ok = false; break }
            }
            guard ok else { continue }
            let method = req.method == "HEAD" ? "GET" : req.method
            guard let (access, handler) = route.methods[method] else {
                let allowed = route.methods.keys.sorted().joined(separator: ", ")
                var r = Response.error(APIError(.methodNotAllowed, "\(req.method) is not allowed on \(req.path); use \(allowed)"))
                r.headers.append(("Allow", allowed))
                return .respond(r)
            }
            do {
                var admitted = req
                try admit(&admitted, access)
                return try handler(admitted, params)
            } catch {
                return .respond(.error(error))
            }
        }
        return .respond(.error(APIError(.notFound, "no such endpoint: \(req.path)")))
    }
}

/// Reading query parameters and bodies with the contract's 400 messages.
public enum Input {
    /// A JSON body decoded into T; 400 naming the field when it does not fit.
    public static func body<T: Decodable>(_ req: Request, as: T.Type) throws(APIError) -> T {
        if req.body.isEmpty { throw APIError(.badRequest, "the request needs a JSON body") }
        do {
            return try MMSJSON.decode(T.self, from: req.body)
        } catch {
            throw APIError(.badRequest, error.message)
        }
    }

    /// An integer query parameter within a range, or the default when absent.
    public static func int(_ req: Request, _ name: String, in range: ClosedRange<Int64>, default d: Int64?) throws(APIError) -> Int64? {
        guard let text = req.query[name] else { return d }
        guard let v = Int64(text), range.contains(v) else {
            throw APIError(.badRequest, "query parameter '\(name)' must be an integer from \(range.lowerBound) to \(range.upperBound)")
        }
        return v
    }

    /// The `wait` of a long poll: 0 to 60 seconds.
    public static func wait(_ req: Request) throws(APIError) -> Int {
        Int(try int(req, "wait", in: 0...60, default: 0) ?? 0)
    }

    /// A yes/no query parameter: `1`/`true` or `0`/`false`; false when absent.
    public static func flag(_ req: Request, _ name: String) throws(APIError) -> Bool {
        switch req.query[name] {
        case nil, "0", "false": return false
        case "1", "true": return true
        default: throw APIError(.badRequest, "query parameter '\(name)' must be 1 or 0")
        }
    }

    /// A numeric path id.
    public static func jobId(_ text: String) throws(APIError) -> Int64 {
        guard let id = Int64(text), id > 0 else { throw APIError(.notFound, "job \(text) does not exist") }
        return id
    }
}
