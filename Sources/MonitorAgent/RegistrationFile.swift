import Foundation
import MonitorModels
#if canImport(Glibc)
import Glibc
#endif

/// WORK_DIR/agent-registration.properties, GoCD's auto-registration file: what a new agent registers with
/// when no flag or environment variable says otherwise. Lines `KEY=VALUE` (or `KEY: VALUE`), `#` and `!`
/// comments; keys `agent.auto.register.key`, `.resources`, `.environments` (comma lists) and `.hostname`
/// (the agent's name). Once the server has accepted the key, `removeKeyLine` drops that line and keeps every
/// other byte of the file.
public struct RegistrationFile: Sendable, Equatable {
    public static let keyName = "agent.auto.register.key"
    public static let resourcesName = "agent.auto.register.resources"
    public static let environmentsName = "agent.auto.register.environments"
    public static let hostnameName = "agent.auto.register.hostname"

    public var key: String?
    public var resources: [String]?
    public var environments: [String]?
    public var hostname: String?

    /// The file in a work dir.
    public static func path(in workDir: String) -> String { workDir + "/agent-registration.properties" }

    /// Reads the file of `workDir`; nil when there is none. An unreadable file is an error (it says what to fix).
    public static func load(workDir: String) throws(AgentError) -> RegistrationFile? {
        let file = path(in: workDir)
        guard FileManager.default.fileExists(atPath: file) else { return nil }
        guard let data = FileManager.default.contents(atPath: file) else {
            throw .io("cannot read \(file); check its owner and permissions")
        }
        return parse(data)
    }

    /// Parses the properties text (unknown keys are ignored).
    public static func parse(_ text: String) -> RegistrationFile {
        parse(Data(text.utf8))
    }

    /// Parses the properties bytes; lines end at `\n`, `\r\n` or `\r` (as in Java properties files).
    public static func parse(_ data: Data) -> RegistrationFile {
        var file = RegistrationFile()
        for range in lines(data) {
            guard let (name, value) = entry(String(decoding: data[range], as: UTF8.self)) else { continue }
            switch name {
            case keyName: file.key = value.isEmpty ? nil : value
            case resourcesName: file.resources = list(value)
            case environmentsName: file.environments = list(value)
            case hostnameName: file.hostname = value.isEmpty ? nil : value
            default: continue
            }
        }
        return file
    }

    /// Fills in what flags and the environment left open (`options.explicit` names what they set).
    public func apply(to options: inout StartOptions) throws(AgentError) {
        if !options.explicit.contains("name"), let hostname { options.name = hostname }
        if !options.explicit.contains("autoRegisterKey"), let key { options.autoRegisterKey = key }
        for item in (resources ?? []) + (environments ?? []) where !Validation.isTagName(item) {
            throw .usage("\(Self.path(in: options.workDir)): '\(item)' must match [A-Za-z0-9_.-]{1,64}")
        }
        if !options.explicit.contains("resources"), let resources { options.resources = resources }
        if !options.explicit.contains("environments"), let environments { options.environments = environments }
    }

    /// What `removeKeyLine` did.
    public enum KeyLineRemoval: Sendable, Equatable {
        case removed, absent, failed
    }

    /// Removes every `agent.auto.register.key` line from the file of `workDir`, keeping the other bytes as they
    /// are (written to a temp file with the same mode, then renamed over it).
    @discardableResult
    public static func removeKeyLine(workDir: String) -> KeyLineRemoval {
        let file = path(in: workDir)
        guard let data = FileManager.default.contents(atPath: file) else {
            return FileManager.default.fileExists(atPath: file) ? .failed : .absent
        }
        guard let kept = withoutKeyLines(data) else { return .absent }
        var st = stat()
        let mode = stat(file, &st) == 0 ? mode_t(st.st_mode & 0o7777) : 0o600
        let tmp = file + ".tmp"
        unlink(tmp)
        let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { return .failed }
        let n = kept.withUnsafeBytes { raw in raw.count == 0 ? 0 : write(fd, raw.baseAddress!, raw.count) }
        fchmod(fd, mode)
        fsync(fd)
        close(fd)
        guard n == kept.count, rename(tmp, file) == 0 else {
            unlink(tmp)
            return .failed
        }
        return .removed
    }

    /// The file's bytes without its `agent.auto.register.key` lines, every other line byte for byte; nil when
    /// there is no such line.
    public static func withoutKeyLines(_ data: Data) -> Data? {
        var kept = Data()
        var removed = false
        for range in lines(data) {
            if entry(String(decoding: data[range], as: UTF8.self))?.0 == keyName { removed = true } else { kept.append(data[range]) }
        }
        return removed ? kept : nil
    }

    /// The byte ranges of the lines of `data`, each with its terminator (`\n`, `\r\n` or `\r`), if any.
    static func lines(_ data: Data) -> [Range<Data.Index>] {
        var out: [Range<Data.Index>] = []
        var start = data.startIndex
        var i = start
        while i < data.endIndex {
            let byte = data[i]
            i = data.index(after: i)
            if byte == UInt8(ascii: "\r"), i < data.endIndex, data[i] == UInt8(ascii: "\n") { i = data.index(after: i) }
            if byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r") {
                out.append(start..<i)
                start = i
            }
        }
        if start < data.endIndex { out.append(start..<data.endIndex) }
        return out
    }

    /// `KEY=VALUE`, `KEY: VALUE` (trimmed); nil for blank lines and `#`/`!` comments.
    private static func entry(_ line: String) -> (String, String)? {
        let t = line.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !t.isEmpty, !t.hasPrefix("#"), !t.hasPrefix("!") else { return nil }
        guard let sep = t.firstIndex(where: { $0 == "=" || $0 == ":" }) else { return (t, "") }
        let name = t[..<sep].trimmingCharacters(in: .whitespaces)
        let value = t[t.index(after: sep)...].trimmingCharacters(in: .whitespaces)
        return (name, value)
    }

    private static func list(_ text: String) -> [String] {
        text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }
}
