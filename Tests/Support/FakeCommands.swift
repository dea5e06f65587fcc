import Foundation
import KioskDevices
import Synchronization

/// Records the commands it is asked to run and answers each with the next scripted result (default: success).
public final class FakeRunner: CommandRunner {
    public let commands = Mutex<[[String]]>([])
    public let results = Mutex<[CommandResult]>([])

    public init(_ results: [CommandResult] = []) {
        self.results.withLock { $0 = results }
    }

    public func run(_ arguments: [String], timeout: Double) async -> CommandResult {
        self.commands.withLock { $0.append(arguments) }
        return self.results.withLock { $0.isEmpty ? CommandResult(status: 0, output: "") : $0.removeFirst() }
    }
}

/// Queues that exist, by name; "" stands for a CUPS default destination.
public struct FakeQueues: PrinterQueues {
    public let existing: Set<String>
    public init(existing: Set<String>) { self.existing = existing }
    public func exists(_ queue: String?) async -> Bool { self.existing.contains(queue ?? "") }
}

/// Udev devices for the printer hotplug tests: the Epson L3210 of Hardware/profiles, as its rule tags it.
public enum FakePrinterDevices {
    /// ipp-usb's address for the first IPP-over-USB printer (the profile's ipp_uri).
    public static let epsonURI = "ipp://localhost:60000/ipp/print"

    public static func usb(_ uri: String? = epsonURI, syspath: String = "/sys/devices/pci0000:00/usb1/1-2") -> KioskDevice {
        KioskDevice(role: .printer, syspath: syspath, subsystem: "usb", vendorID: "04b8", modelID: "1181",
                    profile: "printer-epson-l3210", printerURI: uri)
    }
}
