import Foundation
import MonitorModels
import ServerAPIClient
@testable import MonitorAgent

/// Agent binaries for the upgrade tests and a server offering them.
enum UpgradeFixture {
    /// The built mms-agent, and its SHA-256.
    static var original: String { builtBinary("mms-agent") }
    static func sha(_ path: String) -> String { AgentBinaryDir.sha256(ofFile: path) ?? "unreadable" }

    /// A copy of the built agent with `tail` appended: the same program and version, another SHA-256.
    static func appendedCopy(in dir: String, tail: String = "upgrade-test") throws -> String {
        let path = dir + "/agent-\(UUID().uuidString.prefix(6))"
        var bytes = try Data(contentsOf: URL(fileURLWithPath: original))
        bytes.append(Data(tail.utf8))
        try bytes.write(to: URL(fileURLWithPath: path))
        chmod(path, 0o755)
        return path
    }

    /// A "binary" whose `version` prints the right version but which exits 1 at any other command (a crash at start).
    static func crashingAtStart(in dir: String) throws -> String {
        let path = dir + "/crasher-\(UUID().uuidString.prefix(6))"
        let text = "#!/bin/sh\nif [ \"$1\" = version ]; then echo \"mms-agent \(MMSVersion.current)\"; exit 0; fi\n"
            + "echo \"crashing at start\" >&2\nexit 1\n"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o755)
        return path
    }

    /// Replaces the served file the way an operator would (a new file renamed over it).
    static func serve(_ binary: String, at served: String) throws {
        let tmp = served + ".tmp"
        try? FileManager.default.removeItem(atPath: tmp)
        try FileManager.default.copyItem(atPath: binary, toPath: tmp)
        guard rename(tmp, served) == 0 else { throw TestFailure("cannot rename \(tmp) over \(served)") }
    }

    /// A server (ping interval `ping` s) offering `served`, which starts as an exact copy of the built agent.
    static func server(dir: String, ping: Int, extra: [String] = []) async throws -> (TestServer, served: String) {
        let served = dir + "/served-mms-agent"
        try serve(original, at: served)
        let server = try await TestServer.start(dir: dir, extra: ["--ping-interval", String(ping), "--agent-binary", served] + extra)
        return (server, served)
    }

    /// Waits until the server offers `sha` (its watcher looks at the file every ping interval).
    static func offered(_ server: TestServer, _ sha: String) async -> Bool {
        let api = AgentAPI.live(serverURL: server.url, secret: "none")
        return await eventually(20) { (try? await api.version().agentSHA256) == sha }
    }

    /// The agent's pids of its agent proper, from the supervisor's "running the agent from … (pid N)" lines.
    static func childPids(_ agent: ChildProcess) -> [Int32] {
        agent.stderr.split(separator: "\n").compactMap { line -> Int32? in
            guard line.contains("supervisor: running the agent from"), let open = line.lastIndex(of: "(") else { return nil }
            return Int32(line[line.index(open, offsetBy: 5)...].dropLast())
        }
    }

    /// A proxy in front of `upstream` that flips one byte of every agent binary it passes on (the headers stay):
    /// a download corrupted on the way. Python's threading HTTP server, so long polls pass too.
    static func corruptingProxy(upstream: URL, dir: String) async throws -> (ChildProcess, URL) {
        let script = dir + "/corrupting_proxy.py"
        try proxySource.write(toFile: script, atomically: true, encoding: .utf8)
        let proxy = try ChildProcess("/usr/bin/env", ["python3", script, upstream.absoluteString], dir: dir)
        var url: URL?
        _ = await eventually(15) {
            if let line = proxy.stdout.split(separator: "\n").first(where: { $0.hasPrefix("proxy listening on ") }) {
                url = URL(string: String(line.dropFirst("proxy listening on ".count)))
            }
            return url != nil
        }
        guard let url else { throw TestFailure("the proxy did not start: \(proxy.stderr)") }
        return (proxy, url)
    }

    static let proxySource = """
    import http.client, sys, urllib.parse
    from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler
    up = urllib.parse.urlparse(sys.argv[1])
    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        def log_message(self, *a): pass
        def relay(self):
            n = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(n) if n else None
            c = http.client.HTTPConnection(up.hostname, up.port, timeout=120)
            hdrs = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
            c.request(self.command, self.path, body=body, headers=hdrs)
            r = c.getresponse()
            data = r.read()
            if self.path.startswith("/api/v1/agent-binary") and r.status == 200 and data:
                data = bytes([data[0] ^ 0xFF]) + data[1:]
            self.send_response(r.status)
            for k, v in r.getheaders():
                if k.lower() not in ("content-length", "connection", "transfer-encoding", "date", "server"):
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD": self.wfile.write(data)
            c.close()
        do_GET = do_POST = do_PATCH = do_HEAD = do_DELETE = relay
    s = ThreadingHTTPServer(("127.0.0.1", 0), H)
    print("proxy listening on http://127.0.0.1:%d" % s.server_address[1], flush=True)
    s.serve_forever()
    """
}
