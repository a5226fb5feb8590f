import Foundation
import MonitorModels
import ServerAPIClient
@testable import ConsoleUI

/// A job log in memory behind a fake AdminAPI: at most `maxAnswer` bytes per read (fewer, varying with the
/// offset, when `shortReads`), every line stamped by `stamp`, every read recorded.
final class FakeLog: @unchecked Sendable {
    private let lock = NSLock()
    private var data: Data
    private var complete: Bool
    private var reads: [Int64] = []
    let maxAnswer: Int
    let shortReads: Bool
    let gone: String?
    let stamp: @Sendable (Int64) -> Date

    init(_ data: Data, complete: Bool = true, maxAnswer: Int = 1 << 20, shortReads: Bool = false, gone: String? = nil,
         stamp: @escaping @Sendable (Int64) -> Date = { Date(timeIntervalSince1970: 1_795_000_000 + Double($0) / 1000) }) {
        self.data = data
        self.complete = complete
        self.maxAnswer = maxAnswer
        self.shortReads = shortReads
        self.gone = gone
        self.stamp = stamp
    }

    /// "line 0000001\n" … up to `n`: 13 bytes a line.
    static func numbered(_ n: Int) -> Data {
        var out = [UInt8]()
        out.reserveCapacity(n * 13)
        for i in 1...n {
            out += Array("line ".utf8)
            var digits = [UInt8](repeating: 0x30, count: 7)
            var v = i
            for k in (0..<7).reversed() {
                digits[k] = 0x30 + UInt8(v % 10)
                v /= 10
            }
            out += digits
            out.append(0x0A)
        }
        return Data(out)
    }

    var size: Int64 { lock.withLock { Int64(data.count) } }
    var readOffsets: [Int64] { lock.withLock { reads } }

    /// Adds bytes at the end (a running job writing more).
    func grow(_ more: Data) { lock.withLock { data.append(more) } }

    func read(_ offset: Int64) throws(ClientError) -> LogSlice {
        if let gone { throw .api(status: 410, error: APIError(.gone, gone)) }
        return lock.withLock {
            reads.append(offset)
            let start = Int(min(offset, Int64(data.count)))
            let cap = shortReads ? max(1, maxAnswer / (1 + Int(offset % 3))) : maxAnswer
            let bytes = data.subdata(in: start..<min(data.count, start + cap))
            return LogSlice(offset: offset, bytes: bytes, totalSize: Int64(data.count), complete: complete)
        }
    }

    func stamps(_ offset: Int64, _ maxLines: Int) -> LogStampPage {
        lock.withLock {
            var out: [LogStamp] = []
            var s = Int(offset)
            while out.count < maxLines, s < data.count {
                guard let nl = data[s...].firstIndex(of: 0x0A) else {
                    if complete { out.append(LogStamp(offset: Int64(s), at: stamp(Int64(s)))) }
                    s = data.count
                    break
                }
                out.append(LogStamp(offset: Int64(s), at: stamp(Int64(s))))
                s = nl + 1
            }
            return LogStampPage(stamps: out, nextOffset: Int64(s))
        }
    }

    /// A client whose log calls read this log.
    func api() -> AdminAPI {
        var api = FakeServer().api()
        api.readLog = { _, offset, _ throws(ClientError) in try self.read(offset) }
        api.getJob = { id in Job(id: id, spec: JobSpec(name: "j", commands: ["true"]), logSize: self.size) }
        api.readLogTimestamps = { _, offset, maxLines in self.stamps(offset, maxLines) }
        return api
    }
}

/// What running log effects produced besides state changes.
struct Settled {
    var progress: [Double] = []
    var effects: [Effect] = []
}

extension AppState {
    /// Runs the log effects `effects` asks for against `api` as the runtime would (one read for a tail),
    /// feeding their actions back until no effect is left.
    @discardableResult
    mutating func settle(_ effects: [Effect], _ api: AdminAPI) async -> Settled {
        var out = Settled()
        var queue = effects
        while !queue.isEmpty {
            let e = queue.removeFirst()
            out.effects.append(e)
            var actions: [Action] = []
            switch e {
            case .fetchLog(let id, let fetch):
                do throws(ClientError) {
                    actions = [.logPage(jobId: id, try await Runtime.readPage(api, id, fetch))]
                } catch {
                    actions = [Runtime.logError(id, error)]
                }
            case .searchLog(let id, let r):
                let seen = LockedList<Double>()
                let outcome = await Runtime.search(api, id, r, progress: { seen.append($0) })
                out.progress += seen.items
                actions = seen.items.map { .logSearchProgress(jobId: id, r, $0) }
                if let outcome { actions.append(.logSearchDone(jobId: id, r, outcome)) }
            case .fetchStamps(let id, let r):
                actions = [await Runtime.stamps(api, id, r)]
            case .saveLog(let r):
                let seen = LockedList<Double>()
                let outcome = await Runtime.save(api, r, progress: { seen.append(Double($0) / Double(max(1, $1))) })
                out.progress += seen.items
                if let last = seen.items.last { actions.append(.logSaveProgress(r, written: Int64(last * 100), total: 100)) }
                if let outcome { actions.append(.logSaveDone(r, outcome)) }
            case .tailLog(let id, let offset):
                if let slice = try? await api.readLog(id, offset, 0), !slice.bytes.isEmpty {
                    actions = [.logReceived(jobId: id, slice)]
                }
            default:
                break
            }
            for a in actions { queue += update(a) }
        }
        return out
    }

    /// Presses keys, then runs what they asked for.
    @discardableResult
    mutating func pressSettled(_ api: AdminAPI, _ keys: Key...) async -> Settled {
        var out = Settled()
        for k in keys {
            let s = await settle(update(.key(k)), api)
            out.progress += s.progress
            out.effects += s.effects
        }
        return out
    }

    /// The lines on screen (clipped), as text.
    var shownLines: [String] {
        guard let l = log else { return [] }
        return l.shown(height: Layout.logHeight(size)).map { l.line($0) }
    }

    /// The window line index of the current match.
    var matchIndex: Int? {
        log?.match.flatMap { log?.window.line(containing: $0) }
    }
}

/// A list filled from any thread.
final class LockedList<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [T] = []
    func append(_ item: T) { lock.withLock { list.append(item) } }
    var items: [T] { lock.withLock { list } }
}
