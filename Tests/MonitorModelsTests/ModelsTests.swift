import Foundation
import Testing
@testable import MonitorModels

@Suite struct RFC3339Tests {
    @Test func formatsMillisecondsInUTC() {
        #expect(RFC3339.format(Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00.000Z")
        #expect(RFC3339.format(Date(timeIntervalSince1970: 1_795_000_000.123)) == "2026-11-18T11:06:40.123Z")
        #expect(RFC3339.format(Date(timeIntervalSince1970: -1.5)) == "1969-12-31T23:59:58.500Z")
    }

    @Test func parsesWhatItFormatsAndOffsets() throws {
        for t in [0.0, 1_795_000_000.123, 951_782_400.999, 4_102_444_800] {
            let d = Date(timeIntervalSince1970: t)
            let back = try #require(RFC3339.parse(RFC3339.format(d)))
            #expect(abs(back.timeIntervalSince1970 - t) < 0.001)
        }
        #expect(RFC3339.parse("2026-11-24T13:00:00+01:00") == RFC3339.parse("2026-11-24T12:00:00Z"))
        #expect(RFC3339.parse("2026-11-24T12:00:00") == nil)
        #expect(RFC3339.parse("2026-13-24T12:00:00Z") == nil)
        #expect(RFC3339.parse("yesterday") == nil)
    }

    // Found by `mms-fuzz rfc3339` (Tests/FuzzCorpus/rfc3339/): ".162" came back as ".161", and a round
    // trip could lose another millisecond; a day the month does not have (Nov 31) became the next month's.
    @Test func canonicalTimestampsRoundTripExactly() {
        var failures: [String] = []
        for ms in 0..<1000 {
            for base in ["1971-06-17T05:03:20", "2026-11-24T12:00:00", "9999-12-31T23:59:59", "0000-01-01T00:00:00"] {
                let text = base + "." + String(repeating: "0", count: ms < 10 ? 2 : ms < 100 ? 1 : 0) + String(ms) + "Z"
                if RFC3339.parse(text).map(RFC3339.format) != text { failures.append(text) }
            }
        }
        #expect(failures.isEmpty, "\(failures.count) of 4000, e.g. \(failures.prefix(3))")
    }

    @Test func refusesDaysTheMonthDoesNotHaveAndWhatFormatCannotWrite() {
        #expect(RFC3339.parse("2026-11-31T12:00:00Z") == nil)
        #expect(RFC3339.parse("2026-02-29T12:00:00Z") == nil)
        #expect(RFC3339.parse("2024-02-29T12:00:00Z") != nil)
        #expect(RFC3339.parse("2000-02-29T12:00:00Z") != nil)
        #expect(RFC3339.parse("1900-02-29T12:00:00Z") == nil)
        #expect(RFC3339.parse("2026-11-24T12:00:00+24:00") == nil)
        #expect(RFC3339.parse("2026-11-24T12:00:00+01:60") == nil)
        #expect(RFC3339.parse("0000-01-01T00:00:00+01:00") == nil)
        #expect(RFC3339.parse("9999-12-31T23:59:59.9999Z") == nil)
        #expect(RFC3339.parse("9999-12-31T23:59:59.999Z").map(RFC3339.format) == "9999-12-31T23:59:59.999Z")
    }
}

@Suite struct JSONShapeTests {
    @Test func jobEncodesFlatWithNulls() throws {
        let job = Job(id: 7, spec: JobSpec(name: "build", commands: ["make"]), createdAt: Date(timeIntervalSince1970: 0))
        let obj = try #require(JSONSerialization.jsonObject(with: MMSJSON.encode(job)) as? [String: Any])
        #expect(obj["id"] as? Int == 7)
        #expect(obj["name"] as? String == "build")
        #expect(obj["commands"] as? [String] == ["make"])
        #expect(obj["state"] as? String == "scheduled")
        #expect(obj["timeoutSeconds"] as? Int == 3600)
        #expect(obj["result"] is NSNull)
        #expect(obj["waitingReason"] is NSNull)
        #expect(obj["createdAt"] as? String == "1970-01-01T00:00:00.000Z")
        #expect(obj["configVersion"] == nil)
        let back = try MMSJSON.decode(Job.self, from: MMSJSON.encode(job))
        #expect(back == job)
    }

