// swift-tools-version:6.0
// Kios Pelayanan Adminduk Daring — kiosk controller.
// No Swift package dependencies: Foundation, Dispatch, Synchronization and system C libraries only.
import PackageDescription

let package = Package(
    name: "kiosk",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "kioskctl", targets: ["kioskctl"]),
        .executable(name: "kioskd", targets: ["kioskd"]),
        .executable(name: "kiosk-ui", targets: ["kiosk-ui"]),
        .executable(name: "kiosk-bench", targets: ["kiosk-bench"]),
    ],
    targets: [
        // C libraries: one system-library target each (module.modulemap + shim.h, nothing else).
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        // Debian 12's libcups2-dev ships no cups.pc, so no pkgConfig here (platform-notes §1).
        .systemLibrary(name: "CCUPS", providers: [.apt(["libcups2-dev"])]),
        .systemLibrary(name: "CUdev", pkgConfig: "libudev", providers: [.apt(["libudev-dev"])]),
        .systemLibrary(name: "CCrypto", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CQREncode", pkgConfig: "libqrencode", providers: [.apt(["libqrencode-dev"])]),
        .systemLibrary(name: "CTurboJPEG", pkgConfig: "libturbojpeg", providers: [.apt(["libturbojpeg0-dev"])]),

        // Domain value types, rules, NIK, flows. No C, no I/O.
        .target(name: "KioskCore"),
        // The only module importing libcrypto: SHA-256, Ed25519, PBKDF2, config bundle signatures.
        .target(name: "KioskSecurity", dependencies: ["KioskCore", "CCrypto"]),
        // The SQLite store: applications, attachment spool, queue, documents, audit log, retention.
        .target(name: "KioskStore", dependencies: ["KioskCore", "KioskSecurity", "CSQLite"]),
        // Dinas protocol client: forwarding, status and documents, config, heartbeat, USB spool.
        .target(name: "KioskSync", dependencies: ["KioskCore", "KioskStore", "KioskSecurity"]),
        // Devices: CUPS printer, receipts (PDF + QR), and their simulated twins.
        .target(name: "KioskDevices", dependencies: ["KioskCore", "CCUPS", "CQREncode", "CTurboJPEG", "CUdev"]),
        // Terminal toolkit (renderer, input parser, layout) and the resident screens. Talks to the rest only
        // through KioskCore's `KioskServices`.
        .target(name: "KioskUI", dependencies: ["KioskCore"]),
        // What the resident sees of an application (receipts, issuance, service names) and the profile search.
        .target(name: "KioskRuntime", dependencies: ["KioskCore", "KioskStore", "KioskDevices", "KioskSecurity"]),
        // The use cases (resident, staff, admin) once; kioskd's service group and lifecycle (sd_notify, signals,
        // watchdog), config application, device supervision, the control socket server and client.
        .target(name: "KioskService", dependencies: ["KioskCore", "KioskSecurity", "KioskStore", "KioskSync", "KioskDevices", "KioskRuntime"]),
        // kioskctl's commands as a library, so tests run them in-process with captured output.
        .target(name: "KioskCLI", dependencies: ["KioskCore", "KioskSecurity", "KioskStore", "KioskSync", "KioskDevices", "KioskRuntime", "KioskService"]),

        .executableTarget(name: "kioskctl", dependencies: ["KioskCLI"]),
        .executableTarget(
            name: "kioskd",
            dependencies: ["KioskCore", "KioskService", "KioskStore", "KioskDevices", "KioskSecurity", "CSQLite", "CCUPS", "CUdev", "CCrypto", "CQREncode", "CTurboJPEG"]
        ),
        // The resident touchscreen UI: KioskUI over the control socket (RemoteKioskServices), nothing else.
        .executableTarget(name: "kiosk-ui", dependencies: ["KioskCore", "KioskUI", "KioskService"]),
        .executableTarget(name: "kiosk-bench", dependencies: ["KioskCore", "KioskSecurity", "KioskStore", "KioskSync", "KioskCLI", "KioskDevices", "KioskUI", "KioskRuntime", "KioskService"]),

        // Test helper: the crash test SIGKILLs it while it submits and transitions applications.
        .executableTarget(
            name: "kiosk-store-worker", dependencies: ["KioskStore", "KioskCore", "KioskSecurity"],
            path: "Tests/StoreWorker"),

        // Test support shared by the test targets that run real components (the Dinas reference endpoint, ...).
        .target(name: "KioskTestSupport", dependencies: ["KioskCore", "KioskSecurity", "KioskDevices"], path: "Tests/Support"),

        .testTarget(name: "KioskCoreTests", dependencies: ["KioskCore", "KioskTestSupport"]),
        .testTarget(name: "KioskStoreTests", dependencies: ["KioskStore", "KioskCore", "KioskSecurity", "kiosk-store-worker"]),
        .testTarget(name: "KioskSecurityTests", dependencies: ["KioskSecurity", "KioskCore"]),
        .testTarget(name: "KioskDevicesTests", dependencies: ["KioskTestSupport", "KioskDevices", "KioskCore", "KioskStore", "KioskCLI", "KioskSecurity"]),
        .testTarget(name: "KioskSyncTests", dependencies: ["KioskTestSupport", "KioskSync", "KioskStore", "KioskCore", "KioskSecurity", "kioskctl"]),
        .testTarget(name: "KioskRuntimeTests", dependencies: ["KioskTestSupport", "KioskRuntime", "KioskService", "KioskCore", "KioskStore", "KioskDevices", "KioskSecurity"]),
        .testTarget(name: "KioskUITests", dependencies: ["KioskTestSupport", "KioskUI", "KioskCore", "KioskDevices", "kioskd", "kioskctl"]),
        .testTarget(name: "KioskServiceTests", dependencies: ["KioskTestSupport", "KioskService", "KioskCLI", "KioskCore", "KioskStore", "KioskSync", "KioskSecurity", "KioskDevices", "kioskd", "kioskctl", "kiosk-ui"]),
        .testTarget(name: "KioskCLITests", dependencies: ["KioskCLI", "KioskCore", "KioskSecurity", "kioskctl", "kioskd"]),
    ],
    swiftLanguageModes: [.v6]
)
