import Foundation
import MonitorModels
import Testing
@testable import ServerAPIClient

/// Reading the timestamped log answer: JSON lines, unknown times, only the lines asked for.
@Suite struct LogStampsTests {
    let body = Data("""
        {"at":"2026-11-30T03:00:00.120Z","offset":0,"text":"$ make -j4"}
        {"at":null,"offset":11,"text":""}
        {"at":"2026-11-30T03:00:00.870Z","offset":12,"text":"cc -c main.c"}

        """.utf8)

    @Test func readsEveryLineAndTheNextOffsetHeader() throws {
        let page = try LogStampReader.parse(body, maxLines: 10, headerNext: 25)
        #expect(page.stamps.map(\.offset) == [0, 11, 12] && page.nextOffset == 25)
        #expect(page.stamps[1].at == nil, "a log from before version 2 has no arrival times")
        #expect(page.stamps[0].at == RFC3339.parse("2026-11-30T03:00:00.120Z"))
    }

    @Test func stopsAfterTheLinesAskedFor() throws {
        let page = try LogStampReader.parse(body, maxLines: 1, headerNext: 25)
        #expect(page.stamps.map(\.offset) == [0] && page.nextOffset == 11)
    }

    @Test func anUnreadableLineIsABadResponse() {
        #expect(throws: ClientError.self) { try LogStampReader.parse(Data("not json\n".utf8), maxLines: 5, headerNext: nil) }
    }
}
