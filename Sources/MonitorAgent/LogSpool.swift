import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A job's masked log on disk, written by the output thread and read by the shipper at any offset.
/// Acknowledged bytes are released (hole-punched), so neither memory nor disk holds more than what
/// the server has not acknowledged yet; a writer that gets too far ahead waits (and so does the job).
public final class LogSpool: Sendable {
    public let path: String
    private let fd: Int32
    private let limit: Int64
    private let state = Mutex<(written: Int64, acked: Int64, closed: Bool)>((0, 0, false))
    /// Notified on every append (and by `wakeReader`): the shipper waits on it instead of polling.
    private let activity = WakeSignal()

    /// Creates (truncates) the spool at `path`; at most `limit` unacknowledged bytes are kept.
    public init(path: String, limit: Int64 = 64 * 1024 * 1024) throws(AgentError) {
        let fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .io("cannot create the log spool \(path): \(String(cString: strerror(errno)))") }
        self.path = path
        self.fd = fd
        self.limit = limit
    }

    deinit { close(fd) }

    /// Bytes written so far.
    public var written: Int64 { state.withLock { $0.written } }
    /// Bytes the server acknowledged so far.
    public var acked: Int64 { state.withLock { $0.acked } }

    /// Blocks (polling) while more than `limit` bytes are unacknowledged, unless `stopWaiting` was called.
    /// The output thread calls this before it reads the job's pipe, so a fast job waits on its full pipe.
    public func waitForRoom() {
        while state.withLock({ $0.written - $0.acked > limit && !$0.closed }) {
            usleep(20_000)
        }
    }

    /// Appends bytes (never blocks on the limit; see `waitForRoom`).
    public func append(_ bytes: [UInt8]) {
        if bytes.isEmpty { return }
        let offset = state.withLock { $0.written }
        var done = 0
        bytes.withUnsafeBytes { raw in
            while done < raw.count {
                let n = pwrite(fd, raw.baseAddress! + done, raw.count - done, off_t(offset) + off_t(done))
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                done += n
            }
        }
        state.withLock { $0.written += Int64(done) }
        activity.notify()
    }

    /// Wakes the reader waiting for bytes (to look at something else that changed, such as the end of the job).
    public func wakeReader() {
        activity.notify()
    }

    /// Returns once bytes were appended (or `wakeReader` was called) since the reader last waited.
    public func waitForActivity() async {
        await activity.wait()
    }

    /// Reads up to `max` bytes starting at `offset`.
    public func read(from offset: Int64, max: Int) -> Data {
        let available = Int(Swift.max(0, Swift.min(Int64(max), written - offset)))
        if available == 0 { return Data() }
        var data = Data(count: available)
        let got = data.withUnsafeMutableBytes { raw in pread(fd, raw.baseAddress!, available, off_t(offset)) }
        return got > 0 ? data.prefix(got) : Data()
    }

    /// Records that the server holds everything before `offset`, and frees that part of the file.
    public func acknowledge(upTo offset: Int64) {
        let (old, new) = state.withLock { s -> (Int64, Int64) in
            let old = s.acked
            s.acked = Swift.min(Swift.max(s.acked, offset), s.written)
            return (old, s.acked)
        }
        let block: Int64 = 1 << 20
        if new / block > old / block {
            _ = fallocatePunch(fd, length: (new / block) * block)
        }
    }

    /// Moves the acknowledged mark back (the server lost bytes), so they are sent again.
    public func rewind(to offset: Int64) {
        state.withLock { $0.acked = Swift.max(0, Swift.min(offset, $0.written)) }
    }

    /// Stops blocking writers (the job ended or the log is no longer wanted).
    public func stopWaiting() {
        state.withLock { $0.closed = true }
    }

    private func fallocatePunch(_ fd: Int32, length: Int64) -> Int32 {
        // FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE: the file keeps its offsets, the disk blocks are freed.
        typealias Fallocate = @convention(c) (Int32, Int32, off_t, off_t) -> Int32
        guard let sym = dlsym(nil, "fallocate") else { return -1 }
        return unsafeBitCast(sym, to: Fallocate.self)(fd, 0x02 | 0x01, 0, off_t(length))
    }
}

/// The sink a job's output goes through on its way to the server: masked, then spooled.
public final class LogSink: Sendable {
    private let masker: Mutex<SecretMasker>
    public let spool: LogSpool

    /// A sink masking `secrets` into `spool`.
    public init(secrets: [String], spool: LogSpool) {
        self.masker = Mutex(SecretMasker(values: secrets))
        self.spool = spool
    }

    /// Takes output bytes (thread-safe; bytes from one caller keep their order).
    public func write(_ data: Data) {
        masker.withLock { m in
            spool.append(m.feed(Array(data)))
        }
    }

    /// Ends the stream: writes whatever the masker held back.
    public func finish() {
        masker.withLock { m in spool.append(m.flush()) }
    }
}
