import Foundation

/// Raw TCP for tests that must send what no HTTP client sends (garbage, oversized or chunked bodies,
/// thousands of idle connections).
public enum RawHTTP {
    /// A connected socket to 127.0.0.1:port from the loopback address `from`, or nil (e.g. out of descriptors).
    public static func connect(port: Int, from source: String = "127.0.0.1") -> Int32? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        if source != "127.0.0.1" {
            var local = sockaddr_in()
            local.sin_family = sa_family_t(AF_INET)
            local.sin_addr.s_addr = inet_addr(source)
            let bound = withUnsafePointer(to: &local) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            if bound != 0 { close(fd); return nil }
        }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let ok = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if ok != 0 { close(fd); return nil }
        return fd
    }

    /// Whether the server has closed `fd` (end of stream or reset), waiting up to `seconds` for it.
    /// Bytes the server sent first are read and dropped.
    public static func closedByServer(_ fd: Int32, seconds: Double) -> Bool {
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let until = Date().addingTimeInterval(seconds)
        var buf = [UInt8](repeating: 0, count: 4096)
        while Date() < until {
            let wait = Int32(max(1, until.timeIntervalSinceNow * 1000))
            guard poll(&pfd, 1, wait) > 0 else { continue }
            let n = recv(fd, &buf, buf.count, Int32(MSG_DONTWAIT))
            if n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR) { return true }
        }
        return false
    }

    /// Sends bytes (stopping quietly if the server closes first).
    public static func send(_ fd: Int32, _ data: Data) -> Bool {
        data.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } >= 0
    }

    /// The first bytes the server answers on `fd` (waiting up to `seconds`), as text.
    public static func receive(_ fd: Int32, seconds: Int = 10) -> String {
        var tv = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var buf = [UInt8](repeating: 0, count: 4096)
        let n = recv(fd, &buf, buf.count, 0)
        return n > 0 ? String(decoding: buf[0..<n], as: UTF8.self) : ""
    }

    /// One exchange on a new connection: the head, then each chunk, then the first answer.
    public static func exchange(port: Int, _ head: Data, chunks: [Data] = [], from source: String = "127.0.0.1") -> String {
        guard let fd = connect(port: port, from: source) else { return "" }
        defer { close(fd) }
        for part in [head] + chunks where !send(fd, part) { break }
        return receive(fd)
    }
}
