#if canImport(Glibc)
import Glibc
#endif
import Foundation
import KioskCore
import KioskService
import KioskTestSupport
import Testing

/// The udev monitor lives as long as kioskd: the test card reader (ttyS0, tagged by the project's rules under the
/// test udevd) pulled out and plugged back in is reported through the socket within 2 s.
@Suite(.serialized, .timeLimit(.minutes(2))) struct KioskdDeviceTests {
    static let ttyS0 = "/sys/class/tty/ttyS0"
    static var udevReady: Bool {
        guard getuid() == 0, FileManager.default.fileExists(atPath: "\(ttyS0)/uevent") else { return false }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = [packageRoot.appendingPathComponent("Hardware/udev/start-test-udevd.sh").path]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return false }
        p.waitUntilExit()
        return p.terminationStatus == 0
    }

    @Test func aCardReaderPulledOutAndPluggedInIsReportedWithinTwoSeconds() async throws {
        try #require(Self.udevReady, "systemd-udevd with the test rules (root, ttyS0)")
        let k = try KioskdProcess(dinas: nil, devices: ["printer": "simulated", "scanner": "simulated", "card_reader": "auto"])
        let client = try k.startAndWait()
        defer { _ = k.terminate() }
        let present = try client.callBlocking("staff.devices.list")
        guard case .array(let devices) = present else { Issue.record("devices list: \(present)"); return }
        #expect(devices.contains { $0["role"]?.stringValue == "card-reader" && $0["devnode"]?.stringValue == "/dev/ttyS0" })
        #expect(try client.callBlocking("staff.status")["devices"]?["card_reader"]?["present"]?.boolValue == true)

        try await client.subscribe(["device"])
        let events = client.events()
        let collector = Task { () -> [(Date, String)] in
            var seen: [(Date, String)] = []
            for await e in events where e.event == "device.changed" {
                if e.data?["role"]?.stringValue == "card-reader" { seen.append((Date(), e.data?["action"]?.stringValue ?? "")) }
                if seen.count >= 2 { break }
            }
            return seen
        }
        let removed = Date()
        try "remove".write(toFile: "\(Self.ttyS0)/uevent", atomically: false, encoding: .utf8)
        try await Task.sleep(nanoseconds: 2_500_000_000)
        let added = Date()
        try "add".write(toFile: "\(Self.ttyS0)/uevent", atomically: false, encoding: .utf8)
        let timeout = Task {
            try? await Task.sleep(nanoseconds: 6_000_000_000)
            collector.cancel()
        }
        let seen = await collector.value
        timeout.cancel()
        try #require(seen.count == 2, "both events arrived: \(seen.map(\.1)); log: \(k.log)")
        #expect(seen[0].1 == "detached")
        #expect(seen[0].0.timeIntervalSince(removed) < 2)
        #expect(seen[1].1 == "attached")
        #expect(seen[1].0.timeIntervalSince(added) < 2)
        #expect(try eventually(within: 3) { try client.callBlocking("staff.status")["devices"]?["card_reader"]?["present"]?.boolValue == true })
    }
}
