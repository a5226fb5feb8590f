import Foundation
import MonitorModels
import ServerAPIClient
import Testing
@testable import ConsoleUI

/// Every view and prompt at 80x24 and 120x40, as text.
@Suite struct SnapshotTests {
    @Test func agents() {
        assertSnapshots({ Fixtures.state($0) }, named: "agents")
    }

    @Test func agentsMarkedAndSortedByStatus() {
        assertSnapshots({ size in
            var s = Fixtures.state(size)
            _ = s.press(.char(" "), .down, .char(" "), .char(">"))
            return s
        }, named: "agents-marked-sorted")
    }

    @Test func agentsFilterLine() {
        assertSnapshots({ size in
            var s = Fixtures.state(size)
            _ = s.press(.char("/"))
            _ = s.type("gpu")
            return s
        }, named: "agents-filter")
    }

    @Test func agentsEmpty() {
        assertSnapshots({ AppState(serverURL: "http://127.0.0.1:8765", now: Fixtures.now, size: $0) }, named: "agents-empty")
    }

    @Test func reconnectingBanner() {
        assertSnapshots({ size in
            var s = Fixtures.state(size)
            _ = s.update(.connection(.reconnecting(reason: "connection refused; retrying in 2.0 s")))
            return s
        }, named: "agents-reconnecting")
    }

    @Test func readOnlyRefusal() {
        assertSnapshots({ size in
            var s = Fixtures.state(size, readOnly: true)
            _ = s.press(.char("a"))
            return s
        }, named: "agents-read-only")
    }

    @Test func jobs() {
        assertSnapshots({ size in
            var s = Fixtures.state(size)
            _ = s.press(.char("2"))
            return s
        }, named: "jobs")
    }

    @Test func config() {
        assertSnapshots({ size in
            var s = Fixtures.state(size)
            _ = s.press(.char("3"))
            return s
        }, named: "config")
    }

    @Test func log() {
        assertSnapshots({ size in
            var s = Fixtures.state(size)
            _ = s.press(.char("2"), .down, .down, .enter)
            _ = s.update(.logReceived(jobId: 41, Fixtures.logSlice(lines: 60)))
            return s
        }, named: "log-follow")
    }

    @Test func logSearchAndWrap() {
        assertSnapshots({ size in
            var s = Fixtures.state(size)
            _ = s.press(.char("2"), .down, .down, .enter)
            _ = s.update(.logReceived(jobId: 41, Fixtures.logSlice(lines: 12, complete: true)))
            _ = s.press(.char("w"), .char("/"))
            _ = s.type("quota")
            _ = s.press(.enter)
            return s
        }, named: "log-search-wrap")
    }

    @Test func logTimestamps() {
        assertSnapshots({ size in
            var s = Fixtures.state(size)
            s.timeZone = TimeZone(identifier: "UTC") ?? .current
            _ = s.press(.char("2"), .down, .down, .enter)
            _ = s.update(.logReceived(jobId: 41, Fixtures.logSlice(lines: 60)))
            guard case .fetchStamps(41, let r)? = s.press(.char("t")).first, let l = s.log else {
                Issue.record("t asks for the timestamps of the lines on screen")
                return s
            }
            // Lines 1-42 arrived yesterday (the date shows), the rest today, 9 s apart.
            let stamps = (0..<l.lineCount).map { k in
                LogStamp(offset: l.window.offset(of: k), at: Fixtures.ago(Double(60 - k) * 9 + (k < 42 ? 86400 : 0)))
            }.filter { $0.offset >= r.from && $0.offset < r.to }
            _ = s.update(.logStamps(jobId: 41, r, stamps))
            return s
        }, named: "log-timestamps")
        assertSnapshots({ size in
            var s = Fixtures.state(size)
            s.timeZone = TimeZone(identifier: "UTC") ?? .current
            _ = s.press(.char("2"), .down, .down, .enter)
            let long = Data(("short line\n" + String(repeating: "wrapped-", count: 30) + "END\nlast\n").utf8)
            _ = s.update(.logReceived(jobId: 41, LogSlice(offset: 0, bytes: long, totalSize: 4000, complete: false)))
            guard case .fetchStamps(41, let r)? = s.press(.char("w"), .char("t")).first else {
                Issue.record("t asks for the timestamps of the lines on screen")
                return s
            }
            let stamps = [LogStamp(offset: 0, at: Fixtures.ago(5)), LogStamp(offset: 11, at: Fixtures.ago(3))]
            _ = s.update(.logStamps(jobId: 41, r, stamps))
            return s
        }, named: "log-timestamps-wrap")
    }

    @Test func logSearchTyping() {
        assertSnapshots({ size in
            var s = Fixtures.state(size)
            _ = s.press(.char("2"), .enter)
            _ = s.press(.char("/"))
            _ = s.type("err")
            return s
        }, named: "log-search-input")
    }

    @Test func help() {
        for (key, name) in [("1", "help-agents"), ("2", "help-jobs"), ("3", "help-config")] {
            assertSnapshots({ size in
                var s = Fixtures.state(size)
                _ = s.press(.char(Character(key)), .char("?"))
                return s
            }, named: name)
        }
        assertSnapshots({ size in
            var s = Fixtures.state(size)
            _ = s.press(.char("2"), .enter, .char("?"))
            return s
        }, named: "help-log")
    }

    @Test func confirmPrompts() {
        assertSnapshots({ size in
            var s = Fixtures.state(size)
            _ = s.press(.char(" "), .down, .char(" "), .char("d"), .enter, .enter)
            return s
        }, named: "confirm-disable")
        assertSnapshots({ size in
            var s = Fixtures.state(size)
            _ = s.press(.char("x"))
            return s
        }, named: "confirm-delete-agent")
        assertSnapshots({ size in
            var s = Fixtures.state(size)
            _ = s.press(.char("2"), .down, .down, .char("c"))
            return s
        }, named: "confirm-cancel-job")
        assertSnapshots({ size in
            var s = Fixtures.state(size)
            _ = s.press(.char("3"), .char("x"))
            return s
        }, named: "confirm-delete-config")
    }

    @Test func forms() {
        assertSnapshots({ size in
            var s = Fixtures.state(size)
            _ = s.press(.char("e"))
            return s
        }, named: "form-edit-agent")
        assertSnapshots({ size in
            var s = Fixtures.state(size)
            _ = s.press(.char("2"), .char("n"))
            _ = s.type("smoke-test")
            _ = s.press(.enter)
            _ = s.type("echo hello")
            _ = s.press(.enter)
            _ = s.type("uname -a")
            return s
        }, named: "form-new-job")
        assertSnapshots({ size in
            var s = Fixtures.state(size)
            _ = s.press(.char("3"), .char("n"))
            _ = s.type("TOKEN")
            _ = s.press(.tab, .char(" "), .tab)
            _ = s.type("hunter2")
            return s
        }, named: "form-config-secret")
        assertSnapshots({ size in
            var s = Fixtures.state(size)
            _ = s.press(.char("2"), .char("n"), .tab, .tab, .enter)
            return s
        }, named: "form-new-job-error")
    }
}
