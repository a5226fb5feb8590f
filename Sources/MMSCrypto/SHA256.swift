import Foundation

/// SHA-256 (FIPS 180-4) in one go, written by hand because the package takes no dependencies and Foundation
/// on Linux has no CryptoKit: agent secrets and operator tokens are stored hashed, and HMAC-SHA256 runs on it.
/// A front of `SHA256Stream`, the one SHA-256 core of the package.
public enum SHA256 {
    /// The 32-byte digest of `message`.
    public static func digest(_ message: [UInt8]) -> [UInt8] {
        var stream = SHA256Stream()
        message.withUnsafeBytes { stream.update($0) }
        return stream.finish()
    }

    /// Lower-case hex of the digest of a UTF-8 string.
    public static func hex(_ text: String) -> String {
        var stream = SHA256Stream()
        var text = text
        text.withUTF8 { stream.update(UnsafeRawBufferPointer($0)) }
        return stream.finishHex()
    }
}

/// Incremental SHA-256 (FIPS 180-4), by hand: the package's one SHA-256 core. Also how the server and the
/// agent name an agent binary (`X-MMS-Agent-SHA256`, `binarySHA256`). Feed bytes with `update`, then `finish`.
/// Works on raw buffers so a multi-megabyte binary hashes fast enough even in a debug build.
public struct SHA256Stream: Sendable {
    private var h: (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32) =
        (0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19)
    /// Fewer than 64 bytes waiting for the rest of their block.
    private var pending: [UInt8] = []
    private var length: UInt64 = 0

    /// A fresh stream.
    public init() {}

    /// The lower-case hex digest of `data`.
    public static func hex(_ data: Data) -> String {
        var s = SHA256Stream()
        s.update(data)
        return s.finishHex()
    }

    /// True when `text` looks like a SHA-256 in lower-case hex (64 characters of 0-9a-f).
    public static func isHex(_ text: String) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }

    /// Adds bytes.
    public mutating func update(_ data: Data) {
        data.withUnsafeBytes { update($0) }
    }

    /// Adds bytes from a raw buffer.
    public mutating func update(_ raw: UnsafeRawBufferPointer) {
        guard raw.count > 0, let base = raw.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return }
        length &+= UInt64(raw.count)
        var offset = 0
        if !pending.isEmpty {
            offset = min(64 - pending.count, raw.count)
            pending.append(contentsOf: UnsafeBufferPointer(start: base, count: offset))
            guard pending.count == 64 else { return }
            pending.withUnsafeBufferPointer { compress($0.baseAddress!, blocks: 1) }
            pending.removeAll(keepingCapacity: true)
        }
        let blocks = (raw.count - offset) / 64
        if blocks > 0 { compress(base + offset, blocks: blocks) }
        offset += blocks * 64
        if offset < raw.count { pending.append(contentsOf: UnsafeBufferPointer(start: base + offset, count: raw.count - offset)) }
    }

    /// The 32-byte digest of everything added (the stream is spent afterwards).
    public mutating func finish() -> [UInt8] {
        let bits = length &* 8
        var tail = pending
        tail.append(0x80)
        while tail.count % 64 != 56 { tail.append(0) }
        for i in (0..<8).reversed() { tail.append(UInt8(truncatingIfNeeded: bits >> (UInt64(i) * 8))) }
        tail.withUnsafeBufferPointer { compress($0.baseAddress!, blocks: $0.count / 64) }
        pending.removeAll()
        var out: [UInt8] = []
        out.reserveCapacity(32)
        for v in [h.0, h.1, h.2, h.3, h.4, h.5, h.6, h.7] {
            for s: UInt32 in [24, 16, 8, 0] { out.append(UInt8(truncatingIfNeeded: v >> s)) }
        }
        return out
    }

    /// The digest as lower-case hex.
    public mutating func finishHex() -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(64)
        for b in finish() {
            text.append(digits[Int(b >> 4)])
            text.append(digits[Int(b & 15)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// Runs the compression function over `blocks` consecutive 64-byte blocks from `p`.
    private mutating func compress(_ p: UnsafePointer<UInt8>, blocks: Int) {
        for block in 0..<blocks { compress(p + block * 64) }
    }

    private mutating func compress(_ p: UnsafePointer<UInt8>) {
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 64) { w in
            for i in 0..<16 {
                w[i] = UInt32(p[i * 4]) << 24 | UInt32(p[i * 4 + 1]) << 16 | UInt32(p[i * 4 + 2]) << 8 | UInt32(p[i * 4 + 3])
            }
            for i in 16..<64 {
                let a = w[i - 15], b = w[i - 2]
                let s0 = (a >> 7 | a << 25) ^ (a >> 18 | a << 14) ^ (a >> 3)
                let s1 = (b >> 17 | b << 15) ^ (b >> 19 | b << 13) ^ (b >> 10)
                w[i] = w[i - 16] &+ s0 &+ w[i - 7] &+ s1
            }
            var (a, b, c, d, e, f, g, hh) = h
            Self.k.withUnsafeBufferPointer { k in
                for i in 0..<64 {
                    let s1 = (e >> 6 | e << 26) ^ (e >> 11 | e << 21) ^ (e >> 25 | e << 7)
                    let t1 = hh &+ s1 &+ ((e & f) ^ (~e & g)) &+ k[i] &+ w[i]
                    let s0 = (a >> 2 | a << 30) ^ (a >> 13 | a << 19) ^ (a >> 22 | a << 10)
                    let t2 = s0 &+ ((a & b) ^ (a & c) ^ (b & c))
                    hh = g; g = f; f = e; e = d &+ t1; d = c; c = b; b = a; a = t1 &+ t2
                }
            }
            h = (h.0 &+ a, h.1 &+ b, h.2 &+ c, h.3 &+ d, h.4 &+ e, h.5 &+ f, h.6 &+ g, h.7 &+ hh)
        }
    }

    private static let k: [UInt32] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ]
}

/// Compares two byte strings in time that depends only on their lengths.
public func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    guard a.count == b.count else { return false }
    var diff: UInt8 = 0
    for i in 0..<a.count { diff |= a[i] ^ b[i] }
    return diff == 0
}
