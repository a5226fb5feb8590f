import Foundation
import MonitorModels
import ServerAPIClient
import Testing
@testable import ConsoleUI

/// `S` in the Log view: the whole log, as the server holds it, into a new file named after the job and the time.
@Suite struct LogSaveTests {
    static let big = FakeLog.numbered(300_000) // 3.9 MB: four 1 MiB pages, more than the window holds
    static let fileName = "mms-job-41-20261118-110640.log"  // Fixtures.now in UTC

    /// A fresh empty directory.
    static func directory() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mms-save-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    /// Job 41's log opened against `log`, saving into `dir`.
    func open(_ log: FakeLog, _ dir: String, size: Size = Fixtures.small) async -> AppState {
        var s = Fixtures.state(size)
        s.exportDirectory = dir
        _ = s.press(.char("2"), .down, .down)
        await s.settle(s.update(.key(.enter)), log.api())
        return s
    }

    @Test func savesEveryByteOfABigLogThroughPagesNotJustTheWindow() async throws {
        let dir = try Self.directory()
        let log = FakeLog(Self.big, shortReads: true)
        var s = await open(log, dir)
        #expect(s.log!.window.start > 0, "the window holds only the end")
        let readsBefore = log.readOffsets.count
        let run = await s.pressSettled(log.api(), .char("S"))
        #expect(run.effects.first == .saveLog(LogSaveRequest(jobId: 41, directory: dir, baseName: "mms-job-41-20261118-110640")))
        let path = dir + "/" + Self.fileName
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Self.big)
        #expect(log.readOffsets.count - readsBefore > 4, "short reads of at most 1 MiB: many pages")
        #expect(run.progress == run.progress.sorted() && run.progress.last == 1)
        #expect(s.message?.text == "saved \(byteSize(Int64(Self.big.count))) to \(path)")
        #expect(s.logSave == nil)
    }

    @Test func anExistingFileIsNeverOverwritten() async throws {
        let dir = try Self.directory()
        let log = FakeLog(Data("one\ntwo\n".utf8))
        var s = await open(log, dir)
        try Data("mine".utf8).write(to: URL(fileURLWithPath: dir + "/" + Self.fileName))
        await s.pressSettled(log.api(), .char("S"))
        await s.pressSettled(log.api(), .char("S"))
        #expect(try String(contentsOfFile: dir + "/" + Self.fileName, encoding: .utf8) == "mine")
        #expect(try String(contentsOfFile: dir + "/mms-job-41-20261118-110640-2.log", encoding: .utf8) == "one\ntwo\n")
        #expect(try String(contentsOfFile: dir + "/mms-job-41-20261118-110640-3.log", encoding: .utf8) == "one\ntwo\n")
        #expect(s.message?.text.hasSuffix("-3.log") == true)
    }

    @Test func aGrowingLogIsSavedUpToItsSizeWhenSWasPressed() async throws {
        let dir = try Self.directory()
        let start = FakeLog.numbered(100_000)
        let log = FakeLog(start, complete: false)
        var api = log.api()
        api.readLog = { _, offset, _ throws(ClientError) in
            let slice = try log.read(offset)
            log.grow(Data("more output while saving\n".utf8))
            return slice
        }
        var s = await open(log, dir)
        let sizeAtPress = log.size
        await s.settle(s.update(.key(.char("S"))), api)
        let saved = try Data(contentsOf: URL(fileURLWithPath: dir + "/" + Self.fileName))
        #expect(saved == start && Int64(saved.count) == sizeAtPress, "not the bytes written after S")
        #expect(log.size > sizeAtPress)
        #expect(s.message?.text.contains("still growing: saved up to its size when S was pressed") == true)
    }

    @Test func aRemovedLogSaysTheServersSentenceAndLeavesNoFile() async throws {
        let dir = try Self.directory()
        let sentence = "the log of job 41 was removed (older than 30 days)"
        let r = LogSaveRequest(jobId: 41, directory: dir, baseName: "mms-job-41-x")
        #expect(await Runtime.save(FakeLog(Data(), gone: sentence).api(), r, progress: { _, _ in }) == .failed(sentence))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty)
        // A log already known to be gone: S says so without reading.
        var s = await open(FakeLog(Data(), gone: sentence), dir)
        #expect(s.press(.char("S")) == [])
        #expect(s.message?.text.contains("removed") == true && s.message?.isError == true)
    }

    @Test func aFileThatCannotBeMadeSaysWhyWithThePath() async throws {
        let dir = try Self.directory() + "/missing"
        let r = LogSaveRequest(jobId: 41, directory: dir, baseName: "mms-job-41-x")
        let outcome = await Runtime.save(FakeLog(Data("x\n".utf8)).api(), r, progress: { _, _ in })
        #expect(outcome == .failed("cannot save to \(dir)/mms-job-41-x.log: no such file or directory"))
        var s = Fixtures.state()
        s.logSave = LogSaveProgress(request: r)
        _ = s.update(.logSaveDone(r, outcome!))
        #expect(s.message?.isError == true && s.message?.text.contains(dir) == true && s.logSave == nil)
    }

    @Test func escCancelsASaveAndThePartialFileGoes() async throws {
        let dir = try Self.directory()
        let log = FakeLog(Self.big)
        var s = await open(log, dir)
        let effects = s.press(.char("S"))
        guard case .saveLog(let r) = effects.first else { Issue.record("no save: \(effects)"); return }
        _ = s.update(.logSaveProgress(r, written: 1 << 20, total: 4 << 20))
        #expect(render(s, Fixtures.small).text.contains("saving the log of job 41… 1.0 MiB of 4.0 MiB · 25%  (Esc cancels)"))
        #expect(s.press(.char("S")) == [], "one save at a time")
        #expect(s.press(.escape) == [.cancelSave])
        #expect(s.view == .log && s.logSave == nil, "Esc stops the save first, then leaves")
        _ = s.update(.logSaveDone(r, .saved(path: "x", bytes: 1, growing: false)))
        #expect(s.message?.text.contains("cancelled") == true, "a late outcome of a cancelled save is ignored")
        // The runtime's side: cancelled during the second page, it keeps no file.
        let saver = LogSaver(request: r, read: { offset async throws(ClientError) in
            if offset > 0 { withUnsafeCurrentTask { $0?.cancel() } }
            return try log.read(offset)
        }, progress: { _, _ in })
        #expect(await Task { await saver.run() }.value == nil)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty)
    }

    @Test func aServerThatStopsAnsweringForAWhileIsReadAgain() async throws {
        let dir = try Self.directory()
        let log = FakeLog(Self.big)
        let failures = LockedList<Int64>()
        let r = LogSaveRequest(jobId: 41, directory: dir, baseName: "retry")
        let saver = LogSaver(request: r, read: { offset async throws(ClientError) in
            if offset > 0, failures.items.filter({ $0 == offset }).count < 2 {
                failures.append(offset)
                throw ClientError.unreachable("connection refused")
            }
            return try log.read(offset)
        }, progress: { _, _ in }, retryDelay: .zero)
        #expect(await saver.run() == .saved(path: dir + "/retry.log", bytes: Int64(Self.big.count), growing: false))
        #expect(try Data(contentsOf: URL(fileURLWithPath: dir + "/retry.log")) == Self.big)
        #expect(failures.items.count == 6, "three pages after the first, each refused twice")
        // A refusal that is not transient ends the save at once.
        let refused = LogSaver(request: LogSaveRequest(jobId: 41, directory: dir, baseName: "refused"), read: { _ async throws(ClientError) in
            throw ClientError.api(status: 403, error: APIError(.forbidden, "no"))
        }, progress: { _, _ in }, retryDelay: .zero)
        #expect(await refused.run() == .failed("not saved: " + ClientError.api(status: 403, error: APIError(.forbidden, "no")).description))
        #expect(!FileManager.default.fileExists(atPath: dir + "/refused.log"))
    }

    @Test func saveIsInTheFooterAndHelpAndNeedsOnlyTheViewerRole() {
        let hint = KeyHints.viewKeys(.log).first { $0.key == "S" }
        #expect(hint?.isDenied(to: OperatorIdentity(name: "v", role: .viewer)) == false)
        #expect(KeyHints.help(.log)[0].keys.contains { $0.key == "S" })
        var s = Fixtures.state()
        _ = s.update(.whoami(OperatorIdentity(name: "v", role: .viewer)))
        _ = s.press(.char("2"), .down, .down, .enter)
        _ = s.update(.logPage(jobId: 41, LogPage(fetch: .tail(sizeHint: 0), offset: 0, bytes: Data("a\n".utf8), totalSize: 2, complete: true)))
        #expect(render(s, Fixtures.small).text.contains("S save"))
    }

    @Test func snapshotsWhileSaving() {
        assertSnapshots({ size in
            var s = Fixtures.state(size)
            s.exportDirectory = "/tmp"
            _ = s.press(.char("2"), .down, .down, .enter)
            _ = s.update(.logPage(jobId: 41, LogPage(fetch: .tail(sizeHint: 0), offset: 0, bytes: FakeLog.numbered(60),
                                                    totalSize: 780, complete: false)))
            let r = LogSaveRequest(jobId: 41, directory: "/tmp", baseName: "mms-job-41-20261118-110640")
            _ = s.press(.char("S"))
            _ = s.update(.logSaveProgress(r, written: 3 << 20, total: 12 << 20))
            return s
        }, named: "log-saving", wide: true)
    }
}
