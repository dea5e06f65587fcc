import Foundation
import KioskCore
import KioskDevices
import KioskTestSupport
import Synchronization
import Testing


@Suite struct PrinterHotplugTests {
    @Test func aPluggedInPrinterGetsTheKioskQueueWhenCUPSHasNone() async {
        let runner = FakeRunner()
        let hotplug = PrinterHotplug(configuredQueue: nil, queues: FakeQueues(existing: []), runner: runner)
        #expect(await hotplug.attached(FakePrinterDevices.usb()) == .created("kiosk"))
        #expect(runner.commands.withLock { $0 } == [
            ["lpadmin", "-p", "kiosk", "-v", FakePrinterDevices.epsonURI, "-m", "everywhere", "-o", "printer-error-policy=stop-printer", "-E"],
            ["lpadmin", "-d", "kiosk"],
        ])
    }

    @Test func aConfiguredQueueIsLeftAlone() async {
        let runner = FakeRunner()
        let auto = PrinterHotplug(configuredQueue: nil, queues: FakeQueues(existing: [""]), runner: runner)
        #expect(await auto.attached(FakePrinterDevices.usb()) == .queueExists("default"))
        let named = PrinterHotplug(configuredQueue: "loket", queues: FakeQueues(existing: ["loket"]), runner: runner)
        #expect(await named.attached(FakePrinterDevices.usb()) == .queueExists("loket"))
        #expect(runner.commands.withLock { $0 }.isEmpty)
    }

    @Test func aNamedQueueThatIsMissingIsCreatedUnderItsNameAndNotMadeTheDefault() async {
        let runner = FakeRunner()
        let hotplug = PrinterHotplug(configuredQueue: "loket", queues: FakeQueues(existing: ["kiosk", ""]), runner: runner)
        #expect(await hotplug.attached(FakePrinterDevices.usb()) == .created("loket"))
        #expect(runner.commands.withLock { $0 }.map { Array($0.prefix(3)) } == [["lpadmin", "-p", "loket"]])
    }

    @Test func lpadminFailingOrHangingIsAFailure() async {
        let failed = CommandResult(status: 1, output: "lpadmin: Forbidden")
        let hotplug = PrinterHotplug(configuredQueue: nil, queues: FakeQueues(existing: []), runner: FakeRunner([failed]))
        #expect(await hotplug.attached(FakePrinterDevices.usb()) == .failed("kiosk", failed))
        let hung = CommandResult(status: 137, output: "", timedOut: true)
        let other = PrinterHotplug(configuredQueue: nil, queues: FakeQueues(existing: []), runner: FakeRunner([hung]))
        #expect(await other.attached(FakePrinterDevices.usb()) == .failed("kiosk", hung))
    }

    @Test func otherDevicesAndPrintersWithoutAURIAreIgnored() async {
        let runner = FakeRunner()
        let hotplug = PrinterHotplug(configuredQueue: nil, queues: FakeQueues(existing: []), runner: runner)
        #expect(await hotplug.attached(KioskDevice(role: .scanner, syspath: "/sys/devices/x")) == .ignored)
        #expect(await hotplug.attached(FakePrinterDevices.usb(nil)) == .ignored)
        #expect(runner.commands.withLock { $0 }.isEmpty)
    }

    @Test func unpluggingTheLastPrinterMakesItNotConnectedUntilItIsBack() async {
        let hotplug = PrinterHotplug(configuredQueue: nil, queues: FakeQueues(existing: [""]), runner: FakeRunner())
        #expect(hotplug.connected, "no printer seen by udev (a network printer) counts as connected")
        _ = await hotplug.attached(FakePrinterDevices.usb(syspath: "/sys/a"))
        _ = await hotplug.attached(FakePrinterDevices.usb(syspath: "/sys/b"))
        #expect(hotplug.detached(FakePrinterDevices.usb(syspath: "/sys/a")) == .ignored)
        #expect(hotplug.connected)
        #expect(hotplug.detached(FakePrinterDevices.usb(syspath: "/sys/b")) == .unplugged)
        #expect(!hotplug.connected)
        _ = await hotplug.attached(FakePrinterDevices.usb(syspath: "/sys/b"))
        #expect(hotplug.connected)
    }

    @Test func theRunnersWatchdogKillsAHungCommand() async {
        let started = Date()
        let r = await ProcessCommandRunner().run(["sh", "-c", "echo started; exec sleep 30"], timeout: 0.5)
        #expect(r.timedOut)
        #expect(r.status == 128 + SIGKILL)
        #expect(r.output.contains("started"))
        #expect(Date().timeIntervalSince(started) < 5)
        let ok = await ProcessCommandRunner().run(["sh", "-c", "echo fine; exit 3"], timeout: 5)
        #expect(ok == CommandResult(status: 3, output: "fine\n"))
    }
}

/// The same logic against the private cupsd: lpadmin really makes an IPP Everywhere queue for the simulated
/// raster-only printer's URI (standing in for ipp-usb's), and a second plug-in leaves it alone.
extension RealPrinter {
@Suite(.timeLimit(.minutes(2))) struct PrinterHotplugCUPSTests {
    @Test func lpadminMakesAWorkingQueueOnThePrivateCupsd() async throws {
        let t = try #require(TestPrinter.shared, "the test printer could not start")
        let uri = try #require(t.rasterURI)
        let queue = "kiosk-hotplug-\(getpid())"
        var env = ProcessInfo.processInfo.environment
        env["CUPS_SERVER"] = t.server
        let runner = ProcessCommandRunner(environment: env)
        defer { _ = try? sh(["env", "CUPS_SERVER=\(t.server)", "lpadmin", "-x", queue]) }
        let hotplug = PrinterHotplug(configuredQueue: queue, queues: CUPSQueues(server: t.server), runner: runner)
        #expect(await hotplug.attached(FakePrinterDevices.usb(uri)) == .created(queue))
        let printer = try await CUPSPrinter(queue: queue, server: t.server)
        let status = try await printer.status()
        #expect(status.deviceReachable)
        #expect(status.acceptingJobs)
        let listed = try sh(["env", "CUPS_SERVER=\(t.server)", "lpstat", "-v", queue]).out
        #expect(listed.contains(uri), "\(listed)")
        // printer-error-policy is a CUPS attribute only asked for by name: ipptool on the private cupsd's port.
        let conf = try String(contentsOfFile: "\(t.dir)/etc/cupsd.conf", encoding: .utf8)
        let port = try #require(conf.split(separator: "\n").first { $0.hasPrefix("Listen 127.0.0.1:") }?.split(separator: ":").last)
        let testFile = FileManager.default.temporaryDirectory.appendingPathComponent("kiosk-policy-\(getpid()).test").path
        try "{\nOPERATION Get-Printer-Attributes\nGROUP operation-attributes-tag\nATTR charset attributes-charset utf-8\nATTR naturalLanguage attributes-natural-language en\nATTR uri printer-uri $uri\nATTR keyword requested-attributes printer-error-policy\nSTATUS successful-ok\n}\n"
            .write(toFile: testFile, atomically: true, encoding: .utf8)
        defer { unlink(testFile) }
        let policy = try sh(["ipptool", "-tv", "ipp://127.0.0.1:\(port)/printers/\(queue)", testFile]).out
        #expect(policy.contains("printer-error-policy (nameWithoutLanguage) = stop-printer"), "\(policy)")
        #expect(await hotplug.attached(FakePrinterDevices.usb(uri)) == .queueExists(queue))
    }
}
}