    @Test func agentRoundTripsWithContractKeys() throws {
        let agent = Agent(uuid: "u", name: "rec-01", status: .lostContact, resources: ["gpu"], registeredAt: Date(timeIntervalSince1970: 10))
        let data = MMSJSON.encode(agent)
        let obj = try #require(JSONSerialization.jsonObject(with: data) as? [String: Any])
        for key in ["uuid", "name", "hostname", "os", "version", "ipAddress", "configState", "status", "resources",
                    "environments", "currentJobId", "registeredAt", "lastSeenAt"] {
            #expect(obj[key] != nil, "missing \(key)")
        }
        #expect(obj["status"] as? String == "lostContact")
        #expect(try MMSJSON.decode(Agent.self, from: data) == agent)
    }

    @Test func nextMessagesHaveTheirTypeTag() throws {
        let cancel = String(decoding: MMSJSON.encode(NextMessage.cancel(jobId: 4, attempt: 2)), as: UTF8.self)
        #expect(cancel == #"{"attempt":2,"jobId":4,"type":"cancel"}"#)
        #expect(try MMSJSON.decode(NextMessage.self, from: Data(cancel.utf8)) == .cancel(jobId: 4, attempt: 2))
    }

    @Test func errorEnvelopeShape() {
        let text = String(decoding: MMSJSON.encode(APIErrorEnvelope(error: APIError(.logGap, "gap", size: 10))), as: UTF8.self)
        #expect(text == #"{"error":{"code":"log_gap","message":"gap","size":10}}"#)
        #expect(APIError(.agentNotAuthorized, "x").httpStatus == 403)
    }
}

