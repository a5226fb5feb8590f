import Foundation

/// Why a JWT was refused; `message` is what the 401 says.
public struct JWTError: Error, Equatable, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// The registered claims MMS writes and checks (RFC 7519 section 4.1); times are NumericDate seconds.
public struct JWTClaims: Codable, Equatable, Sendable {
    public var iss: String?
    public var sub: String?
    public var iat: Double?
    public var nbf: Double?
    public var exp: Double?

    public init(iss: String? = nil, sub: String? = nil, iat: Double? = nil, nbf: Double? = nil, exp: Double? = nil) {
        self.iss = iss
        self.sub = sub
        self.iat = iat
        self.nbf = nbf
        self.exp = exp
    }
}

/// HS256 JSON Web Tokens (RFC 7519 / RFC 7515 compact form), written by hand and kept small: signing
/// with a fixed header, and verification that accepts `alg: HS256` only (so `none` and every other
/// algorithm, the classic confusion attacks, are refused before the signature is looked at), compares
/// the signature in constant time, refuses `crit` headers, and honours `exp`/`nbf` with a leeway.
public enum JWT {
    /// Longest token accepted (a real one is ~200 bytes).
    public static let maxLength = 8192
    private static let headerPart = Base64URL.encode(Array(#"{"alg":"HS256","typ":"JWT"}"#.utf8))

    /// A token carrying `claims`, signed with `secret`.
    public static func signHS256(_ claims: JWTClaims, secret: [UInt8]) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let payload = (try? encoder.encode(claims)) ?? Data("{}".utf8)
        let signingInput = headerPart + "." + Base64URL.encode(Array(payload))
        return signingInput + "." + Base64URL.encode(HMACSHA256.authenticationCode(for: Array(signingInput.utf8), key: secret))
    }

    /// The claims of `token` when it is an HS256 JWT signed with `secret` and valid at `now`
    /// (`exp` and `nbf`, when present, with `leeway` seconds of slack); otherwise a JWTError saying why.
    public static func verifyHS256(_ token: String, secret: [UInt8], now: Date, leeway: TimeInterval = 60) throws(JWTError) -> JWTClaims {
        guard token.utf8.count <= maxLength else { throw JWTError("the token is longer than \(maxLength) bytes") }
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, !parts[1].isEmpty else {
            throw JWTError("the token is not a JWT (three base64url parts separated by dots)")
        }
        guard let headerBytes = Base64URL.decode(parts[0]), let header = try? JSONDecoder().decode(Header.self, from: Data(headerBytes)) else {
            throw JWTError("the token's header is not base64url-encoded JSON with an alg")
        }
        guard header.alg == "HS256" else {
            throw JWTError("the token is signed with alg \(header.alg.debugDescription); this agent accepts HS256 only")
        }
        if header.hasCrit { throw JWTError("the token has a crit header; this agent understands no extensions") }
        guard let signature = Base64URL.decode(parts[2]), signature.count == 32 else {
            throw JWTError("the token's signature is not a base64url HS256 signature")
        }
        let expected = HMACSHA256.authenticationCode(for: Array(token.utf8.prefix(parts[0].utf8.count + 1 + parts[1].utf8.count)), key: secret)
        guard constantTimeEqual(signature, expected) else {
            throw JWTError("the token's signature does not match; sign it with this agent's auth token secret")
        }
        guard let payload = Base64URL.decode(parts[1]), let claims = try? JSONDecoder().decode(JWTClaims.self, from: Data(payload)) else {
            throw JWTError("the token's claims are not a JSON object (exp, nbf and iat must be numbers)")
        }
        let t = now.timeIntervalSince1970
        if let exp = claims.exp, t >= exp + leeway {
            throw JWTError("the token expired at \(iso(exp)) (the time here is \(iso(t)))")
        }
        if let nbf = claims.nbf, t < nbf - leeway {
            throw JWTError("the token is not valid before \(iso(nbf)) (the time here is \(iso(t)))")
        }
        return claims
    }

    private static func iso(_ seconds: Double) -> String {
        let f = ISO8601DateFormatter()
        return f.string(from: Date(timeIntervalSince1970: seconds))
    }

    private struct Header: Decodable {
        var alg: String
        var hasCrit: Bool

        enum CodingKeys: String, CodingKey { case alg, crit }

        init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            alg = try c.decode(String.self, forKey: .alg)
            hasCrit = c.contains(.crit)
        }
    }
}
