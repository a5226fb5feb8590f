import Foundation
import MonitorModels

/// The log full-screen: a title row with the job, then the lines (clipped or wrapped), matches highlighted.
func renderLog(_ s: AppState, _ b: inout ScreenBuffer) {
    guard let l = s.log else { return }
    let job = s.jobs[l.jobId]
    b.fill(y: 0, style: .title)
    var title = " Log · job \(l.jobId)"
    if let job {
        title += " \(job.name) · \(jobStateText(job).0)"
        if let agent = job.agentName { title += " on \(agent)" }
        if job.attempt > 1 { title += " · attempt \(job.attempt)" }
    }
    let count = l.lineCount
    var flags = [l.follow ? "follow" : "paused", l.wrap ? "wrap" : "clip", "\(count) lines"]
    if l.complete { flags.append("end") }
    if !l.search.isEmpty, let m = l.matchLine { flags.insert("match: line \(m + 1)", at: 0) }
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

    let height = Layout.logHeight(b.size)
    guard count > 0 else {
        let waiting = job?.state == .scheduled ? "  scheduled: \(job?.waitingReason ?? "waiting for an agent")" : "  waiting for output…"
        b.put(l.complete ? "  (the job wrote nothing)" : waiting, y: 1, x: 0, style: .dim)
        return
    }
    let width = b.size.width
    let rows = l.wrap ? wrappedRows(l, width: width, height: height) : clippedRows(l, height: height)
    for (r, row) in rows.enumerated() {
        let lineStyle: Style = row.line == l.matchLine ? .currentMatch : .searchMatch
        var col = 0
        for (ch, hit) in row.chars {
            col += b.put(String(ch), y: 1 + r, x: col, style: hit ? lineStyle : .normal)
            if col >= width { break }
        }
    }
}

/// One screen row of the log: which line it belongs to and its characters, each marked when inside a match.
struct LogRow {
    var line: Int
    var chars: ArraySlice<(Character, Bool)>
}

/// Rows without wrapping: one per line from `top` (or the last lines when following).
func clippedRows(_ l: LogState, height: Int) -> [LogRow] {
    let top = l.follow ? max(0, l.lineCount - height) : max(0, min(l.top, max(0, l.lineCount - height)))
    return (top..<min(l.lineCount, top + height)).map { LogRow(line: $0, chars: marked(l.line($0), l.search)[...]) }
}

/// Rows with wrapping: long lines continue on the next row; following shows the last rows.
func wrappedRows(_ l: LogState, width: Int, height: Int) -> [LogRow] {
    func split(_ i: Int) -> [LogRow] {
        let chars = marked(l.line(i), l.search)
        var rows: [LogRow] = []
        var start = 0, col = 0
        for (k, c) in chars.enumerated() {
            let w = CharWidth.of(String(c.0))
            if col + w > width, k > start {
                rows.append(LogRow(line: i, chars: chars[start..<k]))
                start = k
                col = 0
            }
            col += w
        }
        rows.append(LogRow(line: i, chars: chars[start...]))
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
