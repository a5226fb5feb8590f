import Foundation
import MonitorModels

/// The service without its HTTP front: the real store, dispatcher and routes in this process, one
/// request in and one answer out. The fuzzer (`mms-fuzz request`) and its replay tests drive it; a
/// long poll is answered at once (its answer if there is one, else what its deadline would give).
public final class InProcessService: Sendable {
    /// One answer, as the HTTP front would send it.
    public struct Answer: Sendable {
        /// HTTP status.
        public var status: Int
        /// The body bytes (JSON, or log bytes for a log read).
        public var body: Data
        /// The Content-Type header ("" for none).
        public var contentType: String
    }

    private let core: ServiceCore
    private let router: Router

    /// Opens (creating if needed) the data dir and loads its state; nothing listens on a port.
    public init(dataDir: String, adminToken: String, autoRegisterKey: String? = nil,
                lostContactAfter: TimeInterval = 300) throws(ServerStartError) {
        try DataDir.prepare(dataDir)
        let settings = ServerSettings(adminToken: adminToken, autoRegisterKey: autoRegisterKey,
                                      pingIntervalSeconds: 5, lostContactAfter: lostContactAfter)
        core = try ServiceCore.open(dataDir: dataDir, settings: settings, now: Date())
        router = Router.mms(core)
    }

    /// Routes one request as the HTTP front hands it over: `path` already unescaped, `query` split.
    public func handle(method: String, path: String, query: [String: String] = [:], authorization: String? = nil,
                       contentType: String? = "application/json", body: Data = Data(),
                       clientAddress: String = "127.0.0.1") -> Answer {
        let request = Request(method: method, path: path, query: query, authorization: authorization,
                              contentType: contentType, body: body, clientAddress: clientAddress)
        let response: Response
        switch router.handle(request) {
        case .respond(let r):
            response = r
        case .wait(let poll):
            response = poll.answer() ?? poll.timeout()
            poll.finished?()
        }
        return Answer(status: response.status, body: response.body, contentType: response.contentType)
    }

    /// Runs the periodic work once, as the server's ticker does (lost contact, waiting reasons, lastSeenAt).
    public func tick(now: Date = Date()) {
        core.tick(now: now, flush: true)
    }

    /// Flushes lastSeenAt and closes the database; call it once, last.
    public func close() {
        core.close()
    }
}
