import ConsoleUI
import Foundation
import MonitorModels
import ServerAPIClient

/// Prints a message on stderr and exits with status 2, before the terminal was touched.
func fail(_ message: String, hint: Bool = false) -> Never {
    FileHandle.standardError.write(Data("mms-console: \(message)\n".utf8))
    if hint { FileHandle.standardError.write(Data("run 'mms-console --help' for usage\n".utf8)) }
    exit(2)
}

let options: Options
switch Options.parse(Array(CommandLine.arguments.dropFirst()), env: ProcessInfo.processInfo.environment) {
case .success(let o): options = o
case .failure(let e): fail(e.message, hint: true)
}
if options.help {
    print(Options.usage)
    exit(0)
}
if options.version {
    print("mms-console \(MMSVersion.current)")
    exit(0)
}
if let ca = options.caCert {
    do { try TrustStore().check(caCertPath: ca) } catch { fail(error.description) }
}
let token: String
switch options.resolveToken() {
case .success(let t): token = t
case .failure(let e): fail(e.message)
}
guard let servers = options.servers else { fail("--server is not a URL") }

let pool = ServerPool(servers)
let api = AdminAPI.live(servers: pool, token: token)
let stream = ReconnectingEventStream(api: api, servers: pool)
let start: (agents: [Agent], jobs: [Job], cursor: Int64)
do {
    start = try await stream.snapshot()
} catch {
    switch error {
    case .api(401, _):
        fail("the server at \(pool.inUse.absoluteString) refused the admin token (\(error.description)); "
            + "pass the token from DATA_DIR/admin.token with --token-file")
    case .api(403, _):
        fail("the server at \(pool.inUse.absoluteString) did not accept this token for admin calls (\(error.description))")
    case .unreachable(let message) where message.contains("TLS handshake failed"):
        fail(message)  // says what to do (install the CA in the system store, fix the URL…)
    case .unreachable where !servers.others.isEmpty:
        fail("none of the servers \(servers) answered (the last: \(error.description)). "
            + "Is mms-server running? Pass --server URL[,URL…] or set MMS_SERVER_URL.")
    case .unreachable:
        fail("\(error.description). Is mms-server running? Pass --server URL or set MMS_SERVER_URL.")
    default:
        fail("the server at \(pool.inUse.absoluteString) answered: \(error.description)")
    }
}

guard isatty(STDIN_FILENO) == 1, isatty(STDOUT_FILENO) == 1 else {
    fail("needs a terminal (run it in an interactive shell or ssh -t)")
}

var state = AppState(serverURL: pool.inUse.absoluteString, readOnly: options.readOnly)
state.bell = !options.noBell
state.unicode = Options.isUTF8(ProcessInfo.processInfo.environment)
_ = state.update(.snapshot(agents: start.agents, jobs: start.jobs))
// Who this token is, for the header and the keys its role may use; a server without operators
// (404) has only the admin token, so every key stays usable.
if let me = try? await api.whoami() { _ = state.update(.whoami(me)) }
if options.readOnly { state.message = Message("read-only mode: you can look; changes are refused") }
let runtime = Runtime(api: api, queue: ActionQueue())
ServerMoves.watch(pool, queue: runtime.queue)
do {
    try ConsoleLoop.run(state: state, runtime: runtime, cursor: start.cursor, backend: NCursesBackend(mouse: !options.noMouse), stream: stream)
} catch {
    fail("\(error)")
}
exit(0)
