import Foundation
import MonitorModels

/// The ssh command line of a job's detail (full-screen or the pane): `→` (or a click) selects it,
/// Enter on it copies it (OSC 52), `←` or Esc leaves it.
extension AppState {
    /// The ssh command of the job whose detail is on screen, if it has one.
    var detailSSHCommand: String? {
        guard detailShown, view == .jobs, let ssh = selectedJob?.sshCommand, !ssh.isEmpty else { return nil }
        return ssh
    }

    /// True when the ssh command line is selected (and on screen).
    public var sshLineSelected: Bool { sshSelected && detailSSHCommand != nil }

    /// Keys on the ssh command line; nil when the key is not about it.
    mutating func sshLineKey(_ key: Key) -> [Effect]? {
        guard detailSSHCommand != nil else { return nil }
        switch key {
        case .right where !sshLineSelected:
            sshSelected = true
            message = Message("ssh command selected: Enter or y copies it, ← leaves it")
            return []
        case .left where sshLineSelected, .escape where sshLineSelected:
            sshSelected = false
            return []
        case .enter where sshLineSelected:
            return copySSHCommand()
        default:
            return nil
        }
    }

    /// Puts the detail's ssh command on the terminal's clipboard, saying so.
    mutating func copySSHCommand() -> [Effect] {
        guard let ssh = detailSSHCommand, let id = selectedJob?.id else { return [] }
        message = Message("copied the ssh command of job \(id): \(ssh.count > 50 ? String(ssh.prefix(49)) + "…" : ssh)")
        return [.copy(ssh)]
    }

    /// The screen row of the ssh command line and the columns of the detail, when it is on screen.
    func sshLineRow() -> (y: Int, x: Range<Int>)? {
        guard detailSSHCommand != nil, let j = selectedJob,
              let i = jobDetailLines(j, self).firstIndex(where: { $0.label == "ssh" }) else { return nil }
        let y = Layout.listTop - 1 + i
        guard y <= size.height - 3 else { return nil }
        let left = DetailLayout.listWidth(size).map { $0 + 1 } ?? 0
        return (y, left..<size.width)
    }

    /// A click on the ssh command line selects it; a double click copies it. Nil when the click is elsewhere.
    mutating func sshLineClick(_ m: MouseEvent) -> [Effect]? {
        guard let (y, xs) = sshLineRow(), m.y == y, xs.contains(m.x) else { return nil }
        sshSelected = true
        message = Message("ssh command selected: Enter or y copies it, ← leaves it")
        return m.kind == .doubleClick ? copySSHCommand() : []
    }
}
