import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Where the agent's StatsD metrics go (`--statsd-host`, `--statsd-port`, `--statsd-namespace`, `--statsd-tags`).
public struct StatsDOptions: Sendable, Equatable {
    /// No host: nothing is sent.
    public var host: String?
    public var port: UInt16 = 8125
    public var namespace: String = "mms.agent"
    /// Adds DogStatsD tags: `|#agent:NAME` (and `job:NAME` on job metrics).
    public var tags = false

    public init(host: String? = nil, port: UInt16 = 8125, namespace: String = "mms.agent", tags: Bool = false) {
        self.host = host
        self.port = port
        self.namespace = namespace
        self.tags = tags
    }

    static let valuedFlags: Set<String> = ["--statsd-host", "--statsd-port", "--statsd-namespace"]
    static let switches: Set<String> = ["--statsd-tags"]
    static let usage = "[--statsd-host H [--statsd-port 8125] [--statsd-namespace mms.agent] [--statsd-tags]]"

    /// Reads the StatsD flags out of parsed flags.
    static func from(_ flags: [String: String]) throws(AgentError) -> StatsDOptions {
        var o = StatsDOptions(host: flags["--statsd-host"].flatMap { $0.isEmpty ? nil : $0 }, tags: flags["--statsd-tags"] != nil)
        if let p = flags["--statsd-port"] {
            guard let port = UInt16(p), port > 0 else { throw .usage("flag --statsd-port must be a port from 1 to 65535") }
            o.port = port
        }
        if let ns = flags["--statsd-namespace"] {
            guard ns.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f && $0 != UInt8(ascii: ":") && $0 != UInt8(ascii: "|") && $0 != UInt8(ascii: "#") })
            else { throw .usage("flag --statsd-namespace must be printable ASCII without spaces, ':', '|' or '#'") }
            o.namespace = ns
        }
        return o
    }
}

/// A StatsD client over UDP: each metric is one datagram, sent without blocking (a full socket buffer
/// or a dead port drops it); nothing it does can fail or slow a job. The host is resolved once, at start.
public final class StatsD: Sendable {
    private let fd: Int32
    private let address: [UInt8]
    private let prefix: String
    private let agentTag: String?

    /// A client for `options`, or nil when no host is set; a host that does not resolve is a usage error.
    public static func make(_ options: StatsDOptions, agentName: String) throws(AgentError) -> StatsD? {
        guard let host = options.host else { return nil }
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_DGRAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(options.port), &hints, &list)
        guard rc == 0, let first = list else {
            throw .usage("flag --statsd-host \(host): cannot resolve it (\(String(cString: gai_strerror(rc))))")
        }
        defer { freeaddrinfo(list) }
        let address = Array(UnsafeRawBufferPointer(start: first.pointee.ai_addr, count: Int(first.pointee.ai_addrlen)))
        let fd = socket(first.pointee.ai_family, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .io("cannot open a UDP socket for StatsD: \(String(cString: strerror(errno)))") }
        return StatsD(fd: fd, address: address, namespace: options.namespace, agentTag: options.tags ? "agent:" + tagValue(agentName) : nil)
    }

    private init(fd: Int32, address: [UInt8], namespace: String, agentTag: String?) {
        self.fd = fd
        self.address = address
        self.prefix = namespace.isEmpty ? "" : namespace + "."
        self.agentTag = agentTag
    }

    deinit { close(fd) }

    /// A counter: `NS.name:value|c`.
    public func count(_ name: String, _ value: Int64 = 1, job: String? = nil) {
        send("\(prefix)\(name):\(value)|c", job: job)
    }

    /// A timing in milliseconds: `NS.name:ms|ms`.
    public func timing(_ name: String, milliseconds: Int64, job: String? = nil) {
        send("\(prefix)\(name):\(max(0, milliseconds))|ms", job: job)
    }

    /// A gauge: `NS.name:value|g`.
    public func gauge(_ name: String, _ value: Int64) {
        send("\(prefix)\(name):\(value)|g", job: nil)
    }

    /// The metrics of a job's start: `job.started` and `job.queue_wait` (from its creation to now).
    public func jobStarted(_ name: String, createdAt: Date, now: Date = Date()) {
        count("job.started", job: name)
        timing("job.queue_wait", milliseconds: Self.milliseconds(now.timeIntervalSince(createdAt)), job: name)
    }

    /// The metrics of a job's end: `job.passed|failed|cancelled` and `job.duration`.
    public func jobEnded(_ name: String, result: String, duration: Duration) {
        count("job.\(result)", job: name)
        timing("job.duration", milliseconds: duration.milliseconds, job: name)
    }

    /// A container image pull: `container.pull.duration`, and `container.pull.failed` when it failed; tagged
    /// with the image (with `--statsd-tags`).
    public func containerPull(image: String, duration: Duration, failed: Bool, job: String? = nil) {
        send("\(prefix)container.pull.duration:\(max(0, duration.milliseconds))|ms", job: job, image: image)
        if failed { send("\(prefix)container.pull.failed:1|c", job: job, image: image) }
    }

    static func milliseconds(_ seconds: TimeInterval) -> Int64 {
        seconds.isFinite ? Int64((seconds * 1000).rounded()) : 0
    }

    private func send(_ metric: String, job: String?, image: String? = nil) {
        var line = metric
        if let agentTag {
            line += "|#" + agentTag
            if let job { line += ",job:" + Self.tagValue(job) }
            if let image { line += ",image:" + Self.tagValue(image) }
        }
        var bytes = Array(line.utf8)
        address.withUnsafeBytes { addr in
            _ = sendto(fd, &bytes, bytes.count, Int32(MSG_DONTWAIT), addr.baseAddress!.assumingMemoryBound(to: sockaddr.self),
                       socklen_t(addr.count))
        }
    }

    /// A tag value without the characters that end a tag or a metric.
    static func tagValue(_ text: String) -> String {
        String(text.map { "|,#\n\r".contains($0) ? "_" : $0 })
    }
}

extension Duration {
    /// Whole milliseconds (rounded down).
    var milliseconds: Int64 {
        let (s, atto) = components
        return s * 1000 + atto / 1_000_000_000_000_000
    }
}
