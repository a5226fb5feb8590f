import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Adds and removes the SSH jump point's lines in an authorized keys file, under an exclusive `flock`
/// so two agents sharing one file do not lose each other's lines. Written by hand (listed in the README):
/// removal takes out exactly the lines added and leaves every other byte of the file as it was.
enum AuthorizedKeys {
    /// Appends `lines` (each without its newline). Makes the dir (0700) and the file (0600) when missing;
    /// when the file does not end with a newline, one is added before the first line.
    /// Returns true when it had to add that newline (`remove` then takes it out again with the last line).
    @discardableResult
    static func append(_ lines: [String], to path: String) throws(AgentError) -> Bool {
        let dir = (path as NSString).deletingLastPathComponent
        if !dir.isEmpty && !FileManager.default.fileExists(atPath: dir) {
            guard mkdir(dir, 0o700) == 0 || errno == EEXIST else { throw .io("cannot make \(dir): \(String(cString: strerror(errno)))") }
        }
        return try withLockedFile(path) { (fd: Int32) throws(AgentError) -> Bool in
            let old = try readAll(fd, path)
            let separator = !(old.isEmpty || old.last == UInt8(ascii: "\n"))
            var text = separator ? "\n" : ""
            for line in lines { text += line + "\n" }
            guard lseek(fd, 0, SEEK_END) >= 0, writeAll(fd, Array(text.utf8)) else {
                throw .io("cannot write \(path): \(String(cString: strerror(errno)))")
            }
            return separator
        }
    }

    /// Removes each of `lines` (one occurrence each, matched as a whole line); every other byte stays.
    /// Rewrites the file in place under the lock. Returns how many lines were removed.
    @discardableResult
    /// With `addedNewline` (what `append` returned) and the lines still last in the file, the newline `append`
    /// put before them goes too, so the file is again byte for byte what it was.
    static func remove(_ lines: [String], from path: String, addedNewline: Bool = false) throws(AgentError) -> Int {
        guard FileManager.default.fileExists(atPath: path) else { return 0 }
        return try withLockedFile(path) { (fd: Int32) throws(AgentError) -> Int in
            let old = try readAll(fd, path)
            var (kept, removed) = without(lines, in: old)
            let ours = Array(lines.map { $0 + "\n" }.joined().utf8)
            if addedNewline, removed == lines.count, old.count == kept.count + ours.count, old.suffix(ours.count).elementsEqual(ours),
               kept.last == UInt8(ascii: "\n") {
                kept.removeLast()
            }
            if removed == 0 { return 0 }
            guard ftruncate(fd, 0) == 0, lseek(fd, 0, SEEK_SET) == 0, writeAll(fd, kept) else {
                throw .io("cannot rewrite \(path): \(String(cString: strerror(errno)))")
            }
            return removed
        }
    }

    /// `content` without one whole-line occurrence of each of `lines` (a last line may lack its newline).
    static func without(_ lines: [String], in content: [UInt8]) -> (kept: [UInt8], removed: Int) {
        var wanted = lines.map { Array($0.utf8) }
        var out: [UInt8] = []
        var removed = 0
        var start = 0
        while start < content.count {
            let end = content[start...].firstIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? content.count
            var body = Array(content[start..<end])
            if body.last == UInt8(ascii: "\n") { body.removeLast() }
            if let i = wanted.firstIndex(of: body) {
                wanted.remove(at: i)
                removed += 1
            } else {
                out += content[start..<end]
            }
            start = end
        }
        return (out, removed)
    }

    private static func withLockedFile<T>(_ path: String, _ body: (Int32) throws(AgentError) -> T) throws(AgentError) -> T {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .io("cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        while flock(fd, LOCK_EX) != 0 {
            if errno != EINTR { throw .io("cannot lock \(path): \(String(cString: strerror(errno)))") }
        }
        return try body(fd)
    }

    private static func readAll(_ fd: Int32, _ path: String) throws(AgentError) -> [UInt8] {
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        guard lseek(fd, 0, SEEK_SET) == 0 else { throw .io("cannot read \(path): \(String(cString: strerror(errno)))") }
        while true {
            let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { throw .io("cannot read \(path): \(String(cString: strerror(errno)))") }
            if n == 0 { return out }
            out += buf[0..<n]
        }
    }

    private static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var rest = bytes[...]
        while !rest.isEmpty {
            let n = rest.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return false }
            rest = rest.dropFirst(n)
        }
        return true
    }
}
