import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// HTTP/1.1 over plain TCP with kept-alive connections, for `http://` servers. On loopback a request
/// takes ~0.03 ms where URLSession (libcurl behind a dispatch queue) takes ~0.5 ms, and the agent pays
/// that on every hop from a job's arrival to its first log bytes and from a cancel to its SIGTERM.
/// Each request in flight runs its blocking socket I/O on a thread of its own (an agent has at most
/// four: its poll, a ping, a report and a log chunk), so no task of the caller's pool ever blocks.
final class PlainHTTPClient: Sendable {
    /// How long a kept-alive connection may sit unused before it is dropped rather than reused: below
    /// the server's keep-alive limit (30 s), so a request never races the server closing an idle connection.
    static let idleLimit: TimeInterval = 20

    let host: String
    let port: UInt16
    /// The server's URL as its callers name it, for error messages ("cannot reach the server at URL: ...").
    let server: String
    private let idle = Mutex<[(fd: Int32, since: Date)]>([])

    init(host: String, port: UInt16, server: String) {
        self.host = host
        self.port = port
        self.server = server
    }

    deinit {
        for c in idle.withLock({ $0 }) { close(c.fd) }
    }

    /// Sends one request (`target` is the path with its query, already percent-encoded) and reads the answer.
    func send(method: String, target: String, headers: [(String, String)], body: Data?, timeout: TimeInterval)
        async throws(ClientError) -> HTTPReply {
        var head = "\(method) \(target) HTTP/1.1\r\nHost: \(host):\(port)\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        if body != nil || method == "POST" || method == "PUT" || method == "PATCH" {
            head += "Content-Length: \(body?.count ?? 0)\r\n"
        }
        head += "\r\n"
        var request = Data(head.utf8)
        if let body { request.append(body) }
        let deadline = Date().addingTimeInterval(timeout)
        let bytes = request
        let result: Result<HTTPReply, ClientError> = await withCheckedContinuation { continuation in
            let thread = Thread { [self] in continuation.resume(returning: exchange(bytes, method: method, deadline: deadline)) }
            thread.name = "mms-http"
            thread.start()
        }
        return try result.get()
    }

    /// One request on a kept-alive connection, or on a new one; a kept-alive connection that turns out
    /// closed before any answer byte came (the server dropped it) is replaced once.
    private func exchange(_ request: Data, method: String, deadline: Date) -> Result<HTTPReply, ClientError> {
        for _ in 0..<3 {
            let reused = takeIdle()
            let fd: Int32
            if let reused {
                fd = reused
            } else {
                switch connectSocket(deadline: deadline) {
                case .success(let f): fd = f
                case .failure(let e): return .failure(e)
                }
            }
            var conn = SocketReader(fd: fd, deadline: deadline, server: server)
            let outcome = conn.roundTrip(request, headOnly: method == "HEAD")
            switch outcome {
            case .reply(let reply, let keepAlive):
                if keepAlive { putIdle(fd) } else { close(fd) }
                return .success(reply)
            case .closedBeforeAnswer where reused != nil:
                close(fd)
                continue
            case .closedBeforeAnswer:
                close(fd)
                return .failure(.unreachable("cannot reach the server at \(server): connection lost"))
            case .failed(let error):
                close(fd)
                return .failure(error)
            }
        }
        return .failure(.unreachable("cannot reach the server at \(server): connection lost"))
    }

    private func takeIdle() -> Int32? {
        let now = Date()
        var stale: [Int32] = []
        defer { for fd in stale { close(fd) } }
        return idle.withLock { list -> Int32? in
            while let c = list.popLast() {
                var p = pollfd(fd: c.fd, events: Int16(POLLIN), revents: 0)
                // Readable while idle means closed by the server (or junk): either way not reusable.
                if now.timeIntervalSince(c.since) > Self.idleLimit || poll(&p, 1, 0) != 0 {
                    stale.append(c.fd)
                    continue
                }
                return c.fd
            }
            return nil
        }
    }

    private func putIdle(_ fd: Int32) {
        let extra = idle.withLock { list -> Int32? in
            list.append((fd, Date()))
            return list.count > 8 ? list.removeFirst().fd : nil
        }
        if let extra { close(extra) }
    }

    private func connectSocket(deadline: Date) -> Result<Int32, ClientError> {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_family = AF_UNSPEC
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &list)
        guard rc == 0, let first = list else {
            return .failure(.unreachable("cannot reach the server at \(server): unknown host"))
        }
        defer { freeaddrinfo(list) }
        var lastError = ECONNREFUSED
        var ai: UnsafeMutablePointer<addrinfo>? = first
        while let a = ai {
            ai = a.pointee.ai_next
            let fd = socket(a.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
                | Int32(SOCK_NONBLOCK.rawValue), 0)
            if fd < 0 { lastError = errno; continue }
            if Glibc.connect(fd, a.pointee.ai_addr, a.pointee.ai_addrlen) != 0 && errno != EINPROGRESS {
                lastError = errno
                close(fd)
                continue
            }
            var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            var ready = poll(&p, 1, SocketReader.millisLeft(deadline))
            while ready < 0 && errno == EINTR { ready = poll(&p, 1, SocketReader.millisLeft(deadline)) }
            var soError: Int32 = 0
            var len = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &soError, &len)
            if ready <= 0 || soError != 0 {
                lastError = ready == 0 ? ETIMEDOUT : (soError != 0 ? soError : errno)
                close(fd)
                continue
            }
            var one: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            return .success(fd)
        }
        let what = lastError == ECONNREFUSED ? "connection refused" : lastError == ETIMEDOUT ? "timed out"
            : String(cString: strerror(lastError))
        return .failure(.unreachable("cannot reach the server at \(server): \(what)"))
    }
}

