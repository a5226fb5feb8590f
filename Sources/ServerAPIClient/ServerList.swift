import Foundation

/// The servers a client may use, in order of preference (`--server A,B,C`): never empty, no duplicates.
public struct ServerList: Sendable, Equatable, CustomStringConvertible {
    /// The preferred server: the one named first.
    public let first: URL
    /// The others, in the order they were named.
    public let others: [URL]

    /// A list of `first` then `others` (the caller vouches they are distinct http(s) URLs; `parse` checks).
    public init(_ first: URL, _ others: [URL] = []) {
        self.first = first
        self.others = others
    }

    /// Every server, the preferred one first.
    public var all: [URL] { [first] + others }

    /// The URLs as given, joined with ", " (one URL: just that URL).
    public var description: String { all.map(\.absoluteString).joined(separator: ", ") }

    /// Parses `URL` or `URL,URL,…` (spaces around the commas allowed). Each must be an http or https URL
    /// with a host; an empty entry or the same server twice is refused. The error names the entry at fault.
    public static func parse(_ text: String) throws(ServerListError) -> ServerList {
        let entries = text.split(separator: ",", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces) }
        var urls: [URL] = []
        var seen: [String: String] = [:]
        for entry in entries {
            if entry.isEmpty {
                throw ServerListError(entries.count == 1
                    ? "is empty; give an http or https URL like http://127.0.0.1:8765"
                    : "has an empty entry in '\(text)'; separate the URLs with single commas")
            }
            guard let url = URL(string: entry), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme),
                  let host = url.host, !host.isEmpty else {
                throw ServerListError("must be an http or https URL like http://127.0.0.1:8765, not '\(entry)'")
            }
            let key = identity(url, scheme: scheme, host: host)
            if let earlier = seen[key] {
                throw ServerListError(earlier == entry
                    ? "names '\(entry)' twice; list each server once"
                    : "names the same server twice ('\(earlier)' and '\(entry)'); list each server once")
            }
            seen[key] = entry
            urls.append(url)
        }
        guard let first = urls.first else { throw ServerListError("is empty; give an http or https URL like http://127.0.0.1:8765") }
        return ServerList(first, Array(urls.dropFirst()))
    }

    /// What makes two URLs the same server: scheme, host (any case), port (default filled in), path without a final '/'.
    private static func identity(_ url: URL, scheme: String, host: String) -> String {
        let port = url.port ?? (scheme == "https" ? 443 : 80)
        var path = url.path
        while path.hasSuffix("/") { path.removeLast() }
        return "\(scheme)://\(host.lowercased()):\(port)\(path)"
    }
}

/// Why a `--server` list was refused: a sentence to put after the flag's name.
public struct ServerListError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The problem, e.g. "must be an http or https URL like http://127.0.0.1:8765, not 'ftp://x'".
    public let message: String

    /// An error saying `message`.
    public init(_ message: String) { self.message = message }

    public var description: String { message }
}
