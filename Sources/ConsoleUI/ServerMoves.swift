import Foundation
import ServerAPIClient

/// Turns the moves of the console's server pool (`--server A,B`) into actions: the `reconnecting…` banner
/// while it switches, and the server in use (which clears the banner) once another one answers.
public enum ServerMoves {
    /// The actions that show `event`.
    public static func actions(for event: ServerPoolEvent) -> [Action] {
        switch event {
        case .switching(let from, let to, let reason):
            [.connection(.reconnecting(reason: "trying \(to.absoluteString): \(from.absoluteString) stopped answering (\(reason))"))]
        case .moved(_, let to, _):
            [.serverInUse(to.absoluteString)]
        }
    }

    /// Posts the actions of each of `pool`'s moves to `queue` (the event stream lists again by itself after a move).
    public static func watch(_ pool: ServerPool, queue: ActionQueue) {
        pool.observe { event in
            for action in actions(for: event) { queue.post(action) }
        }
    }
}
