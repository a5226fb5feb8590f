import Foundation
#if canImport(Glibc)
import Glibc
#endif
@testable import MonitorAgent

/// Podman for the container tests (../shared/FIELD-NOTES.md): a test-owned containers.conf (runc, cgroupfs,
/// the nofile limit this machine allows) and a busybox + static bash image built locally with
/// `podman import` (no registry is reachable). `reason` says why podman cannot run, when it cannot.
enum Podman {
    static let image = "localhost/mms-test-busybox:1"
    static let dir = NSTemporaryDirectory() + "mms-podman-tests"
    static let conf = dir + "/containers.conf"
    /// What the agent and the tests run podman with.
    static var env: [String: String] { ["CONTAINERS_CONF": conf] }

    /// nil when podman runs containers here (the image is then built); else why not.
    static let unavailableReason: String? = {
        let reason = prepare()
        if let reason { print("container tests skipped: \(reason)") }
        return reason
    }()
    static var available: Bool { unavailableReason == nil }

    private static func prepare() -> String? {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/podman") else { return "podman is not installed (make deps installs it)" }
        for tool in ["/bin/busybox", "/bin/bash-static"] where !FileManager.default.isExecutableFile(atPath: tool) {
            return "\(tool) is missing (Debian busybox-static, bash-static)"
        }
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let confText = """
        [containers]
        default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
        [engine]
        runtime = "runc"
        cgroup_manager = "cgroupfs"
        events_logger = "file"

        """
        try? confText.write(toFile: conf, atomically: true, encoding: .utf8)
        if sh("podman image exists \(image)").status != 0 {
            let build = """
            set -e; root=$(mktemp -d \(dir)/root.XXXXXX); mkdir -p $root/bin $root/etc $root/tmp; chmod 1777 $root/tmp
            cp /bin/busybox $root/bin/; for a in $(/bin/busybox --list); do [ $a = busybox ] || ln -sf busybox $root/bin/$a; done
            cp /bin/bash-static $root/bin/bash; echo 'root:x:0:0:root:/root:/bin/sh' > $root/etc/passwd
            tar -C $root -c . | podman import --change 'CMD ["/bin/sh"]' - \(image) >/dev/null; rm -rf $root
            """
            let built = sh(build)
            if built.status != 0 { return "cannot build the test image: \(built.output.suffix(300))" }
        }
        let run = sh("podman run --rm --network none \(image) true")
        return run.status == 0 ? nil : "podman cannot run a container here: \(run.output.suffix(300))"
    }

    /// Runs a shell line with the test containers.conf; returns its status and merged output.
    @discardableResult
    static func sh(_ line: String) -> (status: Int32, output: String) {
        // Output through a file: a pipe's write end can be inherited by a daemon started meanwhile (sshd, conmon).
        let outPath = NSTemporaryDirectory() + "mms-sh-\(UUID().uuidString.prefix(12)).out"
        defer { try? FileManager.default.removeItem(atPath: outPath) }
        // posix_spawn and waitpid by pid: Foundation's Process missed this child's exit once sshd ran beside it.
        let env = ProcessInfo.processInfo.environment.merging(Self.env) { $1 }.map { "\($0.key)=\($0.value)" }
        let (rc, pid) = ProcessControl.spawnInNewSession(["/bin/sh", "-c", "(" + line + ") >" + outPath + " 2>&1 </dev/null"],
                                                         environment: env, resetSignals: true) { _ in }
        guard rc == 0 else { return (127, "cannot spawn /bin/sh: \(rc)") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let text = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
        return (ExitStatus(raw: status).shellCode, text)
    }

    /// Names of the containers and networks labelled as belonging to the agent in `workDir`.
    static func leftovers(owner workDir: String) -> [String] {
        let c = sh("podman ps -a --filter label=mms.owner=\(workDir) --format '{{.Names}}'").output
        let n = sh("podman network ls --filter label=mms.owner=\(workDir) --format '{{.Name}}'").output
        return (c + n).split(separator: "\n").map(String.init).filter { !$0.hasPrefix("failed to connect to syslog") }
    }
}
