import Foundation
import ServerAPIClient

/// mms-console's command line, after flags and environment are combined (flags win).
struct Options: Equatable {
    /// `--server` as given: one URL or a comma list (checked by `parse`, read by `servers`).
    var serverURL = "http://127.0.0.1:8765"
    var token: String?
    var tokenFile: String?
    var caCert: String?
    var readOnly = false
    var noMouse = false
    var noBell = false
    var help = false
    var version = false

    static let usage = """
        usage: mms-console [--server URL[,URL…]] [--token TOKEN | --token-file PATH] [--ca-cert PEM] [--read-only]
                           [--no-mouse] [--no-bell]
          --server URL       the mms-server to manage (env MMS_SERVER_URL; default http://127.0.0.1:8765);
                             a comma list of replicas: uses the first that answers, moves on when it stops
          --token TOKEN      admin token (env MMS_ADMIN_TOKEN; default: ./mms-data/admin.token if present)
          --token-file PATH  read the admin token from a file (the server writes DATA_DIR/admin.token)
          --ca-cert PEM      check that this CA (of an https server) is in the system trust store, the only
                             one trusted on Linux; if not, say how to install it and exit 2
          --read-only        look, but refuse every change
          --no-mouse         leave the mouse to the terminal (its own selection and copy)
          --no-bell          show alerts (lost agents, failed jobs) without ringing the bell
          --version          print the version
        """

    /// Parses arguments (without the program name); returns the problem as one line when they are wrong.
    static func parse(_ args: [String], env: [String: String]) -> Result<Options, OptionError> {
        var o = Options()
        if let s = env["MMS_SERVER_URL"], !s.isEmpty { o.serverURL = s }
        if let t = env["MMS_ADMIN_TOKEN"], !t.isEmpty { o.token = t }
        var i = 0
        func value(_ flag: String) -> Result<String, OptionError> {
            i += 1
            guard i < args.count, !args[i].hasPrefix("--") else { return .failure(OptionError("\(flag) needs a value")) }
            return .success(args[i])
        }
        while i < args.count {
            let arg = args[i]
            var flag = arg, inline: String?
            if arg.hasPrefix("--"), let eq = arg.firstIndex(of: "=") {
                flag = String(arg[..<eq])
                inline = String(arg[arg.index(after: eq)...])
            }
            func take() -> Result<String, OptionError> { inline.map { .success($0) } ?? value(flag) }
            switch flag {
            case "--server": switch take() { case .success(let v): o.serverURL = v; case .failure(let e): return .failure(e) }
            case "--token": switch take() { case .success(let v): o.token = v; o.tokenFile = nil; case .failure(let e): return .failure(e) }
            case "--token-file": switch take() { case .success(let v): o.tokenFile = v; o.token = nil; case .failure(let e): return .failure(e) }
            case "--ca-cert": switch take() { case .success(let v): o.caCert = v; case .failure(let e): return .failure(e) }
            case "--read-only": o.readOnly = true
            case "--no-mouse": o.noMouse = true
            case "--no-bell": o.noBell = true
            case "--help", "-h": o.help = true
            case "--version": o.version = true
            default: return .failure(OptionError("unknown flag \(arg)"))
            }
            i += 1
        }
        if args.contains("--token") && args.contains("--token-file") {
            return .failure(OptionError("pass --token or --token-file, not both"))
        }
        do {
            _ = try ServerList.parse(o.serverURL)
        } catch {
            return .failure(OptionError("--server \(error.message)"))
        }
        return .success(o)
    }

    /// True when the locale the terminal runs in is UTF-8 (LC_ALL, else LC_CTYPE, else LANG); sparklines
    /// are drawn in ASCII otherwise.
    static func isUTF8(_ env: [String: String]) -> Bool {
        let locale = [env["LC_ALL"], env["LC_CTYPE"], env["LANG"]].compactMap { $0 }.first { !$0.isEmpty } ?? ""
        let l = locale.lowercased()
        return l.contains("utf-8") || l.contains("utf8")
    }

    /// The servers of `--server`, preferred first (`parse` has checked them).
    var servers: ServerList? { try? ServerList.parse(serverURL) }

    /// The admin token: --token / MMS_ADMIN_TOKEN, else --token-file, else ./mms-data/admin.token.
    func resolveToken() -> Result<String, OptionError> {
        if let token, tokenFile == nil { return .success(token) }
        let path = tokenFile ?? "mms-data/admin.token"
        guard let data = FileManager.default.contents(atPath: path) else {
            if tokenFile != nil { return .failure(OptionError("cannot read the token file \(path)")) }
            return .failure(OptionError(
                "no admin token: pass --token TOKEN or --token-file PATH, or set MMS_ADMIN_TOKEN "
                + "(the server keeps it in DATA_DIR/admin.token)"))
        }
        let t = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return t.isEmpty ? .failure(OptionError("the token file \(path) is empty")) : .success(t)
    }
}

/// A problem with the command line, said in one line.
struct OptionError: Error, Equatable {
    var message: String
    init(_ message: String) { self.message = message }
}
