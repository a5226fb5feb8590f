import Foundation
import ServerAPIClient

/// Finds text in log bytes, ignoring case: ASCII letters fold byte by byte; text with other letters is
/// compared line by line after decoding (Unicode case folding, as `String.range(of:options:)` does).
public struct LogMatcher: Sendable {
    public let text: String
    private let folded: [UInt8]
    private let ascii: Bool

    /// A matcher for `text` (which holds no newline: it was typed on one line).
    public init(_ text: String) {
        self.text = text
        folded = text.utf8.map(Self.fold)
        ascii = text.utf8.allSatisfy { $0 < 0x80 }
    }

    static func fold(_ b: UInt8) -> UInt8 { b &- 0x41 < 26 ? b | 0x20 : b }

    /// Index where the first line in bytes[lo..<hi] that holds the text starts (`lo` is a line start).
    public func firstLine(in bytes: UnsafeBufferPointer<UInt8>, _ lo: Int, _ hi: Int) -> Int? {
        guard !folded.isEmpty else { return nil }
        if !ascii { return lines(bytes, lo, hi).first { decodedMatch(bytes, $0) }?.lowerBound }
        let n = folded.count, first = folded[0]
        var i = lo
        while i + n <= hi {
            if Self.fold(bytes[i]) == first, matchesAt(bytes, i) { return lineStart(bytes, i, lo) }
            i += 1
        }
        return nil
    }

    /// Index where the last line in bytes[lo..<hi] that holds the text starts (`lo` is a line start).
    public func lastLine(in bytes: UnsafeBufferPointer<UInt8>, _ lo: Int, _ hi: Int) -> Int? {
        guard !folded.isEmpty else { return nil }
        if !ascii { return lines(bytes, lo, hi).last { decodedMatch(bytes, $0) }?.lowerBound }
        let n = folded.count, first = folded[0]
        var i = hi - n
        while i >= lo {
            if Self.fold(bytes[i]) == first, matchesAt(bytes, i) { return lineStart(bytes, i, lo) }
            i -= 1
        }
        return nil
    }

    /// Convenience for arrays and Data.
    public func firstLine(in bytes: some ContiguousBytes, _ lo: Int, _ hi: Int) -> Int? {
        bytes.withUnsafeBytes { firstLine(in: $0.bindMemory(to: UInt8.self), lo, hi) }
    }

    /// Convenience for arrays and Data.
    public func lastLine(in bytes: some ContiguousBytes, _ lo: Int, _ hi: Int) -> Int? {
        bytes.withUnsafeBytes { lastLine(in: $0.bindMemory(to: UInt8.self), lo, hi) }
    }

    private func matchesAt(_ b: UnsafeBufferPointer<UInt8>, _ i: Int) -> Bool {
        for k in 1..<folded.count where Self.fold(b[i + k]) != folded[k] { return false }
        return true
    }

    private func lineStart(_ b: UnsafeBufferPointer<UInt8>, _ i: Int, _ lo: Int) -> Int {
        var s = i
        while s > lo, b[s - 1] != 0x0A { s -= 1 }
        return s
    }

    private func lines(_ b: UnsafeBufferPointer<UInt8>, _ lo: Int, _ hi: Int) -> [Range<Int>] {
        var out: [Range<Int>] = []
        var s = lo
        for i in lo..<hi where b[i] == 0x0A {
            out.append(s..<i)
            s = i + 1
        }
        if s < hi { out.append(s..<hi) }
        return out
    }

    private func decodedMatch(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> Bool {
        String(decoding: UnsafeBufferPointer(rebasing: b[r]), as: UTF8.self).range(of: text, options: .caseInsensitive) != nil
    }
}

/// A search through a whole log, one page at a time, wrapping around once (the `/`, `n` and `N` of the log view).
public struct LogPagedSearch: Sendable {
    /// Reads the log bytes in from..<to (fewer at its end) and the log's current size.
    public typealias Read = @Sendable (_ from: Int64, _ to: Int64) async throws(ClientError) -> (bytes: Data, totalSize: Int64)

    public let request: LogSearchRequest
    public let read: Read
    /// Told the share of the log read so far (0...1) after each page.
    public let progress: @Sendable (Double) -> Void
    let matcher: LogMatcher
    /// Bytes read at a time.
    let page: Int64

    /// A search for `request` reading through `read`, `pageBytes` at a time.
    public init(_ request: LogSearchRequest, read: @escaping Read, pageBytes: Int64 = LogFetch.pageBytes,
                progress: @escaping @Sendable (Double) -> Void = { _ in }) {
        self.request = request
        self.read = read
        self.progress = progress
        page = max(1, pageBytes)
        matcher = LogMatcher(request.text)
    }

    /// Runs the search; nil when the task was cancelled.
    public func run() async throws(ClientError) -> LogSearchOutcome? {
        request.forward ? try await forward() : try await backward()
    }

    func report(_ scanned: Int64, _ size: Int64) {
        progress(min(1, Double(scanned) / Double(max(1, size))))
    }

    func forward() async throws(ClientError) -> LogSearchOutcome? {
        var p = request.from, skip = request.skipFirstLine, wrapped = false
        var scanned: Int64 = 0, size = request.size
        while !Task.isCancelled {
            if wrapped, p >= request.wrapLimit { return .notFound }
            let (data, total) = try await read(p, p + page)
            size = max(size, total)
            let atEnd = data.isEmpty || p + Int64(data.count) >= total
            let bytes = [UInt8](data)
            var lo = 0
            if skip, !bytes.isEmpty {
                let nl = bytes.firstIndex(of: 0x0A)
                lo = nl.map { $0 + 1 } ?? bytes.count
                skip = nl == nil && !atEnd // the rest of that line goes on in the next page
            }
            // Whole lines only, unless this is the end of the log or one line fills the page.
            var hi = bytes.count
            if !atEnd {
                if let nl = bytes.lastIndex(of: 0x0A), nl + 1 > lo { hi = nl + 1 } else if lo > 0 { hi = lo }
            }
            if let s = matcher.firstLine(in: bytes, lo, hi) {
                let at = p + Int64(s)
                return wrapped && at >= request.wrapLimit ? .notFound : .found(at, wrapped: wrapped)
            }
            scanned += Int64(hi)
            report(scanned, size)
            p += Int64(hi)
            if atEnd {
                if wrapped { return .notFound }
                (wrapped, p, skip) = (true, 0, false)
            }
        }
        return nil
    }

    func backward() async throws(ClientError) -> LogSearchOutcome? {
        var q = request.from, wrapped = false
        var scanned: Int64 = 0, size = request.size
        while !Task.isCancelled {
            if wrapped, q <= request.wrapLimit { return .notFound }
            if q <= 0 {
                if wrapped { return .notFound }
                if size == 0 { size = try await read(0, 0).totalSize } // nothing read yet: learn where the end is
                (wrapped, q) = (true, size)
                continue
            }
            let from = max(0, q - page)
            let (data, total) = try await read(from, q)
            size = max(size, total)
            let bytes = [UInt8](data)
            // A page that began mid-line keeps only whole lines, unless one line fills it.
            var lo = 0
            if from > 0, let nl = bytes.firstIndex(of: 0x0A), nl + 1 < bytes.count { lo = nl + 1 }
            if let s = matcher.lastLine(in: bytes, lo, bytes.count) {
                let at = from + Int64(s)
                return wrapped && at < request.wrapLimit ? .notFound : .found(at, wrapped: wrapped)
            }
            scanned += Int64(bytes.count - lo)
            report(scanned, size)
            q = bytes.isEmpty ? from : from + Int64(lo)
        }
        return nil
    }
}
