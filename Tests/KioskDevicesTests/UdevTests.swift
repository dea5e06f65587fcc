import Foundation
import KioskCLI
import KioskCore
import KioskDevices
import Synchronization
import Testing

/// The real systemd-udevd with the project's rules (Hardware/udev): ttyS0 stands in for a card reader.
/// `.ci/run` starts udevd; otherwise the first test starts it (root needed, as for any udev rule).
enum TestUdev {
    static let ready: Bool = {
        guard getuid() == 0, FileManager.default.fileExists(atPath: "/sys/class/tty/ttyS0/uevent") else { return false }
        let r = try? sh(["bash", packageRoot.appendingPathComponent("Hardware/udev/start-test-udevd.sh").path])
        return r?.status == 0
    }()
    static let ttyS0 = "/sys/class/tty/ttyS0"

    static func uevent(_ text: String) throws {
        try text.write(toFile: "\(ttyS0)/uevent", atomically: false, encoding: .utf8)
    }

    static func uuid() -> String {
        ((try? String(contentsOfFile: "/proc/sys/kernel/random/uuid", encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// A lock-protected value shared with tasks (Mutex itself cannot be captured: it is not copyable).
final class Locked<T: Sendable>: Sendable {
    private let mutex: Mutex<T>
    init(_ value: T) { self.mutex = Mutex(value) }
    func with<R>(_ body: (inout T) -> R) -> R { self.mutex.withLock { body(&$0) } }
}

/// Reads events from a monitor with a timeout.
final class EventCollector: Sendable {
    let monitor: UdevMonitor
    private let events = Locked<[DeviceEvent]>([])
    private let task: Task<Void, Never>

    init(receiveBufferBytes: Int32 = 128 * 1024 * 1024) {
        self.monitor = UdevMonitor(receiveBufferBytes: receiveBufferBytes)
        let stream = self.monitor.events()
        let events = self.events
        self.task = Task { for await e in stream { events.with { $0.append(e) } } }
    }

    var all: [DeviceEvent] { self.events.with { $0 } }

    /// Waits until `match` holds for some event after index `from`; returns it.
    func next(after from: Int = 0, within seconds: Double = 10, _ match: (DeviceEvent) -> Bool) async throws -> DeviceEvent? {
        let start = Date()
        while Date().timeIntervalSince(start) < seconds {
            if let e = self.all.dropFirst(from).first(where: match) { return e }
            try await Task.sleep(nanoseconds: 20_000_000)
        }
        return nil
    }

    func stop() { self.monitor.stop() }
}

@Suite(.serialized) struct RealUdev {
    @Suite(.timeLimit(.minutes(3))) struct MonitorTests {
        init() throws { try #require(TestUdev.ready, "systemd-udevd with the test rules (root, ttyS0)") }

        func isTTYS0(_ e: DeviceEvent) -> Bool { e.device.syspath.hasSuffix("/ttyS0") }

        @Test func addChangeRemoveArriveTypedWithTheirRole() async throws {
            let c = EventCollector()
            defer { c.stop() }
            let first = try await c.next { isTTYS0($0) && $0.fromEnumeration }
            #expect(first?.action == .attached, "enumerated at start")
            #expect(first?.device.role == .cardReader)
            #expect(first?.device.devnode == "/dev/ttyS0")
            var mark = c.all.count
            #expect(try sh(["udevadm", "trigger", "--action=change", TestUdev.ttyS0]).status == 0)
            let changed = try await c.next(after: mark) { isTTYS0($0) && !$0.fromEnumeration }
            #expect(changed?.action == .changed)
            #expect((changed?.seqnum ?? 0) > 0)
            mark = c.all.count
            try TestUdev.uevent("remove")
            let removed = try await c.next(after: mark) { isTTYS0($0) && $0.action == .detached }
            #expect(removed?.device.role == .cardReader)
            #expect(!c.monitor.present.contains { $0.syspath.hasSuffix("/ttyS0") })
            mark = c.all.count
            try TestUdev.uevent("add \(TestUdev.uuid()) KIOSKSERIAL=abc123")
            let added = try await c.next(after: mark) { isTTYS0($0) && $0.action == .attached }
            #expect(added?.device.serial == "abc123", "a property from the uevent, through the rule")
            #expect(added?.device.devnode == "/dev/ttyS0")
            #expect(c.monitor.present.contains { $0.syspath.hasSuffix("/ttyS0") })
        }

        @Test func aStormOf5000EventsLeavesTheFinalStateRightAndTheMonitorAlive() async throws {
            let c = EventCollector()
            defer { c.stop() }
            _ = try await c.next { isTTYS0($0) && $0.fromEnumeration }
            // 5,000 synthetic uevents as fast as a shell can write them, the last one a removal.
            let storm = try sh(["bash", "-c", "for i in $(seq 4999); do echo change > \(TestUdev.ttyS0)/uevent; done; echo remove > \(TestUdev.ttyS0)/uevent"])
            #expect(storm.status == 0, "\(storm.out)")
            #expect(try sh(["udevadm", "settle", "--timeout=60"]).status == 0)
            let gone = try await c.next(within: 30) { isTTYS0($0) && $0.action == .detached }
            #expect(gone != nil)
            try await Task.sleep(nanoseconds: 500_000_000)
            #expect(!c.monitor.present.contains { $0.syspath.hasSuffix("/ttyS0") }, "final state: removed")
            let received = c.all.filter { isTTYS0($0) && !$0.fromEnumeration }.count
            // Alive: the next event still arrives.
            let mark = c.all.count
            try TestUdev.uevent("add")
            let back = try await c.next(after: mark, within: 10) { isTTYS0($0) && $0.action == .attached }
            #expect(back != nil, "the monitor is alive after the storm (\(received) storm events received, \(c.monitor.restarts) restarts)")
            #expect(c.monitor.present.contains { $0.syspath.hasSuffix("/ttyS0") })
        }

        @Test func anOverflowingMonitorIsRebuiltAndReenumerates() async throws {
            // A 4 KiB buffer, not drained during the storm: the kernel drops events (ENOBUFS); the monitor must notice,
            // rebuild itself, re-enumerate, and still end with the right state.
            let c = EventCollector(receiveBufferBytes: 4096)
            defer { c.stop() }
            _ = try await c.next { isTTYS0($0) && $0.fromEnumeration }
            c.monitor.holdReceiving(true)
            let storm = try sh(["bash", "-c", "for i in $(seq 3000); do echo change > \(TestUdev.ttyS0)/uevent; done; echo remove > \(TestUdev.ttyS0)/uevent"])
            #expect(storm.status == 0)
            #expect(try sh(["udevadm", "settle", "--timeout=60"]).status == 0)
            c.monitor.holdReceiving(false)
            for _ in 0..<100 where c.monitor.present.contains(where: { $0.syspath.hasSuffix("/ttyS0") }) {
                try await Task.sleep(nanoseconds: 100_000_000)
            }
            #expect(!c.monitor.present.contains { $0.syspath.hasSuffix("/ttyS0") }, "final state: removed")
            #expect(c.monitor.restarts > 0, "the overflow was seen and the monitor rebuilt")
            try TestUdev.uevent("add")
            let back = try await c.next(after: c.all.count - 1, within: 10) { isTTYS0($0) && $0.action == .attached }
            #expect(back != nil)
        }

        @Test func enumerationAloneFindsTheReader() throws {
            let devices = UdevMonitor.enumerate()
            #expect(devices.contains { $0.role == .cardReader && $0.devnode == "/dev/ttyS0" })
        }
    }
}

/// kioskctl in-process with captured output.
func ctl(_ args: [String]) -> (status: Int32, out: String, err: String) {
    let out = Locked(""), err = Locked("")
    let context = CLIContext(stdout: { s in out.with { $0 += s } }, stderr: { s in err.with { $0 += s } },
                             environment: [:], currentDirectory: packageRoot.path, executablePath: nil, now: { Date() })
    let status = KioskCtl.run(args, context: context)
    return (status, out.with { $0 }, err.with { $0 })
}

extension RealUdev {
    /// kioskctl devices list / watch; nested in RealUdev so no storm test runs at the same time.
    @Suite(.timeLimit(.minutes(1))) struct DeviceCommandTests {
        init() throws { try #require(TestUdev.ready, "systemd-udevd with the test rules (root, ttyS0)") }

    @Test func listShowsTheReaderByRole() throws {
        let r = ctl(["devices", "list", "--json"])
        #expect(r.status == 0, "\(r.err)")
        let devices = try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [[String: Any]])
        #expect(devices.contains { $0["role"] as? String == "card-reader" && $0["devnode"] as? String == "/dev/ttyS0" })
        #expect(ctl(["devices", "list"]).out.contains("card-reader: /dev/ttyS0"))
    }

    @Test func watchPrintsJSONLinesAndTimesOut() throws {
        let trigger = Thread {
            Thread.sleep(forTimeInterval: 1)
            try? "change".write(toFile: "/sys/class/tty/ttyS0/uevent", atomically: false, encoding: .utf8)
        }
        trigger.start()
        let r = ctl(["devices", "watch", "--json", "--no-enumerate", "--count", "1", "--timeout", "20"])
        #expect(r.status == 0, "\(r.err)")
        let line = try #require(r.out.split(separator: "\n").first)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["action"] as? String == "changed")
        #expect(object["role"] as? String == "card-reader")
        #expect(object["devnode"] as? String == "/dev/ttyS0")
        let none = ctl(["devices", "watch", "--no-enumerate", "--count", "1", "--timeout", "0.5"])
        #expect(none.status == 75, "no event within the timeout")
    }
    }
}

/// The reader's line protocol over a real pseudo-terminal pair (the slave side is what the driver opens).
@Suite(.timeLimit(.minutes(1))) struct CardReaderTests {
    static let today = CivilDate(year: 2026, month: 11, day: 22)!
    let nik = "5371011708950003"

    func pty() throws -> (master: Int32, slave: String) {
        // posix_openpt/unlockpt by hand (not exported to Swift): /dev/ptmx, TIOCSPTLCK 0, TIOCGPTN.
        let m = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC)
        try #require(m >= 0)
        var unlock: Int32 = 0
        var number: UInt32 = 0
        try #require(ioctl(m, 0x4004_5431, &unlock) == 0 && ioctl(m, 0x8004_5430, &number) == 0)
        return (m, "/dev/pts/\(number)")
    }

    func write(_ fd: Int32, _ s: String) { _ = s.withCString { Glibc.write(fd, $0, strlen($0)) } }

    @Test func tapRemovalGarbageAndAPartialLineThenUnplug() async throws {
        let (master, slave) = try pty()
        let reader = SerialCardReader(devnode: slave, lineProtocol: ReaderLineProtocol(), today: { Self.today })
        let collected = Locked<[CardEvent]>([])
        let stream = reader.events()
        let task = Task { for await e in stream { collected.with { $0.append(e) } } }
        func wait(for count: Int) async throws {
            for _ in 0..<250 where collected.with({ $0.count }) < count { try await Task.sleep(nanoseconds: 20_000_000) }
        }
        try await Task.sleep(nanoseconds: 200_000_000)
        write(master, "READER v1.2 ready\r\n")  // a banner: ignored
        write(master, "NIK:\(nik)\r\n")
        write(master, "NIK:\(nik)\r\n")  // the same tap read twice: debounced
        try await wait(for: 1)
        write(master, "REMOVED\r\n")
        try await wait(for: 2)
        write(master, "\u{1}\u{2}garbage\u{7f}\n")
        write(master, "NIK:1234567890123456\n")  // province 12 valid but the date part is not: unreadable
        try await wait(for: 3)
        write(master, "NIK:53710117")  // a partial line, then the reader is pulled
        try await Task.sleep(nanoseconds: 200_000_000)
        close(master)
        try await wait(for: 4)
        _ = await task.value
        let events = collected.with { $0 }
        #expect(events.count == 4, "\(events)")
        guard events.count == 4 else { return }
        #expect(events[0] == .cardInserted(try NIK(nik, today: Self.today)))
        #expect(events[1] == .cardRemoved)
        guard case .unreadable(let message) = events[2] else { Issue.record("\(events[2])"); return }
        #expect(message.id.contains("tidak terbaca"))
        guard case .readerGone = events[3] else { Issue.record("\(events[3])"); return }
    }

    @Test func aMissingDeviceNodeIsReported() async throws {
        let reader = SerialCardReader(devnode: "/dev/nonexistent-reader", lineProtocol: ReaderLineProtocol(), today: { Self.today })
        var events: [CardEvent] = []
        for await e in reader.events() { events.append(e) }
        guard case .readerGone(let why)? = events.first else { Issue.record("\(events)"); return }
        #expect(why.contains("No such file"))
    }

    @Test func parserDebouncesPerTimeAndDropsOverlongGarbage() throws {
        var p = CardLineParser(ReaderLineProtocol(debounceSeconds: 2), today: { Self.today })
        #expect(p.feed(Array("NIK:\(nik)\n".utf8), now: 0).count == 1)
        #expect(p.feed(Array("NIK:\(nik)\n".utf8), now: 1).isEmpty)
        #expect(p.feed(Array("NIK:\(nik)\n".utf8), now: 3.5).count == 1, "a new tap after the debounce time")
        #expect(p.feed(Array("REMOVED\n".utf8), now: 4) == [.cardRemoved])
        #expect(p.feed(Array("REMOVED\n".utf8), now: 4.1).isEmpty, "no card, nothing to remove")
        #expect(p.feed([UInt8](repeating: 65, count: 1000) + Array("\n".utf8), now: 5).isEmpty)
        #expect(p.feed(Array("NIK:".utf8), now: 6).isEmpty)
        #expect(p.feed(Array("\(nik)\r".utf8), now: 6.1).count == 1, "a line split across reads")
    }
}
