import Foundation
import MMSTestSupport
import MonitorModels
import ServerAPIClient
import Testing
@testable import ConsoleUI

/// `n` in Agents adds a push agent: the form, its checks, the secret never on screen, and the real server call.
@Suite struct PushAgentFormTests {
    @Test func theFormChecksItsFieldsAndNeverShowsTheSecret() {
        var s = Fixtures.state()
        #expect(s.press(.char("n")) == [])
        guard case .form(let f) = s.modal, f.kind == .pushAgent else { Issue.record("no push agent form"); return }
        _ = s.type("lab-7")
        _ = s.press(.tab)
        _ = s.type("https://lab-7:8000")
        _ = s.press(.tab)
        _ = s.type("short")
        _ = s.press(.tab)
        _ = s.type("gpu")
        _ = s.press(.tab, .tab)
        #expect(render(s, s.size).text.contains("the CA's PEM file on this machine; empty: trust the system store"))
        #expect(s.press(.enter) == [], "a short secret is refused in the form")
        #expect(render(s, s.size).text.contains("the secret must be at least 16 bytes"))
        _ = s.press(.up, .up, .up)
        _ = s.type("-and-long-enough")
        #expect(!render(s, s.size).text.contains("short-and-long"), "the secret is not echoed")
        #expect(render(s, s.size).text.contains("(not echoed)"))
        _ = s.press(.tab, .tab)
        _ = s.type("prod")
        #expect(s.press(.enter) == [], "Enter on Environments moves to the CA cert file")
        let effects = s.press(.enter)
        #expect(effects == [.addPushAgent(PushAgentRequest(name: "lab-7", url: "https://lab-7:8000", authTokenSecret: "short-and-long-enough",
                                                            resources: ["gpu"], environments: ["prod"]))])
        #expect(s.modal == nil)
    }

    /// Fills the form's name, URL and secret, then types `caFile` in the CA cert file field and presses Enter.
    static func submittedWithCAFile(_ caFile: String) -> (AppState, [Effect]) {
        var s = Fixtures.state()
        _ = s.press(.char("n"))
        _ = s.type("lab-7")
        _ = s.press(.tab)
        _ = s.type("https://lab-7:8000")
        _ = s.press(.tab)
        _ = s.type("0123456789abcdef-secret")
        _ = s.press(.tab, .tab, .tab)
        _ = s.type(caFile)
        return (s, s.press(.enter))
    }

    static let request = PushAgentRequest(name: "lab-7", url: "https://lab-7:8000", authTokenSecret: "0123456789abcdef-secret")

    @Test func aCACertFileIsReadThenItsTextSentAsCACert() {
        var (s, effects) = Self.submittedWithCAFile(" ~/lab-ca.pem ")
        #expect(effects == [.readCACert(path: "~/lab-ca.pem")])
        guard case .form = s.modal else { Issue.record("the form closed before the file was read"); return }
        let pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
        #expect(s.update(.caCertRead(path: "/elsewhere.pem", .success(pem))) == [], "an answer for another file is ignored")
        var sent = Self.request
        sent.caCert = pem
        #expect(s.update(.caCertRead(path: "~/lab-ca.pem", .success(pem))) == [.addPushAgent(sent)])
        #expect(s.modal == nil && s.message?.text == "sending…")
    }

    @Test func anUnusableCACertFileIsSaidInTheFormWhichStaysOpen() {
        var (s, _) = Self.submittedWithCAFile("lab-ca.pem")
        let why = "the CA cert file is not PEM: no -----BEGIN CERTIFICATE----- block"
        #expect(s.update(.caCertRead(path: "lab-ca.pem", .failure(CACertFileError(why)))) == [])
        guard case .form(let f) = s.modal else { Issue.record("the form closed"); return }
        #expect(f.error == why && f.fields[f.focus].label == Form.caCertFileLabel)
        #expect(render(s, s.size).text.contains(why), "the whole message fits the form at 80x24")
        let longest = "the CA cert file is larger than 64 KiB; give the CA's certificate alone"
        _ = s.update(.caCertRead(path: "lab-ca.pem", .failure(CACertFileError(longest))))
        #expect(render(s, s.size).text.contains(longest))
        _ = s.press(.escape)
        #expect(s.update(.caCertRead(path: "lab-ca.pem", .success("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----"))) == [],
                "a cancelled form sends nothing")
        #expect(s.modal == nil)
    }

    @Test func readingTheFileRefusesWhatIsNotOneSmallPEMFile() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mms-ca-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        func failure(_ path: String) -> String? {
            if case .failure(let e) = CACertFile.read(path) { return e.message }
            return nil
        }
        #expect(failure(dir + "/missing.pem") == "cannot read the CA cert file: No such file or directory")
        #expect(failure(dir) == "the CA cert file is not a regular file")
        #expect(mkfifo(dir + "/fifo", 0o600) == 0)
        #expect(failure(dir + "/fifo") == "the CA cert file is not a regular file", "a FIFO does not hang the console")
        try Data("just text\n".utf8).write(to: URL(fileURLWithPath: dir + "/text.pem"))
        #expect(failure(dir + "/text.pem") == "the CA cert file is not PEM: no -----BEGIN CERTIFICATE----- block")
        try Data([0xff, 0xfe, 0x00]).write(to: URL(fileURLWithPath: dir + "/binary.der"))
        #expect(failure(dir + "/binary.der") == "the CA cert file is not PEM: no -----BEGIN CERTIFICATE----- block")
        let ca = try await TestCA.make()
        defer { ca.remove() }
        let pem = try String(contentsOfFile: ca.caPath, encoding: .utf8)
        let padded = pem + String(repeating: "# padding\n", count: (Validation.maxCACertBytes - pem.utf8.count) / 10)
        try Data(padded.utf8).write(to: URL(fileURLWithPath: dir + "/fits.pem"))
        #expect(try CACertFile.read(dir + "/fits.pem").get() == padded, "up to 64 KiB is taken whole")
        try Data((padded + String(repeating: "#", count: Validation.maxCACertBytes + 1 - padded.utf8.count)).utf8)
            .write(to: URL(fileURLWithPath: dir + "/big.pem"))
        #expect(failure(dir + "/big.pem") == "the CA cert file is larger than 64 KiB; give the CA's certificate alone")
        #expect(try CACertFile.read(ca.caPath).get() == pem)
    }

    /// The form, the runtime reading the file and the real server: the agent is added with the CA's text.
    @Test func aCACertFileGoesThroughTheRuntimeToTheRealServer() async throws {
        let server = try ServerProcess()
        defer { server.stop() }
        let ca = try await TestCA.make()
        defer { ca.remove() }
        let runtime = Runtime(api: AdminAPI.live(serverURL: server.url, token: server.token), queue: ActionQueue())
        defer { runtime.stop() }
        var (s, effects) = Self.submittedWithCAFile(ca.caPath)
        let deadline = Date().addingTimeInterval(30)  // generous: the whole suite runs in parallel on 2 cores
        while Date() < deadline, s.message?.text.hasPrefix("added push agent lab-7") != true, s.message?.isError != true {
            _ = runtime.perform(effects)
            effects = runtime.queue.drain().flatMap { s.update($0) }
            try? await Task.sleep(for: .milliseconds(10))
        }
        #expect(s.message?.text == "added push agent lab-7 at https://lab-7:8000")
        #expect(try await AdminAPI.live(serverURL: server.url, token: server.token).listAgents().map(\.kind) == [.push])
    }

    @Test func theAgentsListShowsTheKind() {
        var s = Fixtures.state()
        var push = Fixtures.agents[0]
        push.kind = .push
        push.url = "https://lab-7:8000"
        _ = s.update(.agentsChanged([push], message: "added"))
        let screen = render(s, Size(width: 120, height: 40)).text
        #expect(screen.contains("KIND") && screen.contains("push") && screen.contains("pull"))
    }

    @Test func addingThroughTheRealServer() async throws {
        let server = try ServerProcess()
        defer { server.stop() }
        let api = AdminAPI.live(serverURL: server.url, token: server.token)
        let action = await Runtime.call(.addPushAgent(PushAgentRequest(name: "lab-7", url: "https://127.0.0.1:1",
                                                                       authTokenSecret: "0123456789abcdef-secret")), api)
        guard case .agentsChanged(let agents, let message) = action else { Issue.record("\(action)"); return }
        #expect(agents.first?.kind == .push && message == "added push agent lab-7 at https://127.0.0.1:1")
        let refused = await Runtime.call(.addPushAgent(PushAgentRequest(name: "lab-8", url: "ftp://x", authTokenSecret: "0123456789abcdef-secret")), api)
        guard case .failed(let why) = refused else { Issue.record("\(refused)"); return }
        #expect(why.contains("url"))
    }
}
