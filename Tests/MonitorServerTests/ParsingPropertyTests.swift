import Foundation
import Testing
import MonitorModels
@testable import MonitorServer

/// Property tests of the JSON and request-parsing layer: for thousands of generated inputs (seeded, so a
/// failure reproduces) decoding either gives a value or a FieldError naming a field, and routing gives an
/// answer below 500. Any crash fails the whole test run.
@Suite struct ParsingPropertyTests {
    /// A small deterministic generator (SplitMix64) so every run sees the same inputs.
    struct SeededRandom: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static let keys = ["name", "commands", "env", "files", "epilogue", "resources", "environment", "timeoutSeconds",
                       "secrets", "path", "content", "mode", "always", "onPass", "onFail", "x", ""]

    /// A random JSON value, biased towards the shapes of a job spec.
    static func value(_ r: inout SeededRandom, depth: Int) -> Any {
        switch Int.random(in: 0..<(depth > 3 ? 5 : 8), using: &r) {
        case 0: return NSNull()
        case 1: return Bool.random(using: &r)
        case 2: return [Int.min, -1, 0, 1, 3600, Int.max, Int.random(in: -1000...1000, using: &r)].randomElement(using: &r)!
        case 3: return Double.random(in: -1e9...1e9, using: &r)
        case 4: return ["", "a", "gpu", "bad name", "../x", "\u{0}", "é漢字🙂", String(repeating: "z", count: 200), "0755"]
            .randomElement(using: &r)!
        case 5, 6:
            var obj: [String: Any] = [:]
            for _ in 0..<Int.random(in: 0...5, using: &r) {
                obj[keys.randomElement(using: &r)!] = value(&r, depth: depth + 1)
            }
            return obj
        default:
            return (0..<Int.random(in: 0...4, using: &r)).map { _ in value(&r, depth: depth + 1) }
        }
    }

    @Test func decodingNeverCrashesAndNamesAField() throws {
        var r = SeededRandom(state: 0x5EED)
        var decoded = 0, refused = 0
        for i in 0..<3000 {
            let data: Data
            if i % 5 == 0 {
                // Raw bytes, sometimes a valid prefix cut short.
                let base = Array(#"{"name":"a","commands":["true"],"files":[{"path":"p","content":"c"}]}"#.utf8)
                let cut = Int.random(in: 0...base.count, using: &r)
                var bytes = Array(base[0..<cut])
                for _ in 0..<Int.random(in: 0...3, using: &r) { bytes.append(UInt8.random(in: 0...255, using: &r)) }
                data = Data(bytes)
            } else {
                var obj = (Self.value(&r, depth: 0) as? [String: Any]) ?? [:]
                if Bool.random(using: &r) { obj["name"] = "job" }
                if Bool.random(using: &r) { obj["commands"] = ["echo hi"] }
                data = try JSONSerialization.data(withJSONObject: obj)
            }
            do {
                let spec = try MMSJSON.decode(JobSpec.self, from: data)
                _ = Validation.jobSpecProblem(spec)
                decoded += 1
            } catch {
                #expect(!error.message.isEmpty)
                refused += 1
            }
        }
        #expect(decoded > 100 && refused > 100, "both outcomes exercised: \(decoded) decoded, \(refused) refused")
    }

    @Test func routingAnyRequestAnswersBelow500() throws {
        let s = try TestServer()
        let router = Router.mms(s.server.core)
        var r = SeededRandom(state: 0xC0FFEE)
        let segments = ["api", "v1", "agents", "jobs", "config", "events", "next", "ping", "log", "state", "cancel", "rerun",
                        "register", "1", "0", "-1", "99999999999999999999", "%00", "..", "", "é", UUID().uuidString]
        let methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "BREW"]
        let tokens: [String?] = [nil, s.admin, "wrong", "", "Bearer"]
        for _ in 0..<2000 {
            let path = "/" + (0..<Int.random(in: 0...5, using: &r)).map { _ in segments.randomElement(using: &r)! }.joined(separator: "/")
            var query: [String: String] = [:]
            for key in ["wait", "since", "offset", "attempt", "limit", "state"] where Bool.random(using: &r) {
                query[key] = ["", "0", "1", "-5", "61", "abc", "9223372036854775807", "99999999999999999999"].randomElement(using: &r)!
            }
            let body = (try? JSONSerialization.data(withJSONObject: Self.value(&r, depth: 0), options: [.fragmentsAllowed])) ?? Data()
            let token = tokens.randomElement(using: &r)!
            let req = Request(method: methods.randomElement(using: &r)!, path: path, query: query,
                              authorization: token.map { "Bearer \($0)" }, contentType: "application/json", body: body,
                              clientAddress: "127.0.0.1")
            switch router.handle(req) {
            case .respond(let response):
                #expect(response.status < 500, "\(req.method) \(path) \(query) → \(response.status)")
            case .wait(let poll):
                let answer = poll.answer() ?? poll.timeout()
                #expect(answer.status < 500, "\(req.method) \(path) \(query) → \(answer.status)")
                poll.finished?()
            }
        }
    }
}
