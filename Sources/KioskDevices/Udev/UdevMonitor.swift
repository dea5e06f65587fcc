import CUdev
import Foundation
import Synchronization

/// A kiosk device as udev describes it: a node tagged `kiosk` by the project's rules, with its role.
public struct KioskDevice: Sendable, Equatable, Codable {
    public enum Role: String, Sendable, Codable, CaseIterable {
        case cardReader = "card-reader"
        case scanner
        case printer
    }

    public var role: Role
    public var syspath: String
    public var devnode: String?
    public var subsystem: String?
    public var vendorID: String?
    public var modelID: String?
    public var serial: String?
    /// The hardware profile its udev rule matched (KIOSK_PROFILE, e.g. `printer-epson-l3210`).
    public var profile: String?
    /// For a printer: where it is reached once plugged in (KIOSK_PRINTER_URI from the profile's `ipp_uri`, e.g.
    /// ipp-usb's `ipp://localhost:60000/ipp/print`); kioskd makes its kiosk queue with it.
    public var printerURI: String?

    enum CodingKeys: String, CodingKey {
        case role, syspath, devnode, subsystem, serial, profile
        case vendorID = "vendor_id"
        case modelID = "model_id"
        case printerURI = "printer_uri"
    }

    public init(role: Role, syspath: String, devnode: String? = nil, subsystem: String? = nil, vendorID: String? = nil,
                modelID: String? = nil, serial: String? = nil, profile: String? = nil, printerURI: String? = nil) {
        self.role = role
        self.syspath = syspath
        self.devnode = devnode
        self.subsystem = subsystem
        self.vendorID = vendorID
        self.modelID = modelID
        self.serial = serial
        self.profile = profile
        self.printerURI = printerURI
    }
}

public struct DeviceEvent: Sendable, Equatable {
    public enum Action: String, Sendable, Codable {
        case attached, detached, changed
    }

    public var action: Action
    public var device: KioskDevice
    /// True for events the monitor made up after re-enumerating (a lost or never-seen kernel event).
    public var fromEnumeration: Bool
    /// udev's sequence number (0 for enumeration).
    public var seqnum: UInt64

    public init(action: Action, device: KioskDevice, fromEnumeration: Bool = false, seqnum: UInt64 = 0) {
        self.action = action
        self.device = device
        self.fromEnumeration = fromEnumeration
        self.seqnum = seqnum
    }
}

/// Watches udev for devices the project's rules tag `kiosk` and give a `KIOSK_ROLE` (Hardware/udev).
///
/// The only file that touches libudev. Everything runs on one dedicated thread (libudev objects are not
/// thread-safe). It listens to the "udev" source (devices already configured by the rules) with a large receive
/// buffer, enumerates at start, and whenever the monitor fails (ENOBUFS after an event storm included) it builds a
/// new monitor and re-enumerates, emitting the differences, so no final state is missed.
public final class UdevMonitor: Sendable {
    public static let tag = "kiosk"
    private let stopped = Atomic<Bool>(false)
    private let state = Mutex<[String: KioskDevice]>([:])
    private let restartCount = Atomic<Int>(0)

    private let receiveBufferBytes: Int32

    /// - Parameter receiveBufferBytes: the netlink socket's receive buffer (128 MiB like systemd; tests shrink it
    ///   to force ENOBUFS).
    public init(receiveBufferBytes: Int32 = 128 * 1024 * 1024) {
        self.receiveBufferBytes = receiveBufferBytes
    }

    /// Devices present now (as last seen by the monitor thread).
    public var present: [KioskDevice] { self.state.withLock { Array($0.values) }.sorted { $0.syspath < $1.syspath } }
    /// How often the monitor was rebuilt after an error.
    public var restarts: Int { self.restartCount.load(ordering: .relaxed) }

    /// Enumerates once (no monitor): the devices present now.
    public static func enumerate() -> [KioskDevice] {
        guard let udev = udev_new() else { return [] }
        defer { udev_unref(udev) }
        return Self.enumerate(udev)
    }

    /// Starts the monitor thread; events until `stop()` or the stream's consumer goes away. The first events are
    /// `attached` for every device present at start (fromEnumeration true).
    public func events() -> AsyncStream<DeviceEvent> {
        let (stream, continuation) = AsyncStream.makeStream(of: DeviceEvent.self, bufferingPolicy: .unbounded)
        continuation.onTermination = { [weak self] _ in self?.stop() }
        let thread = Thread { [self] in self.run(continuation) }
        thread.name = "kiosk-udev"
        thread.start()
        return stream
    }

    public func stop() { self.stopped.store(true, ordering: .sequentiallyConsistent) }

    private let held = Atomic<Bool>(false)
    /// Diagnostics and tests: stop draining the socket for a while (events queue in the kernel buffer, and
    /// overflow like they do behind a stalled daemon).
    public func holdReceiving(_ hold: Bool) { self.held.store(hold, ordering: .sequentiallyConsistent) }

    private func run(_ continuation: AsyncStream<DeviceEvent>.Continuation) {
        defer { continuation.finish() }
        guard let udev = udev_new() else { return }
        defer { udev_unref(udev) }
        var first = true
        while !self.stopped.load(ordering: .sequentiallyConsistent) {
            // Monitor first, then enumerate: an event between the two is seen twice at worst, never lost.
            guard let monitor = Self.makeMonitor(udev, buffer: self.receiveBufferBytes) else {
                usleep(500_000)
                continue
            }
            defer { udev_monitor_unref(monitor) }
            self.reconcile(Self.enumerate(udev), continuation)
            if !first { self.restartCount.add(1, ordering: .relaxed) }
            first = false
            self.receive(monitor, continuation)
        }
    }

