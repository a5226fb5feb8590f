import Testing
@testable import MonitorServer
@testable import MonitorHTTP

/// The slow-loris deadlines as a pure table: which connection is late, and when.
@Suite struct DeadlineTableTests {
    let s: UInt64 = 1_000_000_000

    @Test func aHeadIsDueAfterTheConnectionOpensAndAfterEachAnswer() {
        var t = DeadlineTable(headNanos: 30 * s, bodyNanos: 60 * s)
        t.opened(1, socket: 7, now: 0)
        #expect(t.expired(now: 29 * s).isEmpty)
        t.headArrived(1, now: 10 * s)
        t.requestArrived(1)
        #expect(t.expired(now: 500 * s).isEmpty, "a request being answered (a long poll) has no deadline")
        t.answered(1, now: 500 * s)
        #expect(t.expired(now: 529 * s).isEmpty)
        let late = t.expired(now: 530 * s)
        #expect(late.count == 1 && late.first?.socket == 7 && late.first?.phase == .head)
        #expect(t.expired(now: 9_999 * s).isEmpty, "reported once")
    }

    @Test func aBodyIsDueAfterItsHead() {
        var t = DeadlineTable(headNanos: 30 * s, bodyNanos: 60 * s)
        t.opened(1, socket: 7, now: 0)
        t.opened(2, socket: 8, now: 0)
        t.headArrived(1, now: 20 * s)
        let late = t.expired(now: 30 * s)
        #expect(late.map(\.socket) == [8], "only the one still without a head")
        #expect(t.expired(now: 79 * s).isEmpty)
        #expect(t.expired(now: 80 * s).map(\.phase) == [.body])
    }

    @Test func aClosedConnectionIsForgottenAndEventsForUnknownOnesAreIgnored() {
        var t = DeadlineTable(headNanos: 30 * s, bodyNanos: 60 * s)
        t.opened(1, socket: 7, now: 0)
        t.closed(1)
        t.headArrived(2, now: 0)
        t.answered(2, now: 0)
        #expect(t.entries.isEmpty)
        #expect(t.expired(now: 1_000 * s).isEmpty)
    }
}
