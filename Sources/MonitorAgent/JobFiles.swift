import Foundation
import MonitorModels
#if canImport(Glibc)
import Glibc
#endif

/// The job dir on disk: made fresh, with the job's files at their modes.
public enum JobFiles {
    /// Removes `path` if present and makes it again (with parents), mode 0700.
    public static func freshDir(_ path: String) throws(AgentError) {
        let fm = FileManager.default
        do {
            if fm.fileExists(atPath: path) { try fm.removeItem(atPath: path) }
            try fm.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw .io("cannot make the directory \(path): \(error.localizedDescription); check the work dir's permissions")
        }
    }

    /// Writes each file relative to `dir`, making parent dirs, and sets its mode exactly.
    public static func write(_ files: [JobFile], into dir: String) throws(AgentError) {
        for file in files {
            if let problem = Validation.filePathProblem(file.path) {
                throw .badJobFile("file path '\(file.path)' \(problem)")
            }
            guard let mode = Validation.parseMode(file.mode) else {
                throw .badJobFile("file '\(file.path)' has mode '\(file.mode)'; use an octal mode like \"0644\"")
            }
            let full = dir + "/" + file.path
            let parent = parentDir(of: file.path, in: dir)
            do {
                try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
                try Data(file.content.utf8).write(to: URL(fileURLWithPath: full))
            } catch {
                throw .io("cannot write job file \(file.path): \(error.localizedDescription)")
            }
            guard chmod(full, mode_t(mode)) == 0 else {
                throw .io("cannot set mode \(file.mode) on job file \(file.path): \(String(cString: strerror(errno)))")
            }
        }
    }

    /// Writes a file of the agent's own (a session script, job.pgid) with plain system calls: created or
    /// truncated, mode 0600, not fsynced. Returns errno's text on failure.
    static func writeScratch(_ path: String, _ text: String) -> String? {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return String(cString: strerror(errno)) }
        defer { close(fd) }
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return String(cString: strerror(errno)) }
            bytes = bytes.dropFirst(n)
        }
        return nil
    }

    /// The directory a job file goes in: `dir` joined with all but the last component of `path`. Cut on
    /// bytes, not with NSString.deletingLastPathComponent, which traps on paths such as "a/" (Foundation
    /// on Linux, Swift 6.3.1), so a job file path could crash the agent.
    static func parentDir(of path: String, in dir: String) -> String {
        let slash = UInt8(ascii: "/")
        var bytes = Array(path.utf8)
        while bytes.last == slash { bytes.removeLast() }
        guard let cut = bytes.lastIndex(of: slash) else { return dir }
        return dir + "/" + String(decoding: bytes[..<cut], as: UTF8.self)
    }
}

/// WORK_DIR/job.pgid: the running job's process group, so a restarted agent can kill leftovers.
public enum PgidFile {
    /// Records `pgid` (with the boot id, so a reboot's reused numbers are never killed). Written whole
    /// (a temporary file renamed over it) but not fsynced: it serves a restarted agent on the same boot,
    /// and after a crash of the machine the boot id no longer matches anyway.
    public static func record(_ pgid: pid_t, at path: String?) {
        guard let path else { return }
        let temporary = path + ".new"
        guard JobFiles.writeScratch(temporary, "\(pgid) \(ProcessControl.bootID())\n") == nil else { return }
        if rename(temporary, path) != 0 { unlink(temporary) }
    }

    /// Removes the record.
    public static func clear(at path: String?) {
        guard let path else { return }
        unlink(path)
    }

    /// Kills (SIGKILL) the group an earlier agent run recorded, if it is from this boot; returns the pgid killed.
    @discardableResult
    public static func killLeftovers(at path: String) -> pid_t? {
        defer { unlink(path) }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        let f = text.split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard f.count >= 2, let pgid = pid_t(f[0]), pgid > 1, String(f[1]) == ProcessControl.bootID() else { return nil }
        guard ProcessControl.groupAlive(pgid) else { return nil }
        ProcessControl.signalGroup(pgid, SIGKILL)
        return pgid
    }
}
