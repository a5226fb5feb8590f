import Foundation

/// The terminal escape that puts text on the clipboard (OSC 52; xterm, iTerm2, kitty, tmux with set-clipboard).
public enum OSC52 {
    /// `ESC ] 52 ; c ; BASE64 BEL`.
    public static func sequence(_ text: String) -> String {
        "\u{1B}]52;c;\(Data(text.utf8).base64EncodedString())\u{07}"
    }
}
