import Foundation
import MonitorModels
import ServerAPIClient
import Synchronization

/// Ships a job's spooled log to the server in chunks with byte offsets: as soon as output arrives (the
/// spool wakes it on each append, so the first bytes after a quiet spell go out at once; output that comes
/// while a chunk is in flight goes in the next one, so batches form by themselves), one request at a time,
/// at most 256 KiB a chunk, retried until acknowledged; a `log_gap` resends from the server's size.
/// It stops for good when the job is no longer this agent's (`job_reassigned`, ...).
public final class LogShipper: Sendable {
    /// Largest chunk sent in one request.
    public static let chunkLimit = 256 * 1024

    let spool: LogSpool
    let jobId: Int64
    let attempt: Int
    let append: @Sendable (Int64, Int, Int64, Data) async throws(ClientError) -> Int64
    let monitor: ConnectionMonitor?
    let interval: Duration
    /// Told the number of bytes each acknowledged chunk added (StatsD `log.bytes`).
    let shipped: @Sendable (Int64) -> Void
    private let state: Mutex<(base: Int64, finishing: Bool, fatal: ClientError?, abandoned: ClientError?)>
    private let giveUpAt = Mutex<ContinuousClock.Instant?>(nil)

    /// A shipper for job `jobId`/`attempt` whose first byte goes at server offset `base` (the job's `logSize`).
    public init(
        spool: LogSpool, jobId: Int64, attempt: Int, base: Int64, monitor: ConnectionMonitor?,
        interval: Duration = .zero, shipped: @escaping @Sendable (Int64) -> Void = { _ in },
        append: @escaping @Sendable (Int64, Int, Int64, Data) async throws(ClientError) -> Int64
    ) {
        self.spool = spool
        self.jobId = jobId
        self.attempt = attempt
        self.append = append
        self.monitor = monitor
        self.interval = interval
        self.shipped = shipped
        self.state = Mutex((base, false, nil, nil))
    }

    /// Asks `run` to send what is left and return.
    public func finish() {
        state.withLock { $0.finishing = true }
        spool.wakeReader()
    }

    /// The agent is stopping: if the server stays unreachable past `after`, stop retrying (the job is lost anyway).
    public func giveUpWhenUnreachable(after: Duration) {
        giveUpAt.withLock { if $0 == nil { $0 = .now + after } }
    }

    /// The error that made the shipper give up on this log while the job is still ours, if any.
    public var abandonedError: ClientError? { state.withLock { $0.abandoned } }

    /// The error that stopped shipping for good, if any.
    public var fatalError: ClientError? { state.withLock { $0.fatal } }

    /// Ships until `finish` was called and every byte is acknowledged, or a fatal answer came.
    /// `onFatal` is told once about a fatal answer (the job is no longer this agent's).
    public func run(onFatal: @Sendable (ClientError) -> Void) async {
        var backoff = Backoff(initial: .milliseconds(100), cap: .seconds(5))
        var lastSend = ContinuousClock.now
        var oddFailures = 0
        while true {
            let (base, finishing) = state.withLock { ($0.base, $0.finishing) }
            let acked = spool.acked
            let pending = spool.written - acked
            if pending == 0 {
                if finishing { return }
                await spool.waitForActivity()  // the next append (or `finish`) wakes it: no polling delay
                continue
            }
            if pending < Int64(Self.chunkLimit) && !finishing && ContinuousClock.now - lastSend < interval {
                try? await Task.sleep(until: lastSend + interval)
                continue
            }
            let chunk = spool.read(from: acked, max: Self.chunkLimit)
            lastSend = .now
            do {
                let size = try await append(jobId, attempt, base + acked, chunk)
                monitor?.succeeded()
                backoff.reset()
                spool.acknowledge(upTo: max(acked + Int64(chunk.count), size - base))
                if spool.acked > acked { shipped(spool.acked - acked) }
            } catch {
                if let size = Self.gapSize(error) {
                    monitor?.succeeded()
                    if size >= base {
                        spool.rewind(to: size - base)
                    } else {
                        state.withLock { $0.base = size }  // the server holds less than the job began with
                        spool.rewind(to: 0)
                    }
                    continue
                }
                if error.isTransient {
                    monitor?.failed(error)
                    if let limit = giveUpAt.withLock({ $0 }), ContinuousClock.now > limit {
                        spool.stopWaiting()
                        return
                    }
                } else if Self.isFatal(error) {
                    state.withLock { $0.fatal = error }
                    spool.stopWaiting()
                    onFatal(error)
                    return
                } else if oddFailures >= 5 {
                    // The server keeps refusing these bytes (a bug on one side): stop shipping, let the job finish.
                    state.withLock { $0.abandoned = error }
                    spool.stopWaiting()
                    return
                } else {
                    oddFailures += 1
                }
                try? await Task.sleep(for: backoff.next())
            }
        }
    }

    static func gapSize(_ error: ClientError) -> Int64? {
        if case .api(_, let e) = error, e.knownCode == .logGap { return e.size ?? 0 }
        return nil
    }

    /// Answers that mean this job's log is no longer ours to write.
    static func isFatal(_ error: ClientError) -> Bool {
        switch error.code {
        case .jobReassigned, .jobFinished, .forbidden, .notFound, .unauthorized: true
        default: false
        }
    }
}
