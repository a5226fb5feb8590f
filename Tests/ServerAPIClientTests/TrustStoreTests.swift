import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
@testable import ServerAPIClient

/// Three self-signed P-256 CA certificates made once with openssl for these tests (no keys kept).
enum Fixture {
    static let caA = """
        -----BEGIN CERTIFICATE-----
        MIIBjDCCATOgAwIBAgIUUWP/OHpvs8blBPsptZsJOwE7mFcwCgYIKoZIzj0EAwIw
        GzEZMBcGA1UEAwwQTU1TIGZpeHR1cmUgQ0EgQTAgFw0yNjExMjQxNDE2MzJaGA8y
        MTI2MTAzMTE0MTYzMlowGzEZMBcGA1UEAwwQTU1TIGZpeHR1cmUgQ0EgQTBZMBMG
        ByqGSM49AgEGCCqGSM49AwEHA0IABPQysTCDCOtWfvUeL+xFPy2hUKclLiq802N2
        5bVqwmBHMZJzuv/famaY3pl9zqfY4LDDBrBVcUiShlV/H+VgoGKjUzBRMB0GA1Ud
        DgQWBBSYSV0Bon0oKxuB2F/J42thZSRmcTAfBgNVHSMEGDAWgBSYSV0Bon0oKxuB
        2F/J42thZSRmcTAPBgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0cAMEQCIGF4
        lT6m/Emvp06N/sDJz1DJkXOvzVQczHkdhotELmcOAiBrEmuJGuw7iVBKvwT/VIW/
        qfbvJVL+ST8UqZR7wjXv6Q==
        -----END CERTIFICATE-----
        """
    static let caB = """
        -----BEGIN CERTIFICATE-----
        MIIBjTCCATOgAwIBAgIULHFnyq3P2MptfjnnWeBmTSbNYIEwCgYIKoZIzj0EAwIw
        GzEZMBcGA1UEAwwQTU1TIGZpeHR1cmUgQ0EgQjAgFw0yNjExMjQxNDE2MzJaGA8y
        MTI2MTAzMTE0MTYzMlowGzEZMBcGA1UEAwwQTU1TIGZpeHR1cmUgQ0EgQjBZMBMG
        ByqGSM49AgEGCCqGSM49AwEHA0IABG1J/Niu1Pc0mGlVBjYYcmh+k3npK4nRLUuT
        RWDorpLrxFlMjdjPIOe3JRJau8jUGT/kto52qNH9emqeaxGv4lSjUzBRMB0GA1Ud
        DgQWBBQk+FwAJWj5kZAAxHLCJ0ZdUKgErjAfBgNVHSMEGDAWgBQk+FwAJWj5kZAA
        xHLCJ0ZdUKgErjAPBgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0gAMEUCIGpt
        jhf02mz2jU6oYurA8ac4BM1saVkgrhTB2+Q60Q6mAiEAwCeoh9SX/cGSCCzDOsv7
        J7YEU+7j1qYy2hA5lLXa1Os=
        -----END CERTIFICATE-----
        """
    static let caC = """
        -----BEGIN CERTIFICATE-----
        MIIBjDCCATOgAwIBAgIUEhhI4eKK80lg6uQypYHgrEAjp/YwCgYIKoZIzj0EAwIw
        GzEZMBcGA1UEAwwQTU1TIGZpeHR1cmUgQ0EgQzAgFw0yNjExMjQxNDE2MzJaGA8y
        MTI2MTAzMTE0MTYzMlowGzEZMBcGA1UEAwwQTU1TIGZpeHR1cmUgQ0EgQzBZMBMG
        ByqGSM49AgEGCCqGSM49AwEHA0IABC++Ez2eKOHw0Lgn+DnpMn0QdABQvOiwsGmo
        ugEZix1Ih+l8mzzyaJVcM5F2gHj1mZ0QXFF7P/g1ZR3HoQepsWSjUzBRMB0GA1Ud
        DgQWBBQDnNwgOtd1wopnERNWMj0FHPMjqzAfBgNVHSMEGDAWgBQDnNwgOtd1wopn
        ERNWMj0FHPMjqzAPBgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0cAMEQCIGnh
        pH+j8Mfvpju5bIFlSAqjkVb+9VB8URrHf6sQ8vhKAiBopEP4e7jApxnjG6hteNqJ
        2Fkv2LqeUHERaUA95y07pA==
        -----END CERTIFICATE-----
        """
    /// A key file's shape (a PRIVATE KEY block; only the ASN.1 header of an EC key, no secret in it).
    static let keyFile = """
        -----BEGIN PRIVATE KEY-----
        MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEH
        -----END PRIVATE KEY-----
        """

