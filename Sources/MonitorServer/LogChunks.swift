import Foundation

/// How a job's log is kept as rows: each append arrives as one chunk with its arrival time; small chunks
/// at the tail are merged in groups (a tiered merge, so a byte is rewritten only a few times), and what
/// is small at completion is merged once more. Pure rules: the store runs the SQL.
enum LogChunks {
    /// A chunk at least this big is never merged (the agent sends at most 256 KiB at a time).
    static let fullSize = 256 * 1024
    /// A merge never makes a row bigger than this.
    static let maxMerged = 1 << 20
    /// This many chunks of one tier at the tail are merged into one of the next tier.
    static let fanIn = 8
    /// At completion, at most this many bytes of small chunks are merged (bounds the work under the lock).
    static let compactionBudget = 4 << 20

    /// What the merge rules need to know about a stored chunk.
    struct Info: Equatable {
        var start: Int64
        var size: Int
        /// Appends merged into this chunk (its arrival count).
        var pieces: Int
        var end: Int64 { start + Int64(size) }
    }

    /// A chunk's tier: 0 for 1-7 appends, 1 for 8-63, 2 for 64-511, …
    static func tier(_ pieces: Int) -> Int {
        var t = 0
        var n = max(1, pieces)
        while n >= fanIn { n /= fanIn; t += 1 }
        return t
    }

    /// The chunks to merge after an append, given the last `fanIn` chunks oldest first (nil for none):
    /// `fanIn` contiguous chunks, none full, all of one tier, together within `maxMerged`.
    static func tailMerge(_ tail: [Info]) -> [Info]? {
        guard tail.count >= fanIn else { return nil }
        let group = Array(tail.suffix(fanIn))
        let t = tier(group[0].pieces)
        guard group.allSatisfy({ $0.size < fullSize && tier($0.pieces) == t }),
              group.reduce(0, { $0 + $1.size }) <= maxMerged, isContiguous(group) else { return nil }
        return group
    }

    /// Groups to merge when the job completes, from all its chunks oldest first: runs of contiguous
    /// chunks below `fullSize`, each group within `maxMerged`, newest first until `compactionBudget`.
    static func compaction(_ chunks: [Info]) -> [[Info]] {
        var groups: [[Info]] = []
        var run: [Info] = []  // newest first
        var runSize = 0
        var budget = compactionBudget
        func flush() {
            if run.count >= 2 { groups.append(run.reversed()) }
            run = []
            runSize = 0
        }
        for c in chunks.reversed() {
            if c.size >= fullSize { flush(); continue }
            if budget < c.size { break }
            if let newer = run.last, newer.start != c.end || runSize + c.size > maxMerged { flush() }
            run.append(c)
            runSize += c.size
            budget -= c.size
        }
        flush()
        return groups
    }

    static func isContiguous(_ group: [Info]) -> Bool {
        zip(group, group.dropFirst()).allSatisfy { $0.end == $1.start }
    }
}

/// When each part of a chunk reached the server: (offset in the log, milliseconds since 1970) pairs,
/// 16 bytes each, little-endian, in offset order. A millisecond of -1 means "not recorded" (logs kept
/// before arrival times were).
struct LogArrivals: Equatable {
    var entries: [(offset: Int64, millis: Int64)]

    static func == (a: LogArrivals, b: LogArrivals) -> Bool {
        a.entries.count == b.entries.count && zip(a.entries, b.entries).allSatisfy { $0 == $1 }
    }

    init(_ entries: [(offset: Int64, millis: Int64)]) { self.entries = entries }

    /// One arrival at `offset`, now.
    init(offset: Int64, at date: Date) {
        entries = [(offset, Int64((date.timeIntervalSince1970 * 1000).rounded()))]
    }

    /// Decodes a stored index; a missing one (a chunk kept before arrival times were) is "unknown since `start`".
    init(blob: Data?, start: Int64) {
        guard let blob, blob.count >= 16 else {
            entries = [(start, -1)]
            return
        }
        var out: [(Int64, Int64)] = []
        out.reserveCapacity(blob.count / 16)
        blob.withUnsafeBytes { raw in
            var i = 0
            while i + 16 <= raw.count {
                let o = Int64(littleEndian: raw.loadUnaligned(fromByteOffset: i, as: Int64.self))
                let m = Int64(littleEndian: raw.loadUnaligned(fromByteOffset: i + 8, as: Int64.self))
                out.append((o, m))
                i += 16
            }
        }
        entries = out
    }

    /// The stored form.
    var blob: Data {
        var d = Data(capacity: entries.count * 16)
        for (o, m) in entries {
            withUnsafeBytes(of: o.littleEndian) { d.append(contentsOf: $0) }
            withUnsafeBytes(of: m.littleEndian) { d.append(contentsOf: $0) }
        }
        return d
    }

    /// Arrival time of the byte at `offset` (nil when not recorded or before the first entry).
    func time(at offset: Int64) -> Date? {
        var lo = 0, hi = entries.count
        while lo < hi {  // first entry with offset > `offset`
            let mid = (lo + hi) / 2
            if entries[mid].offset <= offset { lo = mid + 1 } else { hi = mid }
        }
        guard lo > 0, entries[lo - 1].millis >= 0 else { return nil }
        return Date(timeIntervalSince1970: Double(entries[lo - 1].millis) / 1000)
    }
}
