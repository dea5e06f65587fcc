// kiosk-bench: prints measured figures. Run in release: `swift run -c release kiosk-bench rules`.
// `daemon` runs the kioskd built beside it: `swift build -c release && .build/release/kiosk-bench daemon`.
import Foundation
import KioskCore
import KioskRuntime

func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

func findProfiles() -> String {
    ProfileSearch.find(explicit: ProcessInfo.processInfo.environment["KIOSK_PROFILES_DIR"],
                       currentDirectory: FileManager.default.currentDirectoryPath, executablePath: nil)
        ?? "/usr/share/kiosk/profiles"
}

func benchRules() throws {
    let dir = findProfiles()
    let data = try Data(contentsOf: URL(fileURLWithPath: "\(dir)/kota-kupang.json"))
    let engine = RulesEngine(profile: try JurisdictionProfile.load(data))
    // A mix of worked examples: on time, head approval, court order, stillbirth, exemption, working days.
    let cases: [(String, String, String, Facts)] = [
        ("birth", "2024-03-10", "2024-05-09", [:]),
        ("birth", "2024-03-10", "2024-05-10", ["approval_date": .date(CivilDate(iso: "2024-05-14")!)]),
        ("birth", "2022-01-05", "2024-02-01", ["court_order_date": .date(CivilDate(iso: "2024-04-22")!)]),
        ("stillbirth", "2024-08-01", "2024-09-05", ["gestation_weeks": .int(30)]),
        ("child-recognition", "2024-02-01", "2024-03-05", ["religion_exempt": .bool(true)]),
        ("move-out", "2024-07-22", "2024-07-22", ["move_class": .string("c"), "issued_date": .date(CivilDate(iso: "2024-08-02")!)]),
    ].map { ($0.0, $0.1, $0.2, $0.3) }
    let prepared = cases.map { ($0.0, CivilDate(iso: $0.1)!, CivilDate(iso: $0.2)!, $0.3) }
    var checksum = 0
    // Warm up, then measure for about two seconds.
    for c in prepared { checksum &+= try engine.evaluate(service: c.0, eventDate: c.1, reportDate: c.2, facts: c.3).daysLate }
    var n = 0
    let start = monotonicSeconds()
    var elapsed = 0.0
    while elapsed < 2.0 {
        for _ in 0..<1000 {
            let c = prepared[n % prepared.count]
            checksum &+= try engine.evaluate(service: c.0, eventDate: c.1, reportDate: c.2, facts: c.3).daysLate
            n += 1
        }
        elapsed = monotonicSeconds() - start
    }
    print("rules: \(n) evaluations in \(String(format: "%.3f", elapsed)) s")
    print("rules: \(Int(Double(n) / elapsed)) evaluations/s (\(String(format: "%.2f", elapsed / Double(n) * 1e6)) µs each; mix of \(cases.count) worked examples; checksum \(checksum))")
}

let args = Array(CommandLine.arguments.dropFirst())
let suites: [String: @Sendable () async throws -> Void] = [
    "rules": { try benchRules() }, "store": { try benchStore() }, "sync": { try await benchSync() },
    "printer": { try await benchPrinter() },
    "scanner": { try await benchScanner() },
    "devices": { try await benchDevices() },
    "ui": { try benchUI() },
    "voice": { try benchVoice() },
    "daemon": { try benchDaemon(arguments: Array(CommandLine.arguments.dropFirst(2))) },
]
guard let name = args.first, let suite = suites[name] else {
    print("Usage: kiosk-bench SUITE   (suites: \(suites.keys.sorted().joined(separator: ", ")))")
    print("       kiosk-bench daemon [--seconds N]   (kioskd next to kiosk-bench: start → READY=1, staff.submit, idle CPU/RSS over N s, default 60)")
    exit(args.isEmpty ? 0 : 64)
}
do {
    try await suite()
} catch {
    FileHandle.standardError.write(Data("kiosk-bench \(name): \(error)\n".utf8))
    exit(1)
}
