import Foundation

/// One container of a container job (contract, "Container jobs"): the first of a job's `containers` is the
/// main one, where the job's bash session runs; the others are services reachable by their names.
public struct ContainerSpec: Codable, Sendable, Equatable {
    /// `[a-z0-9-]{1,32}`, unique in the job: the host name the other containers reach it by.
    public var name: String
    /// The image reference as the runtime takes it (`postgres:15`, `registry.example/app:1`).
    public var image: String
    /// For a service: one shell line run with `sh -c` instead of the image's command. Not allowed on the main container.
    public var command: String?
    /// Variables of this container only (for the main one they come after the job's own).
    public var env: [String: String]
    /// The user the container's processes run as (`--user`), when not the image's.
    public var user: String?

    public init(name: String, image: String, command: String? = nil, env: [String: String] = [:], user: String? = nil) {
        self.name = name
        self.image = image
        self.command = command
        self.env = env
        self.user = user
    }

    enum CodingKeys: String, CodingKey { case name, image, command, env, user }

    /// Decodes a container: `name` and `image` are required.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        image = try c.decode(String.self, forKey: .image)
        command = try c.decodeIfPresent(String.self, forKey: .command)
        env = try c.decodeIfPresent([String: String].self, forKey: .env) ?? [:]
        user = try c.decodeIfPresent(String.self, forKey: .user)
    }

    /// Encodes every field, `command` and `user` as null when absent (as the API's other objects do).
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(image, forKey: .image)
        try c.encode(command, forKey: .command)
        try c.encode(env, forKey: .env)
        try c.encode(user, forKey: .user)
    }
}
