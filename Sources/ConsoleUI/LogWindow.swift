import Foundation

/// The part of a log the console holds: raw bytes from a byte offset, split into lines.
/// Lines are addressed by the byte offset where they start; the total line count of a log is never needed.
public struct LogWindow: Sendable, Equatable {
    /// Most bytes a window keeps; pages past this trim the side away from the screen.
    public static let maxBytes = 3 << 20

    /// Log offset of the first byte held (a line start, except after a line longer than a page).
    public private(set) var start: Int64
    /// The bytes held: whole lines, the last one possibly without its newline yet.
    public private(set) var bytes: [UInt8] = []
    /// Index in `bytes` where each line begins.
    public private(set) var lineStarts: [Int32] = []

    /// An empty window at `offset`.
    public init(at offset: Int64 = 0) { start = offset }

    /// A window holding `data` read from `offset`; when the read began mid-line (`offset` > 0) the bytes up
    /// to the first newline are dropped, unless there is no complete line to keep.
    public init(page data: some Collection<UInt8>, at offset: Int64) {
        let all = Array(data)
        var skip = 0
        if offset > 0, let nl = all.firstIndex(of: 0x0A), nl + 1 < all.count { skip = nl + 1 }
        start = offset + Int64(skip)
        append(all[skip...])
    }

    /// Log offset just past the last byte held.
    public var end: Int64 { start + Int64(bytes.count) }
    /// Lines held, the unfinished last one included.
    public var lineCount: Int { lineStarts.count }
    /// True when the last line has no newline yet.
    public var endsMidLine: Bool { bytes.last.map { $0 != 0x0A } ?? false }

    /// Byte range of line `i` in `bytes`, without its newline.
    public func range(of i: Int) -> Range<Int> {
        let lo = Int(lineStarts[i])
        let hi = i + 1 < lineStarts.count ? Int(lineStarts[i + 1]) - 1 : bytes.count - (endsMidLine ? 0 : 1)
        return lo..<max(lo, hi)
    }

    /// Log offset where line `i` starts.
    public func offset(of i: Int) -> Int64 { start + Int64(lineStarts[i]) }

    /// Log offset just past line `i` and its newline (the next line's start).
    public func endOffset(of i: Int) -> Int64 {
        i + 1 < lineStarts.count ? start + Int64(lineStarts[i + 1]) : end
    }

    /// Line `i` as screen text: decoded as UTF-8, control sequences removed.
    public func text(_ i: Int) -> String {
        LogText.clean(String(decoding: bytes[range(of: i)], as: UTF8.self))
    }

    /// The line holding the byte at `offset`, if the window holds it.
    public func line(containing offset: Int64) -> Int? {
        guard !lineStarts.isEmpty, offset >= start, offset < end else { return nil }
        let rel = Int32(offset - start)
        var lo = 0, hi = lineStarts.count
        while hi - lo > 1 {
            let mid = (lo + hi) / 2
            if lineStarts[mid] <= rel { lo = mid } else { hi = mid }
        }
        return lo
    }

    /// Adds bytes that follow `end` in the log.
    public mutating func append(_ data: some Collection<UInt8>) {
        guard !data.isEmpty else { return }
        let old = bytes.count
        if old == 0 || bytes[old - 1] == 0x0A { lineStarts.append(Int32(old)) }
        bytes.append(contentsOf: data)
        for i in old..<(bytes.count - 1) where bytes[i] == 0x0A {
            lineStarts.append(Int32(i + 1))
        }
    }

    /// Joins a page read before this window: `page` holds the bytes from `offset` up to `start`.
    /// A page that begins mid-line (offset > 0) loses the bytes up to its first newline.
    public mutating func prepend(_ page: some Collection<UInt8>, at offset: Int64) {
        var joined = LogWindow(page: page, at: offset)
        guard !joined.bytes.isEmpty, joined.end == start else { return }
        // A window that starts mid-line (after a line longer than a page) continues the page's last line.
        let continues = joined.endsMidLine
        let shift = Int32(joined.bytes.count)
        joined.bytes.append(contentsOf: bytes)
        joined.lineStarts.append(contentsOf: lineStarts.dropFirst(continues ? 1 : 0).lazy.map { $0 + shift })
        self = joined
    }

    /// Drops whole lines from the front until at most `maxBytes` are held, never line `keep` or after it.
    /// Returns how many lines were dropped (line indexes shift down by that much).
    @discardableResult
    public mutating func trimFront(toBytes maxBytes: Int = LogWindow.maxBytes, keep: Int) -> Int {
        guard bytes.count > maxBytes, lineStarts.count > 1 else { return 0 }
        let need = bytes.count - maxBytes
        var drop = 0
        while drop + 1 < lineStarts.count, drop < keep, Int(lineStarts[drop]) < need { drop += 1 }
        guard drop > 0 else { return 0 }
        let cut = Int(lineStarts[drop])
        bytes.removeFirst(cut)
        lineStarts.removeFirst(drop)
        for i in lineStarts.indices { lineStarts[i] -= Int32(cut) }
        start += Int64(cut)
        return drop
    }

    /// Drops whole lines from the end until at most `maxBytes` are held, never line `keep` or before it.
    /// Returns true when anything was dropped (the window then ends at a line boundary).
    @discardableResult
    public mutating func trimBack(toBytes maxBytes: Int = LogWindow.maxBytes, keep: Int) -> Bool {
        var lines = lineStarts.count - 1 // keep lines 0..<lines, cutting at lineStarts[lines]
        guard bytes.count > maxBytes, lines > keep else { return false }
        while lines - 1 > keep, Int(lineStarts[lines]) > maxBytes { lines -= 1 }
        bytes.removeSubrange(Int(lineStarts[lines])...)
        lineStarts.removeSubrange(lines...)
        return true
    }
}
