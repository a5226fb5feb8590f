import Foundation
import Testing
@testable import FuzzTargets

/// Every committed fuzz input (seeds, and each input a fuzzer run once broke) goes through the same
/// target functions as `mms-fuzz` in the fuzz build, so a past finding stays a regression test.
@Suite struct CorpusReplayTests {
    /// Tests/FuzzCorpus, found from this file's path.
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("FuzzCorpus").path

    @Test(arguments: FuzzTargets.all.map(\.name))
    func committedCorpusPasses(_ name: String) throws {
        let target = try #require(FuzzTargets.named(name))
        // The request target's template data dir is shared by this process; only its own case removes it.
        defer { if name == RequestTarget.target.name { FuzzTargets.cleanUp() } }
        let files = FuzzReplay.files([Self.corpus + "/" + name])
        #expect(files.count >= 3, "Tests/FuzzCorpus/\(name) holds the target's seeds")
        let findings = FuzzReplay.run(target, files: files)
        #expect(findings.isEmpty, "\(findings.map(\.description).joined(separator: "\n"))")
    }

    @Test func everyCorpusDirIsATarget() throws {
        let dirs = try FileManager.default.contentsOfDirectory(atPath: Self.corpus).filter { name in
            var isDir: ObjCBool = false
            return FileManager.default.fileExists(atPath: Self.corpus + "/" + name, isDirectory: &isDir) && isDir.boolValue
        }
        #expect(Set(dirs) == Set(FuzzTargets.all.map(\.name)))
    }

    @Test func requestInputsReadAsTheHTTPFrontWouldHandThemOver() {
        let input = Data("POST /api/v1/jobs/%31/log?attempt=1&offset=2&x=a+b%00c admin\nbody\n%%\nGET /a%00b\n%%\nTICK".utf8)
        let requests = FuzzRequest.parse(input)
        #expect(requests.count == 3)
        #expect(requests[0] == FuzzRequest(method: "POST", path: "/api/v1/jobs/1/log",
                                           query: ["attempt": "1", "offset": "2", "x": "a b"], auth: "admin", body: Data("body".utf8)))
        #expect(requests[1].path == "/a" && requests[1].auth.isEmpty && requests[1].body.isEmpty)
        #expect(requests[2].method == "TICK")
        #expect(RequestFixture.authorization("a") == "Bearer agent-a-secret")
        #expect(RequestFixture.authorization("Basic eA==") == "Basic eA==")
        #expect(RequestFixture.authorization("") == nil)
    }

    @Test func aBrokenPropertyNamesTheFile() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mms-fuzz-replay-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Data("ok".utf8).write(to: URL(fileURLWithPath: dir + "/a"))
        try Data("bad".utf8).write(to: URL(fileURLWithPath: dir + "/b"))
        let picky = FuzzTarget(name: "picky", summary: "refuses 'bad'") { data throws(FuzzFailure) in
            if data == Data("bad".utf8) { throw FuzzFailure("saw bad") }
        }
        let findings = FuzzReplay.run(picky, files: FuzzReplay.files([dir]))
        #expect(findings.map(\.file) == [dir + "/b"])
        #expect(findings.first?.failure.message == "saw bad")
    }
}
