/// HMAC-SHA256 (RFC 2104), over the hand-written SHA-256; checked against the RFC 4231 test vectors.
public enum HMACSHA256 {
    private static let blockSize = 64

    /// The 32-byte authentication code of `message` under `key`.
    public static func authenticationCode(for message: [UInt8], key: [UInt8]) -> [UInt8] {
        var k = key.count > blockSize ? SHA256.digest(key) : key
        k.append(contentsOf: [UInt8](repeating: 0, count: blockSize - k.count))
        var inner = k.map { $0 ^ 0x36 }
        inner.append(contentsOf: message)
        var outer = k.map { $0 ^ 0x5c }
        outer.append(contentsOf: SHA256.digest(inner))
        return SHA256.digest(outer)
    }
}
