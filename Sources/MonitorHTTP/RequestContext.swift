import CMicroHTTPD
import Foundation

/// Per-request state kept across libmicrohttpd's handler calls (headers, body chunks, resumes).
final class RequestContext: @unchecked Sendable {
    let connection: OpaquePointer
    var request: Request
    var bodyLimit: Int
    var tooLarge = false
    var routed = false
    var poll: LongPoll?
    /// Set and cleared by the hub under its lock.
    var isParked = false
    let startedNanos: UInt64

    init(connection: OpaquePointer, request: Request, bodyLimit: Int) {
        self.connection = connection
        self.request = request
        self.bodyLimit = bodyLimit
        self.startedNanos = DispatchTime.now().uptimeNanoseconds
    }

    /// Reads the query arguments of a connection into a dictionary.
    static func queryArguments(_ connection: OpaquePointer) -> [String: String] {
        // Counting first costs no allocation; most requests carry no query.
        if MHD_get_connection_values(connection, .GET_ARGUMENT_KIND, nil, nil) == 0 { return [:] }
        final class Box { var values: [String: String] = [:] }
        let box = Box()
        let ptr = Unmanaged.passUnretained(box).toOpaque()
        _ = MHD_get_connection_values(connection, .GET_ARGUMENT_KIND, { cls, _, key, value in
            guard let cls, let key else { return .YES }
            let box = Unmanaged<Box>.fromOpaque(cls).takeUnretainedValue()
            box.values[String(cString: key)] = value.map { String(cString: $0) } ?? ""
            return .YES
        }, ptr)
        return box.values
    }

    /// One request header, by name (case-insensitive).
    static func header(_ connection: OpaquePointer, _ name: String) -> String? {
        MHD_lookup_connection_value(connection, .HEADER_KIND, name).map { String(cString: $0) }
    }
}
