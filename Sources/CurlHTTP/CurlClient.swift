import CCurl
import Foundation
import Synchronization

/// An HTTP answer read by `CurlClient`.
public struct CurlResponse: Sendable {
    public var status: Int
    /// Header values by lower-cased name (the last one wins).
    public var headers: [String: String]
    public var body: Data

    /// A header by name, any case.
    public func header(_ name: String) -> String? { headers[name.lowercased()] }
}

/// Why a request got no HTTP answer (unreachable, TLS refused, timed out, too large an answer).
public struct CurlError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// A blocking HTTP(S) client on libcurl that can trust one CA given as PEM text (CURLOPT_CAINFO_BLOB), which
/// FoundationNetworking on Linux cannot. mms-server reaches push agents with it. Easy handles are kept
/// and reused, so connections (and TLS sessions) are kept alive between calls. Call it from a thread that
/// may block, never from the cooperative pool.
public final class CurlClient: Sendable {
    /// Largest answer body read; a bigger one fails the call (a push agent answers 1 MiB at most).
    public static let maxBody = 4 << 20

    private static let globalInit: Void = { curl_global_init(Int(CURL_GLOBAL_DEFAULT)) }()

    private let caPEM: [UInt8]?
    private let idle = Mutex<[Handle]>([])

    /// An easy handle; used by one transfer at a time (it is in `idle` only between transfers).
    private struct Handle: @unchecked Sendable { let raw: UnsafeMutableRawPointer }

    /// A client trusting `caCertPEM` (PEM text), or the system store when nil.
    public init(caCertPEM: String?) {
        _ = Self.globalInit
        caPEM = caCertPEM.map { Array($0.utf8) }
    }

    deinit {
        for h in idle.withLock({ $0 }) { curl_easy_cleanup(h.raw) }
    }

    /// Sends one request and reads the whole answer; a CurlError when no HTTP answer came within `timeout`.
    public func send(_ method: String, _ url: String, headers: [(String, String)] = [], body: Data? = nil,
                     timeout: TimeInterval) throws(CurlError) -> CurlResponse {
        guard let handle = idle.withLock({ $0.popLast()?.raw }) ?? curl_easy_init() else { throw CurlError("libcurl could not make a handle") }
        var keep = false
        defer {
            if keep { idle.withLock { $0.append(Handle(raw: handle)) } } else { curl_easy_cleanup(handle) }
        }
        curl_easy_reset(handle)
        var list: UnsafeMutablePointer<curl_slist>?
        for (name, value) in headers + [("Expect", "")] { list = curl_slist_append(list, "\(name): \(value)") }
        defer { curl_slist_free_all(list) }
        let sink = Sink()
        let context = Unmanaged.passUnretained(sink).toOpaque()
        var errbuf = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        let payload = body ?? Data()
        let rc: CURLcode = method.withCString { m in
            url.withCString { u in
                payload.withUnsafeBytes { b in
                    withCA { ca, caLen in
                        var r = ccurl_request(method: m, url: u, headers: list,
                                              body: b.baseAddress?.assumingMemoryBound(to: CChar.self),
                                              body_len: payload.count, timeout_ms: Int(timeout * 1000),
                                              connect_timeout_ms: Int(min(timeout, 10) * 1000), ca_pem: ca, ca_pem_len: caLen)
                        let set = ccurl_prepare(handle, &r, Self.bodySink, context, Self.headerSink, context, &errbuf)
                        return set == CURLE_OK ? curl_easy_perform(handle) : set
                    }
                }
            }
        }
        guard rc == CURLE_OK else {
            if sink.tooLarge { throw CurlError("the answer from \(url) is larger than \(Self.maxBody) bytes") }
            let detail = String(decoding: errbuf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw CurlError("\(method) \(url): \(detail.isEmpty ? String(cString: curl_easy_strerror(rc)) : detail)")
        }
        keep = true
        return CurlResponse(status: ccurl_status(handle), headers: sink.headers, body: sink.body)
    }

    private func withCA<R>(_ body: (UnsafePointer<CChar>?, Int) -> R) -> R {
        guard let caPEM else { return body(nil, 0) }
        return caPEM.withUnsafeBytes { body($0.baseAddress!.assumingMemoryBound(to: CChar.self), $0.count) }
    }

    /// Collects one transfer's body and headers (touched only by the thread running the transfer).
    private final class Sink {
        var body = Data()
        var headers: [String: String] = [:]
        var tooLarge = false
    }

    private static let bodySink: ccurl_sink = { data, size, count, context in
        guard let data, let context else { return 0 }
        let sink = Unmanaged<Sink>.fromOpaque(context).takeUnretainedValue()
        let n = size * count
        if sink.body.count + n > CurlClient.maxBody {
            sink.tooLarge = true
            return 0  // aborts the transfer
        }
        data.withMemoryRebound(to: UInt8.self, capacity: n) { sink.body.append($0, count: n) }
        return n
    }

    private static let headerSink: ccurl_sink = { data, size, count, context in
        guard let data, let context else { return 0 }
        let sink = Unmanaged<Sink>.fromOpaque(context).takeUnretainedValue()
        let n = size * count
        let line = data.withMemoryRebound(to: UInt8.self, capacity: n) { String(decoding: UnsafeBufferPointer(start: $0, count: n), as: UTF8.self) }
        if line.hasPrefix("HTTP/") { sink.headers = [:] }  // a new answer (after a 100 Continue)
        if let colon = line.firstIndex(of: ":") {
            let name = line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
            sink.headers[name] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines)
        }
        return n
    }
}
