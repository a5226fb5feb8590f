import Foundation

/// A tmux server of its own (private socket) running one command in a fixed-size window.
final class Tmux: @unchecked Sendable {
    let socket = "mms-e2e-\(UUID().uuidString.prefix(8))"

    /// Starts `command` (a shell line) in a detached session of `width` x `height`.
    init(width: Int, height: Int, command: String) throws {
        // The tmux server forks from this client and would hold a stdout pipe open forever: no pipe here.
        try run(["new-session", "-d", "-s", "e2e", "-x", String(width), "-y", String(height), command], capture: false)
    }

    /// What the window shows now, as text.
    func capture() -> String {
        (try? run(["capture-pane", "-p", "-t", "e2e"])) ?? ""
    }

    /// What the window shows now, with its colour and attribute escape sequences.
    func captureWithEscapes() -> String {
        (try? run(["capture-pane", "-p", "-e", "-t", "e2e"])) ?? ""
    }

    /// Sends keys by tmux name ("Enter", "Escape") or, with `literal`, as text.
    func send(_ keys: String..., literal: Bool = false) {
        _ = try? run(["send-keys", "-t", "e2e"] + (literal ? ["-l"] : []) + keys, capture: false)
    }

    /// Waits until the window shows `text` (polling, with a deadline); returns the last capture.
    @discardableResult
    func waitFor(_ text: String, seconds: Double = 30) async -> (found: Bool, screen: String) {
        await waitUntil(seconds: seconds) { $0.contains(text) }
    }

    /// Waits until the window satisfies `condition` (polling, with a deadline); returns the last capture.
    func waitUntil(seconds: Double = 30, _ condition: (String) -> Bool) async -> (found: Bool, screen: String) {
        let deadline = Date().addingTimeInterval(seconds)
        var screen = capture()
        while !condition(screen), Date() < deadline {
            try? await Task.sleep(for: .milliseconds(50))
            screen = capture()
        }
        return (condition(screen), screen)
    }

    /// A tmux format expanded for the pane, e.g. "#{mouse_standard_flag}" (whether the program asked for mouse events).
    func display(_ format: String) -> String {
        ((try? run(["display-message", "-p", "-t", "e2e", format])) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Changes the window size (the console gets SIGWINCH).
    func resize(width: Int, height: Int) {
        _ = try? run(["resize-window", "-t", "e2e", "-x", String(width), "-y", String(height)], capture: false)
    }

    func kill() {
        _ = try? run(["kill-server"], capture: false)
    }

    deinit { kill() }

    /// Runs tmux with posix_spawn and waitpid. (Foundation's Process did not reap the tmux client
    /// that forks the server, so waitUntilExit hung.) Output goes through a temporary file.
    @discardableResult
    private func run(_ args: [String], capture: Bool = true) throws -> String {
        let outPath = capture ? FileManager.default.temporaryDirectory.appendingPathComponent("tmux-\(UUID().uuidString)").path : "/dev/null"
        defer { if capture { try? FileManager.default.removeItem(atPath: outPath) } }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let argv = ["tmux", "-L", socket, "-f", "/dev/null"] + args
        var cargs = argv.map { strdup($0) } + [nil]
        defer { cargs.forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawnp(&pid, "tmux", &actions, nil, &cargs, environ)
        guard rc == 0 else { throw TmuxError.cannotRun(rc) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0, errno == EINTR {}
        return capture ? ((try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "") : ""
    }
}

enum TmuxError: Error { case cannotRun(Int32) }
