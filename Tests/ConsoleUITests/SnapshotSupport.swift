import Foundation
import Testing
@testable import ConsoleUI

/// Compares a rendered screen with Tests/ConsoleUITests/__Snapshots__/NAME.txt; RECORD_SNAPSHOTS=1 re-records.
func assertSnapshot(_ buffer: ScreenBuffer, named name: String, filePath: String = #filePath, sourceLocation: SourceLocation = #_sourceLocation) {
    let dir = URL(fileURLWithPath: filePath).deletingLastPathComponent().appendingPathComponent("__Snapshots__")
    let file = dir.appendingPathComponent("\(name).txt")
    // A frame marks the right edge so trailing blanks and clipping are visible in review.
    let text = (0..<buffer.size.height).map { y -> String in
        let line = buffer.line(y)
        return line + String(repeating: " ", count: max(0, buffer.size.width - CharWidth.of(text: line))) + "|"
    }.joined(separator: "\n") + "\n"
    if ProcessInfo.processInfo.environment["RECORD_SNAPSHOTS"] == "1" {
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try? text.write(to: file, atomically: true, encoding: .utf8)
        return
    }
    guard let expected = try? String(contentsOf: file, encoding: .utf8) else {
        Issue.record("no snapshot \(name).txt; run with RECORD_SNAPSHOTS=1 to record it", sourceLocation: sourceLocation)
        return
    }
    if expected != text {
        Issue.record("snapshot \(name) differs:\n--- expected\n\(expected)\n+++ actual\n\(text)", sourceLocation: sourceLocation)
    }
}

/// Renders `state` at the test sizes and checks each snapshot (NAME-80x24, NAME-120x40; version 2 screens
/// also NAME-160x48, where the detail pane sits beside the list).
func assertSnapshots(_ make: (Size) -> AppState, named name: String, wide: Bool = false, filePath: String = #filePath,
                     sourceLocation: SourceLocation = #_sourceLocation) {
    for size in [Fixtures.small, Fixtures.large] + (wide ? [Fixtures.wide] : []) {
        let s = make(size)
        assertSnapshot(render(s, size), named: "\(name)-\(size.width)x\(size.height)", filePath: filePath, sourceLocation: sourceLocation)
    }
}
