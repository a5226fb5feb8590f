import Foundation

/// The system trust store that the HTTP client uses, and the check behind `--ca-cert PEM`.
///
/// On Linux, FoundationNetworking's URLSession hands https to libcurl, which trusts only the CA bundle
/// compiled into it (Debian: /etc/ssl/certs/ca-certificates.crt); a program cannot add a CA of its own.
/// So `--ca-cert` does not add trust: it checks at start that the CA is installed in that store, and
/// says how to install it when it is not.
public struct TrustStore: Sendable {
    /// The bundle Debian's libcurl (and so URLSession) reads; `update-ca-certificates` writes it.
    public static let systemBundlePath = "/etc/ssl/certs/ca-certificates.crt"

    /// The CA bundle this store reads.
    public let bundlePath: String

    /// A store reading `bundlePath` (tests pass their own bundle).
    public init(bundlePath: String = TrustStore.systemBundlePath) {
        self.bundlePath = bundlePath
    }

    /// Reads the PEM file named by `flag` (one or more CERTIFICATE blocks) and checks that every
    /// certificate in it is in this store. Throws a one-line error that says what to do.
    public func check(caCertPath path: String, flag: String = "--ca-cert") throws(TrustStoreError) {
        let wanted = try Self.certificates(inFile: path, flag: flag)
        guard let text = Self.read(bundlePath) else {
            throw TrustStoreError("\(flag) \(path): cannot read the system trust store \(bundlePath); "
                + "install it (apt-get install ca-certificates) and the CA: \(Self.installHint(path))")
        }
        let installed: Set<[UInt8]>
        do {
            installed = Set(try PEM.blocks(in: text).filter { $0.label == "CERTIFICATE" }.map(\.der))
        } catch {
            throw TrustStoreError("\(flag) \(path): the system trust store \(bundlePath) cannot be read as PEM (\(error)); "
                + "rebuild it with update-ca-certificates --fresh")
        }
        let missing = wanted.filter { !installed.contains($0) }
        if missing.isEmpty { return }
        let what = wanted.count == 1 ? "this CA is"
            : "\(missing.count) of its \(wanted.count) certificates \(missing.count == 1 ? "is" : "are")"
        throw TrustStoreError("\(flag) \(path): \(what) not in the system trust store, and the HTTP client on Linux "
            + "trusts only that store; install it: \(Self.installHint(path))")
    }

    /// The DER bytes of each CERTIFICATE block in the file; an error naming `flag` when the file cannot
    /// be read, is not PEM, or holds no certificate (a key file, say).
    public static func certificates(inFile path: String, flag: String = "--ca-cert") throws(TrustStoreError) -> [[UInt8]] {
        guard let text = read(path) else {
            throw TrustStoreError("\(flag) \(path): cannot read the file")
        }
        let blocks: [PEM.Block]
        do {
            blocks = try PEM.blocks(in: text)
        } catch {
            switch error {
            case .badBase64(let label, let index):
                throw TrustStoreError("\(flag) \(path): block \(index) (\(label)) is not valid base64; pass the CA certificate in PEM form")
            case .unterminated(let label):
                throw TrustStoreError("\(flag) \(path): the \(label) block has no END line; pass the CA certificate in PEM form")
            }
        }
        let certs = blocks.filter { $0.label == "CERTIFICATE" }.map(\.der)
        if certs.isEmpty {
            let found = blocks.isEmpty ? "no PEM block" : "no certificate (it holds \(blocks.map(\.label).joined(separator: ", ")))"
            throw TrustStoreError("\(flag) \(path): \(found); pass the CA certificate, a file with "
                + "-----BEGIN CERTIFICATE----- blocks")
        }
        // A DER certificate is an ASN.1 SEQUENCE: a first byte of 0x30.
        if let bad = certs.firstIndex(where: { $0.first != 0x30 }) {
            throw TrustStoreError("\(flag) \(path): certificate \(bad + 1) is not a DER certificate; pass the CA certificate in PEM form")
        }
        return certs
    }

    /// The two commands that install a CA file in Debian's system store.
    public static func installHint(_ path: String) -> String {
        "cp \(shellQuoted(path)) /usr/local/share/ca-certificates/mms-ca.crt && update-ca-certificates"
    }

    private static func read(_ path: String) -> String? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return String(decoding: data, as: UTF8.self)
    }

    private static func shellQuoted(_ s: String) -> String {
        let plain = s.unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) || "/._-+,:@".unicodeScalars.contains($0) }
        return plain && !s.isEmpty ? s : "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}

/// A `--ca-cert` check that failed: one line (without the program name) that says what to do. Exit 2.
public struct TrustStoreError: Error, Sendable, Equatable, CustomStringConvertible {
    public let description: String
    /// An error with this message.
    public init(_ description: String) { self.description = description }
}
