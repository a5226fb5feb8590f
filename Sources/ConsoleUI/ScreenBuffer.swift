/// What a cell means on screen; the backend turns it into colours or, without colour, bold/reverse.
public enum Style: UInt8, Sendable, Equatable, CaseIterable {
    case normal, dim, bold, title, tabActive, tabInactive, columnHeader, selected, marked, selectedMarked
    case key, footer, status, error, banner, prompt, input, searchMatch, currentMatch
    case good, active, warning, bad, muted
    /// A key the operator's role may not use (dimmed in the footer and help).
    case denied
    /// An alert line: a lost agent, a failed job.
    case alert
}

/// One terminal cell: a grapheme (empty for the right half of a wide character) and its style.
public struct Cell: Sendable, Equatable {
    public var text: String
    public var style: Style
    public init(_ text: String = " ", _ style: Style = .normal) {
        self.text = text
        self.style = style
    }
    /// True for the second column of a wide character (the backend draws nothing there).
    public var isContinuation: Bool { text.isEmpty }
}

/// Size of the terminal in cells.
public struct Size: Sendable, Equatable {
    public var width: Int
    public var height: Int
    public init(width: Int, height: Int) {
        self.width = max(0, width)
        self.height = max(0, height)
    }
}

/// A grid of cells: what `render` produces and the backend draws. Text is clipped, never wrapped.
public struct ScreenBuffer: Sendable, Equatable {
    public let size: Size
    public private(set) var cells: [Cell]

    /// A blank buffer of the given size.
    public init(_ size: Size) {
        self.size = size
        cells = Array(repeating: Cell(), count: size.width * size.height)
    }

    /// The cell at row `y`, column `x`.
    public subscript(y: Int, x: Int) -> Cell {
        cells[y * size.width + x]
    }

    /// Writes `text` at (y, x) in `style`, using at most `width` columns (default: to the right edge).
    /// Wide characters take two columns; one that does not fit becomes a space. Returns the columns used.
    @discardableResult
    public mutating func put(_ text: String, y: Int, x: Int, width: Int? = nil, style: Style = .normal) -> Int {
        guard y >= 0, y < size.height, x < size.width else { return 0 }
        let limit = min(width ?? Int.max, size.width - max(x, 0))
        var col = x
        var used = 0
        for ch in text {
            let g = CharWidth.printable(ch)
            let w = CharWidth.of(g)
            if w == 0 { continue }
            if used + w > limit {
                if used < limit, col >= 0 { set(y, col, Cell(" ", style)) }
                return limit
            }
            if col >= 0 {
                clearWide(y, col)
                set(y, col, Cell(g, style))
                if w == 2 {
                    if col + 1 < size.width { clearWide(y, col + 1); set(y, col + 1, Cell("", style)) }
                }
            }
            col += w
            used += w
        }
        return used
    }

    /// Fills `width` columns of row `y` from `x` with spaces in `style`.
    public mutating func fill(y: Int, x: Int = 0, width: Int? = nil, style: Style) {
        guard y >= 0, y < size.height else { return }
        let end = min(size.width, x + (width ?? size.width))
        var c = max(0, x)
        while c < end {
            clearWide(y, c)
            set(y, c, Cell(" ", style))
            c += 1
        }
    }

    /// Changes the style of existing cells without changing their text.
    public mutating func restyle(y: Int, x: Int, width: Int, style: Style) {
        guard y >= 0, y < size.height else { return }
        for c in max(0, x)..<min(size.width, x + width) {
            cells[y * size.width + c].style = style
        }
    }

    /// Per row, the first and last column that differ from `previous` (every row when there is none or
    /// its size differs): what the backend redraws. A span never starts on the right half of a wide character.
    public func changedSpans(since previous: ScreenBuffer?) -> [(y: Int, first: Int, last: Int)] {
        let full = previous?.size != size
        var spans: [(y: Int, first: Int, last: Int)] = []
        for y in 0..<size.height {
            var first = -1, last = -1
            let row = y * size.width
            for x in 0..<size.width where full || previous?.cells[row + x] != cells[row + x] {
                if first < 0 { first = x }
                last = x
            }
            guard first >= 0 else { continue }
            if cells[row + first].isContinuation, first > 0 { first -= 1 }
            spans.append((y, first, last))
        }
        return spans
    }