@Suite struct DecodingMessagesTests {
    @Test func specDefaultsAndRequiredFields() throws {
        let spec = try MMSJSON.decode(JobSpec.self, from: Data(#"{"name":"a","commands":["true"]}"#.utf8))
        #expect(spec.timeoutSeconds == 3600)
        #expect(spec.epilogue.isEmpty && spec.env.isEmpty && spec.files.isEmpty && spec.environment == nil)
        #expect(throws: FieldError(message: "missing field 'commands'")) {
            try MMSJSON.decode(JobSpec.self, from: Data(#"{"name":"a"}"#.utf8))
        }
        #expect(throws: FieldError(message: "field 'commands[1]' must be a string")) {
            try MMSJSON.decode(JobSpec.self, from: Data(#"{"name":"a","commands":["x",3]}"#.utf8))
        }
        #expect(throws: FieldError(message: "field 'files[0].path' must be a string")) {
            try MMSJSON.decode(JobSpec.self, from: Data(#"{"name":"a","commands":[],"files":[{"path":1,"content":""}]}"#.utf8))
        }
        #expect(throws: FieldError(message: "the body is not valid JSON")) {
            try MMSJSON.decode(JobSpec.self, from: Data(#"{"name":"#.utf8))
        }
    }

    @Test func validationNamesTheField() {
        var spec = JobSpec(name: "ok", commands: ["true"])
        #expect(Validation.jobSpecProblem(spec) == nil)
        spec.resources = ["gpu", "bad name"]
        #expect(Validation.jobSpecProblem(spec) == "field 'resources[1]' must match [A-Za-z0-9_.-]{1,64}")
        spec.resources = []
        spec.files = [JobFile(path: "../etc/passwd", content: "")]
        #expect(Validation.jobSpecProblem(spec)?.hasPrefix("field 'files[0].path'") == true)
        // Found while following up `mms-fuzz jobfile`'s quoting finding; the jobfile property catches it.
        for path in ["../\u{301}x", "a/../\u{301}../\u{301}x", "/\u{301}etc/passwd", "..\u{301}/../x"] {
            #expect(Validation.filePathProblem(path) != nil, "\(path.unicodeScalars.map { String($0.value, radix: 16) })")
        }
        #expect(Validation.filePathProblem("a/\u{301}b/..x/x..") == nil)
        for path in ["a/", "x/a//", ".", "a/.", "a/./"] {
            #expect(Validation.filePathProblem(path) == "must name a file, not a directory (no '/' or '.' at the end)", "\(path)")
        }
        #expect(Validation.filePathProblem("./a.sh") == nil && Validation.filePathProblem("a/.hidden") == nil)
        spec.files = [JobFile(path: "a.sh", content: "", mode: "999")]
        #expect(Validation.jobSpecProblem(spec)?.hasPrefix("field 'files[0].mode'") == true)
        spec.files = []
        spec.name = "bad\u{7}name"
        #expect(Validation.jobSpecProblem(spec) == "field 'name' must not contain control characters")
        #expect(Validation.isConfigName("API_KEY") && !Validation.isConfigName("1KEY") && !Validation.isConfigName("A-B"))
    }

    @Test func versionCompatibility() {
        #expect(MMSVersion.compatible("1.4.2", "1.4.9"))
        #expect(!MMSVersion.compatible("1.4.2", "1.5.0"))
        #expect(!MMSVersion.compatible("garbage", "1.5.0"))
        #expect(AgentBinaryHeaders.parseVersionOutput("mms-agent 1.2.3\n") == "1.2.3")
        #expect(AgentBinaryHeaders.parseVersionOutput("mms-server 1.2.3") == nil)
        #expect(AgentBinaryHeaders.parseVersionOutput("mms-agent banana") == nil)
    }
}

/// Version 2 job fields: containers, imagePullSecret, sshPublicKeys.
@Suite struct ContainerAndKeyValidationTests {
    static let ed25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl someone@laptop"

    func problem(_ spec: JobSpec) -> String? { Validation.jobSpecProblem(spec) }

    @Test func aContainerEncodesEveryFieldWithNullsAndRoundTrips() throws {
        let main = ContainerSpec(name: "main", image: "debian:12")
        let text = String(decoding: MMSJSON.encode(main), as: UTF8.self)
        #expect(text.contains("\"command\":null") && text.contains("\"user\":null") && text.contains("\"env\":{}"), "\(text)")
        let db = ContainerSpec(name: "db", image: "postgres:15", command: "postgres", env: ["A": "1"], user: "999")
        #expect(try MMSJSON.decode(ContainerSpec.self, from: MMSJSON.encode(db)) == db)
        #expect(try MMSJSON.decode(ContainerSpec.self, from: Data(#"{"name":"m","image":"i","command":null}"#.utf8)) == ContainerSpec(name: "m", image: "i"))
    }
    func spec(_ containers: [ContainerSpec], pull: String? = nil, keys: [String] = []) -> JobSpec {
        JobSpec(name: "j", commands: ["true"], containers: containers, imagePullSecret: pull, sshPublicKeys: keys)
    }

    @Test func containersAreCheckedFieldByField() {
        let main = ContainerSpec(name: "main", image: "debian:12")
        #expect(problem(spec([main, ContainerSpec(name: "db-1", image: "postgres:15", command: "postgres")])) == nil)
        #expect(problem(spec([ContainerSpec(name: "Main", image: "x")]))?.contains("containers[0].name") == true)
        #expect(problem(spec([main, ContainerSpec(name: "main", image: "x")]))?.contains("containers[1].name") == true)
        #expect(problem(spec([ContainerSpec(name: String(repeating: "a", count: 33), image: "x")]))?.contains("containers[0].name") == true)
        #expect(problem(spec((0..<9).map { ContainerSpec(name: "c\($0)", image: "x") }))?.contains("'containers'") == true)
        #expect(problem(spec([ContainerSpec(name: "main", image: "-v /:/host")]))?.contains("containers[0].image") == true)
        #expect(problem(spec([ContainerSpec(name: "main", image: "x", command: "true")]))?.contains("containers[0].command") == true)
        #expect(problem(spec([main, ContainerSpec(name: "s", image: "x", env: ["1BAD": "v"])]))?.contains("containers[1].env") == true)
        #expect(problem(spec([ContainerSpec(name: "main", image: "x", user: "a b")]))?.contains("containers[0].user") == true)
        #expect(problem(spec([main], pull: "REGISTRY_CREDS")) == nil)
        #expect(problem(spec([main], pull: "bad name"))?.contains("imagePullSecret") == true)
        #expect(problem(spec([], pull: "REGISTRY_CREDS"))?.contains("imagePullSecret") == true)
    }

    @Test func keysMustBePlainKeysOfAnAllowedType() {
        #expect(problem(spec([], keys: [Self.ed25519])) == nil)
        #expect(SSHPublicKey.parse(Self.ed25519) == .success(SSHPublicKey(
            type: "ssh-ed25519", base64: "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl")))
        for bad in ["command=\"id\" " + Self.ed25519, "restrict " + Self.ed25519, "ssh-ed25519", "ssh-ed25519 @@@",
                    "ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl", Self.ed25519 + "\nx"] {
            #expect(problem(spec([], keys: [bad]))?.contains("sshPublicKeys[0]") == true, "\(bad)")
        }
        #expect(problem(spec([], keys: Array(repeating: Self.ed25519, count: 21)))?.contains("sshPublicKeys") == true)
    }

    @Test func oldSpecsDecodeWithEmptyV2Fields() throws {
        let spec = try MMSJSON.decode(JobSpec.self, from: Data(#"{"name":"n","commands":["true"]}"#.utf8))
        #expect(spec.containers.isEmpty && spec.imagePullSecret == nil && spec.sshPublicKeys.isEmpty)
    }
}
