import Foundation
import Testing
import MMSCrypto

/// HS256 tokens: what is accepted, and every refusal the push agent relies on.
@Suite struct JWTTests {
    let secret = Array("a-secret-of-at-least-16-bytes".utf8)
    let t0 = Date(timeIntervalSince1970: 1_700_000_000)

    /// A token with any header and claims JSON, signed with HMAC-SHA256 whatever the header says.
    func forged(header: String, claims: String, key: [UInt8]? = nil) -> String {
        let input = Base64URL.encode(Array(header.utf8)) + "." + Base64URL.encode(Array(claims.utf8))
        return input + "." + Base64URL.encode(HMACSHA256.authenticationCode(for: Array(input.utf8), key: key ?? secret))
    }

    func refusal(_ token: String, at now: Date? = nil) -> String? {
        do {
            _ = try JWT.verifyHS256(token, secret: secret, now: now ?? t0)
            return nil
        } catch {
            return error.message
        }
    }

    @Test func acceptsATokenMadeByAnotherImplementation() throws {
        // Made with Python's hmac and base64 modules, independently of this code.
        let token = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJtbXMtc2VydmVyIiwiaWF0IjoxNzAwMDAwMDAwLCJleHAiOjE3MDAwMDAwNjB9"
            + ".tqbD6Rv9N4J_KCNJysbn5T-kOnr3ALIhmbOnpWQjjjE"
        let claims = try JWT.verifyHS256(token, secret: secret, now: t0)
        #expect(claims.sub == "mms-server" && claims.exp == 1_700_000_060 && claims.iat == 1_700_000_000)
    }

    @Test func signedTokensVerifyAndCarryTheirClaims() throws {
        let token = JWT.signHS256(JWTClaims(sub: "s", iat: 1_700_000_000, exp: 1_700_000_060), secret: secret)
        #expect(try JWT.verifyHS256(token, secret: secret, now: t0).sub == "s")
        #expect(token.split(separator: ".").count == 3)
    }

    @Test func refusesABadSignatureAndAnotherSecret() {
        let token = JWT.signHS256(JWTClaims(sub: "s"), secret: secret)
        #expect(refusal(forged(header: #"{"alg":"HS256"}"#, claims: "{}", key: Array("another-secret-16-bytes".utf8)))?
            .contains("signature does not match") == true)
        var flipped = Array(token.utf8)
        let i = flipped.count - 5
        flipped[i] = flipped[i] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        #expect(refusal(String(decoding: flipped, as: UTF8.self)) != nil)
        // The claims changed after signing.
        let parts = token.split(separator: ".")
        let tampered = parts[0] + "." + Base64URL.encode(Array(#"{"sub":"admin"}"#.utf8)) + "." + parts[2]
        #expect(refusal(String(tampered))?.contains("signature does not match") == true)
    }

    @Test func pinsTheAlgorithm() {
        let none = Base64URL.encode(Array(#"{"alg":"none","typ":"JWT"}"#.utf8)) + "." + Base64URL.encode(Array("{}".utf8)) + "."
        #expect(refusal(none)?.contains("alg \"none\"") == true)
        // Signed correctly with the secret, but claiming another algorithm: still refused.
        #expect(refusal(forged(header: #"{"alg":"HS384"}"#, claims: "{}"))?.contains("HS256 only") == true)
        #expect(refusal(forged(header: #"{"alg":"RS256"}"#, claims: "{}"))?.contains("HS256 only") == true)
        #expect(refusal(forged(header: #"{"alg":"hs256"}"#, claims: "{}"))?.contains("HS256 only") == true)
        #expect(refusal(forged(header: #"{"typ":"JWT"}"#, claims: "{}"))?.contains("header") == true)
        #expect(refusal(forged(header: #"{"alg":"HS256","crit":["exp"]}"#, claims: "{}"))?.contains("crit") == true)
        #expect(refusal(forged(header: #"{"alg":"HS256"}"#, claims: "{}")) == nil)
    }

    @Test func honoursExpAndNbfWithSixtySecondsOfLeeway() {
        let exp = forged(header: #"{"alg":"HS256"}"#, claims: #"{"exp":1700000000}"#)
        #expect(refusal(exp, at: t0.addingTimeInterval(59)) == nil)
        #expect(refusal(exp, at: t0.addingTimeInterval(60))?.contains("expired") == true)
        #expect(refusal(exp, at: t0.addingTimeInterval(3600))?.contains("expired at 2023-11-14T22:13:20Z") == true)
        let nbf = forged(header: #"{"alg":"HS256"}"#, claims: #"{"nbf":1700000000}"#)
        #expect(refusal(nbf, at: t0.addingTimeInterval(-60)) == nil)
        #expect(refusal(nbf, at: t0.addingTimeInterval(-61))?.contains("not valid before") == true)
        let fractional = forged(header: #"{"alg":"HS256"}"#, claims: #"{"exp":1700000000.5}"#)
        #expect(refusal(fractional) == nil)
        let stringExp = forged(header: #"{"alg":"HS256"}"#, claims: #"{"exp":"1700000000"}"#)
        #expect(refusal(stringExp)?.contains("claims") == true)
    }

    @Test(arguments: ["", "garbage", "a.b", "a.b.c.d", "..", "e30.e30.", "!!!.e30.abc", String(repeating: "a", count: 9000),
                      "eyJhbGciOiJIUzI1NiJ9.bm90IGpzb24.AAAA"])
    func refusesGarbage(_ token: String) {
        #expect(refusal(token) != nil)
    }

    @Test func refusesClaimsThatAreNotAnObject() {
        #expect(refusal(forged(header: #"{"alg":"HS256"}"#, claims: "[1,2]"))?.contains("claims") == true)
        #expect(refusal(forged(header: #"{"alg":"HS256"}"#, claims: "not json"))?.contains("claims") == true)
        #expect(refusal(forged(header: "[]", claims: "{}"))?.contains("header") == true)
    }
}
