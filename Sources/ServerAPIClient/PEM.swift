import Foundation

/// A PEM text's blocks (`-----BEGIN LABEL-----` … `-----END LABEL-----`), decoded to DER bytes.
/// Written by hand: Foundation on Linux has no certificate API, and the package takes no dependencies.
public enum PEM {
    /// One block: its label ("CERTIFICATE", "PRIVATE KEY"…) and its decoded bytes.
    public struct Block: Sendable, Equatable {
        public var label: String
        public var der: [UInt8]
    }

    /// Why a PEM text cannot be read.
    public enum ReadError: Error, Sendable, Equatable {
        /// The block with this label (the `index`th block, from 1) is not valid base64.
        case badBase64(label: String, index: Int)
        /// A BEGIN line has no matching END line.
        case unterminated(label: String)
    }

    /// Every block in `text`, in order. Text outside blocks (comments, "Bag Attributes", blank lines) is
    /// ignored; CRLF and LF line ends both work.
    public static func blocks(in text: String) throws(ReadError) -> [Block] {
        var result: [Block] = []
        var open: (label: String, body: String)?
        for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }) {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if let current = open {
                if line == "-----END \(current.label)-----" {
                    guard let der = Base64.decode(current.body) else {
                        throw .badBase64(label: current.label, index: result.count + 1)
                    }
                    result.append(Block(label: current.label, der: der))
                    open = nil
                } else {
                    open?.body += line
                }
            } else if let label = beginLabel(line) {
                open = (label, "")
            }
        }
        if let current = open { throw .unterminated(label: current.label) }
        return result
    }

    /// The label of a `-----BEGIN LABEL-----` line, or nil for any other line.
    static func beginLabel(_ line: String) -> String? {
        let head = "-----BEGIN ", tail = "-----"
        guard line.hasPrefix(head), line.hasSuffix(tail), line.count > head.count + tail.count else { return nil }
        return String(line.dropFirst(head.count).dropLast(tail.count))
    }
}

/// Standard base64 (RFC 4648, `+/`, `=` padding) decoding that skips whitespace.
public enum Base64 {
    /// The bytes `text` encodes, or nil when it holds anything but base64 characters and whitespace,
    /// or its length or padding is wrong.
    public static func decode(_ text: String) -> [UInt8]? {
        var sextets: [UInt8] = []
        sextets.reserveCapacity(text.utf8.count)
        var padding = 0
        for c in text.utf8 {
            switch c {
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"), UInt8(ascii: "\n"): continue
            case UInt8(ascii: "="): padding += 1; continue
            default: break
            }
            guard padding == 0, let v = value(c) else { return nil }  // nothing may follow padding
            sextets.append(v)
        }
        guard padding <= 2, sextets.count % 4 != 1 else { return nil }
        if padding > 0, (sextets.count + padding) % 4 != 0 { return nil }  // padding must complete the last group
        var out: [UInt8] = []
        out.reserveCapacity(sextets.count * 3 / 4)
        var i = 0
        while i + 4 <= sextets.count {
            let n = UInt32(sextets[i]) << 18 | UInt32(sextets[i + 1]) << 12 | UInt32(sextets[i + 2]) << 6 | UInt32(sextets[i + 3])
            out += [UInt8(n >> 16 & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF)]
            i += 4
        }
        let rest = sextets.count - i
        if rest == 2 {
            out.append(sextets[i] << 2 | sextets[i + 1] >> 4)
        } else if rest == 3 {
            out.append(sextets[i] << 2 | sextets[i + 1] >> 4)
            out.append((sextets[i + 1] & 0x0F) << 4 | sextets[i + 2] >> 2)
        }
        return out
    }

    private static func value(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): c - UInt8(ascii: "A")
        case UInt8(ascii: "a")...UInt8(ascii: "z"): c - UInt8(ascii: "a") + 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0") + 52
        case UInt8(ascii: "+"): 62
        case UInt8(ascii: "/"): 63
        default: nil
        }
    }
}
