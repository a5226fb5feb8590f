/// `--flag value`, `--flag=value` and bare `--switch` arguments, read into a dictionary (a switch reads as
/// "true"); an unknown flag, or a flag without its value, is a usage error naming it.
enum Flags {
    static func parse(_ args: [String], valued: Set<String>, switches: Set<String> = []) throws(AgentError) -> [String: String] {
        var flags: [String: String] = [:]
        var i = 0
        while i < args.count {
            var flag = args[i]
            var value: String?
            if let eq = flag.firstIndex(of: "="), flag.hasPrefix("--") {
                value = String(flag[flag.index(after: eq)...])
                flag = String(flag[..<eq])
            }
            if switches.contains(flag) {
                guard value == nil else { throw .usage("flag \(flag) takes no value") }
                flags[flag] = "true"
                i += 1
                continue
            }
            guard valued.contains(flag) else { throw .usage("unknown flag \(flag)") }
            if value == nil {
                i += 1
                guard i < args.count else { throw .usage("flag \(flag) needs a value") }
                value = args[i]
            }
            flags[flag] = value
            i += 1
        }
        return flags
    }
}
