import Foundation
import MonitorModels
import MonitorServer

// mms-server: parse flags, start the server, print the listening line, stop cleanly on SIGINT/SIGTERM.

func fail(_ message: String, status: Int32) -> Never {
    FileHandle.standardError.write(Data("mms-server: \(message)\n".utf8))
    exit(status)
}

if CommandLine.arguments.dropFirst().first == "operator" {
    let words = Array(CommandLine.arguments.dropFirst(2))
    if words.contains("--help") || words.contains("-h") {
        print(OperatorCommand.usage)
        exit(0)
    }
    let command: OperatorCommand
    do {
        command = try OperatorCommand.parse(words, environment: ProcessInfo.processInfo.environment)
    } catch {
        fail("\(error.message)\n\(OperatorCommand.usage)", status: 2)
    }
    exit(command.run(out: { print($0) }, err: { FileHandle.standardError.write(Data("mms-server: \($0)\n".utf8)) }))
}

var options: ServerOptions
do {
    switch try ServerOptions.parse(Array(CommandLine.arguments.dropFirst()), environment: ProcessInfo.processInfo.environment) {
    case .help:
        print(ServerOptions.usage)
        exit(0)
    case .version:
        print("mms-server \(MMSVersion.current) (API v\(MMSVersion.apiVersion))")
        exit(0)
    case .run(let o):
        options = o
    }
} catch {
    fail("\(error.message)\nRun 'mms-server --help' for usage.", status: 2)
}

// The agent binary to offer: --agent-binary, else mms-agent beside this executable when it is there.
if options.agentBinary == nil, let me = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
    let sibling = URL(fileURLWithPath: me).deletingLastPathComponent().appendingPathComponent("mms-agent").path
    if FileManager.default.isExecutableFile(atPath: sibling) { options.agentBinary = sibling }
}

signal(SIGPIPE, SIG_IGN)
signal(SIGINT, SIG_IGN)
signal(SIGTERM, SIG_IGN)
let server: MMSServer
do {
    server = try MMSServer.start(options)
} catch {
    fail(error.message, status: 1)
}

let scheme = server.url.scheme ?? "http"
let hostText = options.host.contains(":") ? "[\(options.host)]" : options.host
FileHandle.standardOutput.write(Data("mms-server listening on \(scheme)://\(hostText):\(server.port)\n".utf8))
FileHandle.standardError.write(Data("mms-server: data dir \(options.dataDir); admin token \(server.adminToken.prefix(4))… (full token in \(options.adminToken == nil ? options.dataDir + "/admin.token" : "--admin-token"))\n".utf8))

let done = DispatchSemaphore(value: 0)
var sources: [DispatchSourceSignal] = []
for sig in [SIGINT, SIGTERM] {
    let s = DispatchSource.makeSignalSource(signal: sig, queue: .global())
    s.setEventHandler { done.signal() }
    s.resume()
    sources.append(s)
}
done.wait()
FileHandle.standardError.write(Data("mms-server: stopping\n".utf8))
server.stop()
exit(0)
