// swift-tools-version:6.0
import PackageDescription

// MMS: a build-and-recorder agent monitor. No package dependencies; C libraries come from Debian.
let package = Package(
    name: "MMS",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "mms-server", targets: ["mms-server"]),
        .executable(name: "mms-agent", targets: ["mms-agent"]),
        .executable(name: "mms-console", targets: ["mms-console"]),
    ],
    targets: [
        // C libraries from Debian, with tiny shims for what Swift cannot call directly.
        .target(name: "CSQLite", linkerSettings: [.linkedLibrary("sqlite3")]),
        .target(name: "CMicroHTTPD", linkerSettings: [.linkedLibrary("microhttpd")]),
        .target(name: "CNCursesW", linkerSettings: [.linkedLibrary("ncursesw")]),
        .target(name: "CLibPQ", linkerSettings: [.linkedLibrary("pq")]),
        .target(name: "CCurl", linkerSettings: [.linkedLibrary("curl")]),

        .target(name: "MonitorModels"),
        // SHA-256, HMAC-SHA256 and HS256 JWTs, written by hand (Foundation on Linux has no CryptoKit).
        .target(name: "MMSCrypto"),
        // The libmicrohttpd front (router, long polls, slow-client deadlines) that mms-server and
        // `mms-agent serve` both answer HTTP with; it knows nothing of stores or dispatch.
        .target(name: "MonitorHTTP", dependencies: ["MonitorModels", "CMicroHTTPD"]),
        // An HTTPS client on libcurl that trusts a CA given as PEM text: how mms-server reaches push agents.
        .target(name: "CurlHTTP", dependencies: ["CCurl"]),
        .target(name: "ServerAPIClient", dependencies: ["MonitorModels"]),
        .target(name: "MonitorServer", dependencies: ["MonitorModels", "MonitorHTTP", "MMSCrypto", "CurlHTTP", "CSQLite", "CMicroHTTPD", "CLibPQ"]),
        .target(name: "MonitorAgent", dependencies: ["MonitorModels", "ServerAPIClient", "MonitorHTTP", "MMSCrypto"]),
        .target(name: "ConsoleUI", dependencies: ["MonitorModels", "ServerAPIClient", "CNCursesW"]),

        .executableTarget(name: "mms-server", dependencies: ["MonitorServer", "MonitorModels"]),
        .executableTarget(name: "mms-agent", dependencies: ["MonitorAgent", "MonitorModels"]),
        .executableTarget(name: "mms-console", dependencies: ["ConsoleUI", "ServerAPIClient", "MonitorModels"]),
        // Console figures for `make bench` (frame time and memory with 10,000 agents).
        .executableTarget(name: "mms-bench", dependencies: ["ConsoleUI", "MonitorModels"]),
        // Fuzz targets of the JSON and request-parsing layer; mms-fuzz hands them to libFuzzer's driver
        // when built with -sanitize=fuzzer -DMMS_FUZZ (scripts/fuzz.sh), and replays saved inputs otherwise.
        .target(name: "FuzzTargets", dependencies: ["MonitorModels", "MonitorServer", "MonitorAgent"]),
        .target(name: "CFuzzerDriver"),
        .executableTarget(name: "mms-fuzz", dependencies: ["FuzzTargets", "CFuzzerDriver"]),

        .testTarget(name: "MonitorModelsTests", dependencies: ["MonitorModels"]),
        .testTarget(name: "MMSCryptoTests", dependencies: ["MMSCrypto"]),
        .testTarget(name: "FuzzTargetsTests", dependencies: ["FuzzTargets"]),
        .testTarget(name: "MonitorServerTests", dependencies: ["MonitorServer", "MonitorHTTP", "MMSCrypto", "MonitorModels", "CSQLite", "MMSTestSupport"]),
        // Helpers for tests that drive the real binaries (a server process, line reading, polling with a deadline,
        // a throwaway PostgreSQL cluster).
        .target(name: "MMSTestSupport", dependencies: ["CLibPQ"], path: "Tests/MMSTestSupport"),
        .testTarget(name: "ServerAPIClientTests", dependencies: ["ServerAPIClient", "MonitorServer", "MonitorModels", "MMSTestSupport"]),
        .testTarget(
            name: "MonitorAgentTests",
            dependencies: ["MonitorAgent", "MonitorServer", "ServerAPIClient", "MonitorModels", "MMSTestSupport", "CurlHTTP", "MMSCrypto", "MonitorHTTP"]
        ),
        .testTarget(
            name: "ConsoleUITests",
            dependencies: ["ConsoleUI", "MonitorServer", "ServerAPIClient", "MonitorModels", "MMSTestSupport"],
            exclude: ["__Snapshots__"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
