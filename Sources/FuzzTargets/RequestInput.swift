import Foundation

/// One request of the `request` target, read from fuzz bytes in a form people can write by hand:
///
///     METHOD TARGET AUTH
///     BODY…
///
/// Requests are separated by a line `%%` (at most 16 per input). TARGET is a path with an optional
/// query, percent-escaped as on the wire; it is unescaped the way libmicrohttpd hands it to the server
/// (`%XX` decoded, `+` a space in the query, a NUL ends the text). AUTH is the rest of the line: `admin`
/// or `a`, `b`, `c` for the fixture's admin token and agent secrets, nothing for no header, anything
/// else as the raw Authorization value. The line `TICK` runs the server's periodic work once.
struct FuzzRequest: Sendable, Equatable {
    var method: String
    var path: String
    var query: [String: String]
    /// "admin", "a", "b", "c", "" (no header), or a raw header value.
    var auth: String
    var body: Data

    static let separator = Array("\n%%\n".utf8)
    static let maxRequests = 16

    /// The requests in `data`, in order.
    static func parse(_ data: Data) -> [FuzzRequest] {
        split([UInt8](data)).prefix(maxRequests).map { one($0) }
    }

    private static func split(_ bytes: [UInt8]) -> [ArraySlice<UInt8>] {
        var parts: [ArraySlice<UInt8>] = []
        var start = 0, i = 0
        while i + separator.count <= bytes.count {
            if bytes[i] == separator[0], bytes[i..<(i + separator.count)].elementsEqual(separator) {
                parts.append(bytes[start..<i])
                i += separator.count
                start = i
            } else {
                i += 1
            }
        }
        parts.append(bytes[start...])
        return parts
    }

    private static func one(_ bytes: ArraySlice<UInt8>) -> FuzzRequest {
        let newline = bytes.firstIndex(of: 10) ?? bytes.endIndex
        let line = bytes[bytes.startIndex..<newline]
        let body = newline < bytes.endIndex ? Data(bytes[(newline + 1)...]) : Data()
        let words = line.split(separator: UInt8(ascii: " "), maxSplits: 2, omittingEmptySubsequences: false)
        let method = words.first.map { String(decoding: $0, as: UTF8.self) } ?? ""
        let target = words.count > 1 ? Array(words[1]) : []
        let auth = words.count > 2 ? String(decoding: words[2], as: UTF8.self) : ""
        let question = target.firstIndex(of: UInt8(ascii: "?")) ?? target.endIndex
        let path = unescape(target[..<question], plus: false)
        var query: [String: String] = [:]
        if question < target.endIndex {
            for pair in target[(question + 1)...].split(separator: UInt8(ascii: "&")) {
                let eq = pair.firstIndex(of: UInt8(ascii: "=")) ?? pair.endIndex
                let key = unescape(pair[pair.startIndex..<eq], plus: true)
                query[key] = eq < pair.endIndex ? unescape(pair[(eq + 1)...], plus: true) : ""
            }
        }
        return FuzzRequest(method: method.isEmpty ? "GET" : method, path: path.isEmpty ? "/" : path,
                           query: query, auth: auth, body: body)
    }

    /// `%XX` decoded (invalid escapes kept as they are), `+` as a space when `plus`, cut at a NUL.
    static func unescape(_ bytes: ArraySlice<UInt8>, plus: Bool) -> String {
        let b = Array(bytes)
        var out: [UInt8] = []
        var i = 0
        while i < b.count {
            if b[i] == UInt8(ascii: "%"), i + 2 < b.count, let hi = hex(b[i + 1]), let lo = hex(b[i + 2]) {
                out.append(hi << 4 | lo)
                i += 3
            } else {
                out.append(plus && b[i] == UInt8(ascii: "+") ? UInt8(ascii: " ") : b[i])
                i += 1
            }
        }
        if let nul = out.firstIndex(of: 0) { out.removeSubrange(nul...) }
        return String(decoding: out, as: UTF8.self)
    }

    private static func hex(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