    /// The DER of a PEM certificate, decoded by Foundation (the reference for the hand-written decoder).
    static func der(_ pem: String) -> [UInt8] {
        let b64 = pem.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
        return [UInt8](Data(base64Encoded: b64) ?? Data())
    }
}

/// Writes `text` to a fresh temporary file and returns its path.
func tempFile(_ text: String, name: String = "f.pem") -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mms-trust-\(UUID().uuidString)")
    try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    let path = dir.appendingPathComponent(name).path
    _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
    return path
}

@Suite struct Base64Tests {
    @Test func decodesTheRFC4648Vectors() {
        let vectors = ["": "", "Zg==": "f", "Zm8=": "fo", "Zm9v": "foo", "Zm9vYg==": "foob", "Zm9vYmE=": "fooba", "Zm9vYmFy": "foobar"]
        for (encoded, plain) in vectors {
            #expect(Base64.decode(encoded) == Array(plain.utf8), "\(encoded)")
        }
    }

    @Test func skipsWhitespaceAndReadsEveryByteValue() {
        let bytes = (0..<256).map { UInt8($0) } + [0xFF, 0x00]
        let encoded = Data(bytes).base64EncodedString(options: [.lineLength64Characters, .endLineWithCarriageReturn, .endLineWithLineFeed])
        #expect(Base64.decode(encoded) == bytes)
        #expect(Base64.decode(" Zm9v\r\n\tYmFy ") == Array("foobar".utf8))
    }

    @Test func refusesWhatIsNotBase64() {
        for bad in ["Zm9v!", "Z", "Zm9vY", "Zg=", "Zg===", "Zg==Zg==", "Zm9=v", "-_8=", "é"] {
            #expect(Base64.decode(bad) == nil, "\(bad)")
        }
    }
}

@Suite struct PEMTests {
    @Test func readsSeveralBlocksWithJunkBetweenThem() throws {
        let text = "# a comment\nBag Attributes\n    friendlyName: x\n" + Fixture.caA + "\n\nsome junk\n" + Fixture.keyFile + "\n" + Fixture.caB
        let blocks = try PEM.blocks(in: text)
        #expect(blocks.map(\.label) == ["CERTIFICATE", "PRIVATE KEY", "CERTIFICATE"])
        #expect(blocks[0].der == Fixture.der(Fixture.caA))
        #expect(blocks[2].der == Fixture.der(Fixture.caB))
    }

    @Test func readsCRLFLineEnds() throws {
        let text = (Fixture.caA + "\n" + Fixture.caC).replacingOccurrences(of: "\n", with: "\r\n")
        let blocks = try PEM.blocks(in: text)
        #expect(blocks.map(\.der) == [Fixture.der(Fixture.caA), Fixture.der(Fixture.caC)])
    }

    @Test func namesTheBlockThatIsBroken() {
        #expect(throws: PEM.ReadError.badBase64(label: "CERTIFICATE", index: 2)) {
            try PEM.blocks(in: Fixture.caA + "\n-----BEGIN CERTIFICATE-----\nnot*base64\n-----END CERTIFICATE-----\n")
        }
        #expect(throws: PEM.ReadError.unterminated(label: "CERTIFICATE")) {
            try PEM.blocks(in: String(Fixture.caA.dropLast(30)))
        }
    }
}

@Suite struct TrustStoreTests {
    let bundle = tempFile("# store\n" + Fixture.caA + "\n" + Fixture.caB + "\n")

    @Test func aCAInTheBundlePasses() throws {
        try TrustStore(bundlePath: bundle).check(caCertPath: tempFile(Fixture.caB))
        try TrustStore(bundlePath: bundle).check(caCertPath: tempFile((Fixture.caA + "\n").replacingOccurrences(of: "\n", with: "\r\n")))
    }

    @Test func severalCertificatesPassOnlyWhenEveryOneIsInTheBundle() throws {
        try TrustStore(bundlePath: bundle).check(caCertPath: tempFile(Fixture.caB + "\njunk between\n" + Fixture.caA))
        let path = tempFile(Fixture.caA + "\n" + Fixture.caC + "\n" + Fixture.caB)
        let error = #expect(throws: TrustStoreError.self) { try TrustStore(bundlePath: bundle).check(caCertPath: path) }
        #expect(error?.description.contains("1 of its 3 certificates is not in the system trust store") == true, "\(String(describing: error))")
        let two = tempFile(Fixture.caC + "\n" + Fixture.caA + "\n" + Fixture.caC)
        let both = #expect(throws: TrustStoreError.self) { try TrustStore(bundlePath: bundle).check(caCertPath: two) }
        #expect(both?.description.contains("2 of its 3 certificates are not") == true, "\(String(describing: both))")
    }

