import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Reads a job's output pipe on its own thread and hands each chunk to a sink, so a job that writes
/// fast never blocks the agent's tasks. The sink may block (backpressure reaches the job through the pipe).
public final class OutputPump: Sendable {
    private let fd: Int32
    private let sink: @Sendable (Data) -> Void
    private let waitForRoom: @Sendable () -> Void
    private let stopping = Atomic<Bool>(false)
    private let finished = Mutex<(done: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    /// A pump for the read end `fd` (it takes ownership and closes it when done).
    /// `waitForRoom` is called before each read and may block (backpressure).
    public init(fd: Int32, sink: @escaping @Sendable (Data) -> Void, waitForRoom: @escaping @Sendable () -> Void = {}) {
        self.fd = fd
        self.sink = sink
        self.waitForRoom = waitForRoom
    }

    /// Starts the reading thread.
    public func start() {
        let t = Thread { [self] in loop() }
        t.name = "mms-output"
        t.start()
    }

    /// Reads what is still in the pipe, then stops at end of file or once the pipe stays empty.
    public func finish() async {
        stopping.store(true, ordering: .releasing)
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let resumeNow = finished.withLock { state -> Bool in
                if state.done { return true }
                state.waiters.append(c)
                return false
            }
            if resumeNow { c.resume() }
        }
    }

    private func loop() {
        let size = 64 * 1024
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&p, 1, 100)
            if ready < 0 && errno == EINTR { continue }
            if ready == 0 {
                if stopping.load(ordering: .acquiring) { break }
                continue
            }
            waitForRoom()
            let n = read(fd, buffer, size)
            if n < 0 && (errno == EINTR || errno == EAGAIN) { continue }
            if n <= 0 { break }
            sink(Data(bytes: buffer, count: n))
        }
        close(fd)
        let waiters = finished.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.done = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for w in waiters { w.resume() }
    }
}
