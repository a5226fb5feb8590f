import Foundation
import ServerAPIClient

extension AppState {
    /// Keys of the Log view.
    mutating func logKey(_ key: Key) -> [Effect] {
        guard var l = log else { return switchTo(returnView) }
        let height = Layout.logHeight(size)
        l.top = l.firstShown(height: height)
        var effects: [Effect] = []
        switch key {
        case .escape:
            if l.searching == nil, logSave != nil { return cancelSave() }
            guard l.searching != nil else { return switchTo(returnView) }
            l.searching = nil
            message = Message("search cancelled")
            effects = [.cancelSearch]
        case .up, .char("k"): l.follow = false; l.top -= 1
        case .down, .char("j"): l.top += 1
        case .pageUp: l.follow = false; l.top -= height
        case .pageDown: l.top += height
        case .home, .char("g"): effects = goToTop(&l)
        case .end, .char("G"): effects = goToTail(&l)
        case .char("f"), .char("w"), .char("t"): effects = toggle(&l, key)
        case .char("/"):
            log = l
            modal = .search(l.search)
            return []
        case .char("S"): effects = saveLog(l)
        case .char("n"): effects = startSearch(&l, forward: true, fresh: false)
        case .char("N"): effects = startSearch(&l, forward: false, fresh: false)
        default: break
        }
        l.top = max(0, min(l.top, max(0, l.lineCount - height)))
        log = l
        return effects + logFollowUps()
    }

    /// `f` follow, `w` wrap, `t` timestamps: on/off, saying which.
    mutating func toggle(_ l: inout LogState, _ key: Key) -> [Effect] {
        switch key {
        case .char("f") where l.follow:
            l.follow = false
            message = Message("follow off: the view stays where it is")
        case .char("f"):
            message = Message("following the log")
            return goToTail(&l)
        case .char("w"):
            l.wrap.toggle()
            message = Message(l.wrap ? "wrapping long lines" : "long lines clipped")
        default:
            l.showTimes.toggle()
            l.stampsAsked = nil
            l.stampsPending = false
            message = Message(l.showTimes ? "each line shows when it reached the server" : "timestamps off")
        }
        return []
    }

    /// `g`: the first line of the log (a page read from offset 0 unless the window starts there).
    func goToTop(_ l: inout LogState) -> [Effect] {
        l.follow = false
        l.top = 0
        guard l.window.start > 0 else { return [] }
        l.pending = .top
        return [.fetchLog(jobId: l.jobId, .top)]
    }

    /// `G`: the end of the log, followed live (a page read from the end unless the window is there).
    func goToTail(_ l: inout LogState) -> [Effect] {
        l.follow = true
        guard !l.atTail else { return [] }
        l.pending = .tail(sizeHint: l.size)
        return [.fetchLog(jobId: l.jobId, .tail(sizeHint: l.size))]
    }

    /// Starts a search: Enter searches forward from the top line shown (from the start while following),
    /// `n`/`N` from the current match. A match inside the window is found at once; otherwise the runtime
    /// reads the log page by page.
    mutating func startSearch(_ l: inout LogState, forward: Bool, fresh: Bool) -> [Effect] {
        guard !l.search.isEmpty else {
            message = Message("no search yet: press / to search")
            return []
        }
        let height = Layout.logHeight(size)
        let top = l.firstShown(height: height)
        let topOffset = l.lineCount > 0 ? l.window.offset(of: top) : l.window.start
        var r: LogSearchRequest
        if forward {
            if !fresh, let m = l.match {
                r = LogSearchRequest(text: l.search, forward: true, from: m, skipFirstLine: true, wrapLimit: m + 1, size: l.size)
            } else {
                let from = fresh && l.follow ? 0 : topOffset
                r = LogSearchRequest(text: l.search, forward: true, from: from, wrapLimit: from, size: l.size)
            }
        } else {
            let before = l.match ?? (l.lineCount > 0 ? l.window.endOffset(of: top) : l.window.end)
            r = LogSearchRequest(text: l.search, forward: false, from: before, wrapLimit: before, size: l.size)
        }
        r.size = max(r.size, l.window.end)
        if let line = windowMatch(l, r) {
            showMatch(&l, line: line)
            return []
        }
        l.searching = LogSearchProgress(request: r, fraction: 0)
        return [.searchLog(jobId: l.jobId, r)]
    }

    /// The line of the first match the search would find without leaving the window and without wrapping.
    func windowMatch(_ l: LogState, _ r: LogSearchRequest) -> Int? {
        let w = l.window
        let matcher = LogMatcher(r.text)
        if r.forward {
            guard var i = w.line(containing: r.from) else { return nil }
            if r.skipFirstLine { i += 1 }
            guard i < w.lineCount else { return nil }
            let lo = Int(w.offset(of: i) - w.start)
            return matcher.firstLine(in: w.bytes, lo, w.bytes.count).flatMap { w.line(containing: w.start + Int64($0)) }
        }
        guard r.from > w.start, r.from <= w.end else { return nil }
        return matcher.lastLine(in: w.bytes, 0, Int(r.from - w.start)).flatMap { w.line(containing: w.start + Int64($0)) }
    }

    /// Marks line `i` of the window as the current match and scrolls it into view.
    func showMatch(_ l: inout LogState, line i: Int) {
        let height = Layout.logHeight(size)
        l.top = l.firstShown(height: height)
        l.match = l.window.offset(of: i)
        l.follow = false
        if i < l.top || i >= l.top + height { l.top = max(0, i - height / 2) }
    }

    /// Progress of the running search.
    mutating func searchProgressed(_ id: Int64, _ r: LogSearchRequest, _ fraction: Double) -> [Effect] {
        guard var l = log, l.jobId == id, l.searching?.request == r else { return [] }
        l.searching?.fraction = fraction
        log = l
        return []
    }

    /// The end of a search: move to the match (reading a page around it when outside the window), or say why not.
    mutating func searchDone(_ id: Int64, _ r: LogSearchRequest, _ outcome: LogSearchOutcome) -> [Effect] {
        guard var l = log, l.jobId == id, l.searching?.request == r else { return [] }
        l.searching = nil
        var effects: [Effect] = []
        switch outcome {
        case .found(let offset, let wrapped):
            if wrapped { message = Message(r.forward ? "search reached the end and went on from the top" : "search reached the top and went on from the end") }
            if let i = l.window.line(containing: offset) {
                showMatch(&l, line: i)
            } else {
                l.match = offset
                l.follow = false
                l.pending = .around(offset)
                effects = [.fetchLog(jobId: id, .around(offset))]
            }
        case .notFound:
            l.match = nil
            message = Message("no match for \"\(r.text)\"", isError: true)
        case .failed(let text):
            message = Message("search: \(text)", isError: true)
        }
        log = l
        return effects + logFollowUps()
    }
}
