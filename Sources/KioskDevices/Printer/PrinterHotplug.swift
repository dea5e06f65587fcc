import Foundation
import Synchronization

/// The result of a command run with a watchdog.
public struct CommandResult: Sendable, Equatable {
    public var status: Int32
    public var output: String
    public var timedOut: Bool

    public init(status: Int32, output: String, timedOut: Bool = false) {
        self.status = status
        self.output = output
        self.timedOut = timedOut
    }
}

/// Runs an administrative command (lpadmin) for kioskd. A protocol so the hotplug logic is tested with a fake.
public protocol CommandRunner: Sendable {
    func run(_ arguments: [String], timeout: Double) async -> CommandResult
}

/// The real runner: a `ChildProcess` (own process group, stdin /dev/null, output captured through a file) killed
/// with SIGKILL, group and all, once `timeout` passes. `environment` nil: kioskd's own.
public struct ProcessCommandRunner: CommandRunner {
    public let environment: [String: String]?

    public init(environment: [String: String]? = nil) {
        self.environment = environment
    }

    public func run(_ arguments: [String], timeout: Double) async -> CommandResult {
        let path = NSTemporaryDirectory() + "kiosk-cmd-\(UUID().uuidString).out"
        defer { unlink(path) }
        let child: ChildProcess
        do { child = try ChildProcess.spawn(arguments, environment: self.environment, stdout: .file(path), stderr: .toStdout) } catch {
            return CommandResult(status: 127, output: error.description)
        }
        let deadline = Date().addingTimeInterval(timeout)
        var status: Int32?
        var timedOut = false
        while true {
            status = child.poll()
            if status != nil { break }
            if Date() >= deadline {
                child.kill(SIGKILL)
                status = child.wait()
                timedOut = true
                break
            }
            try? await Task.sleep(nanoseconds: 50_000_000)
        }
        let output = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        return CommandResult(status: status ?? -1, output: output, timedOut: timedOut)
    }
}

/// Which CUPS queues exist. A protocol so the hotplug logic is tested without a scheduler.
public protocol PrinterQueues: Sendable {
    /// `queue` nil: whether CUPS has a default destination.
    func exists(_ queue: String?) async -> Bool
}

/// The CUPS scheduler's queues, asked on the process's one CUPS thread.
public struct CUPSQueues: PrinterQueues {
    public let server: String?

    public init(server: String? = nil) {
        self.server = server
    }

    public func exists(_ queue: String?) async -> Bool {
        await CUPSThread.shared.run(server: self.server) {
            guard let queue else { return CUPS.defaultDestination() != nil }
            if case .success = CUPS.printerAttributes(queue: queue) { return true }
            return false
        }
    }
}

/// A printer plugged in gets its kiosk queue without staff action; unplugged, the resident is told.
///
/// On a udev `printer` attach (a hardware profile's rule, `KIOSK_PRINTER_URI` from its `ipp_uri`): when no
/// configured queue exists (the named `devices.printer`, or with `auto` any CUPS default destination), it runs
/// `lpadmin -p QUEUE -v URI -m everywhere -o printer-error-policy=stop-printer -E` and, for `auto`, makes it the
/// default (`lpadmin -d QUEUE`), each under a watchdog. A queue that exists is left alone: staff may have set it up
/// by hand, and ipp-usb gives a re-plugged printer the same URI. The state (plugged or not) is what the resident's
/// notices ask through `connected`.
public final class PrinterHotplug: Sendable {
    public enum Outcome: Sendable, Equatable {
        /// Not a printer, or no URI in its profile: nothing to do.
        case ignored
        /// A configured queue exists; nothing was changed.
        case queueExists(String)
        case created(String)
        case failed(String, CommandResult)
        /// The last printer udev knew of went away.
        case unplugged
    }

    public static let defaultQueue = "kiosk"

    private let configuredQueue: String?
    private let queues: any PrinterQueues
    private let runner: any CommandRunner
    private let timeout: Double
    private let lpadmin: String
    private let present = Mutex<Set<String>>([])
    private let seen = Mutex(false)

    /// - Parameters: configuredQueue: `devices.printer`'s queue name, nil for `auto`; timeout: seconds each lpadmin
    ///   may take before it is killed; lpadmin: the program (a path, or looked up in PATH).
    public init(configuredQueue: String?, queues: any PrinterQueues, runner: any CommandRunner, timeout: Double = 60,
                lpadmin: String = "lpadmin") {
        self.configuredQueue = configuredQueue
        self.queues = queues
        self.runner = runner
        self.timeout = timeout
        self.lpadmin = lpadmin
    }

    /// False once a printer udev reported has been unplugged and none is plugged in now. A kiosk whose printer is
    /// on the network (never seen by udev) is always "connected" here; CUPS's status says the rest.
    public var connected: Bool {
        self.seen.withLock { $0 } ? !self.present.withLock { $0.isEmpty } : true
    }

    public func attached(_ device: KioskDevice) async -> Outcome {
        guard device.role == .printer else { return .ignored }
        self.present.withLock { _ = $0.insert(device.syspath) }
        self.seen.withLock { $0 = true }
        guard let uri = device.printerURI else { return .ignored }
        if await self.queues.exists(self.configuredQueue) {
            return .queueExists(self.configuredQueue ?? "default")
        }
        let queue = self.configuredQueue ?? Self.defaultQueue
        let create = [self.lpadmin, "-p", queue, "-v", uri, "-m", "everywhere", "-o", "printer-error-policy=stop-printer", "-E"]
        let r = await self.runner.run(create, timeout: self.timeout)
        guard r.status == 0, !r.timedOut else { return .failed(queue, r) }
        if self.configuredQueue == nil {
            let d = await self.runner.run([self.lpadmin, "-d", queue], timeout: self.timeout)
            guard d.status == 0, !d.timedOut else { return .failed(queue, d) }
        }
        return .created(queue)
    }

    public func detached(_ device: KioskDevice) -> Outcome {
        guard device.role == .printer else { return .ignored }
        self.seen.withLock { $0 = true }
        let empty = self.present.withLock { p -> Bool in
            p.remove(device.syspath)
            return p.isEmpty
        }
        return empty ? .unplugged : .ignored
    }
}
