import Foundation
import KioskDevices
import Synchronization

/// Latency from a uevent write (/sys/class/tty/ttyS0/uevent) to the typed DeviceEvent, through the real
/// systemd-udevd and the project's rules (Hardware/udev/start-test-udevd.sh must have run; root).
func benchDevices() async throws {
    let uevent = "/sys/class/tty/ttyS0/uevent"
    guard getuid() == 0, FileManager.default.isWritableFile(atPath: uevent) else {
        print("devices: needs root and a writable \(uevent)")
        return
    }
    let monitor = UdevMonitor()
    let stream = monitor.events()
    defer { monitor.stop() }
    var iterator = stream.makeAsyncIterator()
    // The enumeration event first: ttyS0 must carry the test rule's role.
    guard let first = await iterator.next(), first.device.syspath.hasSuffix("/ttyS0") else {
        print("devices: ttyS0 is not a kiosk device; run Hardware/udev/start-test-udevd.sh first")
        return
    }
    var samples: [Double] = []
    for _ in 0..<300 {
        let t0 = monotonicSeconds()
        try "change".write(toFile: uevent, atomically: false, encoding: .utf8)
        while let e = await iterator.next() {
            if e.device.syspath.hasSuffix("/ttyS0"), !e.fromEnumeration { break }
        }
        samples.append(monotonicSeconds() - t0)
    }
    samples.sort()
    print(String(format: "devices: uevent write → typed event: median %.2f ms, p99 %.2f ms, max %.2f ms (300 events, through systemd-udevd)",
                 percentile(samples, 50) * 1000, percentile(samples, 99) * 1000, samples.last! * 1000))
}
