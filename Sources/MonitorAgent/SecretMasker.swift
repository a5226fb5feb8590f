/// Replaces every secret value in a byte stream with `********`, also when a value is split across
/// the chunks it arrives in: bytes that could be the start of a secret are held back until more
/// bytes show whether they are one, or until the stream ends.
public struct SecretMasker: Sendable {
    /// What a secret is replaced with.
    public static let mask: [UInt8] = Array("********".utf8)
    /// Values shorter than this are not masked (they would mask ordinary words).
    public static let minimumLength = 4

    private let secrets: [[UInt8]]
    private var firstBytes = [Bool](repeating: false, count: 256)
    private var held: [UInt8] = []

    /// A masker for `values`; values shorter than 4 characters are ignored.
    public init(values: [String]) {
        let usable = Set(values.filter { $0.count >= Self.minimumLength }.map { Array($0.utf8) })
        secrets = usable.sorted { $0.count > $1.count }
        for s in secrets { firstBytes[Int(s[0])] = true }
    }

    /// True when there is nothing to mask (bytes pass through untouched).
    public var isEmpty: Bool { secrets.isEmpty }

    /// Number of bytes currently held back.
    public var heldCount: Int { held.count }

    /// Masks the next chunk; returns the bytes that are safe to ship now.
    public mutating func feed(_ chunk: [UInt8]) -> [UInt8] {
        if secrets.isEmpty { return chunk }
        held.append(contentsOf: chunk)
        return process(final: false)
    }

    /// Ends the stream: returns whatever was held back, masked where it holds a whole secret.
    public mutating func flush() -> [UInt8] {
        process(final: true)
    }

    private mutating func process(final: Bool) -> [UInt8] {
        let buf = held
        let n = buf.count
        var out: [UInt8] = []
        out.reserveCapacity(n)
        var i = 0
        scan: while i < n {
            if firstBytes[Int(buf[i])] {
                for s in secrets {
                    let rem = n - i
                    if rem >= s.count {
                        if buf[i..<(i + s.count)].elementsEqual(s) {
                            out.append(contentsOf: Self.mask)
                            i += s.count
                            continue scan
                        }
                    } else if !final, buf[i..<n].elementsEqual(s[0..<rem]) {
                        break scan
                    }
                }
            }
            out.append(buf[i])
            i += 1
        }
        held = Array(buf[i..<n])
        return out
    }
}
