/// The contract's limits on names and job specs; shared by the server (400s) and `mms-agent run` (exit 2).
public enum Validation {
    public static let maxCommands = 1000
    public static let maxFiles = 1000
    public static let maxConfigValueBytes = 64 * 1024
    /// The longest `caCert` (PEM text) a push agent may be given.
    public static let maxCACertBytes = 64 * 1024

    /// True when `text` holds a PEM CERTIFICATE block (BEGIN, then END), as a push agent's `caCert` must.
    public static func isPEMCertificate(_ text: String) -> Bool {
        guard let begin = text.range(of: "-----BEGIN CERTIFICATE-----") else { return false }
        return text[begin.upperBound...].contains("-----END CERTIFICATE-----")
    }

    /// A display name: 1-128 characters, no control characters. Returns the problem, or nil.
    public static func nameProblem(_ name: String, field: String) -> String? {
        if name.isEmpty { return "field '\(field)' must not be empty" }
        if name.count > 128 { return "field '\(field)' must be at most 128 characters" }
        if name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
            return "field '\(field)' must not contain control characters"
        }
        return nil
    }

    /// A resource or environment name: `[A-Za-z0-9_.-]{1,64}`.
    public static func isTagName(_ s: String) -> Bool {
        guard !s.isEmpty, s.utf8.count <= 64 else { return false }
        return s.utf8.allSatisfy { isAlnum($0) || $0 == 95 || $0 == 46 || $0 == 45 }
    }

    /// A list of resource/environment names; returns the problem, or nil.
    public static func tagListProblem(_ list: [String], field: String) -> String? {
        for (i, s) in list.enumerated() where !isTagName(s) {
            return "field '\(field)[\(i)]' must match [A-Za-z0-9_.-]{1,64}"
        }
        return nil
    }

    /// A configuration entry name: `[A-Za-z_][A-Za-z0-9_]{0,63}` (usable as an env var).
    public static func isConfigName(_ s: String) -> Bool {
        let b = Array(s.utf8)
        guard let first = b.first, b.count <= 64, isAlpha(first) || first == 95 else { return false }
        return b.allSatisfy { isAlnum($0) || $0 == 95 }
    }

    /// Everything wrong with a job spec, first problem only; nil when it is valid.
    public static func jobSpecProblem(_ spec: JobSpec) -> String? {
        if let p = nameProblem(spec.name, field: "name") { return p }
        if spec.commands.count > maxCommands { return "field 'commands' has more than \(maxCommands) entries" }
        if spec.files.count > maxFiles { return "field 'files' has more than \(maxFiles) entries" }
        if spec.timeoutSeconds < 1 { return "field 'timeoutSeconds' must be at least 1" }
        if spec.timeoutSeconds > 7 * 24 * 3600 { return "field 'timeoutSeconds' must be at most 604800 (7 days)" }
        if let p = tagListProblem(spec.resources, field: "resources") { return p }
        if let env = spec.environment, !isTagName(env) { return "field 'environment' must match [A-Za-z0-9_.-]{1,64}" }
        for name in spec.env.keys.sorted() where !isEnvName(name) {
            return "field 'env' has an invalid variable name '\(name)'"
        }
        for (i, file) in spec.files.enumerated() {
            if let p = filePathProblem(file.path) { return "field 'files[\(i)].path' \(p)" }
            if parseMode(file.mode) == nil { return "field 'files[\(i)].mode' must be an octal mode like \"0644\"" }
        }
        for (i, name) in spec.secrets.enumerated() where !isConfigName(name) {
            return "field 'secrets[\(i)]' must match [A-Za-z_][A-Za-z0-9_]{0,63}"
        }
        return v2SpecProblem(spec)
    }

    /// A file mode such as "0644" or "755" as a number, or nil when it is not octal within 07777.
    public static func parseMode(_ text: String) -> UInt16? {
        guard !text.isEmpty, text.count <= 5, let v = UInt16(text, radix: 8), v <= 0o7777 else { return nil }
        return v
    }

    /// An environment variable name: `[A-Za-z_][A-Za-z0-9_]*`.
    public static func isEnvName(_ s: String) -> Bool {
        let b = Array(s.utf8)
        guard let first = b.first, isAlpha(first) || first == 95 else { return false }
        return b.allSatisfy { isAlnum($0) || $0 == 95 }
    }

    /// A job file path must name a file inside the job dir: relative, no `..`, no NUL, no `/` or `.` at the
    /// end. Checked on bytes, as the file system reads the path: to Swift a "/" followed by a combining mark
    /// is one Character, so a Character-level split let "../\u{301}x" through, and the file landed outside.
    public static func filePathProblem(_ path: String) -> String? {
        let bytes = Array(path.utf8)
        let slash = UInt8(ascii: "/"), dot = UInt8(ascii: ".")
        if bytes.isEmpty { return "must not be empty" }
        if bytes[0] == slash { return "must be relative to the job dir" }
        if bytes.contains(0) { return "must not contain NUL" }
        if bytes.split(separator: slash).contains(where: { $0.elementsEqual([dot, dot]) }) { return "must not contain '..'" }
        // A file, not a directory: "a/" or "a/." would name one (and could not be written as a file).
        if bytes.last == slash || bytes.split(separator: slash).last?.elementsEqual([dot]) == true {
            return "must name a file, not a directory (no '/' or '.' at the end)"
        }
        if bytes.count > 1024 { return "must be at most 1024 bytes" }
        return nil
    }

    private static func isAlpha(_ c: UInt8) -> Bool { (c >= 65 && c <= 90) || (c >= 97 && c <= 122) }
    static func isAlnum(_ c: UInt8) -> Bool { isAlpha(c) || (c >= 48 && c <= 57) }
}
