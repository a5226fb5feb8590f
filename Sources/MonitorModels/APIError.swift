/// The error codes of the contract's error table.
public enum APIErrorCode: String, Codable, Sendable, CaseIterable {
    case badRequest = "bad_request"
    case unauthorized
    case forbidden
    case notFound = "not_found"
    case methodNotAllowed = "method_not_allowed"
    case payloadTooLarge = "payload_too_large"
    case gone
    case agentBusy = "agent_busy"
    case agentNotAuthorized = "agent_not_authorized"
    case jobFinished = "job_finished"
    case jobReassigned = "job_reassigned"
    case logGap = "log_gap"
    case versionMismatch = "version_mismatch"
    case conflict
    case serviceUnavailable = "unavailable"
    case internalError = "internal_error"

    /// The HTTP status this code is answered with.
    public var httpStatus: Int {
        switch self {
        case .badRequest: 400
        case .unauthorized: 401
        case .forbidden, .agentNotAuthorized: 403
        case .notFound: 404
        case .methodNotAllowed: 405
        case .gone: 410
        case .payloadTooLarge: 413
        case .agentBusy, .jobFinished, .jobReassigned, .logGap, .versionMismatch, .conflict: 409
        case .serviceUnavailable: 503
        case .internalError: 500
        }
    }
}

/// An error as the API sends it: `{"error":{"code":…,"message":…}}` (plus `size` for log_gap).
public struct APIError: Error, Codable, Sendable, Equatable, CustomStringConvertible {
    /// The snake_case code as sent; kept as text so unknown codes from newer servers survive.
    public var code: String
    public var message: String
    /// Server's log size, sent with `log_gap`.
    public var size: Int64?

    public init(_ code: APIErrorCode, _ message: String, size: Int64? = nil) {
        self.code = code.rawValue
        self.message = message
        self.size = size
    }

    public init(code: String, message: String, size: Int64? = nil) {
        self.code = code
        self.message = message
        self.size = size
    }

    /// The known code, if this is one of the contract's.
    public var knownCode: APIErrorCode? { APIErrorCode(rawValue: code) }
    /// HTTP status for this error (500 for codes this build does not know).
    public var httpStatus: Int { knownCode?.httpStatus ?? 500 }
    public var description: String { message }
}

/// The JSON envelope around an APIError.
public struct APIErrorEnvelope: Codable, Sendable, Equatable {
    public var error: APIError
    public init(error: APIError) { self.error = error }
}
