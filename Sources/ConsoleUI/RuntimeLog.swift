import Foundation
import MonitorModels
import ServerAPIClient

/// The log view's reads: the live tail, pages by byte offset, searches and timestamps.
extension Runtime {
    /// Follows a job's log with the log long poll until it is complete or another log is opened.
    func startTail(_ id: Int64, _ start: Int64) {
        let api = self.api, queue = self.queue
        let task = Task {
            if let job = try? await api.getJob(id) {
                queue.post(.events([Event(seq: 0, type: .jobUpdated, job: job)]))
            }
            var offset = start
            var delay = 0.25
            while !Task.isCancelled {
                do throws(ClientError) {
                    let slice = try await api.readLog(id, offset, 20)
                    if Task.isCancelled { return }
                    queue.post(.logReceived(jobId: id, slice))
                    offset += Int64(slice.bytes.count)
                    delay = 0.25
                    if slice.complete, slice.bytes.isEmpty || offset >= slice.totalSize { return }
                } catch {
                    if Task.isCancelled { return }
                    if !error.isTransient { return queue.post(Self.logError(id, error)) }
                    try? await Task.sleep(for: .seconds(delay))
                    delay = min(delay * 2, 5)
                }
            }
        }
        replaceLogTask(.tail, task)
    }

    /// Follows a job's log for the detail pane (a long poll, like the log view's tail) until it is complete.
    func startDetailTail(_ id: Int64, _ start: Int64) {
        let api = self.api, queue = self.queue
        let task = Task {
            var offset = start
            var delay = 0.25
            while !Task.isCancelled {
                do throws(ClientError) {
                    let slice = try await api.readLog(id, offset, 20)
                    if Task.isCancelled { return }
                    if !slice.bytes.isEmpty { queue.post(.detailLog(jobId: id, slice)) }
                    offset += Int64(slice.bytes.count)
                    delay = 0.25
                    if slice.complete, slice.bytes.isEmpty || offset >= slice.totalSize { return }
                } catch {
                    if Task.isCancelled || !error.isTransient { return }
                    try? await Task.sleep(for: .seconds(delay))
                    delay = min(delay * 2, 5)
                }
            }
        }
        replaceLogTask(.detail, task)
    }

    /// Reads one page for the log view, retrying while the server cannot be reached.
    func startFetch(_ id: Int64, _ fetch: LogFetch) {
        let api = self.api, queue = self.queue
        let task = Task {
            var delay = 0.25
            while !Task.isCancelled {
                do throws(ClientError) {
                    let page = try await Self.readPage(api, id, fetch)
                    if !Task.isCancelled { queue.post(.logPage(jobId: id, page)) }
                    return
                } catch {
                    if Task.isCancelled { return }
                    if !error.isTransient { return queue.post(Self.logError(id, error)) }
                    try? await Task.sleep(for: .seconds(delay))
                    delay = min(delay * 2, 5)
                }
            }
        }
        replaceLogTask(.page, task)
    }

    /// Searches the whole log page by page, posting progress, then the outcome (nothing when cancelled).
    func startSearch(_ id: Int64, _ request: LogSearchRequest) {
        let api = self.api, queue = self.queue
        let task = Task {
            let progress: @Sendable (Double) -> Void = { queue.post(.logSearchProgress(jobId: id, request, $0)) }
            guard let outcome = await Self.search(api, id, request, progress: progress), !Task.isCancelled else { return }
            queue.post(.logSearchDone(jobId: id, request, outcome))
        }
        replaceLogTask(.search, task)
    }

    /// Reads the arrival times of the lines starting in request.from..<request.to.
    func startStamps(_ id: Int64, _ request: LogStampRequest) {
        let api = self.api, queue = self.queue
        let task = Task {
            let action = await Self.stamps(api, id, request)
            if !Task.isCancelled { queue.post(action) }
        }
        replaceLogTask(.stamps, task)
    }

    /// Runs one log search; nil when cancelled.
    static func search(_ api: AdminAPI, _ id: Int64, _ request: LogSearchRequest,
                       progress: @escaping @Sendable (Double) -> Void) async -> LogSearchOutcome? {
        let search = LogPagedSearch(request, read: { (from, to) async throws(ClientError) in
            let got = try await readRange(api, id, from: from, to: to)
            return (got.bytes, got.totalSize)
        }, progress: progress)
        do throws(ClientError) {
            return try await search.run()
        } catch {
            return .failed(error.description)
        }
    }

    /// The arrival times of the lines starting in request.from..<request.to, as the action that delivers them.
    static func stamps(_ api: AdminAPI, _ id: Int64, _ request: LogStampRequest) async -> Action {
        var stamps: [LogStamp] = []
        var offset = request.from
        var reads = 0
        do throws(ClientError) {
            while offset < request.to, reads < 8, !Task.isCancelled {
                reads += 1
                let page = try await api.readLogTimestamps(id, offset, 500)
                stamps += page.stamps.filter { $0.offset < request.to }
                guard page.nextOffset > offset, !page.stamps.isEmpty else { break }
                offset = page.nextOffset
            }
            return .logStamps(jobId: id, request, stamps)
        } catch {
            return .logStampsFailed(jobId: id, error.description)
        }
    }

    /// A failed log read as the action that shows it (410 means the log was removed).
    static func logError(_ id: Int64, _ error: ClientError) -> Action {
        .logFailed(jobId: id, error.description, gone: error.status == 410)
    }

    /// The bytes of one `LogFetch`.
    static func readPage(_ api: AdminAPI, _ id: Int64, _ fetch: LogFetch) async throws(ClientError) -> LogPage {
        let page = LogFetch.pageBytes, tail = LogFetch.tailBytes
        var from: Int64, to: Int64
        switch fetch {
        case .tail(let hint):
            // The job's size now (a list's copy may be old); the first read checks it again.
            let size = max(hint, (try? await api.getJob(id))?.logSize ?? 0)
            from = max(0, size - tail)
            var got = try await readRange(api, id, from: from, to: from + page)
            // A stale size hint: the end is further on, so read again from near the real end.
            if from + Int64(got.bytes.count) < got.totalSize || from > got.totalSize {
                from = max(0, got.totalSize - tail)
                got = try await readRange(api, id, from: from, to: from + page)
            }
            return LogPage(fetch: fetch, offset: from, bytes: got.bytes, totalSize: got.totalSize, complete: got.complete)
        case .top: (from, to) = (0, page)
        case .before(let start): (from, to) = (max(0, start - page), start)
        case .after(let end): (from, to) = (end, end + page)
        case .around(let offset): from = max(0, offset - tail); to = from + page
        }
        let got = try await readRange(api, id, from: from, to: to)
        return LogPage(fetch: fetch, offset: from, bytes: got.bytes, totalSize: got.totalSize, complete: got.complete)
    }

    /// The log bytes in from..<to (fewer at the log's end): as many reads as it takes, since an answer
    /// may hold fewer bytes than asked for.
    static func readRange(_ api: AdminAPI, _ id: Int64, from: Int64, to: Int64) async throws(ClientError)
        -> (bytes: Data, totalSize: Int64, complete: Bool) {
        var out = Data()
        var offset = from, total: Int64 = 0, complete = false
        repeat {
            let s = try await api.readLog(id, offset, 0)
            total = max(total, s.totalSize)
            complete = s.complete
            let take = s.bytes.prefix(Int(max(0, min(Int64(s.bytes.count), to - offset))))
            out.append(take)
            offset += Int64(take.count)
            if s.bytes.isEmpty || offset >= s.totalSize { break }
        } while offset < to && !Task.isCancelled
        return (out, max(total, offset), complete)
    }
}
