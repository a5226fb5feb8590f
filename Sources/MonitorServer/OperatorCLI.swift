import Foundation
import MonitorModels

/// `mms-server operator add|list|remove|rotate`: manages operators directly in the database (the data
/// dir's SQLite, or `--database`), also while servers run on it; audited with actor `local`.
public struct OperatorCommand: Sendable, Equatable {
    public enum Action: String, Sendable, Equatable { case add, list, remove, rotate }
    public var action: Action
    public var name: String?
    public var role: OperatorRole = .viewer
    public var dataDir = "./mms-data"
    public var databaseURL: String?

    public static let usage = """
        usage: mms-server operator add NAME --role viewer|operator|admin
               mms-server operator list
               mms-server operator remove NAME
               mms-server operator rotate NAME
        each takes [--data-dir ./mms-data | --database postgres://…] (env MMS_DATA_DIR, MMS_DATABASE_URL)
        add and rotate print the new token alone on stdout; it is not shown again.
        """

    /// Parses the words after `operator`; the error names the flag or argument.
    public static func parse(_ args: [String], environment env: [String: String]) throws(OptionsError) -> OperatorCommand {
        guard let first = args.first, let action = Action(rawValue: first) else {
            throw OptionsError("operator needs one of add, list, remove, rotate")
        }
        var c = OperatorCommand(action: action)
        if let v = env["MMS_DATA_DIR"], !v.isEmpty { c.dataDir = v }
        if let v = env["MMS_DATABASE_URL"], !v.isEmpty { c.databaseURL = v }
        var roleGiven = false
        var i = 1
        func value(_ flag: String) throws(OptionsError) -> String {
            i += 1
            guard i < args.count, !args[i].isEmpty else { throw OptionsError("\(flag) needs a value") }
            return args[i]
        }
        while i < args.count {
            let arg = args[i]
            switch arg {
            case "--role":
                let text = try value(arg)
                guard let r = OperatorRole(rawValue: text) else { throw OptionsError("--role must be viewer, operator or admin, not '\(text)'") }
                c.role = r
                roleGiven = true
            case "--data-dir": c.dataDir = try value(arg)
            case "--database": c.databaseURL = try value(arg)
            default:
                if arg.hasPrefix("-") { throw OptionsError("unknown flag \(arg) for operator \(action.rawValue)") }
                guard c.name == nil else { throw OptionsError("operator \(action.rawValue) takes one NAME; '\(arg)' is one too many") }
                c.name = arg
            }
            i += 1
        }
        switch action {
        case .list:
            if c.name != nil { throw OptionsError("operator list takes no NAME") }
        case .add, .remove, .rotate:
            guard let name = c.name else { throw OptionsError("operator \(action.rawValue) needs a NAME") }
            if action == .add, let problem = Validation.operatorNameProblem(name, field: "NAME") { throw OptionsError(problem) }
        }
        if action == .add && !roleGiven { throw OptionsError("operator add needs --role viewer, operator or admin") }
        if action != .add && roleGiven { throw OptionsError("--role goes with operator add only") }
        return c
    }

    /// Runs the command: what it prints goes to `out`, problems to `err`; returns the exit status.
    public func run(out: (String) -> Void, err: (String) -> Void) -> Int32 {
        if databaseURL == nil && !FileManager.default.fileExists(atPath: dataDir + "/mms.sqlite3") {
            err("no MMS database in \(dataDir); pass the server's --data-dir (or --database)")
            return 1
        }
        let store: any Store
        do { store = try ServiceCore.openStore(dataDir: dataDir, databaseURL: databaseURL) } catch {
            err(error.message)
            return 1
        }
        defer { store.close() }
        let now = Date()
        do {
            switch action {
            case .list:
                let rows = try OperatorBook.list(store)
                out("NAME                             ROLE      CREATED")
                for o in rows {
                    let name = o.name.padding(toLength: max(32, o.name.count), withPad: " ", startingAt: 0)
                    let role = o.role.rawValue.padding(toLength: 9, withPad: " ", startingAt: 0)
                    out("\(name) \(role) \(o.createdAt.map(RFC3339.format) ?? "built in (the admin token)")")
                }
            case .add:
                out(try OperatorBook.add(store, name: name ?? "", role: role, actor: "local", from: nil, now: now, storeEvents: true).created.token)
            case .rotate:
                out(try OperatorBook.rotate(store, name: name ?? "", actor: "local", from: nil, now: now, storeEvents: true).created.token)
            case .remove:
                _ = try OperatorBook.remove(store, name: name ?? "", actor: "local", from: nil, now: now, storeEvents: true)
                err("removed operator \(name ?? ""); its token no longer works")
            }
            if action != .list { store.notifyOthers("e") }  // running servers on a shared database: new events
            return 0
        } catch {
            err(error.message)
            return 1
        }
    }
}
