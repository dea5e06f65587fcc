import Foundation
import KioskCore
import KioskDevices
@testable import KioskService
import KioskStore
import KioskTestSupport
import Synchronization
import Testing

/// kioskd's device supervisor given a simulated udev event for the Epson L3210 (Hardware/profiles) and a fake
/// lpadmin: the queue is made without staff action, and once the printer is unplugged the resident's notices say
/// it is not connected (Bahasa Indonesia first).
@Suite struct PrinterHotplugSupervisorTests {
    @Test func aPluggedInPrinterGetsItsQueueAndUnpluggedTheResidentIsTold() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("kiosk-hotplug-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let store = try KioskStore.open(directory: root).0
        let runner = FakeRunner()
        let events = Mutex<[(String, JSONValue)]>([])
        let supervisor = DeviceSupervisor(
            choices: .init(printer: .auto, scanner: .simulated, cardReader: .simulated), scanSettings: ScanSettings(),
            store: store, today: { CivilDate(year: 2026, month: 12, day: 3)! },
            printerHotplug: PrinterHotplug(configuredQueue: nil, queues: FakeQueues(existing: []), runner: runner),
            log: KioskLog(level: .error, sink: { _ in }), onEvent: { name, data in events.withLock { $0.append((name, data)) } })
        let profile = try JurisdictionProfile.load(
            try Data(contentsOf: packageRoot.appendingPathComponent("Kiosk/profiles/kota-kupang.json")), root: "kota-kupang")
        let useCases = try KioskUseCases(
            store: store, config: LiveConfig(LiveConfiguration(profile: profile, settings: ResidentSettings(desaName: "Desa Uji"),
                                                                version: 0, source: "test")),
            devices: supervisor, workDir: "\(root)/work", cards: supervisor.cardEvents, simulatedCard: nil, trustedKeys: [])
        func printerNotices() async -> [String] {
            await useCases.deviceNotices().filter { $0.device == "printer" }.map { $0.message.id }
        }
        let unplugged = "Printer tidak tersambung"

        let epson = FakePrinterDevices.usb()
        supervisor.handle(DeviceEvent(action: .attached, device: epson, seqnum: 1))
        await supervisor.printerHotplugSettled()
        #expect(runner.commands.withLock { $0 } == [
            ["lpadmin", "-p", "kiosk", "-v", FakePrinterDevices.epsonURI, "-m", "everywhere", "-o", "printer-error-policy=stop-printer", "-E"],
            ["lpadmin", "-d", "kiosk"],
        ])
        #expect(supervisor.printerConnected)
        #expect(!(await printerNotices()).contains { $0.hasPrefix(unplugged) })
        #expect(events.withLock { $0 }.contains { $0.0 == "printer.queue" && $0.1["queue"]?.stringValue == "kiosk" })

        supervisor.handle(DeviceEvent(action: .detached, device: epson, seqnum: 2))
        #expect(!supervisor.printerConnected)
        let notices = await printerNotices()
        #expect(notices.contains { $0.hasPrefix(unplugged) }, "\(notices)")
        #expect(events.withLock { $0 }.contains { $0.0 == "device.notice" && $0.1["connected"]?.boolValue == false })

        // Plugged back in: the notice goes, and the queue it made (or staff made) is not made again.
        supervisor.handle(DeviceEvent(action: .attached, device: epson, seqnum: 3))
        await supervisor.printerHotplugSettled()
        #expect(supervisor.printerConnected)
        #expect(!(await printerNotices()).contains { $0.hasPrefix(unplugged) })
        #expect(runner.commands.withLock { $0 }.count == 4, "the fake says no queue exists, so it is made again")
        await supervisor.stop()
    }
}
