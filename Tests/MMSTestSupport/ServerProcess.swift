import Foundation

/// A real `mms-server` process on 127.0.0.1 (port 0 unless given) with a temporary data dir.
/// Shared by the test targets that drive real binaries (a library target: test targets cannot share sources).
public final class ServerProcess: @unchecked Sendable {
    public let process: SpawnedChild
    public let dataDir: String
    public let url: URL
    public let token: String

    /// The directory holding the built products (mms-server, mms-console, mms-agent): next to the test bundle.
    public static var productsDir: URL {
        let candidates = [
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent(),
            Bundle.main.bundleURL.deletingLastPathComponent(),
            URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../.build/debug").standardized,
        ]
        for c in candidates {
            var d = c
            for _ in 0..<4 {
                if FileManager.default.isExecutableFile(atPath: d.appendingPathComponent("mms-server").path) { return d }
                d = d.deletingLastPathComponent()
            }
        }
        return candidates[0]
    }

    /// Starts the server and waits (up to 20 s) for its `mms-server listening on URL` line.
    public init(dataDir: String? = nil, port: Int = 0, extra: [String] = []) throws {
        let dir = dataDir ?? FileManager.default.temporaryDirectory.appendingPathComponent("mms-client-\(UUID().uuidString)").path
        self.dataDir = dir
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw ServerProcessError.didNotStart }
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        defer { close(fds[1]) }
        process = try SpawnedChild(Self.productsDir.appendingPathComponent("mms-server").path,
                                   ["--port", String(port), "--data-dir", dir] + extra, stdout: .descriptor(fds[1]))
        let reader = LineReader(FileHandle(fileDescriptor: fds[0], closeOnDealloc: true))
        guard let line = reader.line(containing: "mms-server listening on ", deadline: Date().addingTimeInterval(20)),
              let found = URL(string: String(line.split(separator: " ").last ?? "")) else {
            process.terminate()
            throw ServerProcessError.didNotStart
        }
        url = found
        token = (try String(contentsOfFile: dir + "/admin.token", encoding: .utf8)).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The port the server listens on.
    public var port: Int { url.port ?? 0 }

    /// SIGTERM and wait for the exit.
    public func stop() {
        guard process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }

    deinit {
        stop()
    }

    /// Removes the data dir (after the last server on it stopped).
    public func removeData() {
        try? FileManager.default.removeItem(atPath: dataDir)
    }
}

public enum ServerProcessError: Error { case didNotStart }

/// Reads lines from a pipe on a background thread so a test can wait for one with a deadline.
public final class LineReader: @unchecked Sendable {
    private let lock = NSCondition()
    private var lines: [String] = []
    private var buffer = Data()

    public init(_ handle: FileHandle) {
        Thread.detachNewThread { [self] in
            while true {
                let data = handle.availableData
                lock.lock()
                if data.isEmpty { lock.broadcast(); lock.unlock(); return }
                buffer.append(data)
                while let nl = buffer.firstIndex(of: 0x0A) {
                    lines.append(String(decoding: buffer[buffer.startIndex..<nl], as: UTF8.self))
                    buffer = Data(buffer[(nl + 1)...])
                }
                lock.broadcast()
                lock.unlock()
            }
        }
    }

    /// The first line containing `text`, or nil once `deadline` passes.
    public func line(containing text: String, deadline: Date) -> String? {
        lock.lock()
        defer { lock.unlock() }
        while true {
            if let l = lines.first(where: { $0.contains(text) }) { return l }
            if !lock.wait(until: deadline) { return lines.first(where: { $0.contains(text) }) }
        }
    }
}

/// Polls `condition` every 20 ms until it holds or `seconds` pass; returns whether it held.
public func eventually(_ seconds: Double = 30, _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return try await condition()
}
