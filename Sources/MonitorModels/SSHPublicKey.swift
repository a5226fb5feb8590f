import Foundation

/// One OpenSSH public key line as a job's `sshPublicKeys` carries it (contract, "SSH jump point"):
/// `TYPE BASE64 [COMMENT]`, no options. Checked by hand (no SSH library): the type must be one the
/// contract lists and the base64 blob must decode to a key of that same type.
public struct SSHPublicKey: Sendable, Equatable {
    /// The key types a job may carry.
    public static let allowedTypes: Set<String> = [
        "ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "ssh-rsa",
    ]
    /// At most this many keys per job.
    public static let maxKeys = 20
    /// A line longer than this is refused (an RSA 16384-bit key is ~2.8 KB).
    public static let maxLineBytes = 8192

    /// The key type, e.g. `ssh-ed25519`.
    public let type: String
    /// The base64 key blob exactly as given.
    public let base64: String

    /// `TYPE BASE64`: the key without its comment, as it goes into an authorized keys line.
    public var typeAndKey: String { "\(type) \(base64)" }

    /// Parses a key line; the error says what is wrong with it (it names no field: the caller does).
    public static func parse(_ line: String) -> Result<SSHPublicKey, KeyProblem> {
        if line.utf8.count > maxLineBytes { return .failure(KeyProblem("is longer than \(maxLineBytes) bytes")) }
        if line.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
            return .failure(KeyProblem("contains a control character or line break"))
        }
        let parts = line.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: true)
        guard parts.count >= 2 else { return .failure(KeyProblem("is not an OpenSSH public key line (TYPE BASE64 [COMMENT])")) }
        let type = String(parts[0])
        guard allowedTypes.contains(type) else {
            return .failure(KeyProblem("starts with '\(type.prefix(40))', which is not a key type this agent accepts "
                + "(ssh-ed25519, ecdsa-sha2-nistp256/384/521, ssh-rsa); key options are not allowed"))
        }
        let base64 = String(parts[1])
        guard let blob = Data(base64Encoded: base64), let inner = blobType(blob), inner == type else {
            return .failure(KeyProblem("has a key blob that is not valid base64 of a \(type) key"))
        }
        return .success(SSHPublicKey(type: type, base64: base64))
    }

    /// The type name at the start of a key blob (a uint32 length, then the name).
    private static func blobType(_ blob: Data) -> String? {
        let bytes = [UInt8](blob)
        guard bytes.count > 4 else { return nil }
        let n = Int(bytes[0]) << 24 | Int(bytes[1]) << 16 | Int(bytes[2]) << 8 | Int(bytes[3])
        guard n > 0, n <= 64, bytes.count >= 4 + n + 4 else { return nil }
        return String(bytes: bytes[4..<(4 + n)], encoding: .utf8)
    }

    /// Why a key line was refused.
    public struct KeyProblem: Error, Sendable, Equatable {
        public let message: String
        init(_ message: String) { self.message = message }
    }
}
