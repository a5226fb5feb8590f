import Foundation
import ServerAPIClient

extension AgentLogger {
    /// Logs one line per move of the agent's server pool: `server http://A unreachable (REASON); using http://B`.
    /// Switches that have not found a server yet are not logged: the connection monitor speaks for outages.
    public func serverMoves(_ event: ServerPoolEvent) {
        if case .moved(let from, let to, let reason) = event {
            self("server \(from.absoluteString) unreachable (\(reason)); using \(to.absoluteString)")
        }
    }
}
