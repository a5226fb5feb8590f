import Foundation
import MonitorModels
import Testing
@testable import ConsoleUI

/// Self-upgrade in the console: the Upgrading count, the agents on another binary than the server offers,
/// and the selected agent's version and short binary SHA-256.
@Suite struct UpgradeViewTests {
    @Test func headerCountsUpgradingAgentsAndThoseOnAnotherBinary() {
        let server = String(repeating: "a1", count: 32)
        let old = String(repeating: "0f", count: 32)
        var s = Fixtures.state(Size(width: 160, height: 30))
        _ = s.update(.snapshot(agents: [
            Agent(uuid: "u-1", name: "rec-1", version: "0.1.0", configState: .enabled, status: .idle, binarySHA256: server),
            Agent(uuid: "u-2", name: "rec-2", version: "0.1.0", configState: .enabled, status: .upgrading, binarySHA256: old),
            Agent(uuid: "u-3", name: "rec-3", version: "0.1.0", configState: .enabled, status: .idle, binarySHA256: old),
            Agent(uuid: "u-4", name: "rec-4", configState: .pending, status: .pending),
        ], jobs: []))
        #expect(!render(s, s.size).line(1).contains("another binary"), "unknown until the server says what it offers")
        _ = s.update(.serverAgentBinary(server))
        let header = render(s, s.size).line(1)
        #expect(header.contains("1 Upgrading"))
        #expect(header.contains("2 on another binary than the server's"))
        _ = s.update(.serverAgentBinary(nil))
        #expect(s.agentsOnAnotherBinary == nil)
    }

    @Test func theSelectedAgentShowsItsVersionAndShortBinarySHA() {
        var s = Fixtures.state(Size(width: 200, height: 30))
        let sha = "0123456789abcdef" + String(repeating: "e", count: 48)
        _ = s.update(.snapshot(agents: [
            Agent(uuid: "u-1", name: "rec-1", os: "Linux 6.1", version: "0.1.0", configState: .enabled, status: .upgrading,
                  binarySHA256: sha),
        ], jobs: []))
        let detail = selectionDetail(s) ?? ""
        #expect(detail.contains("Upgrading"))
        #expect(detail.contains("Linux 6.1 0.1.0"))
        #expect(detail.contains("binary 0123456789ab") && !detail.contains("0123456789abc"))
    }
}

/// The runtime tells the state which binary the server offers (GET /api/v1/version), once per change.
@Suite struct ServerAgentBinaryRuntimeTests {
    @Test func theOfferedBinaryReachesTheState() async {
        let sha = String(repeating: "5e", count: 32)
        var api = FakeServer().api()
        api.version = { VersionInfo(agentSHA256: sha) }
        api.events = { _, _ in
            try? await Task.sleep(for: .seconds(5))
            return EventBatch(events: [], next: 0)
        }
        let queue = ActionQueue()
        let runtime = Runtime(api: api, queue: queue)
        runtime.start(cursor: 0)
        defer { runtime.stop() }
        var seen: [Action] = []
        let deadline = Date().addingTimeInterval(60)  // a loaded test run can keep the runtime's tasks waiting
        while Date() < deadline && !seen.contains(.serverAgentBinary(sha)) {
            seen += queue.drain()
            try? await Task.sleep(for: .milliseconds(20))
        }
        #expect(seen.filter { $0 == .serverAgentBinary(sha) }.count == 1)
        var state = Fixtures.state()
        for action in seen { _ = state.update(action) }
        #expect(state.serverAgentSHA256 == sha)
    }
}

/// The agent detail pane names the binary by a short SHA-256 and says when it is not the server's.
@Suite struct UpgradeDetailTests {
    @Test func theDetailShowsTheShortSHAAndWhetherItIsTheServers() {
        let mine = "0123456789ab" + String(repeating: "c", count: 52)
        let server = "fedcba987654" + String(repeating: "d", count: 52)
        var s = Fixtures.state()
        let agent = Agent(uuid: "u-1", name: "rec-1", os: "linux", version: "0.1.0", configState: .enabled, status: .idle,
                          binarySHA256: mine)
        #expect(agentDetailLines(agent, s).contains { $0.label == "binary" && $0.value == "SHA-256 0123456789ab" })
        _ = s.update(.serverAgentBinary(server))
        let other = agentDetailLines(agent, s).first { $0.label == "binary" }
        #expect(other?.value == "SHA-256 0123456789ab · the server offers fedcba987654")
        #expect(other?.style == .warning)
        _ = s.update(.serverAgentBinary(mine))
        #expect(agentDetailLines(agent, s).first { $0.label == "binary" }?.value == "SHA-256 0123456789ab · the server's")
    }
}
