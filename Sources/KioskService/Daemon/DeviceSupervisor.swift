import Foundation
import KioskCore
import KioskDevices
import KioskStore
import Synchronization

public typealias DeviceChoice = KioskdConfig.DeviceChoice

/// The kiosk's devices for the life of kioskd (architecture.md, "Devices"): the udev monitor (readers, scanners
/// and printers plugged in or pulled out are seen within a second or two and announced to subscribers), the
/// printer watcher (a queue a fault paused is resumed once nothing blocks it), and the card reader driver,
/// started and stopped with its device. The use cases reach the current devices through `DeviceAccess`.
public final class DeviceSupervisor: KioskdService, DeviceAccess {
    public let name = "devices"

    public struct Choices: Sendable, Equatable {
        public var printer: DeviceChoice
        public var scanner: DeviceChoice
        public var cardReader: DeviceChoice

        public init(printer: DeviceChoice = .auto, scanner: DeviceChoice = .auto, cardReader: DeviceChoice = .auto) {
            self.printer = printer
            self.scanner = scanner
            self.cardReader = cardReader
        }
    }

    struct State {
        var printer: (any Printer)?
        var printerKind = "absent"
        var printerStatus: PrinterStatus?
        var printerProblem: String?
        var present: [String: KioskDevice] = [:]
        var reader: SerialCardReader?
        var readerDevnode: String?
        var readerTask: Task<Void, Never>?
        var simulatedTask: Task<Void, Never>?
        var hotplugTask: Task<Void, Never>?
    }

    private let choices: Choices
    private let scanSettings: ScanSettings
    private let lineProtocol: ReaderLineProtocol
    private let today: @Sendable () -> CivilDate
    private let store: KioskStore
    private let log: KioskLog
    private let onEvent: @Sendable (String, JSONValue) -> Void
    private let state = Mutex(State())
    private let cardContinuation: AsyncStream<CardEvent>.Continuation
    /// Card taps from whichever reader is attached (one stream for the life of kioskd).
    public let cardEvents: AsyncStream<CardEvent>
    public let simulatedReader: SimulatedCardReader?
    private let simulatedScanner: SimulatedScanner
    private let printerPollSeconds: Double
    /// Plugged-in printers get their kiosk queue (lpadmin); nil with the simulated printer.
    let hotplug: PrinterHotplug?

    /// - Parameter printerHotplug: the hotplug logic; nil: lpadmin against CUPS for `auto` and named printers.
    public init(choices: Choices, scanSettings: ScanSettings, lineProtocol: ReaderLineProtocol = ReaderLineProtocol(),
                store: KioskStore, today: @escaping @Sendable () -> CivilDate, printerPollSeconds: Double = 5,
                printerHotplug: PrinterHotplug? = nil,
                log: KioskLog, onEvent: @escaping @Sendable (String, JSONValue) -> Void) {
        self.choices = choices
        self.scanSettings = scanSettings
        self.lineProtocol = lineProtocol
        self.store = store
        self.today = today
        self.log = log
        self.onEvent = onEvent
        self.printerPollSeconds = printerPollSeconds
        (self.cardEvents, self.cardContinuation) = AsyncStream.makeStream(of: CardEvent.self, bufferingPolicy: .bufferingNewest(32))
        self.simulatedReader = choices.cardReader == .simulated ? SimulatedCardReader() : nil
        self.simulatedScanner = SimulatedScanner(settings: scanSettings)
        switch choices.printer {
        case .simulated: self.hotplug = nil
        case .auto: self.hotplug = printerHotplug ?? PrinterHotplug(configuredQueue: nil, queues: CUPSQueues(), runner: ProcessCommandRunner())
        case .named(let q): self.hotplug = printerHotplug ?? PrinterHotplug(configuredQueue: q, queues: CUPSQueues(), runner: ProcessCommandRunner())
        }
    }

    // MARK: DeviceAccess

    public var printer: (any Printer)? { self.state.withLock { $0.printer } }

    public var scanner: any KioskDevices.Scanner {
        switch self.choices.scanner {
        case .simulated: return self.simulatedScanner
        case .named(let device):
            var s = self.scanSettings
            s.device = device
            return SANEScanner(settings: s)
        case .auto:
            return self.scannerPresent ? SANEScanner(settings: self.scanSettings) : MissingScanner()
        }
    }

