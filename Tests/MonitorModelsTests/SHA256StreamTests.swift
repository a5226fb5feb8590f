import Foundation
import MonitorModels
import Testing

/// The hand-written incremental SHA-256 against the FIPS 180-4 vectors, fed whole and in odd pieces.
@Suite struct SHA256StreamTests {
    @Test func standardVectors() {
        #expect(SHA256Stream.hex(Data()) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256Stream.hex(Data("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256Stream.hex(Data("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
            == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(SHA256Stream.hex(Data(repeating: UInt8(ascii: "a"), count: 1_000_000))
            == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test func piecesOfAnySizeGiveTheSameDigest() {
        let data = Data((0..<5000).map { UInt8(truncatingIfNeeded: $0 &* 31) })
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

    @Test func hexCheck() {
        #expect(SHA256Stream.isHex(String(repeating: "0a", count: 32)))
        #expect(!SHA256Stream.isHex(String(repeating: "0A", count: 32)))
        #expect(!SHA256Stream.isHex("abc"))
        #expect(AgentBinaryHeaders.parseVersionOutput("mms-agent 1.2.3\n") == "1.2.3")
        #expect(AgentBinaryHeaders.parseVersionOutput("mms-server 1.2.3") == nil)
        #expect(AgentBinaryHeaders.parseVersionOutput("mms-agent banana") == nil)
    }
}
