import Foundation
import MonitorModels

/// The log full-screen: a title row with the job and the position, then the lines (clipped or wrapped),
/// matches highlighted, each line after its arrival time when `t` is on.
func renderLog(_ s: AppState, _ b: inout ScreenBuffer) {
    guard let l = s.log else { return }
    let job = s.jobs[l.jobId]
    renderLogTitle(s, l, job, &b)
    let height = Layout.logHeight(b.size)
    if let gone = l.gone {
        b.put("  " + gone, y: 1, x: 0, style: .warning)
        return
    }
    guard l.lineCount > 0 else {
        let waiting = job?.state == .scheduled ? "  scheduled: \(job?.waitingReason ?? "waiting for an agent")" : "  waiting for output…"
        let text = job?.state == .scheduled || l.loaded ? (l.complete ? "  (the job wrote nothing)" : waiting) : "  loading…"
        b.put(text, y: 1, x: 0, style: .dim)
        return
    }
    let width = b.size.width
    var stamps = l.showTimes ? LogStampFormat(now: s.now, timeZone: s.timeZone) : nil
    stamps?.widen(for: l.shown(height: height).compactMap { l.stamps[l.window.offset(of: $0)] ?? nil })
    let rows = l.wrap ? wrappedRows(l, width: width, height: height, stamps: stamps)
                      : clippedRows(l, height: height, stamps: stamps)
    for (r, row) in rows.enumerated() {
        let lineStyle: Style = l.window.offset(of: row.line) == l.match ? .currentMatch : .searchMatch
        var col = b.put(row.prefix, y: 1 + r, x: 0, style: .dim)
        for (ch, hit) in row.chars {
            col += b.put(String(ch), y: 1 + r, x: col, style: hit ? lineStyle : .normal)
            if col >= width { break }
        }
    }
}

/// Row 0: the job, then follow (and wrap when on), the position in bytes and percent, and whether the log is complete.
func renderLogTitle(_ s: AppState, _ l: LogState, _ job: Job?, _ b: inout ScreenBuffer) {
    b.fill(y: 0, style: .title)
    var title = " Log · job \(l.jobId)"
    if let job {
        title += " \(job.name) · \(jobStateText(job).0)"
        if let agent = job.agentName { title += " on \(agent)" }
        if job.attempt > 1 { title += " · attempt \(job.attempt)" }
    }
    var flags = [l.follow ? "follow" : "paused"]
    if l.wrap { flags.append("wrap") }
    if l.gone == nil, l.loaded { flags.append(logPosition(l, height: Layout.logHeight(b.size))) }
    if l.complete { flags.append("end") }
    if !l.search.isEmpty, l.match != nil { flags.insert("match", at: 0) }
    if case .reconnecting = s.connection { flags.insert("reconnecting…", at: 0) }
    let right = flags.joined(separator: " · ") + " "
    let w = CharWidth.of(text: right)
    let room = b.size.width - w - 2
    if room >= 20 {
        b.put(title.clipped(to: room), y: 0, x: 0, style: .title)
        b.put(right, y: 0, x: b.size.width - w, style: s.connection == .connected ? .title : .bad)
    } else {
        b.put(title, y: 0, x: 0, style: .title)
    }
}

/// "12.3 MiB of 980 MiB · 1%": how far into the log the bottom of the screen is.
func logPosition(_ l: LogState, height: Int) -> String {
    let shown = l.shown(height: height)
    let at = l.follow || shown.isEmpty ? l.window.end : l.window.endOffset(of: shown.upperBound - 1)
    let size = max(l.size, l.window.end)
    let percent = size == 0 ? 100 : Int(at * 100 / size)
    return "\(byteSize(at)) of \(byteSize(size)) · \(percent)%"
}

/// "512 B", "4.0 KiB", "12.3 MiB", "980 MiB", "1.2 GiB".
func byteSize(_ n: Int64) -> String {
    if n < 1024 { return "\(n) B" }
    let units = ["KiB", "MiB", "GiB", "TiB"]
    var v = Double(n) / 1024
    var u = 0
    while v >= 1024, u < units.count - 1 {
        v /= 1024
        u += 1
    }
    return (v >= 100 ? String(format: "%.0f", v) : String(format: "%.1f", v)) + " " + units[u]
}

