import Foundation
import Testing
@testable import MonitorAgent

/// The hand-written authorized keys edits: exactly the agent's lines go, every other byte stays.
@Suite struct AuthorizedKeysTests {
    @Test func removalLeavesEveryOtherByte() throws {
        let dir = makeTempDir("keys")
        let path = dir + "/sub/authorized_keys"
        try AuthorizedKeys.append(["first mine"], to: path)  // makes the dir (0700) and the file (0600)
        var st = stat()
        #expect(stat(dir + "/sub", &st) == 0 && st.st_mode & 0o777 == 0o700)
        #expect(stat(path, &st) == 0 && st.st_mode & 0o777 == 0o600)
        try AuthorizedKeys.remove(["first mine"], from: path)
        let others = "# comment\n\nssh-ed25519 AAAA other\r\nfirst mine-ish\n  spaced  \n"
        try others.write(toFile: path, atomically: false, encoding: .utf8)
        try AuthorizedKeys.append(["mine 1", "mine 2"], to: path)
        try "later line\n".appendLine(to: path)
        #expect(try AuthorizedKeys.remove(["mine 1", "mine 2"], from: path) == 2)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == others + "later line\n")
        #expect(try AuthorizedKeys.remove(["mine 1"], from: path) == 0)
    }

    @Test func aFileWithoutItsLastNewlineComesBackAsItWas() throws {
        let path = makeTempDir("keys") + "/authorized_keys"
        try "only line".write(toFile: path, atomically: false, encoding: .utf8)
        let added = try AuthorizedKeys.append(["mine"], to: path)
        #expect(added)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "only line\nmine\n")
        try AuthorizedKeys.remove(["mine"], from: path, addedNewline: added)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "only line")
    }
}

extension String {
    func appendLine(to path: String) throws {
        let h = try #require(FileHandle(forWritingAtPath: path))
        h.seekToEndOfFile()
        h.write(Data(utf8))
        try h.close()
    }
}
