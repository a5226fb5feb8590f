import Foundation
import MonitorModels

/// The timestamped form of a log read (`?timestamps=1`): JSON lines `{"at":…,"offset":N,"text":…}`,
/// one per log line, `at` the arrival time of the chunk holding the line's first byte.
enum LogTimestamps {
    /// NDJSON for the lines of `window` and the offset to read from next. A trailing line without its
    /// newline is left for the next read, unless the log is complete and the window reaches its end, or
    /// the line alone fills the window (`windowFull`), so every read makes progress.
    static func render(_ window: LogWindow, reachesCompleteEnd: Bool, windowFull: Bool) -> (body: Data, next: Int64) {
        var out = Data()
        var lastMillis: Int64 = .min
        var lastAt = "null"
        var consumed = 0
        window.bytes.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            let bytes = raw.bindMemory(to: UInt8.self)
            func emit(_ from: Int, _ to: Int) {
                let offset = window.offset + Int64(from)
                let date = window.arrivals.time(at: offset)
                let millis = date.map { Int64(($0.timeIntervalSince1970 * 1000).rounded()) } ?? -1
                if millis != lastMillis {
                    lastMillis = millis
                    lastAt = date.map { "\"" + RFC3339.format($0) + "\"" } ?? "null"
                }
                out.append(contentsOf: "{\"at\":\(lastAt),\"offset\":\(offset),\"text\":".utf8)
                appendJSONString(String(decoding: UnsafeBufferPointer(rebasing: bytes[from..<to]), as: UTF8.self), to: &out)
                out.append(contentsOf: "}\n".utf8)
            }
            var lineStart = 0
            for i in 0..<bytes.count where bytes[i] == 0x0A {
                emit(lineStart, i)
                lineStart = i + 1
            }
            consumed = lineStart
            if lineStart < bytes.count && (reachesCompleteEnd || (lineStart == 0 && windowFull)) {
                emit(lineStart, bytes.count)
                consumed = bytes.count
            }
        }
        return (out, window.offset + Int64(consumed))
    }

    /// Appends `text` as a JSON string literal.
    static func appendJSONString(_ text: String, to out: inout Data) {
        out.append(0x22)
        for u in text.utf8 {
            switch u {
            case 0x22: out.append(contentsOf: [0x5C, 0x22])
            case 0x5C: out.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: out.append(contentsOf: [0x5C, 0x6E])
            case 0x0D: out.append(contentsOf: [0x5C, 0x72])
            case 0x09: out.append(contentsOf: [0x5C, 0x74])
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out.append(contentsOf: [0x5C, 0x75, 0x30, 0x30, hex[Int(u >> 4)], hex[Int(u & 0xF)]])
            default: out.append(u)
            }
        }
        out.append(0x22)
    }
}
