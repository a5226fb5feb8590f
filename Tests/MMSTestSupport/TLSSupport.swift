import Foundation

/// A throwaway CA and a server certificate it signed (subjectAltName IP:127.0.0.1, DNS:localhost), made
/// with the `openssl` CLI in a temporary dir, plus a CA bundle: the system bundle with this CA added.
public struct TestCA: Sendable {
    /// The dir holding every file below.
    public let dir: String
    /// The CA certificate (what `--ca-cert` names).
    public var caPath: String { dir + "/ca.pem" }
    /// The server's certificate and key (what `--tls-cert` and `--tls-key` name).
    public var certPath: String { dir + "/server.pem" }
    public var keyPath: String { dir + "/server.key" }
    /// The system CA bundle plus this CA: what the system store holds once the CA is installed.
    public var bundlePath: String { dir + "/ca-certificates.crt" }

    /// Makes the CA, the server certificate and the bundle (P-256 keys: fast). Needs `openssl` on PATH.
    public static func make() async throws -> TestCA {
        let ca = TestCA(dir: FileManager.default.temporaryDirectory.appendingPathComponent("mms-tls-\(UUID().uuidString)").path)
        try FileManager.default.createDirectory(atPath: ca.dir, withIntermediateDirectories: true)
        try Data("subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n".utf8)
            .write(to: URL(fileURLWithPath: ca.dir + "/server.ext"))
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
        let steps: [[String]] = [
            ["req", "-x509"] + ec + ["-keyout", ca.dir + "/ca.key", "-out", ca.caPath, "-days", "2", "-subj", "/CN=MMS test CA",
             "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
            ["req"] + ec + ["-keyout", ca.keyPath, "-out", ca.dir + "/server.csr", "-subj", "/CN=localhost"],
            ["x509", "-req", "-in", ca.dir + "/server.csr", "-CA", ca.caPath, "-CAkey", ca.dir + "/ca.key", "-CAcreateserial",
             "-out", ca.certPath, "-days", "2", "-extfile", ca.dir + "/server.ext"],
        ]
        for args in steps {
            let run = try await ProgramRun.run("openssl", args, seconds: 60)
            guard run.status == 0 else {
                throw TLSSupportError("openssl \(args.prefix(2).joined(separator: " ")) failed (status \(String(describing: run.status))): "
                    + run.stderr + " (is the openssl package installed?)")
            }
        }
        let system = FileManager.default.contents(atPath: PrivateTrustStore.systemBundle) ?? Data()
        let mine = try Data(contentsOf: URL(fileURLWithPath: ca.caPath))
        try (system + Data("\n".utf8) + mine).write(to: URL(fileURLWithPath: ca.bundlePath))
        return ca
    }

    /// Removes the dir.
    public func remove() {
        try? FileManager.default.removeItem(atPath: dir)
    }
}

/// Runs programs in a private mount namespace (`unshare -m`) where the system CA bundle is another file,
/// bind-mounted over it: the CA is "installed" for those processes only, never on the host.
public enum PrivateTrustStore {
    /// The bundle Debian's libcurl, so URLSession, trusts.
    public static let systemBundle = "/etc/ssl/certs/ca-certificates.crt"

    /// True when `unshare -m` and a bind mount over the system bundle work here (root or CAP_SYS_ADMIN).
    public static let isAvailable: Bool = {
        guard FileManager.default.fileExists(atPath: systemBundle) else { return false }
        guard let p = try? SpawnedChild("unshare", ["-m", "sh", "-c", "mount --bind \(systemBundle) \(systemBundle)"]) else { return false }
        p.waitUntilExit()
        return p.terminationStatus == 0
    }()

    /// The argv that runs `argv` with `bundle` in place of the system bundle (via `unshare`, found on PATH).
    public static func wrap(_ argv: [String], bundle: String) -> [String] {
        ["unshare", "-m", "sh", "-c", "mount --bind \"$0\" \(systemBundle) && exec \"$@\"", bundle] + argv
    }

    /// The same as one shell line (for tmux).
    public static func shellLine(_ argv: [String], bundle: String) -> String {
        wrap(argv, bundle: bundle).map(shellQuoted).joined(separator: " ")
    }

    /// `s` quoted for sh.
    public static func shellQuoted(_ s: String) -> String {
        "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}

/// A program run to its end with its output in files; polls for the exit (never blocks a thread).
public enum ProgramRun {
    /// Runs `program` (found on PATH) with `args`; returns its status (nil if it did not end within
    /// `seconds`, then it is killed), stdout and stderr.
    public static func run(_ program: String, _ args: [String], seconds: Double = 30)
        async throws -> (status: Int32?, stdout: String, stderr: String) {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("mms-run-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: base + ".out"); try? FileManager.default.removeItem(atPath: base + ".err") }
        _ = FileManager.default.createFile(atPath: base + ".out", contents: nil)
        _ = FileManager.default.createFile(atPath: base + ".err", contents: nil)
        let p = try SpawnedChild(program, args, stdout: .file(base + ".out"), stderr: .file(base + ".err"))
        let ended = await eventually(seconds) { !p.isRunning }
        if !ended { p.signal(SIGKILL) }
        let out = (try? String(contentsOfFile: base + ".out", encoding: .utf8)) ?? ""
        let err = (try? String(contentsOfFile: base + ".err", encoding: .utf8)) ?? ""
        return (ended ? p.terminationStatus : nil, out, err)
    }
}

/// Admin calls over https from the test process with `curl --cacert` (URLSession here trusts only the
/// host's system store, which never holds the test CA).
public struct CurlAdmin: Sendable {
    public let baseURL: URL
    public let token: String
    public let caPath: String

    /// A client for `baseURL` with the admin token, trusting `caPath`.
    public init(baseURL: URL, token: String, caPath: String) {
        self.baseURL = baseURL
        self.token = token
        self.caPath = caPath
    }

    /// One request; the status (0 when curl failed) and the body.
    public func call(_ method: String, _ path: String, json: String? = nil) async throws -> (status: Int, body: String) {
        let bodyFile = FileManager.default.temporaryDirectory.appendingPathComponent("mms-curl-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: bodyFile) }
        var args = ["-sS", "-m", "30", "--cacert", caPath, "-X", method, "-H", "Authorization: Bearer \(token)",
                    "-o", bodyFile, "-w", "%{http_code}"]
        if let json { args += ["-H", "Content-Type: application/json", "--data-binary", json] }
        let run = try await ProgramRun.run("curl", args + [baseURL.absoluteString + path], seconds: 40)
        let body = (try? String(contentsOfFile: bodyFile, encoding: .utf8)) ?? ""
        return (Int(run.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0, body + (run.status == 0 ? "" : run.stderr))
    }
}

/// A TLS test fixture that could not be made.
public struct TLSSupportError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
