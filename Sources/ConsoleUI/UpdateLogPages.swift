import Foundation
import ServerAPIClient

extension AppState {
    /// Bytes from the live tail: joined to the window when it ends where they begin; otherwise only the size is noted.
    mutating func receiveLog(_ id: Int64, _ slice: LogSlice) -> [Effect] {
        guard var l = log, l.jobId == id else { return [] }
        let sliceEnd = slice.offset + Int64(slice.bytes.count)
        l.size = max(l.size, slice.totalSize, sliceEnd)
        l.complete = slice.complete
        l.loaded = true
        if l.atTail, slice.offset <= l.window.end, sliceEnd > l.window.end {
            l.window.append(slice.bytes.dropFirst(Int(l.window.end - slice.offset)))
            keepWindowSmall(&l)
        }
        log = l
        return logFollowUps()
    }

    /// After bytes joined the end: drops lines well above the screen; when the view is paused and the window
    /// is still too big, drops lines well below the screen too (the window then no longer takes the live tail).
    func keepWindowSmall(_ l: inout LogState) {
        let height = Layout.logHeight(size)
        let dropped = l.window.trimFront(keep: max(0, l.firstShown(height: height) - height))
        l.top = max(0, l.top - dropped)
        if !l.follow, l.window.trimBack(keep: l.top + 2 * height) { l.atTail = false }
    }

    /// A page asked for with `fetchLog`: replaces the window or joins it, then follows the live tail when it reaches the end.
    mutating func receivePage(_ id: Int64, _ page: LogPage) -> [Effect] {
        guard var l = log, l.jobId == id, l.pending == page.fetch else { return [] }
        l.pending = nil
        l.loaded = true
        l.size = max(l.size, page.totalSize)
        l.complete = page.complete
        let height = Layout.logHeight(size)
        var attach = page.reachesEnd
        switch page.fetch {
        case .tail:
            l.window = LogWindow(page: page.bytes, at: page.offset)
            l.follow = true
            attach = true
        case .top:
            l.window = LogWindow(page: page.bytes, at: page.offset)
            l.top = 0
        case .around(let offset):
            l.window = LogWindow(page: page.bytes, at: page.offset)
            if let i = l.window.line(containing: offset) { showMatch(&l, line: i) }
        case .before(let start):
            joinBefore(&l, page, start: start)
            log = l
            return logFollowUps()
        case .after(let end):
            guard end == l.window.end else {
                log = l
                return logFollowUps()
            }
            l.window.append(page.bytes)
            let dropped = l.window.trimFront(keep: max(0, l.top - height))
            l.top = max(0, l.top - dropped)
        }
        l.atTail = attach
        log = l
        // The live tail goes on from the window's end (the old poll may be elsewhere, or not running).
        return (attach ? [.tailLog(jobId: id, offset: l.window.end)] : []) + logFollowUps()
    }

    /// Joins a page read before the window, keeping the same lines on screen; drops lines far below
    /// the screen when the window grows too big. (A window that moved meanwhile asks again from its new start.)
    func joinBefore(_ l: inout LogState, _ page: LogPage, start: Int64) {
        guard start == l.window.start else { return }
        let count = l.lineCount
        l.window.prepend(page.bytes, at: page.offset)
        l.top += l.lineCount - count
        if l.window.trimBack(keep: l.top + 2 * Layout.logHeight(size)) { l.atTail = false }
    }

    /// A log read failed for good: a removed log (410) shows the server's sentence instead of lines.
    mutating func logFailed(_ id: Int64, _ text: String, gone: Bool) -> [Effect] {
        guard var l = log, l.jobId == id else { return [] }
        l.pending = nil
        if gone {
            l.gone = text
            l.loaded = true
            l.searching = nil
        } else {
            message = Message("log of job \(id): \(text)", isError: true)
        }
        log = l
        return []
    }

    /// What the log view needs next: a page before or after the window when the screen nears its edge,
    /// and the timestamps of the lines on screen when `t` is on.
    mutating func logFollowUps() -> [Effect] {
        guard view == .log, var l = log, l.gone == nil, l.loaded else { return [] }
        let effects = prefetch(&l) + askStamps(&l)
        log = l
        return effects
    }

    /// A page read when the screen is within two screens of an edge of the window that is not the log's edge.
    func prefetch(_ l: inout LogState) -> [Effect] {
        guard l.pending == nil else { return [] }
        let height = Layout.logHeight(size)
        let first = l.firstShown(height: height)
        let margin = max(50, 2 * height)
        let fetch: LogFetch
        if !l.follow, first < margin, l.window.start > 0 {
            fetch = .before(l.window.start)
        } else if !l.atTail, l.lineCount - (first + height) < margin {
            fetch = .after(l.window.end)
        } else {
            return []
        }
        l.pending = fetch
        return [.fetchLog(jobId: l.jobId, fetch)]
    }

    /// Asks for the arrival times of the lines on screen that have none yet (not twice for the same lines).
    func askStamps(_ l: inout LogState) -> [Effect] {
        guard l.showTimes, !l.stampsPending, l.lineCount > 0 else { return [] }
        let rows = l.shown(height: Layout.logHeight(size))
        var last = rows.upperBound - 1
        // The server stamps an unfinished last line only once the job is complete.
        if last == l.lineCount - 1, l.window.endsMidLine, !l.complete { last -= 1 }
        guard last >= rows.lowerBound,
              let first = (rows.lowerBound...last).first(where: { l.stamps.index(forKey: l.window.offset(of: $0)) == nil })
        else { return [] }
        let r = LogStampRequest(from: l.window.offset(of: first), to: l.window.endOffset(of: last))
        guard r != l.stampsAsked else { return [] }
        l.stampsAsked = r
        l.stampsPending = true
        return [.fetchStamps(jobId: l.jobId, r)]
    }

    /// Arrival times for lines of the open log; only those near the window are kept.
    mutating func receiveStamps(_ id: Int64, _ r: LogStampRequest, _ stamps: [LogStamp]) -> [Effect] {
        guard var l = log, l.jobId == id, l.stampsAsked == r else { return [] }
        l.stampsPending = false
        if l.stamps.count > 4096 {
            let keep = l.window.start..<l.window.end
            l.stamps = l.stamps.filter { keep.contains($0.key) }
        }
        for s in stamps { l.stamps.updateValue(s.at, forKey: s.offset) }
        log = l
        return logFollowUps()
    }

    /// Timestamps could not be read: turn them off and say why.
    mutating func stampsFailed(_ id: Int64, _ text: String) -> [Effect] {
        guard var l = log, l.jobId == id else { return [] }
        l.stampsPending = false
        l.showTimes = false
        message = Message("timestamps: \(text)", isError: true)
        log = l
        return []
    }
}
