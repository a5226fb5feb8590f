import Foundation
import MonitorModels

/// When one log line reached the server: the line's start offset and its arrival time
/// (nil when the server does not know it: logs kept before version 2 recorded arrival times).
public struct LogStamp: Sendable, Equatable {
    public var offset: Int64
    public var at: Date?
    /// A stamp for the line starting at `offset`.
    public init(offset: Int64, at: Date?) {
        self.offset = offset
        self.at = at
    }
}

/// One answer of `GET /jobs/{id}/log?offset=N&timestamps=1`: the stamps of the lines from N, in order,
/// and the offset to ask from next (the first line not returned).
public struct LogStampPage: Sendable, Equatable {
    public var stamps: [LogStamp]
    public var nextOffset: Int64
    /// A page of stamps.
    public init(stamps: [LogStamp], nextOffset: Int64) {
        self.stamps = stamps
        self.nextOffset = nextOffset
    }
}

/// Reading of the timestamped log answer (`application/x-ndjson`, one `{"at","offset","text"}` per line).
public enum LogStampReader {
    struct Line: Decodable {
        var at: Date?
        var offset: Int64
    }

    /// The stamps of the first `maxLines` lines of an answer; only those lines are decoded, so a 1 MiB
    /// answer costs little when a screenful is wanted. `nextOffset` is the server's header, or the
    /// offset of the first line left undecoded.
    public static func parse(_ body: Data, maxLines: Int, headerNext: Int64?) throws(ClientError) -> LogStampPage {
        var stamps: [LogStamp] = []
        var start = body.startIndex
        while start < body.endIndex {
            let nl = body[start...].firstIndex(of: 0x0A) ?? body.endIndex
            defer { start = nl < body.endIndex ? nl + 1 : nl }
            let row = body[start..<nl]
            if row.allSatisfy({ $0 == 0x20 || $0 == 0x0D }) { continue }
            let line: Line
            do { line = try MMSJSON.decode(Line.self, from: Data(row)) } catch {
                throw .badResponse("the server sent a timestamped log line this client cannot read: \(error.message)")
            }
            if stamps.count == maxLines { return LogStampPage(stamps: stamps, nextOffset: line.offset) }
            stamps.append(LogStamp(offset: line.offset, at: line.at))
        }
        return LogStampPage(stamps: stamps, nextOffset: headerNext ?? (stamps.last.map { $0.offset + 1 } ?? 0))
    }
}
