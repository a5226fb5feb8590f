/// A click, double click or wheel turn at a cell.
public struct MouseEvent: Sendable, Equatable {
    public enum Kind: Sendable, Equatable { case click, doubleClick, wheelUp, wheelDown }
    public var kind: Kind
    public var x: Int
    public var y: Int
    public init(_ kind: Kind, x: Int, y: Int) {
        self.kind = kind
        self.x = x
        self.y = y
    }
}

/// Input from the terminal.
public enum TerminalInput: Sendable, Equatable {
    case key(Key)
    case resize(Size)
    case mouse(MouseEvent)

    /// Decodes a character code from the terminal (control characters become their keys).
    public static func decode(_ code: Int) -> TerminalInput? {
        switch code {
        case 3: return .key(.ctrlC)
        case 9: return .key(.tab)
        case 10, 13: return .key(.enter)
        case 27: return .key(.escape)
        case 8, 127: return .key(.backspace)
        case 0..<32: return nil
        default:
            guard let u = Unicode.Scalar(UInt32(truncatingIfNeeded: code)) else { return nil }
            return .key(.char(Character(u)))
        }
    }
}

/// A terminal the console loop can draw to and read keys from (ncurses, or a fake in tests).
public protocol TerminalBackend: AnyObject {
    func start() throws
    func stop()
    var size: Size { get }
    func read(timeoutMs: Int) -> TerminalInput?
    func draw(_ buffer: ScreenBuffer)
    /// Rings the bell.
    func bell()
    /// Puts text on the terminal's clipboard (OSC 52).
    func copy(_ text: String)
}

extension TerminalBackend {
    /// Rings the bell (nothing by default: a fake terminal has none).
    public func bell() {}
    /// Puts text on the terminal's clipboard (nothing by default).
    public func copy(_ text: String) {}
}

/// Why the terminal could not be used.
public enum BackendError: Error, CustomStringConvertible {
    case cannotStart
    public var description: String { "cannot start the terminal UI (is TERM set and is this a terminal?)" }
}