    public var scannerPresent: Bool {
        switch self.choices.scanner {
        case .simulated, .named: return true
        case .auto: return self.state.withLock { s in s.present.values.contains { $0.role == .scanner } }
        }
    }

    /// False while the USB printer udev reported is unplugged (the resident's notice says so).
    public var printerConnected: Bool { self.hotplug?.connected ?? true }

    public var cardReaderPresent: Bool {
        switch self.choices.cardReader {
        case .simulated: return true
        case .named, .auto: return self.state.withLock { $0.reader != nil }
        }
    }

    /// What the heartbeat and `kioskctl status` report about the devices.
    public struct Report: Sendable, Codable, Equatable {
        public struct PrinterReport: Sendable, Codable, Equatable {
            public var kind: String
            public var queue: String?
            public var state: String
            public var reasons: [String]
            public var acceptingJobs: Bool?
            public var problem: String?
            public var markers: [PrinterStatus.Marker]

            enum CodingKeys: String, CodingKey {
                case kind, queue, state, reasons, problem, markers
                case acceptingJobs = "accepting_jobs"
            }
        }

        public struct Presence: Sendable, Codable, Equatable {
            public var kind: String
            public var present: Bool
            public var devnode: String?
        }

        public var printer: PrinterReport
        public var scanner: Presence
        public var cardReader: Presence

        enum CodingKeys: String, CodingKey {
            case printer, scanner
            case cardReader = "card_reader"
        }
    }

    public var report: Report {
        let s = self.state.withLock { $0 }
        let printer = Report.PrinterReport(
            kind: s.printerKind, queue: s.printerStatus?.queue,
            state: s.printer == nil ? "absent" : (s.printerStatus?.state ?? (s.printerProblem == nil ? "unknown" : "unavailable")),
            reasons: s.printerStatus?.reasons ?? [], acceptingJobs: s.printerStatus?.acceptingJobs,
            problem: s.printerProblem ?? s.printerStatus?.problem?.en, markers: s.printerStatus?.markers ?? [])
        let scannerKind: String = switch self.choices.scanner {
        case .simulated: "simulated"
        case .named(let d): "sane:\(d)"
        case .auto: "sane"
        }
        let udevScanner = s.present.values.first { $0.role == .scanner }
        let scanner = Report.Presence(kind: scannerKind, present: self.scannerPresent, devnode: udevScanner?.devnode)
        let reader: Report.Presence = switch self.choices.cardReader {
        case .simulated: Report.Presence(kind: "simulated", present: true, devnode: nil)
        default: Report.Presence(kind: "serial", present: s.reader != nil, devnode: s.readerDevnode)
        }
        return Report(printer: printer, scanner: scanner, cardReader: reader)
    }

    /// One line for the demo's home screen, e.g. "printer: CUPS kiosk; scanner: SANE test; kartu/card: simulasi/simulated".
    public var summary: String {
        let r = self.report
        let simulated = "simulasi/simulated"
        let printer = r.printer.kind == "simulated" ? simulated : r.printer.queue.map { "CUPS \($0)" } ?? r.printer.state
        let scanner: String = switch self.choices.scanner {
        case .simulated: simulated
        case .named(let d): "SANE \(d)"
        case .auto: self.scannerPresent ? "SANE" : "-"
        }
        let card = r.cardReader.kind == "simulated" ? "\(simulated) (F2)" : r.cardReader.devnode ?? "-"
        return "printer: \(printer); scanner: \(scanner); kartu/card: \(card)"
    }

    /// Devices udev reports present now (tagged `kiosk`).
    public var present: [KioskDevice] { self.state.withLock { Array($0.present.values) }.sorted { $0.syspath < $1.syspath } }

    // MARK: Lifecycle

    public func start() async throws {
        await self.connectPrinter()
        // Enumerate once so `present`, the scanner and the reader are right before READY; the monitor re-enumerates.
        for device in UdevMonitor.enumerate() { self.attached(device, announce: false) }
        if case .named(let devnode) = self.choices.cardReader { self.startReader(devnode) }
        if let simulated = self.simulatedReader {
            // The simulated reader's taps (demo: F2, `resident.card.tap_test`) reach the UI like a real reader's.
            let continuation = self.cardContinuation
            let task = Task {
                for await e in simulated.events { continuation.yield(e) }
            }
            self.state.withLock { $0.simulatedTask = task }
        }
    }

