import Foundation
import MMSTestSupport
import MonitorModels
import ServerAPIClient
import Testing
import ConsoleUI

/// Keys and resize through real ncurses in tmux (TERM=tmux-256color), at 80x24, read-only.
@Suite(.serialized) struct TerminalKeysTests {
    @Test func navigationKeysEscResizeAndReadOnly() async throws {
        let server = try ServerProcess()
        defer { server.stop(); server.removeData() }
        for i in 1...60 {
            let uuid = UUID().uuidString.lowercased()
            let api = AgentAPI.live(serverURL: server.url, secret: uuid.replacingOccurrences(of: "-", with: "") + String(repeating: "cd", count: 16))
            _ = try await api.register(RegisterRequest(uuid: uuid, name: String(format: "box-%02d", i), hostname: "h", os: "linux"))
        }
        let console = ServerProcess.productsDir.appendingPathComponent("mms-console").path
        let tmux = try Tmux(width: 80, height: 24, command:
            "env TERM=tmux-256color MMS_ADMIN_TOKEN=\(server.token) \(console) --server \(server.url.absoluteString) --read-only; "
            + "echo CONSOLE-EXITED $?; sleep 20")
        defer { tmux.kill() }

        var step = await tmux.waitFor("box-01")
        #expect(step.found && step.screen.contains("1/60"), "first page:\n\(step.screen)")
        tmux.send("End")
        step = await tmux.waitUntil { $0.contains("60/60") && $0.contains("box-60") && !$0.contains("box-01") }
        #expect(step.found, "End:\n\(step.screen)")
        tmux.send("Home")
        step = await tmux.waitUntil { $0.contains(" 1/60") && $0.contains("box-01") }
        #expect(step.found, "Home:\n\(step.screen)")
        tmux.send("PageDown")
        step = await tmux.waitFor("\(Layout.listHeight(Size(width: 80, height: 24)) + 1)/60")
        #expect(step.found, "PgDn:\n\(step.screen)")
        tmux.send("PageUp", "Down", "Down", "Up")
        step = await tmux.waitFor(" 2/60")
        #expect(step.found, "PgUp, Down, Down, Up:\n\(step.screen)")

        tmux.send("/")
        tmux.send("box-5", literal: true)
        step = await tmux.waitFor("filter: box-5")
        #expect(step.found && !step.screen.contains("box-01"), "filter typed:\n\(step.screen)")
        tmux.send("Enter", "Escape", "2")
        step = await tmux.waitFor("No jobs yet")
        #expect(step.found, "Esc then 2 at once: Esc is not taken as Alt:\n\(step.screen)")

        tmux.send("n")
        step = await tmux.waitFor("read-only")
        #expect(step.found, "read-only refuses:\n\(step.screen)")

        tmux.resize(width: 120, height: 40)
        step = await tmux.waitUntil { screen in
            let lines = screen.split(separator: "\n", omittingEmptySubsequences: false)
            return lines.count >= 40 && lines.contains { $0.hasSuffix("running") && $0.count > 110 }
        }
        #expect(step.found, "resize redraws at 120x40 (header reaches the right edge):\n\(step.screen)")

        tmux.send("C-c")
        step = await tmux.waitFor("CONSOLE-EXITED 0")
        #expect(step.found, "Ctrl-C exits 0:\n\(step.screen)")
    }

    @Test func coloursAndNoColor() async throws {
        let server = try ServerProcess()
        defer { server.stop(); server.removeData() }
        let uuid = UUID().uuidString.lowercased()
        let agentAPI = AgentAPI.live(serverURL: server.url, secret: uuid.replacingOccurrences(of: "-", with: "") + "ef")
        _ = try await agentAPI.register(RegisterRequest(uuid: uuid, name: "pending-box", hostname: "h", os: "linux"))
        let console = ServerProcess.productsDir.appendingPathComponent("mms-console").path
        for noColor in [false, true] {
            let env = noColor ? "NO_COLOR=1 " : "-u NO_COLOR "
            let tmux = try Tmux(width: 80, height: 24, command:
                "env \(env)TERM=tmux-256color MMS_ADMIN_TOKEN=\(server.token) \(console) --server \(server.url.absoluteString); sleep 20")
            defer { tmux.kill() }
            let step = await tmux.waitFor("pending-box")
            #expect(step.found)
            let styled = tmux.captureWithEscapes()
            // Pending is drawn in yellow on the terminal's own background, the title white on blue (ANSI
            // colours 0-7, which the terminal's theme sets); reverse/bold/underline without colour.
            let colourCodes = ["\u{1B}[33m", "\u{1B}[44m"]
            if noColor {
                #expect(!colourCodes.contains { styled.contains($0) }, "NO_COLOR draws no colours:\n\(styled)")
                #expect(styled.contains("\u{1B}[1;7m") || styled.contains("\u{1B}[7m"), "NO_COLOR uses reverse video")
            } else {
                #expect(colourCodes.allSatisfy { styled.contains($0) }, "ANSI status colours:\n\(styled)")
            }
            tmux.send("q")
        }
    }
}
