import Foundation

/// A property that one input broke: what was expected and what happened instead.
public struct FuzzFailure: Error, Sendable, CustomStringConvertible {
    /// The sentence printed by the fuzzer before it aborts, and by the replayer next to the file name.
    public var message: String
    /// A failure with its sentence.
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// One fuzz target: a parser of untrusted bytes and the properties it must keep for every input.
/// `run` returns normally when they hold and throws when one breaks; a crash is a crash.
public struct FuzzTarget: Sendable {
    /// The name given to `mms-fuzz` (and `MMS_FUZZ_TARGET`), also the corpus folder's name.
    public var name: String
    /// One line saying what is fed and what is checked.
    public var summary: String
    /// Runs one input.
    public var run: @Sendable (Data) throws(FuzzFailure) -> Void

    /// A target with its name, summary and input function.
    public init(name: String, summary: String, run: @escaping @Sendable (Data) throws(FuzzFailure) -> Void) {
        self.name = name
        self.summary = summary
        self.run = run
    }
}

/// Every fuzz target of MMS, by name: the JSON bodies, whole requests, RFC 3339, and the agent's parsers.
public enum FuzzTargets {
    /// All targets, in the order `scripts/fuzz.sh` runs them.
    public static let all: [FuzzTarget] = [
        JSONTarget.target, RequestTarget.target, RFC3339Target.target,
        AgentTargets.jobfile, AgentTargets.properties, AgentTargets.masker,
    ]

    /// The target called `name`, if there is one.
    public static func named(_ name: String) -> FuzzTarget? {
        all.first { $0.name == name }
    }

    /// Removes the temporary files the targets keep between inputs (the request target's template data dir).
    public static func cleanUp() {
        RequestFixture.removeTemplate()
    }
}

/// Throws a FuzzFailure with `message` unless `condition` holds.
func require(_ condition: Bool, _ message: @autoclosure () -> String) throws(FuzzFailure) {
    if !condition { throw FuzzFailure(message()) }
}

/// At most `limit` characters of `data` as text, for failure messages.
func excerpt(_ data: Data, limit: Int = 300) -> String {
    let text = String(decoding: data.prefix(limit), as: UTF8.self)
    return data.count > limit ? text + "…" : text
}

/// A directory for temporary files: MMS_FUZZ_TMP, else /dev/shm when writable (fsync is free there,
/// and the server's store fsyncs every commit), else the system's temporary directory.
func scratchRoot() -> String {
    if let dir = ProcessInfo.processInfo.environment["MMS_FUZZ_TMP"], !dir.isEmpty { return dir }
    if access("/dev/shm", W_OK) == 0 { return "/dev/shm" }
    return NSTemporaryDirectory()
}
