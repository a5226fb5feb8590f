import Foundation
import MonitorModels

/// `json`: the contract's JSON bodies through MMSJSON, as the server decodes requests and the agent and
/// console decode answers. The first line may name the type (`register`, `ping`, …); otherwise the whole
/// input is a job spec (POST /api/v1/jobs and `mms-agent run`).
///
/// Properties: decoding gives a value or a FieldError with a message; a decoded value encodes, its
/// encoding decodes again to the same value (dates: to the same encoding), and a job spec's validation
/// problem names a field.
enum JSONTarget {
    /// Checks one body.
    typealias Check = @Sendable (Data) throws(FuzzFailure) -> Void

    /// The types a first line may name; `exact: false` compares encodings instead of values, for types
    /// with dates (kept to the millisecond).
    static let types: [String: Check] = [
        "jobspec": { data throws(FuzzFailure) in try jobSpec(data) },
        "register": { data throws(FuzzFailure) in _ = try roundTrip(RegisterRequest.self, data) },
        "ping": { data throws(FuzzFailure) in _ = try roundTrip(PingRequest.self, data) },
        "state": { data throws(FuzzFailure) in _ = try roundTrip(JobStateReport.self, data) },
        "agentpatch": { data throws(FuzzFailure) in _ = try roundTrip(AgentPatch.self, data) },
        "bulkpatch": { data throws(FuzzFailure) in _ = try roundTrip(BulkAgentPatch.self, data) },
        "config": { data throws(FuzzFailure) in _ = try roundTrip(ConfigEntryInput.self, data) },
        "agentconfig": { data throws(FuzzFailure) in _ = try roundTrip(AgentConfig.self, data) },
        "next": { data throws(FuzzFailure) in _ = try roundTrip(NextMessage.self, data, exact: false) },
        "job": { data throws(FuzzFailure) in _ = try roundTrip(Job.self, data, exact: false) },
        "agents": { data throws(FuzzFailure) in _ = try roundTrip(AgentList.self, data, exact: false) },
        "events": { data throws(FuzzFailure) in _ = try roundTrip(EventBatch.self, data, exact: false) },
        "error": { data throws(FuzzFailure) in _ = try roundTrip(APIErrorEnvelope.self, data) },
    ]

    static let target = FuzzTarget(
        name: "json",
        summary: "contract JSON bodies (job spec by default, or the type named on the first line): decode, validate, round trip"
    ) { data throws(FuzzFailure) in
        if let newline = data.firstIndex(of: 10),
           let check = types[String(decoding: data[data.startIndex..<newline], as: UTF8.self)] {
            try check(Data(data[data.index(after: newline)...]))
        } else {
            try jobSpec(data)
        }
    }

    /// A job spec: decode, round trip, and validation names the field it refuses.
    static func jobSpec(_ data: Data) throws(FuzzFailure) {
        guard let spec = try roundTrip(JobSpec.self, data) else { return }
        if let problem = Validation.jobSpecProblem(spec) {
            try require(problem.hasPrefix("field '"), "a job spec problem that names no field: \(problem)")
        }
    }

    /// Decodes `data` as `T`; nil when it is refused with a message. A decoded value must survive
    /// encode → decode (the store keeps specs as JSON text and reads them back at every start).
    static func roundTrip<T: Codable & Equatable>(_ type: T.Type, _ data: Data, exact: Bool = true) throws(FuzzFailure) -> T? {
        let value: T
        do {
            value = try MMSJSON.decode(T.self, from: data)
        } catch {
            try require(!error.message.isEmpty, "\(T.self): a decoding error without a message")
            return nil
        }
        let encoded: Data
        do {
            encoded = try MMSJSON.encoder().encode(value)
        } catch {
            throw FuzzFailure("\(T.self) decoded from \(excerpt(data)) but does not encode: \(error)")
        }
        let again: T
        do {
            again = try MMSJSON.decode(T.self, from: encoded)
        } catch {
            throw FuzzFailure("\(T.self): its own encoding \(excerpt(encoded)) does not decode: \(error.message)")
        }
        if exact {
            try require(again == value, "\(T.self) changed in a round trip: \(excerpt(data)) → \(excerpt(encoded))")
        } else {
            let reencoded = (try? MMSJSON.encoder().encode(again)) ?? Data()
            try require(reencoded == encoded, "\(T.self) encodes differently after a round trip: \(excerpt(encoded)) → \(excerpt(reencoded))")
        }
        return value
    }
}