    /// Emits attached/detached/changed for the difference between what we knew and what is there now.
    private func reconcile(_ devices: [KioskDevice], _ continuation: AsyncStream<DeviceEvent>.Continuation) {
        let now = Dictionary(devices.map { ($0.syspath, $0) }, uniquingKeysWith: { $1 })
        let before = self.state.withLock { s -> [String: KioskDevice] in
            let old = s
            s = now
            return old
        }
        for (path, device) in now.sorted(by: { $0.key < $1.key }) {
            if let old = before[path] {
                if old != device { continuation.yield(DeviceEvent(action: .changed, device: device, fromEnumeration: true, seqnum: 0)) }
            } else {
                continuation.yield(DeviceEvent(action: .attached, device: device, fromEnumeration: true, seqnum: 0))
            }
        }
        for (path, device) in before.sorted(by: { $0.key < $1.key }) where now[path] == nil {
            continuation.yield(DeviceEvent(action: .detached, device: device, fromEnumeration: true, seqnum: 0))
        }
    }

    /// Receives until an error (then the caller rebuilds) or stop.
    private func receive(_ monitor: OpaquePointer, _ continuation: AsyncStream<DeviceEvent>.Continuation) {
        let fd = udev_monitor_get_fd(monitor)
        while !self.stopped.load(ordering: .sequentiallyConsistent) {
            if self.held.load(ordering: .sequentiallyConsistent) {
                usleep(20_000)
                continue
            }
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let n = poll(&pfd, 1, 200)
            if n < 0 {
                if errno == EINTR { continue }
                return
            }
            if n == 0 { continue }
            if pfd.revents & Int16(POLLERR | POLLHUP | POLLNVAL) != 0 { return }
            // Drain everything queued; NULL with EAGAIN means "empty", anything else (ENOBUFS) is a lost event.
            while true {
                errno = 0
                guard let dev = udev_monitor_receive_device(monitor) else {
                    if errno == EAGAIN || errno == EWOULDBLOCK || errno == 0 || errno == EINTR { break }
                    return
                }
                defer { udev_device_unref(dev) }
                let action = udev_device_get_action(dev).map { String(cString: $0) } ?? "change"
                let seqnum = udev_device_get_seqnum(dev)
                if action == "remove" {
                    guard let path = udev_device_get_syspath(dev).map({ String(cString: $0) }),
                          let known = self.state.withLock({ $0.removeValue(forKey: path) })
                    else { continue }
                    continuation.yield(DeviceEvent(action: .detached, device: known, fromEnumeration: false, seqnum: seqnum))
                    continue
                }
                guard let device = Self.device(dev) else {
                    // The role was taken away (rule changed): it is no longer a kiosk device.
                    if let path = udev_device_get_syspath(dev).map({ String(cString: $0) }),
                       let known = self.state.withLock({ $0.removeValue(forKey: path) })
                    {
                        continuation.yield(DeviceEvent(action: .detached, device: known, fromEnumeration: false, seqnum: seqnum))
                    }
                    continue
                }
                let existed = self.state.withLock { s -> Bool in
                    let had = s[device.syspath] != nil
                    s[device.syspath] = device
                    return had
                }
                let kind: DeviceEvent.Action = action == "add" && !existed ? .attached : (existed ? .changed : .attached)
                continuation.yield(DeviceEvent(action: kind, device: device, fromEnumeration: false, seqnum: seqnum))
            }
        }
    }

    private static func makeMonitor(_ udev: OpaquePointer, buffer: Int32) -> OpaquePointer? {
        guard let monitor = udev_monitor_new_from_netlink(udev, "udev") else { return nil }
        // 128 MiB like systemd (SO_RCVBUFFORCE as root; otherwise the kernel's cap applies).
        _ = udev_monitor_set_receive_buffer_size(monitor, buffer)
        guard udev_monitor_filter_add_match_tag(monitor, Self.tag) >= 0, udev_monitor_enable_receiving(monitor) >= 0 else {
            udev_monitor_unref(monitor)
            return nil
        }
        return monitor
    }

    private static func enumerate(_ udev: OpaquePointer) -> [KioskDevice] {
        guard let e = udev_enumerate_new(udev) else { return [] }
        defer { udev_enumerate_unref(e) }
        udev_enumerate_add_match_tag(e, Self.tag)
        udev_enumerate_add_match_is_initialized(e)
        udev_enumerate_scan_devices(e)
        var out: [KioskDevice] = []
        var entry = udev_enumerate_get_list_entry(e)
        while let current = entry {
            if let path = udev_list_entry_get_name(current), let dev = udev_device_new_from_syspath(udev, path) {
                if let d = Self.device(dev) { out.append(d) }
                udev_device_unref(dev)
            }
            entry = udev_list_entry_get_next(current)
        }
        return out
    }

    /// A kiosk device from a udev device, nil when it has no (known) KIOSK_ROLE.
    private static func device(_ dev: OpaquePointer) -> KioskDevice? {
        func property(_ name: String) -> String? {
            udev_device_get_property_value(dev, name).map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 }
        }
        guard let roleName = property("KIOSK_ROLE"), let role = KioskDevice.Role(rawValue: roleName),
              let syspath = udev_device_get_syspath(dev).map({ String(cString: $0) })
        else { return nil }
        return KioskDevice(role: role, syspath: syspath, devnode: udev_device_get_devnode(dev).map { String(cString: $0) },
                           subsystem: udev_device_get_subsystem(dev).map { String(cString: $0) },
                           vendorID: property("ID_VENDOR_ID"), modelID: property("ID_MODEL_ID"),
                           serial: property("ID_SERIAL_SHORT") ?? property("KIOSK_SERIAL"),
                           profile: property("KIOSK_PROFILE"), printerURI: property("KIOSK_PRINTER_URI"))
    }
}
