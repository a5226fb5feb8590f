import Foundation
import ServerAPIClient

/// The console's main loop: read keys, apply actions, run effects, draw what changed.
public enum ConsoleLoop {
    /// Runs until `q`, Ctrl-C, SIGTERM, SIGINT or SIGHUP; the terminal is restored on every way out.
    /// `cursor` is the events position the initial snapshot in `state` was taken at; `stream` follows the
    /// events from there (by default a plain stream over the runtime's client).
    public static func run(
        state initial: AppState, runtime: Runtime, cursor: Int64?, backend: TerminalBackend, stream: ReconnectingEventStream? = nil
    ) throws {
        var state = initial
        let queue = runtime.queue
        let signals = watchSignals(queue)
        defer { signals.forEach { $0.cancel() } }
        try backend.start()
        defer {
            runtime.stop()
            backend.stop()
        }
        state.detailTail = nil  // effects of updates made before the loop were not run: start afresh
        let first = state.update(.resized(backend.size))
        runtime.start(cursor: cursor, stream: stream)
        if state.view == .config { _ = runtime.perform([.loadConfig]) }
        _ = runtime.perform(first)
        backend.draw(render(state, state.size))
        while true {
            var actions: [Action] = []
            if let input = backend.read(timeoutMs: 30) {
                switch input {
                case .key(let k): actions.append(.key(k))
                case .resize(let s): actions.append(.resized(s))
                case .mouse(let m): actions.append(.mouse(m))
                }
            }
            actions += queue.drain()
            guard !actions.isEmpty else { continue }
            var effects: [Effect] = []
            for a in actions { effects += state.update(a) }
            // The terminal's own effects here; the rest are the runtime's.
            for e in effects {
                if e == .bell { backend.bell() }
                if case .copy(let text) = e { backend.copy(text) }
            }
            if runtime.perform(effects) { return }
            backend.draw(render(state, state.size))
        }
    }

    /// Turns SIGTERM, SIGINT and SIGHUP into a quit on the loop's thread, so ncurses is left cleanly.
    static func watchSignals(_ queue: ActionQueue) -> [DispatchSourceSignal] {
        [SIGTERM, SIGINT, SIGHUP].map { sig in
            signal(sig, SIG_IGN)
            let src = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            src.setEventHandler { queue.post(.key(.ctrlC)) }
            src.resume()
            return src
        }
    }
}
