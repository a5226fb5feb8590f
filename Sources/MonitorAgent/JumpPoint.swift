import Foundation
import MonitorModels
#if canImport(Glibc)
import Glibc
#endif

/// How this agent offers SSH jump points (`--ssh-jump-point` and its companions).
public struct JumpPointSettings: Sendable, Equatable {
    /// The authorized keys file the job's keys go into (`--authorized-keys`).
    public var keysFile: String
    /// What the ssh command names: `--ssh-host`, else the agent's address as the server sees it.
    public var host: String?
    public var port: Int = 22
    /// Where the agent notes each open jump point (its key lines, its shells), so a restart after a crash
    /// can remove them: `WORK_DIR/ssh`.
    public var stateDir: String

    public init(keysFile: String, host: String? = nil, port: Int = 22, stateDir: String) {
        self.keysFile = keysFile
        self.host = host
        self.port = port
        self.stateDir = stateDir
    }
}

/// One job's SSH jump point (contract, "SSH jump point"): the script `JOB_DIR/ssh_jump_point` (linked from
/// `/tmp/ssh_jump_point`) that opens a shell in the job, and the job's keys in the authorized keys file,
/// restricted to it. `close` removes all of it and ends every shell opened through it.
struct JumpPoint: Sendable {
    /// What a crash leaves for the next start to undo: written before the keys go in.
    struct Record: Codable, Sendable {
        var jobId: String
        var keysFile: String
        var lines: [String]
        var jumpPoint: String
        var link: String
        /// True when the keys file lacked its last newline and the agent added one before its lines.
        var addedNewline = false
    }

    static let link = "/tmp/ssh_jump_point"
    let settings: JumpPointSettings
    let record: Record
    var sessionsFile: String { settings.stateDir + "/\(record.jobId).sessions" }
    var recordFile: String { settings.stateDir + "/\(record.jobId).json" }

    init(settings: JumpPointSettings, jobId: String, jobDir: String, keys: [SSHPublicKey]) {
        self.settings = settings
        let path = jobDir + "/ssh_jump_point"
        let lines = keys.map { "command=\"bash \(Self.commandQuoted(path))\",restrict,pty \($0.typeAndKey) mms-job-\(jobId)" }
        record = Record(jobId: jobId, keysFile: settings.keysFile, lines: lines, jumpPoint: path, link: Self.link)
    }

    /// The path as it goes inside `command="…"`: bare when it is plain, else single-quoted for bash.
    static func commandQuoted(_ path: String) -> String {
        let plain = path.utf8.allSatisfy { c in
            (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c == 47 || c == 46 || c == 95 || c == 45
        }
        return plain ? path : JobScript.quote(path)
    }

    /// Writes the jump point and its environment file, links it, notes it in the state dir, adds the keys;
    /// returns the ssh command to report. `container` is set for a container job (the shell opens there).
    func open(environment: [String: String], jobDir: String, controlDir: String, container: ContainerJob?,
              host: String?) throws(AgentError) -> String {
        guard !record.jumpPoint.contains("\"") else { throw .io("the job dir's path contains '\"'; no jump point") }
        let envFile = controlDir + "/ssh_env"
        if let problem = JobFiles.writeScratch(envFile, Self.environmentFile(environment)) { throw .io("cannot write \(envFile): \(problem)") }
        let script = JumpPointScript.text(jobId: record.jobId, envFile: envFile, jobDir: jobDir,
                                          sessionsFile: sessionsFile, container: container)
        if let problem = JobFiles.writeScratch(record.jumpPoint, script) { throw .io("cannot write \(record.jumpPoint): \(problem)") }
        chmod(record.jumpPoint, 0o700)
        var st = stat()
        if lstat(record.link, &st) == 0 && (st.st_mode & S_IFMT) == S_IFLNK { unlink(record.link) }
        _ = symlink(record.jumpPoint, record.link)  // a regular file there is someone else's: leave it
        try FileManager.default.createDirectoryIfMissing(settings.stateDir)
        var record = record
        try save(record)  // before the keys go in: a crash from here on is undone at the next start
        record.addedNewline = try AuthorizedKeys.append(record.lines, to: record.keysFile)
        if record.addedNewline { try save(record) }
        let user = Self.userName()
        return "ssh -t -p \(settings.port) \(user)@\(settings.host ?? host ?? Host.name)"
    }

    private func save(_ record: Record) throws(AgentError) {
        let data = (try? JSONEncoder().encode(record)) ?? Data()
        if let problem = JobFiles.writeScratch(recordFile, String(decoding: data, as: UTF8.self)) {
            throw .io("cannot write \(recordFile): \(problem)")
        }
    }

    /// Removes the keys, the jump point and its link, then ends every shell opened through it. Returns problems.
    /// Reads the record back from the state dir (it knows whether a newline was added).
    func close() -> [String] {
        let saved = FileManager.default.contents(atPath: recordFile).flatMap { try? JSONDecoder().decode(Record.self, from: $0) }
        return Self.close(saved ?? record, stateDir: settings.stateDir)
    }

    /// Undoes `record`: keys out first (no new logins), jump point away, then the shells ended.
    static func close(_ record: Record, stateDir: String) -> [String] {
        var problems: [String] = []
        do {
            try AuthorizedKeys.remove(record.lines, from: record.keysFile, addedNewline: record.addedNewline)
        } catch {
            problems.append(error.description)
        }
        var target = [CChar](repeating: 0, count: 4096)
        let n = readlink(record.link, &target, target.count - 1)
        if n > 0, String(decoding: target[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) == record.jumpPoint { unlink(record.link) }
        unlink(record.jumpPoint)
        let sessionsFile = stateDir + "/\(record.jobId).sessions"
        let sids = ((try? String(contentsOfFile: sessionsFile, encoding: .utf8)) ?? "").split(separator: "\n").compactMap { pid_t($0) }
        ProcessControl.killSessions(Set(sids.filter { $0 > 1 }))
        unlink(sessionsFile)
        unlink(stateDir + "/\(record.jobId).json")
        return problems
    }

    /// Closes every jump point a crashed run of the agent left open; returns the job ids closed.
    static func closeLeftovers(stateDir: String) -> [String] {
        var closed: [String] = []
        for name in ((try? FileManager.default.contentsOfDirectory(atPath: stateDir)) ?? []).sorted() where name.hasSuffix(".json") {
            guard let data = FileManager.default.contents(atPath: stateDir + "/" + name),
                  let record = try? JSONDecoder().decode(Record.self, from: data) else { continue }
            _ = close(record, stateDir: stateDir)
            closed.append(record.jobId)
        }
        return closed
    }

    /// `export NAME='value'` lines for bash to source: exactly the job's variables.
    static func environmentFile(_ env: [String: String]) -> String {
        env.keys.sorted().filter(Validation.isEnvName).map { "export \($0)=\(JobScript.quote(env[$0]!))\n" }.joined()
    }

    static func userName() -> String {
        if let pw = getpwuid(geteuid()), let name = pw.pointee.pw_name { return String(cString: name) }
        return ProcessInfo.processInfo.environment["USER"] ?? "root"
    }
}

extension FileManager {
    /// Makes `path` (0700) unless it exists.
    func createDirectoryIfMissing(_ path: String) throws(AgentError) {
        do {
            try createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw .io("cannot make \(path): \(error.localizedDescription)")
        }
    }
}
