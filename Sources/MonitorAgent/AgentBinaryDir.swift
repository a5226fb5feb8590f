import Foundation
import MMSCrypto
import MonitorModels
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// WORK_DIR/bin: `mms-agent` (what the supervisor runs when present), `mms-agent.previous` (the binary before
/// the last upgrade, for rollback), `mms-agent.new` (a download being checked) and `rolled-back.sha256` (one
/// SHA-256 per line the agent must never install again).
public struct AgentBinaryDir: Sendable {
    public let path: String

    /// The bin dir of a work dir.
    public init(workDir: String) { path = workDir + "/bin" }

    public var current: String { path + "/mms-agent" }
    public var incoming: String { path + "/mms-agent.new" }
    public var previous: String { path + "/mms-agent.previous" }
    public var rolledBackList: String { path + "/rolled-back.sha256" }

    /// What the supervisor runs: bin/mms-agent when it is there and executable, else its own executable.
    public func executableToRun() -> String {
        FileManager.default.isExecutableFile(atPath: current) ? current : Self.ownExecutable()
    }

    /// The path of the running executable (/proc/self/exe), falling back to argv[0].
    public static func ownExecutable() -> String {
        if let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"),
           !target.hasSuffix(" (deleted)") {
            return target
        }
        return URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL.path
    }

    /// SHA-256 of a file, read in 1 MiB pieces; nil when it cannot be read.
    public static func sha256(ofFile file: String) -> String? {
        guard let handle = FileHandle(forReadingAtPath: file) else { return nil }
        defer { try? handle.close() }
        var hash = SHA256Stream()
        while true {
            let piece: Data?
            do { piece = try handle.read(upToCount: 1 << 20) } catch { return nil }
            guard let piece, !piece.isEmpty else { break }  // nil or empty: end of file
            hash.update(piece)
        }
        return hash.finishHex()
    }

    /// The SHA-256s that were rolled back (never installed again).
    public func rolledBack() -> Set<String> {
        guard let text = try? String(contentsOfFile: rolledBackList, encoding: .utf8) else { return [] }
        return Set(text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter(SHA256Stream.isHex))
    }

    /// Installs a downloaded binary: writes it to mms-agent.new (0755), checks its SHA-256 against `download`'s
    /// header and `expected` (what the server announced), runs `mms-agent.new version` (it must exit 0 and print
    /// a version sharing MAJOR.MINOR with `serverVersion`), keeps the binary that runs now as mms-agent.previous,
    /// and renames mms-agent.new over mms-agent. On any failure mms-agent.new is removed and nothing else changed.
    /// Returns the installed version.
    public func install(_ bytes: Data, headerSHA256: String, expected: String?, serverVersion: String,
                        running: String) throws(UpgradeProblem) -> String {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch { throw UpgradeProblem("cannot create \(path): \(error.localizedDescription)") }
        let sha = SHA256Stream.hex(bytes)
        guard sha == headerSHA256.lowercased(), expected == nil || expected == sha else {
            throw UpgradeProblem("the download's SHA-256 is \(sha), but the server announced \(expected ?? headerSHA256); dropped it")
        }
        defer { unlink(incoming) }
        try Self.writeFile(incoming, bytes, mode: 0o755)
        let version = try Self.askVersion(incoming)
        guard MMSVersion.compatible(version, serverVersion) else {
            throw UpgradeProblem("the new binary is mms-agent \(version), which cannot work with server \(serverVersion)")
        }
        try keepPrevious(running: running)
        guard rename(incoming, current) == 0 else {
            throw UpgradeProblem("cannot rename \(incoming) to \(current): \(String(cString: strerror(errno)))")
        }
        return version
    }

    /// Keeps the binary that runs now as mms-agent.previous: a hard link when it is bin/mms-agent, else a copy.
    private func keepPrevious(running: String) throws(UpgradeProblem) {
        let tmp = previous + ".tmp"
        unlink(tmp)
        let linked = running == current && link(current, tmp) == 0
        if !linked {
            guard let bytes = FileManager.default.contents(atPath: running) else {
                throw UpgradeProblem("cannot read the running binary \(running) to keep it as \(previous)")
            }
            try Self.writeFile(tmp, bytes, mode: 0o755)
        }
        guard rename(tmp, previous) == 0 else {
            unlink(tmp)
            throw UpgradeProblem("cannot keep the running binary as \(previous): \(String(cString: strerror(errno)))")
        }
    }

    /// Puts mms-agent.previous back as mms-agent (or removes mms-agent when there is no previous one, so the
    /// supervisor runs its own executable) and adds the rolled-back binary's SHA-256 to the list. Returns it.
    @discardableResult
    public func rollBack() -> String? {
        let bad = Self.sha256(ofFile: current)
        if let bad {
            let line = Array((bad + "\n").utf8)
            let fd = open(rolledBackList, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
            if fd >= 0 {
                _ = line.withUnsafeBytes { write(fd, $0.baseAddress!, $0.count) }
                fsync(fd)
                close(fd)
            }
        }
        if FileManager.default.fileExists(atPath: previous) {
            if rename(previous, current) != 0 { unlink(current) }
        } else {
            unlink(current)
        }
        return bad
    }

    static func writeFile(_ file: String, _ bytes: Data, mode: mode_t) throws(UpgradeProblem) {
        unlink(file)
        let fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw UpgradeProblem("cannot write \(file): \(String(cString: strerror(errno)))") }
        var done = 0
        bytes.withUnsafeBytes { raw in
            while done < raw.count {
                let n = write(fd, raw.baseAddress! + done, raw.count - done)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                done += n
            }
        }
        fchmod(fd, mode)
        let synced = fsync(fd) == 0
        close(fd)
        guard done == bytes.count, synced else {
            unlink(file)
            throw UpgradeProblem("cannot write \(file) (disk full?)")
        }
    }

    /// Runs `BINARY version` (10 s at most); the version it prints, or why there is none.
    static func askVersion(_ binary: String) throws(UpgradeProblem) -> String {
        switch VersionProbe.ask(binary) {
        case .success(let version): return version
        case .failure(let problem): throw UpgradeProblem("'\(binary) version' \(problem.text)")
        }
    }
}

/// Why an upgrade did not happen (the old binary keeps running).
public struct UpgradeProblem: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
