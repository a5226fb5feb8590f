import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A pipe whose ends are closed on exec, made atomically with `pipe2` when the C library has it (so a
/// process spawned meanwhile by another thread never inherits them), else with `pipe` and `fcntl`.
public enum CloexecPipe {
    /// The read and write ends, or nil (errno says why).
    public static func make() -> (read: Int32, write: Int32)? {
        var fds: [Int32] = [0, 0]
        typealias Pipe2 = @convention(c) (UnsafeMutablePointer<Int32>, Int32) -> Int32
        if let sym = dlsym(nil, "pipe2") {
            let pipe2 = unsafeBitCast(sym, to: Pipe2.self)
            guard pipe2(&fds, O_CLOEXEC) == 0 else { return nil }
        } else {
            guard pipe(&fds) == 0 else { return nil }
            _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
            _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        }
        return (fds[0], fds[1])
    }
}
