import Foundation
import ServerAPIClient

/// A page of a log the view asks for, and how the view uses it when it arrives.
public enum LogFetch: Sendable, Equatable {
    /// Bytes one page read asks for (the server answers at most this much per request).
    public static let pageBytes: Int64 = 1 << 20
    /// Bytes read from the end when a log opens or `G` jumps back to the tail.
    public static let tailBytes: Int64 = 256 << 10

    /// The last `tailBytes` of the log (its size learnt from `sizeHint` or a first read); the live tail follows it.
    case tail(sizeHint: Int64)
    /// The first page (`g`).
    case top
    /// The page just before the window, which starts at this offset.
    case before(Int64)
    /// The page just after the window, which ends at this offset.
    case after(Int64)
    /// A page around the line at this offset (a search match outside the window).
    case around(Int64)
}

/// Bytes read for a `LogFetch`: from `offset`, with the log's size and completeness at the time.
public struct LogPage: Sendable, Equatable {
    public var fetch: LogFetch
    public var offset: Int64
    public var bytes: Data
    public var totalSize: Int64
    public var complete: Bool
    /// A page read for `fetch`.
    public init(fetch: LogFetch, offset: Int64, bytes: Data, totalSize: Int64, complete: Bool) {
        self.fetch = fetch
        self.offset = offset
        self.bytes = bytes
        self.totalSize = totalSize
        self.complete = complete
    }

    /// True when the page reaches the end of the log as it was when read.
    public var reachesEnd: Bool { offset + Int64(bytes.count) >= totalSize }
}

/// One search through a whole log, page by page, from a position, wrapping around once.
public struct LogSearchRequest: Sendable, Equatable {
    public var text: String
    public var forward: Bool
    /// Forward: the offset (a line start) where the search begins; backward: it looks at lines before this offset.
    public var from: Int64
    /// Forward only: skip the rest of the line at `from` first (`n` after a match).
    public var skipFirstLine: Bool
    /// After wrapping around: forward looks at lines starting before this offset, backward at lines starting at or after it.
    public var wrapLimit: Int64
    /// The log's size when the search began (for progress).
    public var size: Int64
    /// A search for `text` from `from`.
    public init(text: String, forward: Bool, from: Int64, skipFirstLine: Bool = false, wrapLimit: Int64, size: Int64) {
        self.text = text
        self.forward = forward
        self.from = from
        self.skipFirstLine = skipFirstLine
        self.wrapLimit = wrapLimit
        self.size = size
    }
}

/// How a log search ended.
public enum LogSearchOutcome: Sendable, Equatable {
    /// A line holding the text starts at this offset; `wrapped` when the search went past an end of the log first.
    case found(Int64, wrapped: Bool)
    case notFound
    case failed(String)
}

/// A search in progress: what it looks for and how much of the log it has read.
public struct LogSearchProgress: Sendable, Equatable {
    public var request: LogSearchRequest
    public var fraction: Double
}

/// Timestamps asked for: the lines starting in from..<to.
public struct LogStampRequest: Sendable, Equatable {
    public var from: Int64
    public var to: Int64
}

/// The open log: a window of its bytes around what is shown, the live tail, and how it is shown.
public struct LogState: Sendable, Equatable {
    public var jobId: Int64
    /// The bytes held, split into lines.
    public var window = LogWindow()
    /// True when the window ends where the live tail reads, so new bytes join it.
    public var atTail = true
    /// The log's total size as last heard (X-Log-Size).
    public var size: Int64 = 0
    public var complete = false
    /// True once any bytes or page arrived (before that the view says it is loading).
    public var loaded = false
    public var follow = true
    public var wrap = false
    /// First line shown, an index into the window (when not following).
    public var top = 0
    public var search = ""
    /// Offset of the line of the current match.
    public var match: Int64?
    /// The page read asked for and not answered yet.
    public var pending: LogFetch?
    /// The search running through the log, if any.
    public var searching: LogSearchProgress?
    /// The server's sentence when the log was removed (410 gone); shown instead of lines.
    public var gone: String?
    /// `t`: each line shows when it reached the server.
    public var showTimes = false
    /// Arrival times by line start offset, for the lines on screen (a nil time: the server does not know it).
    public var stamps: [Int64: Date?] = [:]
    /// The last timestamps asked for, and whether the answer is still coming.
    public var stampsAsked: LogStampRequest?
    public var stampsPending = false

    /// A log view for a job, waiting for its first page.
    public init(jobId: Int64) { self.jobId = jobId }

    /// Number of lines held, the unfinished last one included.
    public var lineCount: Int { window.lineCount }

    /// Line `i` of the window as screen text.
    public func line(_ i: Int) -> String { window.text(i) }

    /// The first line shown at a given content height (the last page when following).
    public func firstShown(height: Int) -> Int {
        let bottom = max(0, lineCount - height)
        return follow ? bottom : max(0, min(top, bottom))
    }

    /// Lines on screen at a given content height (without wrapping; wrapping shows fewer).
    public func shown(height: Int) -> Range<Int> {
        let first = firstShown(height: height)
        return first..<min(lineCount, first + height)
    }
}