/// Blocking request/answer on one non-blocking socket, every wait bounded by the request's deadline.
struct SocketReader {
    enum Outcome {
        case reply(HTTPReply, keepAlive: Bool)
        /// The connection ended before a single byte of answer (a kept-alive connection the server had closed).
        case closedBeforeAnswer
        case failed(ClientError)
    }

    let fd: Int32
    let deadline: Date
    /// The server's URL, for error messages.
    let server: String
    private var buffer: [UInt8] = []
    private var start = 0
    private var received = 0
    private var scratch = [UInt8](repeating: 0, count: 64 * 1024)

    init(fd: Int32, deadline: Date, server: String) {
        self.fd = fd
        self.deadline = deadline
        self.server = server
    }

    static func millisLeft(_ deadline: Date) -> Int32 {
        Int32(max(0, min(Double(Int32.max), (deadline.timeIntervalSinceNow * 1000).rounded(.up))))
    }

    mutating func roundTrip(_ request: Data, headOnly: Bool) -> Outcome {
        if let error = writeAll(request) {
            return error == EPIPE || error == ECONNRESET ? .closedBeforeAnswer : .failed(failure(error))
        }
        do throws(ClientError) {
            guard let headEnd = try readUntilHeadEnd() else { return .closedBeforeAnswer }
            let head = String(decoding: buffer[start..<headEnd], as: UTF8.self)
            start = headEnd + 4
            let lines = head.components(separatedBy: "\r\n")
            let statusParts = lines[0].split(separator: " ", maxSplits: 2)
            guard statusParts.count >= 2, statusParts[0].hasPrefix("HTTP/1."), let status = Int(statusParts[1]) else {
                throw .badResponse("the server did not answer HTTP")
            }
            var headers: [String: String] = [:]
            for line in lines.dropFirst() {
                guard let colon = line.firstIndex(of: ":") else { continue }
                headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
            var keepAlive = statusParts[0] == "HTTP/1.1" && headers["connection"]?.lowercased() != "close"
            let body: [UInt8]
            if headOnly || status == 204 || status == 304 || (100..<200).contains(status) {
                body = []
            } else if headers["transfer-encoding"]?.lowercased().contains("chunked") == true {
                body = try readChunked()
            } else if let text = headers["content-length"] {
                guard let length = Int(text), length >= 0 else { throw .badResponse("the server sent a bad Content-Length") }
                body = try readExactly(length)
            } else {
                body = try readToEnd()
                keepAlive = false
            }
            return .reply(HTTPReply(status: status, headers: headers, body: Data(body)), keepAlive: keepAlive)
        } catch {
            return .failed(error)
        }
    }

    private func failure(_ error: Int32) -> ClientError {
        let what: String
        switch error {
        case ETIMEDOUT, EAGAIN: what = "timed out"
        case ECONNRESET, EPIPE: what = "connection lost"
        case ECONNREFUSED: what = "connection refused"
        default: what = String(cString: strerror(error))
        }
        return .unreachable("cannot reach the server at \(server): \(what)")
    }

    private func writeAll(_ data: Data) -> Int32? {
        data.withUnsafeBytes { raw -> Int32? in
            var done = 0
            while done < raw.count {
                let n = Glibc.send(fd, raw.baseAddress! + done, raw.count - done, Int32(MSG_NOSIGNAL))
                if n > 0 { done += n; continue }
                if n < 0 && errno == EINTR { continue }
                if n < 0 && errno == EAGAIN {
                    var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                    let ready = poll(&p, 1, Self.millisLeft(deadline))
                    if ready == 0 { return ETIMEDOUT }
                    continue
                }
                return n == 0 ? EPIPE : errno
            }
            return nil
        }
    }

    /// Reads more bytes into the buffer; false at end of stream.
    private mutating func fill() throws(ClientError) -> Bool {
        if start > 65536 && start * 2 > buffer.count {
            buffer.removeFirst(start)
            start = 0
        }
        while true {
            let n = scratch.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n > 0 {
                buffer.append(contentsOf: scratch[0..<n])
                received += n
                return true
            }
            if n == 0 { return false }
            if errno == EINTR { continue }
            guard errno == EAGAIN else { throw failure(errno) }
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&p, 1, Self.millisLeft(deadline))
            if ready == 0 { throw failure(ETIMEDOUT) }
        }
    }

