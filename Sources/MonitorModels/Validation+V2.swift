/// The version 2 job fields: containers, the image pull secret and SSH public keys.
extension Validation {
    /// At most this many containers per job.
    public static let maxContainers = 8

    /// A container name: `[a-z0-9-]{1,32}`.
    public static func isContainerName(_ s: String) -> Bool {
        guard !s.isEmpty, s.utf8.count <= 32 else { return false }
        return s.utf8.allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 45 }
    }

    /// Everything wrong with the version 2 fields of `spec`, first problem only; nil when they are valid.
    public static func v2SpecProblem(_ spec: JobSpec) -> String? {
        if let p = containersProblem(spec.containers) { return p }
        if let secret = spec.imagePullSecret {
            if !isConfigName(secret) { return "field 'imagePullSecret' must match [A-Za-z_][A-Za-z0-9_]{0,63}" }
            if spec.containers.isEmpty { return "field 'imagePullSecret' needs 'containers'" }
        }
        return sshKeysProblem(spec.sshPublicKeys)
    }

    /// The job's containers: at most 8, names valid and unique, an image each, commands on services only.
    public static func containersProblem(_ containers: [ContainerSpec]) -> String? {
        if containers.count > maxContainers { return "field 'containers' has more than \(maxContainers) entries" }
        var seen: Set<String> = []
        for (i, c) in containers.enumerated() {
            let field = "containers[\(i)]"
            if !isContainerName(c.name) { return "field '\(field).name' must match [a-z0-9-]{1,32}" }
            if !seen.insert(c.name).inserted { return "field '\(field).name' repeats the name '\(c.name)'" }
            if let p = imageProblem(c.image) { return "field '\(field).image' \(p)" }
            if i == 0, c.command != nil {
                return "field '\(field).command' is not allowed: the main container runs the job's commands"
            }
            if let cmd = c.command, cmd.isEmpty || cmd.contains("\0") { return "field '\(field).command' must be one non-empty shell line" }
            for name in c.env.keys.sorted() where !isEnvName(name) {
                return "field '\(field).env' has an invalid variable name '\(name)'"
            }
            if let user = c.user, user.isEmpty || user.utf8.count > 64 || !user.utf8.allSatisfy(isUserByte) {
                return "field '\(field).user' must be a user name or uid[:gid] (1-64 of [A-Za-z0-9_.:-])"
            }
        }
        return nil
    }

    /// An image reference: 1-255 bytes of `[A-Za-z0-9._/:@-]`, not starting with `-` (it would read as a flag).
    static func imageProblem(_ image: String) -> String? {
        let b = Array(image.utf8)
        if b.isEmpty || b.count > 255 { return "must be 1-255 characters" }
        if b[0] == 45 { return "must not start with '-'" }
        let ok = b.allSatisfy { isUserByte($0) || $0 == 47 || $0 == 64 }
        return ok ? nil : "must be an image reference ([A-Za-z0-9._/:@-])"
    }

    /// SSH public keys: at most 20, each a plain key line of an allowed type.
    public static func sshKeysProblem(_ keys: [String]) -> String? {
        if keys.count > SSHPublicKey.maxKeys { return "field 'sshPublicKeys' has more than \(SSHPublicKey.maxKeys) entries" }
        for (i, key) in keys.enumerated() {
            if case .failure(let problem) = SSHPublicKey.parse(key) { return "field 'sshPublicKeys[\(i)]' \(problem.message)" }
        }
        return nil
    }

    private static func isUserByte(_ c: UInt8) -> Bool {
        (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c == 95 || c == 46 || c == 58 || c == 45
    }
}
