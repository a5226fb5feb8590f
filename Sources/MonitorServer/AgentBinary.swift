import Foundation
import MonitorModels
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The agent binary the server offers (`--agent-binary`): its bytes, SHA-256 and version, held in memory so
/// the headers always match the bytes served. The file is looked at again every ping interval (stat: device,
/// inode, size, mtime); when it changed it is read, hashed and asked for its version, so an operator who
/// replaces the file has the fleet follow without restarting the server.
final class AgentBinary: Sendable {
    /// One readable, hashed, version-checked copy of the file.
    struct Snapshot: Sendable {
        var bytes: Data
        var sha256: String
        var version: String
    }

    /// The file's identity as `stat` gives it: a change in any field means "read it again".
    struct FileStamp: Equatable, Sendable {
        var device: UInt64
        var inode: UInt64
        var size: Int64
        var mtimeNanos: Int64
    }

    let path: String?
    private let state = Mutex<(stamp: FileStamp?, snapshot: Snapshot?)>((nil, nil))
    private let log: @Sendable (String) -> Void

    /// Offers the file at `path` (nil: none); `log` gets one line per change or problem.
    init(path: String?, log: @escaping @Sendable (String) -> Void = { FileHandle.standardError.write(Data("mms-server: \($0)\n".utf8)) }) {
        self.path = path
        self.log = log
    }

    /// What is offered now, if anything.
    var current: Snapshot? { state.withLock { $0.snapshot } }

    /// The SHA-256 of what is offered now (ping answers and GET /api/v1/version).
    var sha256: String? { state.withLock { $0.snapshot?.sha256 } }

    /// Looks at the file; reads, hashes and version-checks it again only when its stat changed.
    /// Runs outside any request (start, then the watcher thread): asking the binary its version spawns it.
    func refresh() {
        guard let path else { return }
        let stamp = Self.stamp(path)
        if stamp == state.withLock({ $0.stamp }) { return }
        guard let stamp else {
            state.withLock { $0 = (nil, nil) }
            log("--agent-binary \(path): no such file; offering no agent binary")
            return
        }
        let snapshot = load(path, stamp: stamp)
        state.withLock { $0 = (stamp, snapshot) }
    }

    /// The largest file offered (it is held in memory): a mms-agent release build is a few MB.
    static let maxSize: Int64 = 256 << 20

    private func load(_ path: String, stamp: FileStamp) -> Snapshot? {
        guard stamp.size <= Self.maxSize else {
            log("--agent-binary \(path) is \(stamp.size >> 20) MiB, more than the \(Self.maxSize >> 20) MiB an agent binary may be; "
                + "offering no agent binary until the file changes")
            return nil
        }
        guard let bytes = FileManager.default.contents(atPath: path), Self.stamp(path) == stamp else {
            log("--agent-binary \(path): the file changed while being read, or is unreadable; trying again in a ping interval")
            return nil
        }
        let sha = SHA256Stream.hex(bytes)
        switch Self.askVersion(path) {
        case .failure(let problem):
            log("--agent-binary \(path): '\(path) version' \(problem); offering no agent binary until the file changes")
            return nil
        case .success(let version) where !MMSVersion.compatible(version, MMSVersion.current):
            log("--agent-binary \(path) is mms-agent \(version), which cannot work with server \(MMSVersion.current) "
                + "(MAJOR.MINOR must match); offering no agent binary until the file changes")
            return nil
        case .success(let version):
            log("offering agent binary \(path): mms-agent \(version), SHA-256 \(sha)")
            return Snapshot(bytes: bytes, sha256: sha, version: version)
        }
    }

    static func stamp(_ path: String) -> FileStamp? {
        var s = stat()
        guard stat(path, &s) == 0, (s.st_mode & S_IFMT) == S_IFREG else { return nil }
        return FileStamp(device: UInt64(s.st_dev), inode: UInt64(s.st_ino), size: Int64(s.st_size),
                         mtimeNanos: Int64(s.st_mtim.tv_sec) * 1_000_000_000 + Int64(s.st_mtim.tv_nsec))
    }

    /// Runs `PATH version` (10 s at most) and reads the version from its output: the same check an agent makes
    /// before it installs the binary, so the server never offers one that every agent would refuse.
    static func askVersion(_ path: String) -> Result<String, VersionProblem> {
        VersionProbe.ask(path).mapError { VersionProblem($0.text) }
    }

    /// Why `version` could not be read.
    struct VersionProblem: Error {
        let text: String
        init(_ text: String) { self.text = text }
    }
}

extension AgentBinary.VersionProblem: CustomStringConvertible {
    var description: String { text }
}

/// Looks at the agent binary again every ping interval, on its own thread (it may spawn the binary).
final class AgentBinaryWatcher: @unchecked Sendable {  // `stopping` is guarded by `cond`
    private let binary: AgentBinary
    private let interval: TimeInterval
    private let cond = NSCondition()
    private var stopping = false

    init(binary: AgentBinary, interval: TimeInterval) {
        self.binary = binary
        self.interval = interval
    }

    func start() {
        guard binary.path != nil else { return }
        let t = Thread { [self] in
            while true {
                let stop = cond.withLock { () -> Bool in
                    if !stopping { _ = cond.wait(until: Date().addingTimeInterval(interval)) }
                    return stopping
                }
                if stop { return }
                binary.refresh()
            }
        }
        t.name = "mms-agent-binary"
        t.start()
    }

    func stop() {
        cond.withLock {
            stopping = true
            cond.signal()
        }
    }
}