    private mutating func readUntilHeadEnd() throws(ClientError) -> Int? {
        var searchFrom = start
        while true {
            if buffer.count - searchFrom >= 4 {
                for i in searchFrom...(buffer.count - 4)
                where buffer[i] == 13 && buffer[i + 1] == 10 && buffer[i + 2] == 13 && buffer[i + 3] == 10 {
                    return i
                }
                searchFrom = buffer.count - 3
            }
            if buffer.count - start > 64 * 1024 { throw .badResponse("the server sent an answer head over 64 KiB") }
            guard try fill() else {
                if received == 0 { return nil }
                throw failure(ECONNRESET)
            }
        }
    }

    private mutating func readExactly(_ count: Int) throws(ClientError) -> [UInt8] {
        while buffer.count - start < count {
            guard try fill() else { throw failure(ECONNRESET) }
        }
        defer { start += count }
        return Array(buffer[start..<(start + count)])
    }

    private mutating func readLine() throws(ClientError) -> String {
        while true {
            if let i = buffer[start...].firstIndex(of: 10) {
                defer { start = i + 1 }
                return String(decoding: buffer[start..<i], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            }
            guard try fill() else { throw failure(ECONNRESET) }
        }
    }

    private mutating func readChunked() throws(ClientError) -> [UInt8] {
        var body: [UInt8] = []
        while true {
            let sizeText = try readLine().split(separator: ";").first.map(String.init) ?? ""
            guard let size = Int(sizeText, radix: 16), size >= 0 else { throw .badResponse("the server sent a bad chunk size") }
            if size == 0 {
                while try !readLine().isEmpty {}  // trailers, then the blank line
                return body
            }
            body += try readExactly(size)
            _ = try readLine()
        }
    }

    private mutating func readToEnd() throws(ClientError) -> [UInt8] {
        while try fill() {}
        defer { start = buffer.count }
        return Array(buffer[start...])
    }
}
