import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Who this agent is to the server: a UUID and a secret, kept in WORK_DIR/config.properties (mode 0600).
public struct AgentIdentity: Sendable, Equatable {
    public var uuid: String
    public var secret: String

    public init(uuid: String, secret: String) {
        self.uuid = uuid
        self.secret = secret
    }

    /// A new identity: a random UUID and 32 random bytes as hex.
    public static func generate() -> AgentIdentity {
        var rng = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) }
        return AgentIdentity(uuid: UUID().uuidString.lowercased(), secret: bytes.map { String(format: "%02x", $0) }.joined())
    }

    /// The identity file in a work dir.
    public static func path(in workDir: String) -> String { workDir + "/config.properties" }

    /// Parses `agent.uuid=` and `agent.secret=` lines; nil when either is missing.
    public static func parse(_ text: String) -> AgentIdentity? {
        var values: [String: String] = [:]
        for line in text.split(whereSeparator: \.isNewline) {
            let t = line.trimmingCharacters(in: .whitespaces)
            if t.hasPrefix("#") { continue }
            guard let eq = t.firstIndex(of: "=") else { continue }
            values[String(t[..<eq]).trimmingCharacters(in: .whitespaces)] = String(t[t.index(after: eq)...]).trimmingCharacters(in: .whitespaces)
        }
        guard let uuid = values["agent.uuid"], !uuid.isEmpty, let secret = values["agent.secret"], !secret.isEmpty else { return nil }
        return AgentIdentity(uuid: uuid, secret: secret)
    }

    /// Reads the identity of `workDir`, or makes and saves a new one; `created` tells which.
    public static func loadOrCreate(workDir: String) throws(AgentError) -> (identity: AgentIdentity, created: Bool) {
        let file = path(in: workDir)
        if FileManager.default.fileExists(atPath: file) {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw .io("cannot read \(file); check its owner and permissions")
            }
            guard let id = parse(text) else {
                throw .io("\(file) has no agent.uuid/agent.secret lines; remove it to register as a new agent")
            }
            return (id, false)
        }
        let id = generate()
        try id.save(workDir: workDir)
        return (id, true)
    }

    /// The identity file's text, as `save` writes it and `parse` reads it.
    public var fileText: String {
        "# mms-agent identity; keep it secret. Remove this file to register as a new agent.\nagent.uuid=\(uuid)\nagent.secret=\(secret)\n"
    }

    /// Writes the identity file atomically with mode 0600.
    public func save(workDir: String) throws(AgentError) {
        let file = Self.path(in: workDir)
        let tmp = file + ".tmp"
        unlink(tmp)
        let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .io("cannot write \(tmp): \(String(cString: strerror(errno)))") }
        let bytes = Array(fileText.utf8)
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress!, $0.count) }
        fsync(fd)
        close(fd)
        guard n == bytes.count, rename(tmp, file) == 0 else {
            unlink(tmp)
            throw .io("cannot write \(file): \(String(cString: strerror(errno)))")
        }
    }
}

/// The exclusive lock on WORK_DIR/agent.lock that keeps a second agent off the same work dir.
/// Its descriptor is close-on-exec, so jobs never hold it.
public final class WorkDirLock: Sendable {
    private let fd: Int32
    public let path: String

    private init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
    }

    deinit { close(fd) }

    /// Takes the lock (creating the work dir, mode 0700, if needed) and writes this pid into the lock file.
    public static func acquire(workDir: String) throws(AgentError) -> WorkDirLock {
        do {
            try FileManager.default.createDirectory(atPath: workDir, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        } catch {
            throw .io("cannot create the work dir \(workDir): \(error.localizedDescription)")
        }
        let path = workDir + "/agent.lock"
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .io("cannot open \(path): \(String(cString: strerror(errno)))") }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            var buf = [UInt8](repeating: 0, count: 32)
            let n = pread(fd, &buf, buf.count, 0)
            close(fd)
            let pid = n > 0 ? String(decoding: buf[..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : "unknown"
            throw .locked(dir: workDir, pid: pid.isEmpty ? "unknown" : pid)
        }
        ftruncate(fd, 0)
        let text = Array("\(getpid())\n".utf8)
        _ = text.withUnsafeBytes { pwrite(fd, $0.baseAddress!, $0.count, 0) }
        return WorkDirLock(fd: fd, path: path)
    }
}
