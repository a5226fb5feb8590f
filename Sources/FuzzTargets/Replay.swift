import Foundation

/// Runs saved inputs through a target, as `mms-fuzz TARGET FILE|DIR…` and the replay tests do.
public enum FuzzReplay {
    /// One input that broke a property.
    public struct Finding: Sendable, CustomStringConvertible {
        /// The input file.
        public var file: String
        /// What broke.
        public var failure: FuzzFailure
        public var description: String { "\(file): \(failure.message)" }
    }

    /// The files named, and the files directly inside the directories named, sorted; hidden files skipped.
    public static func files(_ paths: [String]) -> [String] {
        var out: [String] = []
        for path in paths {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { continue }
            if !isDir.boolValue {
                out.append(path)
                continue
            }
            let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
            for name in names.sorted() where !name.hasPrefix(".") {
                let file = path + "/" + name
                var sub: ObjCBool = false
                if FileManager.default.fileExists(atPath: file, isDirectory: &sub), !sub.boolValue { out.append(file) }
            }
        }
        return out
    }

    /// Runs every file through `target`; the findings, in file order (a file that cannot be read is one).
    public static func run(_ target: FuzzTarget, files: [String]) -> [Finding] {
        var findings: [Finding] = []
        for file in files {
            guard let data = FileManager.default.contents(atPath: file) else {
                findings.append(Finding(file: file, failure: FuzzFailure("cannot read the file")))
                continue
            }
            do {
                try target.run(data)
            } catch {
                findings.append(Finding(file: file, failure: error))
            }
        }
        return findings
    }
}
