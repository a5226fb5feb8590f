import CLibPQ
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// LISTEN/NOTIFY. Notifications reach a listener only after the sending transaction commits; a lost
/// connection loses them, so after `isConnectionLost` the owner reconnects, LISTENs again and re-reads.
extension PGConnection {
    /// Starts receiving notifications sent on `channel` (any text: it is quoted as an identifier).
    func listen(_ channel: String) throws(PGError) {
        try exec("LISTEN " + quotedIdentifier(channel))
    }

    /// Stops receiving notifications sent on `channel`.
    func unlisten(_ channel: String) throws(PGError) {
        try exec("UNLISTEN " + quotedIdentifier(channel))
    }

    /// Sends `payload` (under 8000 bytes) on `channel`; inside a transaction it goes out at COMMIT.
    func notify(_ channel: String, _ payload: String) throws(PGError) {
        try query("SELECT pg_notify($1, $2)", [.text(channel), .text(payload)])
    }

    /// Waits up to `timeout` for notifications and returns every one that has arrived (already received
    /// ones at once); [] on timeout. Throws with `isConnectionLost` when the connection died meanwhile.
    func waitForNotifications(timeout: Duration) throws(PGError) -> [PGNotification] {
        let deadline = ContinuousClock.now + timeout
        while true {
            guard PQconsumeInput(handle) == 1 else { throw lost() }
            let arrived = receivedNotifications()
            if !arrived.isEmpty { return arrived }
            let left = deadline - .now
            if left <= .zero { return [] }
            let socket = PQsocket(handle)
            guard socket >= 0 else { throw lost() }
            var fd = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
            let (seconds, attoseconds) = left.components
            let millis = min(seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000, Int64(Int32.max))
            if poll(&fd, 1, Int32(millis)) < 0, errno != EINTR {
                throw PGError("waiting for notifications: poll failed (errno \(errno))")
            }
        }
    }

    /// The notifications libpq has already read, in the order they arrived.
    private func receivedNotifications() -> [PGNotification] {
        var found: [PGNotification] = []
        while let n = PQnotifies(handle) {
            defer { PQfreemem(n) }
            found.append(PGNotification(
                channel: n.pointee.relname.map { String(cString: $0) } ?? "",
                payload: n.pointee.extra.map { String(cString: $0) } ?? "",
                pid: n.pointee.be_pid))
        }
        return found
    }

    /// The error for a connection that stopped answering while idle.
    private func lost() -> PGError { PGError(PGError.connectionMessage(handle), connectionLost: true) }

    /// `name` quoted as an SQL identifier by libpq.
    private func quotedIdentifier(_ name: String) throws(PGError) -> String {
        guard let p = PQescapeIdentifier(handle, name, name.utf8.count) else {
            throw PGError(PGError.connectionMessage(handle))
        }
        defer { PQfreemem(p) }
        return String(cString: p)
    }
}
