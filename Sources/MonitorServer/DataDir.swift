import Foundation

/// The data dir: created 0700, holding the database and admin.token (0600).
enum DataDir {
    static func prepare(_ path: String) throws(ServerStartError) {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir) {
            guard isDir.boolValue else { throw ServerStartError(message: "--data-dir \(path) is a file, not a directory") }
            // SQLite needs to create its -wal and -shm files next to the database: say so before it fails vaguely.
            guard access(path, W_OK | X_OK) == 0 else {
                throw ServerStartError(message: "--data-dir \(path) cannot be written (\(String(cString: strerror(errno)))); "
                    + "the server keeps its database there: make it writable or pick another --data-dir")
            }
            return
        }
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        } catch {
            throw ServerStartError(message: "cannot create --data-dir \(path): \(error.localizedDescription)")
        }
    }

    /// The admin token: the flag's, else DATA_DIR/admin.token, else (with a `shared` database that
    /// several servers use) the one the first of them stored there, else a new random one; a token
    /// not from the flag is written to DATA_DIR/admin.token (0600) for the console.
    static func adminToken(_ given: String?, dataDir: String, shared: (any Store)? = nil) throws(ServerStartError) -> String {
        if let given, !given.isEmpty { return given }
        let path = dataDir + "/admin.token"
        if let text = try? String(contentsOfFile: path, encoding: .utf8) {
            let token = text.trimmingCharacters(in: .whitespacesAndNewlines)
            if !token.isEmpty { return token }
        }
        var rng = SystemRandomNumberGenerator()
        var token = (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &rng)) }.joined()
        if let shared {
            do { token = try shared.claimMeta("admin_token", token) } catch {
                throw ServerStartError(message: "cannot read the admin token from the database: \(error.message)")
            }
        }
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw ServerStartError(message: "cannot write \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let bytes = Array((token + "\n").utf8)
        guard write(fd, bytes, bytes.count) == bytes.count, fsync(fd) == 0 else {
            throw ServerStartError(message: "cannot write \(path): \(String(cString: strerror(errno)))")
        }
        fchmod(fd, 0o600)
        return token
    }
}
