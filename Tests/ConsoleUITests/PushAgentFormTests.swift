import Foundation
import MMSTestSupport
import MonitorModels
import ServerAPIClient
import Testing
@testable import ConsoleUI

/// `n` in Agents adds a push agent: the form, its checks, the secret never on screen, and the real server call.
@Suite struct PushAgentFormTests {
    @Test func theFormChecksItsFieldsAndNeverShowsTheSecret() {
        var s = Fixtures.state()
        #expect(s.press(.char("n")) == [])
        guard case .form(let f) = s.modal, f.kind == .pushAgent else { Issue.record("no push agent form"); return }
        _ = s.type("lab-7")
        _ = s.press(.tab)
        _ = s.type("https://lab-7:8000")
        _ = s.press(.tab)
        _ = s.type("short")
        _ = s.press(.tab)
        _ = s.type("gpu")
        _ = s.press(.tab)
        #expect(s.press(.enter) == [], "a short secret is refused in the form")
        #expect(render(s, s.size).text.contains("the secret must be at least 16 bytes"))
        _ = s.press(.up, .up)
        _ = s.type("-and-long-enough")
        #expect(!render(s, s.size).text.contains("short-and-long"), "the secret is not echoed")
        #expect(render(s, s.size).text.contains("(not echoed)"))
        _ = s.press(.tab, .tab)
        _ = s.type("prod")
        let effects = s.press(.enter)
        #expect(effects == [.addPushAgent(PushAgentRequest(name: "lab-7", url: "https://lab-7:8000", authTokenSecret: "short-and-long-enough",
                                                            resources: ["gpu"], environments: ["prod"]))])
        #expect(s.modal == nil)
    }

    @Test func theAgentsListShowsTheKind() {
        var s = Fixtures.state()
        var push = Fixtures.agents[0]
        push.kind = .push
        push.url = "https://lab-7:8000"
        _ = s.update(.agentsChanged([push], message: "added"))
        let screen = render(s, Size(width: 120, height: 40)).text
        #expect(screen.contains("KIND") && screen.contains("push") && screen.contains("pull"))
    }

    @Test func addingThroughTheRealServer() async throws {
        let server = try ServerProcess()
        defer { server.stop() }
        let api = AdminAPI.live(serverURL: server.url, token: server.token)
        let action = await Runtime.call(.addPushAgent(PushAgentRequest(name: "lab-7", url: "https://127.0.0.1:1",
                                                                       authTokenSecret: "0123456789abcdef-secret")), api)
        guard case .agentsChanged(let agents, let message) = action else { Issue.record("\(action)"); return }
        #expect(agents.first?.kind == .push && message == "added push agent lab-7 at https://127.0.0.1:1")
        let refused = await Runtime.call(.addPushAgent(PushAgentRequest(name: "lab-8", url: "ftp://x", authTokenSecret: "0123456789abcdef-secret")), api)
        guard case .failed(let why) = refused else { Issue.record("\(refused)"); return }
        #expect(why.contains("url"))
    }
}
