import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Running PostgreSQL's tools as the right user, ports, and cleaning up after crashed test runs.
extension PostgresCluster {
    /// True when this process is root: the tools then run as `postgres` through runuser.
    static var asRoot: Bool { geteuid() == 0 }

    /// Runs one of PostgreSQL's tools to its end (at most 2 minutes) in `dir`; throws with its output if it failed.
    static func run(_ tool: String, _ args: [String], in dir: String) throws {
        // `env -C` enters the dir as the tools' user: initdb fails when it cannot read the current directory.
        let command = ["/usr/bin/env", "-C", dir, binDir + "/" + tool] + args
        let runuser = FileManager.default.fileExists(atPath: "/usr/sbin/runuser") ? "/usr/sbin/runuser" : "/sbin/runuser"
        let outPath = FileManager.default.temporaryDirectory.appendingPathComponent("mms-pgtool-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: outPath) }
        let status = try spawnAndWait(asRoot ? [runuser, "-u", "postgres", "--"] + command : command, output: outPath)
        guard status != 0 else { return }
        let output = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
        throw PostgresClusterError("\(tool) \(args.joined(separator: " ")) failed (\(status ?? -1)): \(output)")
    }

    /// Runs `argv` with stdin from /dev/null, stdout and stderr into `output`, and no other descriptor passed
    /// on; returns the exit status (nil when killed after 2 minutes). Not Foundation's Process: it learns of
    /// an exit from a socket the child keeps, which the server pg_ctl leaves running would keep forever.
    static func spawnAndWait(_ argv: [String], output: String) throws -> Int32? {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        closeFrom(3, &actions)
        var attrs = posix_spawnattr_t()
        posix_spawnattr_init(&attrs)
        defer { posix_spawnattr_destroy(&attrs) }
        var none = sigset_t(), all = sigset_t()
        sigemptyset(&none)
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attrs, &none)  // a Swift concurrency thread blocks signals; the tools must not
        posix_spawnattr_setsigdefault(&attrs, &all)
        posix_spawnattr_setflags(&attrs, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { cArgs.forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, argv[0], &actions, &attrs, cArgs, environ)
        guard rc == 0 else { throw PostgresClusterError("cannot run \(argv[0]): errno \(rc)") }
        var status: Int32 = 0
        let deadline = Date().addingTimeInterval(120)
        while waitpid(pid, &status, WNOHANG) == 0 {
            if Date() > deadline {
                kill(pid, SIGKILL)
                waitpid(pid, &status, 0)
                return nil
            }
            usleep(5_000)
        }
        return status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }

    /// Adds "close every descriptor from `lowest` up" to `actions` (glibc 2.34+; Swift cannot see its declaration).
    private static func closeFrom(_ lowest: Int32, _ actions: inout posix_spawn_file_actions_t) {
        typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
        guard let symbol = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") else { return }
        _ = unsafeBitCast(symbol, to: CloseFrom.self)(&actions, lowest)
    }

    /// A TCP port free on 127.0.0.1 right now (bound to port 0, then closed).
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw PostgresClusterError("socket: errno \(errno)") }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &addr) { ptr in
            ptr.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        guard bound else { throw PostgresClusterError("bind 127.0.0.1:0: errno \(errno)") }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    /// Stops and removes clusters under /tmp/mms-pg-* whose test process is gone (a crashed or killed run).
    /// Clusters of live processes (other test runs on this machine) are left alone.
    static func removeLeftovers() {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: "/tmp") else { return }
        for name in names where name.hasPrefix("mms-pg-") {
            let dir = "/tmp/" + name
            if let text = try? String(contentsOfFile: dir + "/owner", encoding: .utf8) {
                guard let owner = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), !isAlive(owner) else { continue }
            } else {
                // No owner file yet: maybe being made right now; only an old one is a leftover.
                let made = (try? FileManager.default.attributesOfItem(atPath: dir)[.modificationDate]) as? Date
                guard let made, made < Date().addingTimeInterval(-60) else { continue }
            }
            if FileManager.default.fileExists(atPath: dir + "/data/postmaster.pid") {
                try? run("pg_ctl", ["-D", dir + "/data", "-m", "immediate", "-w", "stop"], in: dir)
            }
            try? FileManager.default.removeItem(atPath: dir)
        }
    }

    /// Whether process `pid` exists (EPERM: it exists but belongs to another user).
    static func isAlive(_ pid: Int32) -> Bool { kill(pid, 0) == 0 || errno == EPERM }

    /// Fast shutdown by signal (what `pg_ctl -m fast` sends), waiting until the server removed its pid file,
    /// then removal of the dir; used from atexit, where starting processes is best avoided.
    func destroyAtExit() {
        let pidFile = dir + "/data/postmaster.pid"
        if let text = try? String(contentsOfFile: pidFile, encoding: .utf8),
           let line = text.split(separator: "\n").first, let pid = Int32(line), pid > 0, kill(pid, SIGINT) == 0 {
            var waited = 0
            while FileManager.default.fileExists(atPath: pidFile) && waited < 1000 {  // 10 s at most
                usleep(10_000)
                waited += 1
            }
        }
        try? FileManager.default.removeItem(atPath: dir)
    }
}
