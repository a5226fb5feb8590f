import Foundation
import MonitorModels
#if canImport(Glibc)
import Glibc
#endif

/// Why the push agent form's CA cert file cannot be used; `message` is shown in the form.
public struct CACertFileError: Error, Sendable, Equatable {
    public var message: String
    public init(_ message: String) { self.message = message }
}

/// The "CA cert file" of the add-push-agent form: a PEM file on the admin's machine whose text the console
/// sends as `caCert` (the server keeps the text; it never sees the path).
public enum CACertFile {
    /// Reads `path` (`~` expanded, relative to the console's directory): a regular file of at most 64 KiB
    /// holding a PEM CERTIFICATE block. Otherwise the error says which of those it is not (without the path,
    /// which the form shows just above it: the message must fit the form's width).
    public static func read(_ path: String) -> Result<String, CACertFileError> {
        let full = NSString(string: path).expandingTildeInPath
        let fd = open(full, O_RDONLY | O_CLOEXEC | O_NONBLOCK)  // O_NONBLOCK: a FIFO cannot hang the read
        guard fd >= 0 else { return .failure(CACertFileError("cannot read the CA cert file: \(String(cString: strerror(errno)))")) }
        let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
            return .failure(CACertFileError("the CA cert file is not a regular file"))
        }
        let data: Data
        do { data = try handle.read(upToCount: Validation.maxCACertBytes + 1) ?? Data() } catch {
            return .failure(CACertFileError("cannot read the CA cert file: \(error.localizedDescription)"))
        }
        guard data.count <= Validation.maxCACertBytes else {
            return .failure(CACertFileError("the CA cert file is larger than 64 KiB; give the CA's certificate alone"))
        }
        guard let text = String(data: data, encoding: .utf8), Validation.isPEMCertificate(text) else {
            return .failure(CACertFileError("the CA cert file is not PEM: no -----BEGIN CERTIFICATE----- block"))
        }
        return .success(text)
    }
}

extension AppState {
    /// The push agent form's CA cert file, trimmed; nil when left empty (the server then trusts the system store).
    func caCertPath(_ f: Form) -> String? {
        let path = f.value(Form.caCertFileLabel).trimmingCharacters(in: .whitespaces)
        return path.isEmpty ? nil : path
    }

    /// The answer to `.readCACert`: sends the agent with the file's text as `caCert`, or shows in the form why
    /// the file cannot be used. Ignored when the form was closed or its file changed meanwhile.
    mutating func caCertRead(_ path: String, _ result: Result<String, CACertFileError>) -> [Effect] {
        guard case .form(var f) = modal, f.kind == .pushAgent, caCertPath(f) == path else { return [] }
        if message?.text == "reading \(path)…" { message = nil }
        switch result {
        case .failure(let e):
            f.error = e.message
            f.focus = f.fields.firstIndex { $0.label == Form.caCertFileLabel } ?? f.focus
            modal = .form(f)
            return []
        case .success(let pem):
            guard var request = pushAgentRequest(&f) else { modal = .form(f); return [] }
            request.caCert = pem
            modal = nil
            message = Message("sending…")
            return [.addPushAgent(request)]
        }
    }
}
