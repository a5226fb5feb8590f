import Foundation

extension ServerProcess {
    /// Two independent servers sharing one admin token: to a client, the replicas of one database (each has its
    /// own data here: PostgreSQL replicas are not there yet). Each data dir is made with `token` in admin.token.
    public static func pair(_ label: String, token: String = "failover-token") throws -> (ServerProcess, ServerProcess) {
        func server(_ name: String) throws -> ServerProcess {
            let dir = FileManager.default.temporaryDirectory
                .appendingPathComponent("mms-\(label)-\(name)-\(UUID().uuidString.prefix(8))").path
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
            _ = FileManager.default.createFile(atPath: dir + "/admin.token", contents: Data("\(token)\n".utf8),
                                           attributes: [.posixPermissions: 0o600])
            return try ServerProcess(dataDir: dir)
        }
        return (try server("a"), try server("b"))
    }
}
