import Foundation
import MMSCrypto
import Testing

/// The package's one SHA-256 core: FIPS 180-4 / NIST known answers through both fronts (one-shot `SHA256` and
/// incremental `SHA256Stream`), block-boundary lengths checked against Python's hashlib, and feeding in pieces.
@Suite struct SHA256Tests {
    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    /// Bytes `(i * 31 + 7) mod 256`, the pattern the hashlib digests below were made from.
    static func pattern(_ count: Int) -> [UInt8] { (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) } }

    @Test(arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
        ("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
         "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"),
        ("Grüße, 日本", "0b836833dc8ecad120bdeafe52e9eab681da2d0d7704e451b216aad3d2b2ab78"),
    ])
    func knownAnswers(message: String, expected: String) {
        #expect(SHA256.hex(message) == expected)
        #expect(Self.hex(SHA256.digest(Array(message.utf8))) == expected)
        #expect(SHA256Stream.hex(Data(message.utf8)) == expected)
    }

    @Test func oneMillionAs() {
        let expected = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"
        let a = [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)
        #expect(Self.hex(SHA256.digest(a)) == expected)
        #expect(SHA256Stream.hex(Data(a)) == expected)
    }

    /// Lengths around the padding edges (55 fits the length in one block, 56 needs a second).
    @Test(arguments: [
        (55, "8aa994584139d128848eeebc4e815639ba5ab6e6e39574195a63ac4f14f7c43b"),
        (56, "ad574708f75c044c9b85de64cb568ee7711ff4f36448c6242f053ba8f6cc2b63"),
        (63, "280ed3e8ff1df845b2e7dfe6ac6cee817bef20e783cc65abc41b818b4d2fe076"),
        (64, "c6ab9724ade5b6a7a1edfffb12f3aa9181351355af8fd08c919952ad211339dd"),
        (65, "788367c73c7ddf4c53f65e68cc0d943e6227ab55b0e78ba63ace822b1c6301c0"),
        (119, "3d610547d68216dedf7435a4fb6260353911f6b3fd3f18805ddb8be285d726fe"),
        (120, "1f80156a804cb7862ad113e8200e9d74499723e7c7854d5f48776d3148e09656"),
        (128, "cc548ca2dec1f6fe4f58b2e27aa9c7521607df1130d140b55a4dad0665302356"),
    ])
    func blockBoundaryLengthsMatchHashlib(count: Int, expected: String) {
        #expect(Self.hex(SHA256.digest(Self.pattern(count))) == expected)
    }

    /// Every two-piece split, and every split of a three-piece feed with a 1-byte middle, equals the one-shot digest.
    @Test(arguments: [0, 1, 55, 56, 63, 64, 65, 127, 128, 200])
    func everySplitGivesTheOneShotDigest(count: Int) {
        let data = Data(Self.pattern(count))
        let whole = Self.hex(SHA256.digest(Self.pattern(count)))
        for cut in 0...count {
            var s = SHA256Stream()
            s.update(data[..<cut])
            s.update(data[cut...])
            #expect(s.finishHex() == whole, "\(count) bytes cut at \(cut)")
            guard cut < count else { continue }
            var three = SHA256Stream()
            three.update(data[..<cut])
            three.update(data[cut..<(cut + 1)])
            three.update(data[(cut + 1)...])
            #expect(Self.hex(three.finish()) == whole, "\(count) bytes, 1-byte piece at \(cut)")
        }
    }

    @Test func piecesOfAnySizeGiveTheSameDigest() {
        let data = Data(Self.pattern(5000))
        let whole = SHA256Stream.hex(data)
        for size in [1, 7, 63, 64, 65, 1000] {
            var s = SHA256Stream()
            var i = 0
            while i < data.count {
                s.update(data[i..<min(i + size, data.count)])
                i += size
            }
            #expect(s.finishHex() == whole, "pieces of \(size)")
        }
    }

    @Test func hexCheckAndConstantTimeCompare() {
        #expect(SHA256Stream.isHex(String(repeating: "0a", count: 32)))
        #expect(!SHA256Stream.isHex(String(repeating: "0A", count: 32)))
        #expect(!SHA256Stream.isHex("abc"))
        #expect(constantTimeEqual([1, 2], [1, 2]) && !constantTimeEqual([1, 2], [1, 3]) && !constantTimeEqual([1], [1, 2]))
    }
}
