import Foundation

/// Raw TCP for tests that must send what no HTTP client sends (garbage, oversized or chunked bodies,
/// thousands of idle connections).
public enum RawHTTP {
    /// A connected socket to 127.0.0.1:port, or nil (e.g. out of descriptors).
    public static func connect(port: Int) -> Int32? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
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
    public static func exchange(port: Int, _ head: Data, chunks: [Data] = []) -> String {
        guard let fd = connect(port: port) else { return "" }
        defer { close(fd) }
        for part in [head] + chunks where !send(fd, part) { break }
        return receive(fd)
    }
}
