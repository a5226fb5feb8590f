import Foundation
import MonitorModels

/// `rfc3339`: the hand-written timestamp parser and formatter every date in the API goes through.
///
/// Properties: parsing any text gives a date or nil; a parsed date formats to a timestamp that parses
/// back to the same formatted text (no millisecond drift across round trips); and a timestamp already
/// in the canonical form `YYYY-MM-DDTHH:MM:SS.mmmZ` formats back to itself (a leap second `:60`
/// becomes the next minute, which is allowed).
enum RFC3339Target {
    static let target = FuzzTarget(
        name: "rfc3339",
        summary: "RFC 3339 timestamps: parse any text, format, parse again; canonical text round-trips exactly"
    ) { data throws(FuzzFailure) in
        let text = String(decoding: data, as: UTF8.self)
        guard let date = RFC3339.parse(text) else { return }
        let formatted = RFC3339.format(date)
        guard let again = RFC3339.parse(formatted) else {
            throw FuzzFailure("\"\(text)\" parses, but its formatted form \"\(formatted)\" does not")
        }
        let twice = RFC3339.format(again)
        try require(twice == formatted, "\"\(text)\" drifts across round trips: \"\(formatted)\" → \"\(twice)\"")
        if isCanonical(text), !text.contains(":60.") {
            try require(formatted == text, "canonical \"\(text)\" formats as \"\(formatted)\"")
        }
    }

    /// True for exactly `DDDD-DD-DDTDD:DD:DD.DDDZ`, the form `RFC3339.format` writes.
    static func isCanonical(_ text: String) -> Bool {
        let pattern = Array("dddd-dd-ddTdd:dd:dd.dddZ".utf8)
        let b = Array(text.utf8)
        guard b.count == pattern.count else { return false }
        for (c, p) in zip(b, pattern) {
            if p == UInt8(ascii: "d") {
                guard c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") else { return false }
            } else if c != p {
                return false
            }
        }
        return true
    }
}
