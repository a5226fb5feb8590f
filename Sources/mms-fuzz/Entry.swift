import CFuzzerDriver
import Foundation
import FuzzTargets

// mms-fuzz: the fuzz targets of the JSON and request-parsing layer (see Sources/FuzzTargets).
//
// Built with `-sanitize=fuzzer -DMMS_FUZZ` (scripts/fuzz.sh) it hands the process to libFuzzer's driver
// (LLVMFuzzerRunDriver: libFuzzer's flags, corpus dirs, crash files), and MMS_FUZZ_TARGET names the
// target. Built normally it replays saved inputs through the same functions:
//   mms-fuzz TARGET FILE|DIR...   every file through TARGET; exit 1 naming each file that fails
//   mms-fuzz all CORPUS           CORPUS/<target>/ for every target
//   mms-fuzz list                 the targets
//
// Scratch files (the request target's data dirs) go to MMS_FUZZ_TMP, else /dev/shm; libFuzzer ends the
// process with exit(), so a fuzz run leaves its template data dir there (scripts/fuzz.sh removes its own).
//
// `main` is ours in both builds (SwiftPM links an executable's entry under its own name, so libFuzzer's
// `main` cannot be used); the fuzz build's main only calls the driver.

@main
struct MMSFuzz {
    static func main() {
        #if MMS_FUZZ
        exit(Fuzzing.run())
        #else
        exit(Replayer.run(Array(CommandLine.arguments.dropFirst())))
        #endif
    }
}

#if MMS_FUZZ

/// libFuzzer's side: the target from MMS_FUZZ_TARGET, and the entry it calls for every input.
enum Fuzzing {
    static func run() -> Int32 {
        let names = FuzzTargets.all.map(\.name).joined(separator: ", ")
        guard FuzzTargets.named(ProcessInfo.processInfo.environment["MMS_FUZZ_TARGET"] ?? "") != nil else {
            FileHandle.standardError.write(Data("mms-fuzz: set MMS_FUZZ_TARGET to one of: \(names)\n".utf8))
            return 2
        }
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        let status = mms_fuzzer_run_driver(&argc, &argv, fuzzOneInput)
        if status == -1 { FileHandle.standardError.write(Data("mms-fuzz: not linked with -sanitize=fuzzer\n".utf8)) }
        return status
    }
}

/// The target of this fuzzing process (libFuzzer owns the command line, so it comes from the environment).
let fuzzTarget: FuzzTarget? = FuzzTargets.named(ProcessInfo.processInfo.environment["MMS_FUZZ_TARGET"] ?? "")

/// libFuzzer's entry: one input through the target; a broken property aborts so libFuzzer saves the input.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ bytes: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let target = fuzzTarget else { return 0 }
    let data = bytes.map { Data(bytes: $0, count: size) } ?? Data()
    do {
        try target.run(data)
    } catch {
        FileHandle.standardError.write(Data("mms-fuzz \(target.name): \(error.message)\n".utf8))
        abort()
    }
    return 0
}

#else

/// The replayer: saved inputs through the targets, in a normal build.
enum Replayer {
    static func run(_ args: [String]) -> Int32 {
        let usage = "usage: mms-fuzz TARGET FILE|DIR... | mms-fuzz all CORPUS_DIR | mms-fuzz list\n"
        guard let first = args.first else { return fail(usage) }
        if first == "list" {
            for t in FuzzTargets.all { print("\(t.name)\t\(t.summary)") }
            return 0
        }
        guard args.count >= 2 else { return fail(usage) }
        defer { FuzzTargets.cleanUp() }
        let paths = Array(args.dropFirst())
        var jobs: [(FuzzTarget, [String])] = []
        if first == "all" {
            jobs = FuzzTargets.all.map { t in (t, FuzzReplay.files(paths.map { $0 + "/" + t.name })) }
        } else if let target = FuzzTargets.named(first) {
            jobs = [(target, FuzzReplay.files(paths))]
        } else {
            return fail("mms-fuzz: no target \(first); targets: \(FuzzTargets.all.map(\.name).joined(separator: ", "))\n")
        }
        var failed = false
        for (target, files) in jobs {
            let findings = FuzzReplay.run(target, files: files)
            print("\(target.name): \(files.count) files, \(findings.count) failing")
            for f in findings { print("FAIL \(target.name) \(f)") }
            failed = failed || !findings.isEmpty
        }
        return failed ? 1 : 0
    }

    static func fail(_ message: String) -> Int32 {
        FileHandle.standardError.write(Data(message.utf8))
        return 2
    }
}

#endif
