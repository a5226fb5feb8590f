import Foundation
import MonitorModels
import ServerAPIClient
import Testing
@testable import ConsoleUI

/// The console over several servers (`--server A,B`): the banner while the pool switches, the server in use in the
/// header (a long URL shortened to fit 80 columns), and the move said in the status line.
@Suite struct ServerMoveTests {
    static let first = "https://mms-replica-01.recording-studio.example.internal:8765"
    static let second = "https://mms-replica-02.recording-studio.example.internal:8765"
    static let switching = ServerPoolEvent.switching(from: URL(string: first)!, to: URL(string: second)!, reason: "connection refused")
    static let moved = ServerPoolEvent.moved(from: URL(string: first)!, to: URL(string: second)!, reason: "connection refused")

    /// The fixture fleet on a console whose first server has a long name.
    static func state(_ size: Size) -> AppState {
        var s = Fixtures.state(size)
        s.serverURL = first
        return s
    }

    @Test func aSwitchShowsTheBannerAndTheMoveClearsIt() {
        var s = Self.state(Fixtures.small)
        for action in ServerMoves.actions(for: Self.switching) { _ = s.update(action) }
        #expect(s.connection == .reconnecting(reason: "trying \(Self.second): \(Self.first) stopped answering (connection refused)"))
        for action in ServerMoves.actions(for: Self.moved) { _ = s.update(action) }
        #expect(s.connection == .connected && s.serverURL == Self.second)
        #expect(s.message?.text == "now using \(Self.second) (\(Self.first) stopped answering)")
        _ = s.update(.connection(.connected))  // the event stream, once it has listed again from the new server
        #expect(s.message?.text == "now using \(Self.second) (\(Self.first) stopped answering)", "no second message")
    }

    @Test func headerWhileSwitching() {
        assertSnapshots({ size in
            var s = Self.state(size)
            for action in ServerMoves.actions(for: Self.switching) { _ = s.update(action) }
            return s
        }, named: "agents-server-switching")
    }

    @Test func headerAfterTheMove() {
        assertSnapshots({ size in
            var s = Self.state(size)
            for action in ServerMoves.actions(for: Self.switching) + ServerMoves.actions(for: Self.moved) { _ = s.update(action) }
            return s
        }, named: "agents-server-moved")
    }

    @Test func longURLsKeepWhatTellsReplicasApart() {
        #expect("http://127.0.0.1:8765".clippedURL(to: 27) == "http://127.0.0.1:8765")
        #expect("https://mms-replica-01.example:8765".clippedURL(to: 27) == "mms-replica-01.example:8765")
        #expect(Self.first.clippedURL(to: 27) == "mms-replica-01.record…:8765")
        #expect(CharWidth.of(text: Self.first.clippedURL(to: 27)) == 27)
        #expect("http://録画録画録画録画.lan:80/mms".clippedURL(to: 16) == "録画録画…:80/mms")
        #expect("http://averyveryverylonghostname".clippedURL(to: 10) == "averyvery…")
    }
}