    public func run() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.watchUdev() }
            group.addTask { await self.watchPrinter() }
            await group.waitForAll()
        }
    }

    public func stop() async {
        let reader = self.state.withLock { s -> SerialCardReader? in
            let r = s.reader
            s.reader = nil
            s.readerTask?.cancel()
            s.simulatedTask?.cancel()
            return r
        }
        reader?.stop()
        self.cardContinuation.finish()
    }

    /// Enumerates udev again (staff "re-detect"): devices gone are dropped, new ones attached and announced, and a
    /// missing printer connected. A line per device present, "role devnode syspath".
    public func redetect() async -> [String] {
        let found = UdevMonitor.enumerate()
        let paths = Set(found.map(\.syspath))
        for gone in self.present where !paths.contains(gone.syspath) { self.detached(gone) }
        for device in found { self.attached(device, announce: true) }
        if self.printer == nil { await self.connectPrinter() }
        return self.present.map { SafeText.visible("\($0.role.rawValue) \($0.devnode ?? "-") \($0.syspath)") }
    }

    private func watchUdev() async {
        let monitor = UdevMonitor()
        let events = monitor.events()
        await withTaskCancellationHandler {
            for await e in events { self.handle(e) }
        } onCancel: {
            monitor.stop()
        }
    }

    /// One udev event (the monitor's, or a test's).
    func handle(_ e: DeviceEvent) {
        switch e.action {
        case .attached, .changed: self.attached(e.device, announce: !e.fromEnumeration || e.action == .attached)
        case .detached: self.detached(e.device)
        }
    }

    /// A printer plugged in: its kiosk queue is made if none is configured (off the udev loop: lpadmin may take
    /// seconds), then kioskd connects to it.
    private func printerAttached(_ device: KioskDevice) {
        guard let hotplug = self.hotplug else { return }
        let task = Task {
            let outcome = await hotplug.attached(device)
            switch outcome {
            case .created(let queue):
                self.log.info("devices", "printer plugged in: created CUPS queue \(queue) for \(device.printerURI ?? "?")")
                try? self.store.recordEvent(nil, event: "printer_queue_created", actor: "kiosk", detail: queue)
                if self.printer == nil { await self.connectPrinter() }
                self.onEvent("printer.queue", .object(["action": .string("created"), "queue": .string(queue)]))
            case .failed(let queue, let r):
                self.log.error("devices", "printer plugged in: lpadmin for queue \(queue) failed (\(r.timedOut ? "timed out" : "exit \(r.status)")): \(SafeText.visible(r.output))")
            case .queueExists(let queue):
                self.log.info("devices", "printer plugged in: queue \(queue) exists, left as it is")
                if self.printer == nil { await self.connectPrinter() }
            case .ignored, .unplugged: break
            }
        }
        self.state.withLock { $0.hotplugTask = task }
    }

    /// Waits for the last printer hotplug to finish (tests).
    func printerHotplugSettled() async {
        await self.state.withLock { $0.hotplugTask }?.value
    }

    private func attached(_ device: KioskDevice, announce: Bool) {
        let (isNew, startReader) = self.state.withLock { s -> (Bool, String?) in
            let isNew = s.present[device.syspath] == nil
            s.present[device.syspath] = device
            var start: String? = nil
            if device.role == .cardReader, self.choices.cardReader == .auto, s.reader == nil, let node = device.devnode {
                start = node
            }
            return (isNew, start)
        }
        if let node = startReader { self.startReader(node) }
        if isNew && device.role == .printer { self.printerAttached(device) }
        if isNew && announce {
            self.log.info("devices", "\(device.role.rawValue) attached: \(device.devnode ?? device.syspath)")
            self.announce("attached", device)
        }
    }

    private func detached(_ device: KioskDevice) {
        let (known, reader) = self.state.withLock { s -> (Bool, SerialCardReader?) in
            let known = s.present.removeValue(forKey: device.syspath) != nil
            var reader: SerialCardReader? = nil
            if device.role == .cardReader, s.readerDevnode != nil, s.readerDevnode == device.devnode || device.devnode == nil {
                if case .named = self.choices.cardReader {} else {
                    reader = s.reader
                    s.reader = nil
                    s.readerDevnode = nil
                    s.readerTask?.cancel()
                    s.readerTask = nil
                }
            }
            return (known, reader)
        }
        if let reader {
            reader.stop()
            self.cardContinuation.yield(.readerGone("unplugged"))
        }
        if known, self.hotplug?.detached(device) == .unplugged {
            self.log.warning("devices", "printer unplugged: \(device.syspath)")
            self.onEvent("device.notice", .object(["device": .string("printer"), "connected": .bool(false)]))
        }
        if known {
            self.log.info("devices", "\(device.role.rawValue) detached: \(device.devnode ?? device.syspath)")
            self.announce("detached", device)
        }
    }

    private func announce(_ action: String, _ device: KioskDevice) {
        var data: [String: JSONValue] = ["action": .string(action), "role": .string(device.role.rawValue),
                                         "syspath": .string(device.syspath)]
        if let node = device.devnode { data["devnode"] = .string(node) }
        self.onEvent("device.changed", .object(data))
    }

    private func startReader(_ devnode: String) {
        let reader = SerialCardReader(devnode: devnode, lineProtocol: self.lineProtocol, today: self.today)
        let stream = reader.events()
        let continuation = self.cardContinuation
        let task = Task {
            for await e in stream {
                if case .readerGone = e { break }
                continuation.yield(e)
            }
        }
        self.state.withLock { s in
            s.reader = reader
            s.readerDevnode = devnode
            s.readerTask = task
        }
        self.log.info("devices", "card reader started on \(devnode)")
    }

    // MARK: Printer

    private func connectPrinter() async {
        switch self.choices.printer {
        case .simulated:
            self.state.withLock { s in
                s.printer = SimulatedPrinter()
                s.printerKind = "simulated"
            }
        case .auto, .named:
            let queue: String? = if case .named(let q) = self.choices.printer { q } else { nil }
            do throws(PrinterError) {
                let p = try await CUPSPrinter(queue: queue)
                self.state.withLock { s in
                    s.printer = p
                    s.printerKind = "cups"
                    s.printerProblem = nil
                }
                self.log.info("devices", "printer: CUPS queue \(p.queue)")
            } catch {
                self.state.withLock { s in
                    s.printerProblem = error.description
                    s.printerKind = "cups"
                }
            }
        }
    }

    /// Follows the printer's status (and resumes a queue a fault paused); connects to CUPS when it appears later.
    private func watchPrinter() async {
        while !Task.isCancelled {
            guard let printer = self.printer else {
                try? await Task.sleep(nanoseconds: UInt64(max(self.printerPollSeconds, 1) * 2e9))
                await self.connectPrinter()
                continue
            }
            for await event in PrinterWatcher(printer: printer, interval: self.printerPollSeconds).events() {
                switch event {
                case .status(let status):
                    let old = self.state.withLock { s -> PrinterStatus? in
                        let old = s.printerStatus
                        s.printerStatus = status
                        s.printerProblem = nil
                        return old
                    }
                    if old?.state != status.state || old?.reasons != status.reasons {
                        self.log.info("devices", "printer \(status.queue): \(status.state) \(status.reasons.joined(separator: ","))")
                        self.onEvent("printer.status", (try? JSONValue(encoding: status)) ?? .null)
                    }
                case .unavailable(let why):
                    self.state.withLock { s in
                        s.printerStatus = nil
                        s.printerProblem = why
                    }
                    self.log.warning("devices", "printer unavailable: \(why)")
                    self.onEvent("printer.status", .object(["state": .string("unavailable"), "problem": .string(why)]))
                case .resumed:
                    self.log.info("devices", "printer queue resumed after the fault cleared")
                    try? self.store.recordEvent(nil, event: "printer_resumed", actor: "kiosk", detail: nil)
                }
            }
        }
    }
}

/// The scanner when none is attached: every scan says so (the resident is told to ask the staff).
struct MissingScanner: KioskDevices.Scanner {
    func devices() async throws(ScanError) -> [ScannerDevice] { [] }
    func scan(_ request: ScanRequest, into directory: String, events: @escaping @Sendable (ScanEvent) -> Void)
        async throws(ScanError) -> [ScannedPage] { throw .noScanner }
}