/// How arrival times are shown: local time, with the date when it is not today.
struct LogStampFormat {
    var now: Date
    var calendar: Calendar
    /// Some line on screen shows a date: every prefix takes its width, so the lines stay aligned.
    var wide = false

    init(now: Date, timeZone: TimeZone) {
        self.now = now
        calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
    }

    /// Makes room for dates when any of `dates` (the lines on screen) is not today.
    mutating func widen(for dates: [Date]) {
        wide = dates.contains { !calendar.isDate($0, inSameDayAs: now) }
    }

    /// "14:03:07 " today, "2026-11-17 23:59:58 " another day, blanks until the time arrives,
    /// "--:--:-- " when the server does not know it.
    func prefix(_ stamp: Date??) -> String {
        let width = wide ? 20 : 9
        guard let known = stamp else { return String(repeating: " ", count: width) }
        guard let date = known else { return String(repeating: " ", count: width - 9) + "--:--:-- " }
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        var text = String(format: "%02d:%02d:%02d ", c.hour ?? 0, c.minute ?? 0, c.second ?? 0)
        if !calendar.isDate(date, inSameDayAs: now) {
            text = String(format: "%04d-%02d-%02d ", c.year ?? 0, c.month ?? 0, c.day ?? 0) + text
        }
        return String(repeating: " ", count: max(0, width - text.count)) + text
    }
}

/// One screen row of the log: which line it belongs to, the time prefix (or its blank continuation),
/// and its characters, each marked when inside a match.
struct LogRow {
    var line: Int
    var prefix: String
    var chars: ArraySlice<(Character, Bool)>
}

/// The time prefix of line `i` (empty when timestamps are off).
func stampPrefix(_ l: LogState, _ i: Int, _ stamps: LogStampFormat?) -> String {
    stamps?.prefix(l.stamps[l.window.offset(of: i)]) ?? ""
}

/// Rows without wrapping: one per line from the first shown.
func clippedRows(_ l: LogState, height: Int, stamps: LogStampFormat? = nil) -> [LogRow] {
    l.shown(height: height).map { LogRow(line: $0, prefix: stampPrefix(l, $0, stamps), chars: marked(l.line($0), l.search)[...]) }
}

/// Rows with wrapping: long lines continue on the next row; following shows the last rows.
func wrappedRows(_ l: LogState, width: Int, height: Int, stamps: LogStampFormat? = nil) -> [LogRow] {
    func split(_ i: Int) -> [LogRow] {
        let prefix = stampPrefix(l, i, stamps)
        let room = max(1, width - CharWidth.of(text: prefix))
        let blank = String(repeating: " ", count: prefix.count)
        let chars = marked(l.line(i), l.search)
        var rows: [LogRow] = []
        var start = 0, col = 0
        for (k, c) in chars.enumerated() {
            let w = CharWidth.of(String(c.0))
            if col + w > room, k > start {
                rows.append(LogRow(line: i, prefix: rows.isEmpty ? prefix : blank, chars: chars[start..<k]))
                start = k
                col = 0
            }
            col += w
        }
        rows.append(LogRow(line: i, prefix: rows.isEmpty ? prefix : blank, chars: chars[start...]))
        return rows
    }
    var rows: [LogRow] = []
    if l.follow {
        var i = l.lineCount - 1
        while i >= 0, rows.count < height {
            rows = split(i) + rows
            i -= 1
        }
        return Array(rows.suffix(height))
    }
    var i = max(0, min(l.top, l.lineCount - 1))
    while i < l.lineCount, rows.count < height {
        rows += split(i)
        i += 1
    }
    return Array(rows.prefix(height))
}

/// The characters of a line, each marked true when it is part of a (case-insensitive) match of `search`.
func marked(_ line: String, _ search: String) -> [(Character, Bool)] {
    var out = line.map { ($0, false) }
    guard !search.isEmpty else { return out }
    var from = line.startIndex
    while from < line.endIndex, let r = line.range(of: search, options: .caseInsensitive, range: from..<line.endIndex) {
        let a = line.distance(from: line.startIndex, to: r.lowerBound)
        let n = line.distance(from: r.lowerBound, to: r.upperBound)
        for k in a..<min(out.count, a + n) { out[k].1 = true }
        from = r.upperBound > r.lowerBound ? r.upperBound : line.index(after: r.lowerBound)
    }
    return out
}
