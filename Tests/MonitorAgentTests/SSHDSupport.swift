import Foundation
import Synchronization
@testable import MonitorAgent
#if canImport(Glibc)
import Glibc
#endif

/// A private sshd for the jump point tests (../shared/FIELD-NOTES.md): own config, host key and
/// authorized keys file in a temp dir, a free port on 127.0.0.1, and a client key made now. Never the
/// machine's own ~/.ssh or port 22.
final class TestSSHD: @unchecked Sendable {  // set up once in start, then only read
    let dir: String
    let port: Int
    let keysFile: String
    let clientKey: String
    let clientPublicKey: String
    let child: SpawnedProcess

    /// Why sshd cannot run here, or nil.
    static var unavailableReason: String? {
        for tool in ["/usr/sbin/sshd", "/usr/bin/ssh", "/usr/bin/ssh-keygen"] where !FileManager.default.isExecutableFile(atPath: tool) {
            return "\(tool) is missing (Debian openssh-server, openssh-client)"
        }
        return nil
    }

    private init(dir: String, port: Int, keysFile: String, clientKey: String, clientPublicKey: String, child: SpawnedProcess) {
        self.dir = dir
        self.port = port
        self.keysFile = keysFile
        self.clientKey = clientKey
        self.clientPublicKey = clientPublicKey
        self.child = child
    }

    static func start(dir: String) async throws -> TestSSHD {
        try? FileManager.default.createDirectory(atPath: "/run/sshd", withIntermediateDirectories: true,
                                                 attributes: [.posixPermissions: 0o755])
        for (name, type) in [("host_key", "ed25519"), ("client_key", "ed25519")] {
            let gen = Podman.sh("ssh-keygen -q -t \(type) -N '' -C mms-test -f \(dir)/\(name)")
            if gen.status != 0 { throw TestFailure("ssh-keygen: \(gen.output)") }
        }
        let port = freePort()
        let keysFile = dir + "/authorized_keys"
        let config = """
        Port \(port)
        ListenAddress 127.0.0.1
        HostKey \(dir)/host_key
        AuthorizedKeysFile \(keysFile)
        StrictModes no
        UsePAM no
        PidFile \(dir)/sshd.pid
        PasswordAuthentication no
        KbdInteractiveAuthentication no
        PermitRootLogin prohibit-password
        LogLevel ERROR

        """
        try config.write(toFile: dir + "/sshd_config", atomically: true, encoding: .utf8)
        let child = try SpawnedProcess(["/usr/sbin/sshd", "-D", "-e", "-f", dir + "/sshd_config"], dir: dir)
        let listening = await eventually(10) { Podman.sh("bash -c 'exec 3<>/dev/tcp/127.0.0.1/\(port)'").status == 0 }
        if !listening { throw TestFailure("sshd did not start: \(child.stderr)") }
        let pub = try String(contentsOfFile: dir + "/client_key.pub", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        return TestSSHD(dir: dir, port: port, keysFile: keysFile, clientKey: dir + "/client_key", clientPublicKey: pub, child: child)
    }

    /// The ssh client arguments that reach this sshd with the test key and touch no user file.
    var sshArgs: [String] {
        ["-F", "/dev/null", "-i", clientKey, "-p", String(port), "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
         "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
         "-o", "ConnectTimeout=10", "\(JumpPoint.userName())@127.0.0.1"]
    }

    /// Runs `ssh … command` and returns its status and output.
    func ssh(_ command: String) -> (status: Int32, output: String) {
        Podman.sh((["ssh"] + sshArgs + [command]).map(JobScriptQuote.q).joined(separator: " "))
    }

    func stop() { child.stop() }

    /// An ssh client left running (a shell kept open).
    func openShell(_ command: String) throws -> SpawnedProcess {
        try SpawnedProcess(["/usr/bin/ssh"] + sshArgs + [command], dir: dir)
    }

    static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return Int(UInt16(bigEndian: addr.sin_port))
    }
}

/// Shell quoting for test command lines.
enum JobScriptQuote {
    static func q(_ s: String) -> String { JobScript.quote(s) }
}

/// A child started with posix_spawn and watched by pid, output in files. Foundation's Process stopped
/// noticing other children's exits in the test process once sshd had been started through it.
final class SpawnedProcess: @unchecked Sendable {  // pid and paths are set once
    let pid: pid_t
    let outPath: String
    let errPath: String
    private let reaped = Mutex(false)

    init(_ argv: [String], dir: String) throws {
        outPath = dir + "/\(UUID().uuidString.prefix(6)).out"
        errPath = dir + "/\(UUID().uuidString.prefix(6)).err"
        let out = open(outPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        let err = open(errPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        defer { close(out); close(err) }
        let env = ProcessInfo.processInfo.environment.map { "\($0.key)=\($0.value)" }
        let (rc, pid) = ProcessControl.spawnInNewSession(argv, environment: env, resetSignals: true) { actions in
            posix_spawn_file_actions_addopen(actions, 0, "/dev/null", O_RDONLY, 0)
            posix_spawn_file_actions_adddup2(actions, out, 1)
            posix_spawn_file_actions_adddup2(actions, err, 2)
        }
        guard rc == 0 else { throw TestFailure("cannot start \(argv[0]): \(rc)") }
        self.pid = pid
    }

    var stdout: String { (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "" }

    /// True once the process has exited (reaped here).
    var exited: Bool {
        reaped.withLock { done in
            if done { return true }
            var status: Int32 = 0
            done = waitpid(pid, &status, WNOHANG) == pid
            return done
        }
    }

    func stop() {
        if !exited { kill(pid, SIGTERM) }
        for _ in 0..<200 where !exited { usleep(10_000) }
        if !exited { kill(pid, SIGKILL); _ = waitpid(pid, nil, 0) }
    }
}
