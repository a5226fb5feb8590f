import CNCursesW
import Foundation

/// The one place that talks to ncurses: draws ScreenBuffer diffs and turns key codes into keys.
public final class NCursesBackend: TerminalBackend {
    private var previous: ScreenBuffer?
    private var colour = false
    private var started = false
    private let mouse: Bool

    /// A backend; nothing happens to the terminal until `start()`. Without `mouse` the terminal keeps its
    /// own selection (`--no-mouse`).
    public init(mouse: Bool = true) {
        self.mouse = mouse
    }

    /// Enters full-screen mode; colours unless NO_COLOR is set (to anything non-empty) or the terminal has none.
    public func start() throws {
        let noColour = !(ProcessInfo.processInfo.environment["NO_COLOR"] ?? "").isEmpty
        let r = cnc_start(noColour ? 0 : 1)
        guard r >= 0 else { throw BackendError.cannotStart }
        cnc_install_crash_restore()
        started = true
        colour = r == 1
        if colour { definePairs() }
        if mouse { cnc_enable_mouse() }
    }

    /// Leaves full-screen mode and restores the terminal; safe to call more than once.
    public func stop() {
        guard started else { return }
        started = false
        cnc_stop()
    }

    public var size: Size { Size(width: Int(cnc_cols()), height: Int(cnc_lines())) }

    /// Waits up to `timeoutMs` for input.
    public func read(timeoutMs: Int) -> TerminalInput? {
        let k = cnc_read_key(Int32(timeoutMs))
        switch k {
        case Int32(CNC_KEY_NONE), Int32(CNC_KEY_OTHER): return nil
        case Int32(CNC_KEY_RESIZE):
            previous = nil
            cnc_clear()
            return .resize(size)
        case Int32(CNC_KEY_UP): return .key(.up)
        case Int32(CNC_KEY_DOWN): return .key(.down)
        case Int32(CNC_KEY_LEFT): return .key(.left)
        case Int32(CNC_KEY_RIGHT): return .key(.right)
        case Int32(CNC_KEY_PGUP): return .key(.pageUp)
        case Int32(CNC_KEY_PGDN): return .key(.pageDown)
        case Int32(CNC_KEY_HOME): return .key(.home)
        case Int32(CNC_KEY_END): return .key(.end)
        case Int32(CNC_KEY_ENTER): return .key(.enter)
        case Int32(CNC_KEY_BACKSPACE): return .key(.backspace)
        case Int32(CNC_KEY_DELETE): return .key(.delete)
        case Int32(CNC_KEY_BTAB): return .key(.backTab)
        case Int32(CNC_KEY_MOUSE):
            let kinds: [Int32: MouseEvent.Kind] = [
                Int32(CNC_MOUSE_CLICK): .click, Int32(CNC_MOUSE_DOUBLE): .doubleClick,
                Int32(CNC_MOUSE_WHEEL_UP): .wheelUp, Int32(CNC_MOUSE_WHEEL_DOWN): .wheelDown,
            ]
            guard let kind = kinds[cnc_mouse_kind()] else { return nil }
            return .mouse(MouseEvent(kind, x: Int(cnc_mouse_x()), y: Int(cnc_mouse_y())))
        default: return TerminalInput.decode(Int(k))
        }
    }

    /// Rings the terminal bell.
    public func bell() { cnc_beep() }

    /// Puts `text` on the clipboard of the terminal (and of tmux with set-clipboard on) with OSC 52.
    public func copy(_ text: String) {
        let seq = OSC52.sequence(text)
        var bytes = Array(seq.utf8).map { CChar(bitPattern: $0) }
        cnc_write_raw(&bytes, Int32(bytes.count))
    }

    /// Draws `buffer`, touching only the cells that differ from the last frame.
    public func draw(_ buffer: ScreenBuffer) {
        if previous?.size != buffer.size { cnc_clear() }
        for span in buffer.changedSpans(since: previous) {
            drawRun(buffer, span.y, span.first, span.last)
        }
        previous = buffer
        cnc_refresh()
    }

    /// Draws cells first...last of row y, one ncurses call per run of equal style.
    private func drawRun(_ b: ScreenBuffer, _ y: Int, _ first: Int, _ last: Int) {
        var x = first
        while x <= last {
            let style = b[y, x].style
            let start = x
            var chars: [wchar_t] = []
            while x <= last || (x < b.size.width && b[y, x].isContinuation) {
                let c = b[y, x]
                if c.style != style && !c.isContinuation { break }
                for u in c.text.unicodeScalars { chars.append(wchar_t(bitPattern: u.value)) }
                x += 1
            }
            let (attrs, pair) = attributes(style)
            _ = chars.withUnsafeBufferPointer { p in
                cnc_put(Int32(y), Int32(start), p.baseAddress, Int32(p.count), attrs, pair)
            }
        }
    }

    /// Colour pairs from the 16 ANSI colours only, so the terminal's theme decides the actual shades;
    /// status colours are foreground on the terminal's own background (-1).
    private static let pairs: [Style: (Int16, Int16)] = [
        .title: (7, 4), .banner: (7, 1), .error: (7, 1), .good: (2, -1), .active: (6, -1), .warning: (3, -1),
        .bad: (1, -1), .searchMatch: (0, 3), .currentMatch: (7, 5), .marked: (5, -1), .alert: (0, 3),
        .muted: (8, -1), .denied: (8, -1),
    ]
    /// Bright black (8) exists only on terminals with 16 colours; with 8, those styles fall back to dim.
    private var pairsInUse: [Style: (Int16, Int16)] = [:]

    private func definePairs() {
        pairsInUse = Self.pairs.filter { $0.value.0 < 8 || cnc_colors() >= 16 }
        for (i, s) in Style.allCases.enumerated() {
            if let p = pairsInUse[s] { cnc_init_pair(Int16(i + 1), p.0, p.1) }
        }
    }

    /// ncurses attributes for a style: colour pairs with explicit backgrounds (readable on dark and
    /// light terminals), or bold/reverse/underline when there is no colour.
    private func attributes(_ s: Style) -> (attr_t, Int16) {
        let bold = cnc_a_bold(), rev = cnc_a_reverse(), under = cnc_a_underline(), dim = cnc_a_dim()
        if colour, pairsInUse[s] != nil {
            let pair = Int16((Style.allCases.firstIndex(of: s) ?? 0) + 1)
            let extra: attr_t = [.title, .banner, .error, .bad, .currentMatch, .marked, .alert].contains(s) ? bold : 0
            return (extra, pair)
        }
        switch s {
        case .normal, .status, .prompt, .tabInactive, .footer, .good: return (0, 0)
        case .dim, .muted, .denied: return (dim, 0)
        case .bold, .marked, .active: return (bold, 0)
        case .title, .tabActive, .selectedMarked, .banner, .error, .bad, .currentMatch, .alert: return (rev | bold, 0)
        case .selected, .key, .searchMatch: return (rev, 0)
        case .columnHeader, .warning: return (bold | under, 0)
        case .input: return (under, 0)
        }
    }
}
