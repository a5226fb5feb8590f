import Foundation
import MonitorModels

/// Small charts of the fleet history for the header.
public enum Sparkline {
    static let blocks: [Character] = ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"]
    static let ascii: [Character] = [".", ":", "-", "=", "+", "*", "#", "@"]

    /// `values` drawn in `width` columns (several samples per column take their largest), scaled to the
    /// largest value; a blank where no server ran; Unicode blocks, or ASCII when the terminal is not UTF-8.
    public static func draw(_ values: [Int?], width: Int, unicode: Bool) -> String {
        guard width > 0, !values.isEmpty else { return "" }
        let columns = bucket(values, into: width)
        let top = max(1, columns.compactMap { $0 }.max() ?? 1)
        let marks = unicode ? blocks : ascii
        return String(columns.map { v -> Character in
            guard let v else { return " " }
            if v == 0 { return unicode ? "▁" : "_" }
            return marks[min(marks.count - 1, max(1, (v * marks.count + top - 1) / top - 1))]
        })
    }

    /// Groups samples into at most `width` columns, newest last; each column the largest of its samples.
    static func bucket(_ values: [Int?], into width: Int) -> [Int?] {
        guard values.count > width else { return values }
        return (0..<width).map { c in
            let lo = c * values.count / width, hi = (c + 1) * values.count / width
            return values[lo..<max(hi, lo + 1)].compactMap { $0 }.max()
        }
    }
}

/// The fleet history the console holds (from GET /stats), with the live counts as its newest step.
public struct History: Sendable, Equatable {
    public var waiting: [Int?] = []
    public var running: [Int?] = []
    /// When it was read (it is read again once a minute).
    public var readAt: Date?
    public init() {}
}

extension AppState {
    /// Takes the series read for `.loadStats`.
    mutating func statsLoaded(_ stats: FleetStats) {
        history.waiting = stats.waiting
        history.running = stats.running
        history.readAt = now
    }

    /// Asks for the history again when it is a minute old (or was never read).
    mutating func refreshHistory() -> [Effect] {
        if let at = history.readAt, now.timeIntervalSince(at) < 60 { return [] }
        history.readAt = now  // one read at a time; a failure waits a minute too
        return [.loadStats]
    }

    /// A series with its newest step replaced by the live count.
    static func withLive(_ series: [Int?], _ live: Int) -> [Int?] {
        series.isEmpty ? [live] : series.dropLast() + [live]
    }
}

/// Row 1, right side: "waiting ▁▂▅▇ 4  running ▂▂▃ 2" when there is room.
func renderSparklines(_ s: AppState, _ b: inout ScreenBuffer, from x: Int) {
    guard !s.history.waiting.isEmpty else { return }
    let room = b.size.width - x - 2
    let labels = " waiting  \(s.jobsWaiting)  running  \(s.jobsRunning) "
    let each = min(30, (room - CharWidth.of(text: labels)) / 2)
    guard each >= 8 else { return }
    let w = Sparkline.draw(AppState.withLive(s.history.waiting, s.jobsWaiting), width: each, unicode: s.unicode)
    let r = Sparkline.draw(AppState.withLive(s.history.running, s.jobsRunning), width: each, unicode: s.unicode)
    let total = CharWidth.of(text: labels) + 2 * each
    var cx = b.size.width - total - 1
    cx += b.put(" waiting ", y: 1, x: cx, style: .dim)
    cx += b.put(w, y: 1, x: cx, style: .warning)
    cx += b.put(" \(s.jobsWaiting)  running ", y: 1, x: cx, style: .dim)
    cx += b.put(r, y: 1, x: cx, style: .active)
    b.put(" \(s.jobsRunning) ", y: 1, x: cx, style: .dim)
}