    /// Row `y` as plain text (wide characters once, trailing spaces trimmed).
    public func line(_ y: Int) -> String {
        var s = ""
        for x in 0..<size.width {
            let c = self[y, x]
            if !c.isContinuation { s += c.text }
        }
        while s.last == " " { s.removeLast() }
        return s
    }

    /// The whole screen as text, one line per row: what snapshot tests compare.
    public var text: String {
        (0..<size.height).map(line).joined(separator: "\n")
    }

    private mutating func set(_ y: Int, _ x: Int, _ cell: Cell) {
        cells[y * size.width + x] = cell
    }

    /// Before overwriting a cell, blanks the other half of a wide character it belongs to.
    private mutating func clearWide(_ y: Int, _ x: Int) {
        let i = y * size.width + x
        if cells[i].isContinuation, x > 0 {
            cells[i - 1] = Cell(" ", cells[i - 1].style)
        } else if x + 1 < size.width, cells[i + 1].isContinuation {
            cells[i + 1] = Cell(" ", cells[i + 1].style)
        }
    }
}

/// Terminal column widths of characters (East Asian wide, emoji, combining marks).
public enum CharWidth {
    /// Columns a grapheme takes: 0, 1 or 2.
    public static func of(_ s: String) -> Int {
        guard let first = s.unicodeScalars.first else { return 0 }
        var width = scalarWidth(first)
        for u in s.unicodeScalars.dropFirst() where u.value == 0xFE0F && width == 1 {
            width = 2 // emoji presentation selector
        }
        return width
    }

    /// Columns a whole string takes.
    public static func of(text: String) -> Int {
        text.reduce(0) { $0 + of(printable($1)) }
    }

    /// The grapheme as it may be drawn: control characters become "?" so they cannot move the cursor.
    static func printable(_ ch: Character) -> String {
        if let u = ch.unicodeScalars.first, u.value < 0x20 || (u.value >= 0x7F && u.value < 0xA0) {
            return u.value == 0x09 ? " " : "?"
        }
        return String(ch)
    }

    static func scalarWidth(_ u: Unicode.Scalar) -> Int {
        let v = u.value
        if v == 0 { return 0 }
        if v == 0x200B || v == 0x200D || (0xFE00...0xFE0F).contains(v) { return 0 }
        switch u.properties.generalCategory {
        case .nonspacingMark, .enclosingMark, .format: return 0
        default: break
        }
        if u.properties.isEmojiPresentation { return 2 }
        let wide: [ClosedRange<UInt32>] = [
            0x1100...0x115F, 0x2E80...0x303E, 0x3041...0x33FF, 0x3400...0x4DBF, 0x4E00...0x9FFF,
            0xA000...0xA4CF, 0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE30...0xFE4F, 0xFF00...0xFF60,
            0xFFE0...0xFFE6, 0x1F300...0x1F64F, 0x1F900...0x1F9FF, 0x20000...0x3FFFD,
        ]
        for r in wide where r.contains(v) { return 2 }
        return 1
    }
}

extension String {
    /// The string cut to at most `width` columns, with "…" when something was cut.
    public func clipped(to width: Int) -> String {
        guard width > 0 else { return "" }
        if CharWidth.of(text: self) <= width { return self }
        var out = ""
        var used = 0
        for ch in self {
            let w = CharWidth.of(CharWidth.printable(ch))
            if used + w > width - 1 { break }
            out.append(ch)
            used += w
        }
        return out + "…"
    }

    /// The string padded with spaces (or clipped with "…") to exactly `width` columns.
    public func padded(to width: Int) -> String {
        let c = clipped(to: width)
        let w = CharWidth.of(text: c)
        return w < width ? c + String(repeating: " ", count: width - w) : c
    }
}
