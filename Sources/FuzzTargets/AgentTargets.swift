import Foundation
import MonitorAgent
import MonitorModels

/// The agent's parsers of untrusted text: the job file of `mms-agent run`, `config.properties` and the
/// job's status file, and the log masking of secrets.
enum AgentTargets {
    /// `jobfile`: the bytes are a job file. Properties: `LocalRun.load` gives a spec or a bad-job-file
    /// error (exit 2); for a valid spec the script is generated and `JobFiles.write` puts nothing outside
    /// the job dir.
    static let jobfile = FuzzTarget(
        name: "jobfile",
        summary: "mms-agent run JOB.json: load and validate, generate the script, write the job's files inside the job dir"
    ) { data throws(FuzzFailure) in
        // Foundation on Linux leaks 4 KiB reading an empty file (its zero-size path mallocs a chunk that
        // an empty Data never frees), which LeakSanitizer reports; an empty job file is plain bad JSON.
        if data.isEmpty { return }
        let base = scratchRoot() + "/mms-fuzz-jobfile-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: base) }
        try? FileManager.default.createDirectory(atPath: base + "/run", withIntermediateDirectories: true)
        let path = base + "/job.json"
        guard FileManager.default.createFile(atPath: path, contents: data) else {
            throw FuzzFailure("cannot write \(path) (the fuzzer's own scratch file)")
        }
        let spec: JobSpec
        do throws(AgentError) {
            spec = try LocalRun.load(path: path)
        } catch {
            try require(error.exitCode == 2, "a job file refused with exit \(error.exitCode), not 2: \(error)")
            return
        }
        let jobDir = base + "/run/job"
        let script = JobScript.main(spec: spec, jobDir: jobDir, statusPath: base + "/run/status")
        for command in spec.commands {
            try require(script.contains("eval " + JobScript.quote(command) + "\n"), "command \(command) is not in the script")
            try require(unquote(JobScript.quote(command)) == command, "quoting does not give back \(command)")
        }
        do {
            try JobFiles.freshDir(jobDir)
            try JobFiles.write(spec.files, into: jobDir)
        } catch {
            // Files that collide (a file and a dir of the same name) are refused; that is fine.
        }
        let outside = (try? FileManager.default.contentsOfDirectory(atPath: base + "/run")) ?? []
        try require(outside == ["job"], "job files were written outside the job dir: \(outside)")
    }

    /// What bash makes of a single-quoted word as `JobScript.quote` writes it ('…' pieces and \').
    static func unquote(_ word: String) -> String? {
        var out = "", inQuotes = false, escaped = false
        for c in word.unicodeScalars {
            if escaped { out.unicodeScalars.append(c); escaped = false; continue }
            if c == "'" { inQuotes.toggle(); continue }
            if !inQuotes && c == "\\" { escaped = true; continue }
            guard inQuotes else { return nil }
            out.unicodeScalars.append(c)
        }
        return inQuotes || escaped ? nil : out
    }

    /// `properties`: the bytes are a `config.properties` file and also a job status file. Properties: an
    /// identity that parses is written back (`fileText`) as text that parses to the same identity; the
    /// status records parse and give a commands outcome without trapping.
    static let properties = FuzzTarget(
        name: "properties",
        summary: "agent config.properties (parse, write, parse again), agent-registration.properties (key line removal) and the job status file parser"
    ) { data throws(FuzzFailure) in
        let text = String(decoding: data, as: UTF8.self)
        if let identity = AgentIdentity.parse(text) {
            let again = AgentIdentity.parse(identity.fileText)
            try require(again == identity, "identity \(identity) is written as text that parses to \(String(describing: again))")
        }
        // The same bytes as WORK_DIR/agent-registration.properties: dropping the key lines keeps the rest.
        let registration = RegistrationFile.parse(data)
        if let kept = RegistrationFile.withoutKeyLines(data) {
            var rest = RegistrationFile.parse(kept)
            try require(rest.key == nil, "a key line survived its removal")
            rest.key = registration.key
            try require(rest == registration, "removing the key lines changed other entries: \(registration) -> \(rest)")
            try require(kept.count < data.count, "removing key lines removed nothing")
        }
        let status = ScriptStatus(parsing: text)
        let highest = status.commandResults.keys.max() ?? 0
        _ = status.commandsOutcome(commandCount: highest < 10_000 ? max(highest, 0) + 2 : 10_000)
    }

    /// `masker`: the first line holds secrets separated by `|`, the rest is a log stream. Properties: the
    /// stream fed whole, byte by byte, and in uneven chunks gives the same output; no secret (4+
    /// characters, no `*`) appears in it; never more bytes are held back than the longest secret.
    static let masker = FuzzTarget(
        name: "masker",
        summary: "log masking of secrets: chunking never changes the output and no secret gets through"
    ) { data throws(FuzzFailure) in
        let bytes = [UInt8](data)
        let newline = bytes.firstIndex(of: 10) ?? bytes.count
        let secrets = bytes[..<newline].split(separator: UInt8(ascii: "|"), omittingEmptySubsequences: true)
            .map { String(decoding: $0, as: UTF8.self) }
        let stream = Array(bytes[min(newline + 1, bytes.count)...])
        let longest = secrets.map(\.utf8.count).max() ?? 0

        let whole = try masked(stream, secrets, longest: longest, chunks: [stream.count])
        let single = try masked(stream, secrets, longest: longest, chunks: Array(repeating: 1, count: stream.count))
        try require(single == whole, "byte-by-byte masking differs from whole-stream masking")
        var seed = UInt64(truncatingIfNeeded: bytes.count) &* 0x9E37_79B9_7F4A_7C15
        var sizes: [Int] = []
        var total = 0
        while total < stream.count {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let n = Int(seed >> 60) + 1  // 1...16
            sizes.append(n)
            total += n
        }
        let chunked = try masked(stream, secrets, longest: longest, chunks: sizes)
        try require(chunked == whole, "masking in chunks \(sizes.prefix(20)) differs from whole-stream masking")
        for secret in secrets where secret.count >= SecretMasker.minimumLength && !secret.contains("*") {
            let s = Array(secret.utf8)
            try require(!contains(whole, s), "secret \(secret) is in the masked output")
        }
    }

    /// The masker's output for `stream` fed in `chunks` (sizes; the last may run past the end), then flushed.
    static func masked(_ stream: [UInt8], _ secrets: [String], longest: Int, chunks: [Int]) throws(FuzzFailure) -> [UInt8] {
        var m = SecretMasker(values: secrets)
        var out: [UInt8] = []
        var at = 0
        for size in chunks where at < stream.count {
            let end = min(stream.count, at + size)
            out += m.feed(Array(stream[at..<end]))
            at = end
            try require(m.heldCount <= max(longest - 1, 0), "the masker holds \(m.heldCount) bytes; the longest secret has \(longest)")
        }
        out += m.flush()
        try require(m.heldCount == 0, "flush left \(m.heldCount) bytes held")
        return out
    }

    static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, haystack.count >= needle.count else { return false }
        for i in 0...(haystack.count - needle.count) where haystack[i] == needle[0] {
            if haystack[i..<(i + needle.count)].elementsEqual(needle) { return true }
        }
        return false
    }
}