    @Test func aCANotInTheBundleSaysHowToInstallIt() {
        let path = tempFile(Fixture.caC, name: "my ca.pem")
        let error = #expect(throws: TrustStoreError.self) { try TrustStore(bundlePath: bundle).check(caCertPath: path) }
        #expect(error?.description == "--ca-cert \(path): this CA is not in the system trust store, and the HTTP client on Linux "
            + "trusts only that store; install it: cp '\(path)' /usr/local/share/ca-certificates/mms-ca.crt && update-ca-certificates")
    }

    @Test func aFileWithoutACertificateIsRefusedNamingTheFlag() {
        let cases: [(String, String)] = [
            ("", "no PEM block"),
            ("hello\n", "no PEM block"),
            (Fixture.keyFile, "no certificate (it holds PRIVATE KEY)"),
            ("-----BEGIN CERTIFICATE-----\nZm9v\n-----END CERTIFICATE-----\n", "certificate 1 is not a DER certificate"),
            ("-----BEGIN CERTIFICATE-----\n%%\n-----END CERTIFICATE-----\n", "block 1 (CERTIFICATE) is not valid base64"),
        ]
        for (text, expected) in cases {
            let path = tempFile(text)
            let error = #expect(throws: TrustStoreError.self) { try TrustStore(bundlePath: bundle).check(caCertPath: path, flag: "--ca-cert") }
            #expect(error?.description.hasPrefix("--ca-cert \(path): \(expected)") == true, "\(String(describing: error))")
        }
    }

    @Test func aMissingFileOrBundleIsSaidPlainly() {
        let missing = "/nonexistent/mms-ca.pem"
        var error = #expect(throws: TrustStoreError.self) { try TrustStore(bundlePath: bundle).check(caCertPath: missing) }
        #expect(error?.description == "--ca-cert /nonexistent/mms-ca.pem: cannot read the file")
        error = #expect(throws: TrustStoreError.self) {
            try TrustStore(bundlePath: "/nonexistent/bundle.crt").check(caCertPath: tempFile(Fixture.caA))
        }
        #expect(error?.description.contains("cannot read the system trust store /nonexistent/bundle.crt") == true)
    }

    @Test(.enabled(if: FileManager.default.isReadableFile(atPath: TrustStore.systemBundlePath), "needs Debian's CA bundle"))
    func theSystemBundleReadsAndHoldsItsOwnCertificatesButNotAFixture() throws {
        let text = try String(contentsOfFile: TrustStore.systemBundlePath, encoding: .utf8)
        let certs = try PEM.blocks(in: text).filter { $0.label == "CERTIFICATE" }
        #expect(certs.count > 50)
        let first = try #require(text.range(of: "-----END CERTIFICATE-----"))
        try TrustStore().check(caCertPath: tempFile(String(text[..<first.upperBound])))
        #expect(throws: TrustStoreError.self) { try TrustStore().check(caCertPath: tempFile(Fixture.caC)) }
    }
}

@Suite struct TLSFailureTests {
    /// The messages libcurl 7.88 gave URLSession here (as URLError code -1), measured against a real server.
    @Test func curlsTLSMessagesSayWhatToDo() {
        let untrusted = HTTPTransport.describe(URLError(.unknown,
            userInfo: [NSLocalizedDescriptionKey: "SSL certificate problem: unable to get local issuer certificate"]))
        #expect(untrusted.hasPrefix("TLS handshake failed (SSL certificate problem: unable to get local issuer certificate): "))
        #expect(untrusted.contains("install its CA in the system store: cp CA.pem /usr/local/share/ca-certificates/mms-ca.crt && update-ca-certificates"))
        #expect(untrusted.contains("--ca-cert CA.pem then checks it is there"))

        let name = TLSFailure.describe("SSL: no alternative certificate subject name matches target host name '127.0.0.1'", untrusted: false)
        #expect(name.contains("does not name this host"))
        let plain = TLSFailure.describe("OpenSSL/3.0.19: error:0A00010B:SSL routines::wrong version number", untrusted: false)
        #expect(plain.contains("try an http:// --server URL"))
        #expect(HTTPTransport.describe(URLError(.cannotConnectToHost)) == "connection refused")
        #expect(!TLSFailure.isTLS("Empty reply from server"))
    }
}
