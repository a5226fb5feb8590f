import Foundation
import ServerAPIClient

extension AppState {
    /// Keys of the Log view.
    mutating func logKey(_ key: Key) -> [Effect] {
        guard var l = log else { return switchTo(returnView) }
        let height = Layout.logHeight(size)
        let count = l.lineCount
        let bottom = max(0, count - height)
        if l.follow { l.top = bottom }
        switch key {
        case .escape:
            return switchTo(returnView)
        case .up, .char("k"): l.follow = false; l.top -= 1
        case .down, .char("j"): l.top += 1
        case .pageUp: l.follow = false; l.top -= height
        case .pageDown: l.top += height
        case .home, .char("g"): l.follow = false; l.top = 0
        case .end, .char("G"): l.follow = true; l.top = bottom
        case .char("f"):
            l.follow.toggle()
            message = Message(l.follow ? "following the log" : "follow off: the view stays where it is")
        case .char("w"):
            l.wrap.toggle()
            message = Message(l.wrap ? "wrapping long lines" : "long lines clipped")
        case .char("/"):
            log = l
            modal = .search(l.search)
            return []
        case .char("n"): findMatch(&l, forward: true, from: (l.matchLine ?? l.top - 1) + 1)
        case .char("N"): findMatch(&l, forward: false, from: (l.matchLine ?? l.top + 1) - 1)
        default: break
        }
        l.top = max(0, min(l.top, bottom))
        log = l
        return []
    }

    /// Moves to the next (or previous) line containing the search text, wrapping around; says so when none does.
    mutating func findMatch(_ l: inout LogState, forward: Bool, from start: Int) {
        guard !l.search.isEmpty else {
            message = Message("no search yet: press / to search")
            return
        }
        let n = l.lineCount
        guard n > 0 else { return }
        for step in 0..<n {
            let i = ((forward ? start + step : start - step) % n + n) % n
            if l.line(i).range(of: l.search, options: .caseInsensitive) != nil {
                l.matchLine = i
                l.follow = false
                let height = Layout.logHeight(size)
                if i < l.top || i >= l.top + height { l.top = max(0, i - height / 2) }
                return
            }
        }
        l.matchLine = nil
        message = Message("no match for \"\(l.search)\"", isError: true)
    }

    /// Appends bytes from the log long poll to the open log (only if it is still the same job).
    mutating func receiveLog(_ id: Int64, _ slice: LogSlice) -> [Effect] {
        guard var l = log, l.jobId == id, slice.offset == l.offset else { return [] }
        var data = l.partial
        data.append(slice.bytes)
        var start = data.startIndex
        while let nl = data[start...].firstIndex(of: 0x0A) {
            l.lines.append(LogText.clean(String(decoding: data[start..<nl], as: UTF8.self)))
            start = nl + 1
        }
        l.partial = Data(data[start...])
        l.offset = slice.offset + Int64(slice.bytes.count)
        l.complete = slice.complete
        if l.follow { l.top = max(0, l.lineCount - Layout.logHeight(size)) }
        log = l
        return []
    }
}
