import Foundation
import ServerAPIClient

/// `S` in the Log view: save the job's whole log, as the server holds it, to a new file.
public struct LogSaveRequest: Sendable, Equatable {
    public var jobId: Int64
    /// The directory the file goes in (the console's current directory).
    public var directory: String
    /// The file name without ".log": "mms-job-42-20261130-081502" ("-2", "-3" … are added when taken).
    public var baseName: String
    /// A save of job `jobId`'s log to `directory`/`baseName`.log.
    public init(jobId: Int64, directory: String, baseName: String) {
        self.jobId = jobId
        self.directory = directory
        self.baseName = baseName
    }
}

/// How a save ended.
public enum LogSaveOutcome: Sendable, Equatable {
    /// Every byte up to `bytes` is in the file at `path`; `growing` when the log was still being written
    /// (the file then holds the log up to its size when the save began).
    case saved(path: String, bytes: Int64, growing: Bool)
    /// Nothing kept (the file, if made, is removed); the message says why (the server's sentence for a removed log).
    case failed(String)
}

/// A save in progress: bytes written of how many.
public struct LogSaveProgress: Sendable, Equatable {
    public var request: LogSaveRequest
    public var written: Int64 = 0
    public var total: Int64 = 0
}

/// Copies a log from the server into a new file page by page (the server answers ≤ 1 MiB a read).
struct LogSaver: Sendable {
    typealias Read = @Sendable (_ offset: Int64) async throws(ClientError) -> LogSlice
    let request: LogSaveRequest
    let read: Read
    /// Told bytes written and the bytes to write after each page.
    let progress: @Sendable (Int64, Int64) -> Void
    /// The first wait before reading again after a transient failure (doubling, at most 5 s, 8 tries).
    var retryDelay: Duration = .milliseconds(250)

    /// Runs the save; nil when the task was cancelled (the partial file is removed).
    func run() async -> LogSaveOutcome? {
        let (fd, path): (Int32, String)
        switch Self.create(request) {
        case .success(let made): (fd, path) = made
        case .failure(let why): return .failed(why.text)
        }
        var ok = false
        defer {
            close(fd)
            if !ok { unlink(path) }
        }
        do throws(ClientError) {
            var slice = try await readRetrying(0)
            let limit = slice.totalSize, growing = !slice.complete
            var offset: Int64 = 0
            while offset < limit {
                if Task.isCancelled { return nil }
                if offset > 0 { slice = try await readRetrying(offset) }
                let take = slice.bytes.prefix(Int(min(Int64(slice.bytes.count), limit - offset)))
                if take.isEmpty { break }  // the server holds less than it said: keep what it gave
                if let why = Self.write(take, fd) { return .failed("cannot write \(Self.shown(path)): \(why)") }
                offset += Int64(take.count)
                progress(offset, limit)
            }
            if Task.isCancelled { return nil }
            ok = true
            return .saved(path: path, bytes: offset, growing: growing)
        } catch {
            return .failed(error.status == 410 ? error.description : "not saved: \(error.description)")
        }
    }

    /// One read, tried again while the server cannot be reached (a replica moving, a restart).
    func readRetrying(_ offset: Int64) async throws(ClientError) -> LogSlice {
        var delay = retryDelay, tries = 0
        while true {
            do throws(ClientError) {
                return try await read(offset)
            } catch {
                tries += 1
                if !error.isTransient || tries >= 8 || Task.isCancelled { throw error }
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(5))
            }
        }
    }

    /// A failure as a sentence.
    struct Why: Error { var text: String }

    /// Makes a new file (never an existing one): NAME.log, else NAME-2.log, NAME-3.log ….
    static func create(_ r: LogSaveRequest) -> Result<(Int32, String), Why> {
        for n in 1...1000 {
            let name = r.baseName + (n == 1 ? "" : "-\(n)") + ".log"
            let path = (r.directory as NSString).appendingPathComponent(name)
            let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            if fd >= 0 { return .success((fd, path)) }
            let err = errno
            if err != EEXIST { return .failure(Why(text: "cannot save to \(shown(path)): \(String(cString: strerror(err)).lowercased())")) }
        }
        return .failure(Why(text: "cannot save: \(r.baseName)-1000.log and every name before it exist in \(r.directory)"))
    }

    /// Writes all of `bytes`; the error's sentence when it cannot.
    static func write(_ bytes: Data, _ fd: Int32) -> String? {
        bytes.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> String? in
            var done = 0
            while done < raw.count {
                let n = Foundation.write(fd, raw.baseAddress! + done, raw.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    return String(cString: strerror(errno)).lowercased()
                }
                done += n
            }
            return nil
        }
    }

    /// "./name" for a file in the current directory, else the path as it is.
    static func shown(_ path: String) -> String {
        let dir = (path as NSString).deletingLastPathComponent
        return dir == FileManager.default.currentDirectoryPath ? "./" + (path as NSString).lastPathComponent : path
    }
}

extension AppState {
    /// `S`: saves the open log to DIR/mms-job-ID-YYYYMMDD-HHMMSS.log (UTC), every byte the server holds.
    mutating func saveLog(_ l: LogState) -> [Effect] {
        if let gone = l.gone {
            message = Message(gone, isError: true)
            return []
        }
        if let running = logSave {
            message = Message("already saving the log of job \(running.request.jobId); Esc in its log cancels")
            return []
        }
        let f = DateFormatter()
        f.dateFormat = "yyyyMMdd-HHmmss"
        f.timeZone = TimeZone(identifier: "UTC")
        let request = LogSaveRequest(jobId: l.jobId, directory: exportDirectory, baseName: "mms-job-\(l.jobId)-\(f.string(from: now))")
        logSave = LogSaveProgress(request: request)
        message = nil
        return [.saveLog(request)]
    }

    /// Esc while a save runs: stop it (the runtime removes the partial file).
    mutating func cancelSave() -> [Effect] {
        guard let running = logSave else { return [] }
        logSave = nil
        message = Message("save of the log of job \(running.request.jobId) cancelled; no file kept")
        return [.cancelSave]
    }

    /// Progress of the running save.
    mutating func saveProgressed(_ r: LogSaveRequest, written: Int64, total: Int64) -> [Effect] {
        guard logSave?.request == r else { return [] }
        logSave?.written = written
        logSave?.total = total
        return []
    }

    /// The end of a save: where the file is and how much it holds, or why there is none.
    mutating func saveDone(_ r: LogSaveRequest, _ outcome: LogSaveOutcome) -> [Effect] {
        guard logSave?.request == r else { return [] }
        logSave = nil
        switch outcome {
        case .saved(let path, let bytes, let growing):
            var text = "saved \(byteSize(bytes)) to \(LogSaver.shown(path))"
            if growing { text += " (the log is still growing: saved up to its size when S was pressed)" }
            message = Message(text)
        case .failed(let why):
            message = Message(why, isError: true)
        }
        return []
    }

    /// The status line while a save runs: "saving the log of job 42… 3.0 MiB of 12.3 MiB · 24%  (Esc cancels)".
    var saveStatus: String? {
        guard let p = logSave else { return nil }
        let percent = p.total > 0 ? " · \(Int(p.written * 100 / p.total))%" : ""
        return "saving the log of job \(p.request.jobId)… \(byteSize(p.written)) of \(p.total > 0 ? byteSize(p.total) : "?")\(percent)  (Esc cancels)"
    }
}
