import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import MMSTestSupport
import MonitorModels
@testable import MonitorServer

/// A real server on 127.0.0.1 port 0 with a temporary data dir, and a tiny HTTP client for it.
final class TestServer: @unchecked Sendable {
    let dataDir: String
    private(set) var server: MMSServer
    let options: ServerOptions
    var base: String { "http://127.0.0.1:\(server.port)" }
    var admin: String { server.adminToken }
    static let session: URLSession = {
        let c = URLSessionConfiguration.ephemeral
        c.httpMaximumConnectionsPerHost = 1000
        c.timeoutIntervalForRequest = 60
        return URLSession(configuration: c)
    }()

    /// The store the server suites run on: `MMS_TEST_DATABASE=postgres` runs them on PostgreSQL
    /// (a fresh database per server in the shared test cluster), anything else on SQLite.
    static var onPostgres: Bool { ProcessInfo.processInfo.environment["MMS_TEST_DATABASE"] == "postgres" }

    init(lostContactAfter: TimeInterval = 300, autoRegisterKey: String? = nil, dataDir: String? = nil,
         databaseURL: String? = nil, agentBinary: String? = nil, pingInterval: Int = 5) throws {
        let dir = dataDir ?? FileManager.default.temporaryDirectory.appendingPathComponent("mms-test-\(UUID().uuidString)").path
        self.dataDir = dir
        var o = ServerOptions()
        o.port = 0
        o.dataDir = dir
        o.databaseURL = try databaseURL ?? (Self.onPostgres ? PostgresCluster.shared().createDatabase() : nil)
        o.lostContactAfter = lostContactAfter
        o.autoRegisterKey = autoRegisterKey
        o.agentBinary = agentBinary
        o.pingInterval = pingInterval
        options = o
        server = try MMSServer.start(o)
    }

    /// Stops and starts the server again on the same data dir (new port).
    func restart() throws {
        server.stop()
        server = try MMSServer.start(options)
    }

    func stop() { server.stop() }

    deinit {
        server.stop()
        try? FileManager.default.removeItem(atPath: dataDir)
    }

    struct Reply {
        var status: Int
        var headers: [String: String]
        var body: Data
        var text: String { String(decoding: body, as: UTF8.self) }
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:] }
        var errorCode: String? { (json["error"] as? [String: Any])?["code"] as? String }
        var errorMessage: String? { (json["error"] as? [String: Any])?["message"] as? String }
        func decode<T: Decodable>(_ t: T.Type) throws -> T { try MMSJSON.decoder().decode(t, from: body) }
    }

    /// Sends one request and returns whatever came back (errors included).
    func call(_ method: String, _ path: String, token: String? = nil, body: Data? = nil,
              contentType: String = "application/json") async throws -> Reply {
        var req = URLRequest(url: URL(string: base + path)!)
        req.httpMethod = method
        if let token { req.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        if let body {
            req.httpBody = body
            req.setValue(contentType, forHTTPHeaderField: "Content-Type")
        }
        let (data, resp) = try await Self.session.data(for: req)
        let http = resp as! HTTPURLResponse
        var headers: [String: String] = [:]
        for (k, v) in http.allHeaderFields { if let k = k as? String, let v = v as? String { headers[k.lowercased()] = v } }
        return Reply(status: http.statusCode, headers: headers, body: data)
    }

    func call(_ method: String, _ path: String, token: String? = nil, json: String) async throws -> Reply {
        try await call(method, path, token: token, body: Data(json.utf8))
    }

    func call<T: Encodable>(_ method: String, _ path: String, token: String? = nil, value: T) async throws -> Reply {
        try await call(method, path, token: token, body: MMSJSON.encode(value))
    }

    /// Registers an agent with a fresh uuid and secret; returns (uuid, secret).
    func registerAgent(_ name: String, resources: [String] = [], environments: [String] = [],
                       enable: Bool = true) async throws -> (uuid: String, secret: String) {
        let uuid = UUID().uuidString.lowercased()
        let secret = "secret-\(UUID().uuidString)"
        let r = try await call("POST", "/api/v1/agents/register", token: secret, value: RegisterRequest(
            uuid: uuid, name: name, hostname: "host-\(name)", os: "linux", resources: resources, environments: environments))
        precondition(r.status == 202, "register answered \(r.status) \(r.text)")
        if enable {
            let p = try await call("PATCH", "/api/v1/agents/\(uuid)", token: admin, json: #"{"configState":"enabled"}"#)
            precondition(p.status == 200, "enable answered \(p.status)")
        }
        return (uuid, secret)
    }

    func createJob(_ spec: JobSpec) async throws -> Job {
        let r = try await call("POST", "/api/v1/jobs", token: admin, value: spec)
        precondition(r.status == 201, "create answered \(r.status) \(r.text)")
        return try r.decode(Job.self)
    }
}

/// Polls a condition until it holds or the deadline passes (tests never sleep to wait).
func eventually(_ seconds: Double = 30, _ condition: () async throws -> Bool) async rethrows -> Bool {
    let until = Date().addingTimeInterval(seconds)
    while Date() < until {
        if try await condition() { return true }
        try? await Task.sleep(nanoseconds: 20_000_000)
    }
    return try await condition()
}
