import Foundation
import MMSTestSupport
import Testing

/// A data dir on a read-only file system: the server refuses to start with a sentence that names the
/// dir and the cause, writes nothing, and everything is there once the dir is writable again.
/// (A file system cannot be remounted read-only under a database open for writing: the kernel answers
/// EBUSY. So the read-only case that can happen is a start on one; a full disk is ServerDiskFullTests.)
@Suite struct ServerReadOnlyTests {
    @Test(.enabled(if: PrivateTrustStore.isAvailable, "needs unshare -m and a bind mount (root or CAP_SYS_ADMIN)"))
    func aReadOnlyDataDirIsAClearRefusalAndLosesNothing() async throws {
        let first = try ServerProcess()
        defer { first.removeData() }
        let body = #"{"name":"kept","commands":["true"]}"#
        let created = RawHTTP.exchange(port: first.port, Data((
            "POST /api/v1/jobs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(first.token)\r\nContent-Type: application/json\r\n"
            + "Content-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n" + body).utf8))
        #expect(created.hasPrefix("HTTP/1.1 201"), "\(created.prefix(80))")
        first.stop()
        let dir = first.dataDir
        let before = try snapshot(dir)

        let quoted = PrivateTrustStore.shellQuoted(dir)
        let server = ServerProcess.productsDir.appendingPathComponent("mms-server").path
        let run = try await ProgramRun.run("unshare", ["-m", "sh", "-c",
            "mount --bind \(quoted) \(quoted) && mount -o bind,remount,ro \(quoted) && exec \(PrivateTrustStore.shellQuoted(server)) --port 0 --data-dir \(quoted)"])
        #expect(run.status == 1, "exit status \(String(describing: run.status)): \(run.stderr)")
        #expect(run.stderr == "mms-server: --data-dir \(dir) cannot be written (Read-only file system); "
            + "the server keeps its database there: make it writable or pick another --data-dir\n")
        #expect(!run.stdout.contains("listening"))
        #expect(try snapshot(dir) == before, "nothing in the data dir changed")

        // Writable again: the job is there.
        let again = try ServerProcess(dataDir: dir)
        defer { again.stop() }
        let list = RawHTTP.exchange(port: again.port, Data(
            "GET /api/v1/jobs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(again.token)\r\nConnection: close\r\n\r\n".utf8))
        #expect(list.contains(#""name":"kept""#), "\(list.suffix(300))")
    }

    /// Every file of the dir with its bytes.
    func snapshot(_ dir: String) throws -> [String: Data] {
        var files: [String: Data] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: dir) {
            files[name] = FileManager.default.contents(atPath: dir + "/" + name)
        }
        return files
    }
}
