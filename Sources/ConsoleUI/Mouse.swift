import Foundation

extension AppState {
    /// A click selects (a row, a tab), a double click opens like Enter, the wheel scrolls by three rows.
    mutating func handleMouse(_ m: MouseEvent) -> [Effect] {
        if modal != nil || showHelp { return [] }
        switch m.kind {
        case .wheelUp, .wheelDown:
            let key: Key = m.kind == .wheelUp ? .up : .down
            return (0..<3).flatMap { _ in handleKey(key) }
        case .click, .doubleClick:
            if view != .log, m.y == 2, let tab = tabAt(x: m.x) { return switchTo(tab) }
            guard view != .log, !(detailOpen && DetailLayout.listWidth(size) == nil), let row = rowAt(m) else { return [] }
            select(row)
            message = nil
            return m.kind == .doubleClick ? handleKey(.enter) : []
        }
    }

    /// The tab under column `x` of the tab row (" 1 Agents " …, one space apart, from column 1).
    func tabAt(x: Int) -> View? {
        var left = 1
        for (n, v) in Self.tabOrder.enumerated() {
            let width = CharWidth.of(text: " \(n + 1) \(KeyHints.title(v)) ")
            if x >= left, x < left + width { return v }
            left += width + 1
        }
        return nil
    }

    /// The list index under a click, if the click is on a row of the current list.
    func rowAt(_ m: MouseEvent) -> Int? {
        let top = Layout.listTop, height = Layout.listHeight(size)
        guard m.y >= top, m.y < top + height else { return nil }
        if let split = DetailLayout.listWidth(size), view == .agents || view == .jobs, m.x >= split { return nil }
        let (cursor, count): (ListCursor, Int)
        switch view {
        case .agents: (cursor, count) = (agentCursor, agentRows.count)
        case .jobs: (cursor, count) = (jobCursor, jobRows.count)
        case .config: (cursor, count) = (configCursor, config.count)
        case .audit: (cursor, count) = (audit.cursor, audit.rows.count)
        case .log: return nil
        }
        let shown = Self.scrolled(cursor, count: count, height: height)
        let index = shown.top + m.y - top
        return index < count ? index : nil
    }

    /// Puts the current list's cursor on row `index`.
    mutating func select(_ index: Int) {
        let height = Layout.listHeight(size)
        switch view {
        case .agents: agentCursor = Self.scrolled(ListCursor(index: index, top: agentCursor.top), count: agentRows.count, height: height)
        case .jobs: jobCursor = Self.scrolled(ListCursor(index: index, top: jobCursor.top), count: jobRows.count, height: height)
        case .config: configCursor = Self.scrolled(ListCursor(index: index, top: configCursor.top), count: config.count, height: height)
        case .audit: audit.cursor = Self.scrolled(ListCursor(index: index, top: audit.cursor.top), count: audit.rows.count, height: height)
        case .log: break
        }
    }
}
