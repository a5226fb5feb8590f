import Foundation
import MonitorModels
import MonitorServer
import Synchronization

/// The state every `request` input starts from: a data dir made once per process through the real
/// routes (two config entries, three agents, a running, a passed and a waiting job), then copied
/// fresh for each input so an input's answers depend on that input alone.
enum RequestFixture {
    static let adminToken = "fuzz-admin-token"
    /// Agent short names (as AUTH in inputs), uuids and secrets.
    static let agents: [(short: String, uuid: String, secret: String)] = [
        ("a", "00000000-0000-4000-8000-00000000000a", "agent-a-secret"),
        ("b", "00000000-0000-4000-8000-00000000000b", "agent-b-secret"),
        ("c", "00000000-0000-4000-8000-00000000000c", "agent-c-secret"),
    ]

    /// The setup, in the input format: `rec-a` (enabled, linux) builds job 1, `rec-c` (enabled, docker)
    /// passed job 2, `rec-b` waits to be authorized, job 3 waits for a gpu.
    static let setup = """
        PUT /api/v1/config/PLAIN admin
        {"value":"plain-value"}
        %%
        PUT /api/v1/config/TOKEN admin
        {"value":"s3cret-token-value","secret":true}
        %%
        \(register(agents[0], resources: #"["linux","ffmpeg"]"#))
        %%
        PATCH /api/v1/agents/\(agents[0].uuid) admin
        {"configState":"enabled"}
        %%
        \(register(agents[1], resources: #"["linux"]"#))
        %%
        \(register(agents[2], resources: #"["docker"]"#))
        %%
        PATCH /api/v1/agents/\(agents[2].uuid) admin
        {"configState":"enabled"}
        %%
        POST /api/v1/jobs admin
        {"name":"build","commands":["make"],"resources":["linux"],"secrets":["TOKEN"]}
        %%
        GET /api/v1/agents/\(agents[0].uuid)/next a
        %%
        POST /api/v1/jobs/1/state a
        {"attempt":1,"state":"building"}
        %%
        POST /api/v1/jobs/1/log?attempt=1&offset=0 a
        $ make
        building
        %%
        POST /api/v1/jobs admin
        {"name":"deploy","commands":["./deploy.sh"],"resources":["docker"]}
        %%
        GET /api/v1/agents/\(agents[2].uuid)/next c
        %%
        POST /api/v1/jobs/2/state c
        {"attempt":1,"state":"completed","result":"passed","exitCode":0}
        %%
        POST /api/v1/jobs admin
        {"name":"needs-gpu","commands":["nvidia-smi"],"resources":["gpu"]}
        """

    private static func register(_ agent: (short: String, uuid: String, secret: String), resources: String) -> String {
        """
            POST /api/v1/agents/register \(agent.short)
            {"uuid":"\(agent.uuid)","name":"rec-\(agent.short)","hostname":"host-\(agent.short)","os":"linux",\
            "version":"\(MMSVersion.current)","resources":\(resources),"environments":["prod"]}
            """
    }

    /// The Authorization header for an input's AUTH word.
    static func authorization(_ auth: String) -> String? {
        if auth.isEmpty { return nil }
        if auth == "admin" { return "Bearer \(adminToken)" }
        if let agent = agents.first(where: { $0.short == auth }) { return "Bearer \(agent.secret)" }
        return auth
    }

    private static let template = Mutex<String?>(nil)

    /// A fresh data dir holding a copy of the template (made on first use).
    static func freshDataDir() throws(FuzzFailure) -> String {
        let source = try templateDir()
        let dir = scratchRoot() + "/mms-fuzz-request-\(getpid())-\(UUID().uuidString.prefix(8))"
        do {
            try FileManager.default.copyItem(atPath: source, toPath: dir)
        } catch {
            throw FuzzFailure("cannot copy the fixture data dir to \(dir): \(error)")
        }
        return dir
    }

    /// Removes the template data dir, if one was made.
    static func removeTemplate() {
        template.withLock { dir in
            if let d = dir { try? FileManager.default.removeItem(atPath: d) }
            dir = nil
        }
    }

    private static func templateDir() throws(FuzzFailure) -> String {
        let result = template.withLock { dir -> Result<String, FuzzFailure> in
            if let d = dir { return .success(d) }
            let made = Result { () throws(FuzzFailure) -> String in try makeTemplate() }
            if case .success(let d) = made { dir = d }
            return made
        }
        return try result.get()
    }

    private static func makeTemplate() throws(FuzzFailure) -> String {
        let dir = scratchRoot() + "/mms-fuzz-template-\(getpid())-\(UUID().uuidString.prefix(8))"
        let service: InProcessService
        do {
            service = try InProcessService(dataDir: dir, adminToken: adminToken)
        } catch {
            throw FuzzFailure("cannot start the fixture service in \(dir): \(error)")
        }
        for request in FuzzRequest.parse(Data(setup.utf8)) {
            let answer = RequestTarget.send(request, to: service)
            guard (200..<300).contains(answer.status) else {
                service.close()
                try? FileManager.default.removeItem(atPath: dir)
                throw FuzzFailure("fixture step \(request.method) \(request.path) answered \(answer.status): \(excerpt(answer.body))")
            }
        }
        service.close()
        return dir
    }
}
