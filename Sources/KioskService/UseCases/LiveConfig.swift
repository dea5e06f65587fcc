import Foundation
import KioskCore
import KioskDevices
import Synchronization

/// The configuration in force: the jurisdiction profile (catalog, rules, SLAs) and the resident-facing settings,
/// with where they came from. Replaced as a whole, never edited in place.
public struct LiveConfiguration: Sendable {
    public var profile: JurisdictionProfile
    public var settings: ResidentSettings
    /// The applied bundle's version; 0 for the shipped profile.
    public var version: Int
    /// "shipped profile kota-kupang", "bundle 3 (sync)", ...
    public var source: String
    public var appliedAt: Date
    /// Kiosk settings of the bundle (printer queue, scanner device, staff PINs, retention), when one is applied.
    public var kiosk: KioskSettings?

    public init(profile: JurisdictionProfile, settings: ResidentSettings, version: Int, source: String,
                appliedAt: Date = Date(), kiosk: KioskSettings? = nil) {
        self.profile = profile
        self.settings = settings
        self.version = version
        self.source = source
        self.appliedAt = appliedAt
        self.kiosk = kiosk
    }
}

/// The live configuration, swapped between resident sessions: while a session is open a new configuration waits,
/// and takes effect when the last open session ends (or after `maxDeferral`, so a session left open by a crashed
/// UI cannot hold it back for ever). Observers hear of every change that took effect.
public final class LiveConfig: Sendable {
    private struct State {
        var current: LiveConfiguration
        var pending: LiveConfiguration?
        var pendingSince: Date?
        var sessions: Set<Int> = []
        var observers: [Int: @Sendable (LiveConfiguration) -> Void] = [:]
        var nextObserver = 0
    }

    private let state: Mutex<State>
    public let maxDeferral: Double

    public init(_ initial: LiveConfiguration, maxDeferral: Double = 900) {
        self.state = Mutex(State(current: initial))
        self.maxDeferral = maxDeferral
    }

    public var current: LiveConfiguration { self.state.withLock { $0.current } }
    /// A configuration waiting for the open sessions to end.
    public var pending: LiveConfiguration? { self.state.withLock { $0.pending } }
    public var openSessions: Int { self.state.withLock { $0.sessions.count } }

    /// Offers a new configuration: in force at once when no session is open, else when the last one ends.
    /// Returns true when it took effect now.
    @discardableResult
    public func offer(_ new: LiveConfiguration, now: Date = Date()) -> Bool {
        let (applied, observers) = self.state.withLock { s -> (Bool, [@Sendable (LiveConfiguration) -> Void]) in
            let overdue = s.pendingSince.map { now.timeIntervalSince($0) > self.maxDeferral } ?? false
            if s.sessions.isEmpty || overdue {
                s.current = new
                s.pending = nil
                s.pendingSince = nil
                return (true, Array(s.observers.values))
            }
            s.pending = new
            s.pendingSince = s.pendingSince ?? now
            return (false, [])
        }
        for o in observers { o(new) }
        return applied
    }

    /// Whether the session `id` (a control connection) began and has not ended.
    public func isSessionOpen(_ id: Int) -> Bool {
        self.state.withLock { $0.sessions.contains(id) }
    }

    public func beginSession(_ id: Int) {
        self.state.withLock { _ = $0.sessions.insert(id) }
    }

    /// Ends a session; a waiting configuration takes effect when none is left open.
    public func endSession(_ id: Int, now: Date = Date()) {
        let (applied, observers) = self.state.withLock { s -> (LiveConfiguration?, [@Sendable (LiveConfiguration) -> Void]) in
            s.sessions.remove(id)
            let overdue = s.pendingSince.map { now.timeIntervalSince($0) > self.maxDeferral } ?? false
            guard let p = s.pending, s.sessions.isEmpty || overdue else { return (nil, []) }
            s.current = p
            s.pending = nil
            s.pendingSince = nil
            return (p, Array(s.observers.values))
        }
        if let applied { for o in observers { o(applied) } }
    }

    /// Applies a deferred configuration once it has waited longer than `maxDeferral` (called periodically).
    public func applyOverdue(now: Date = Date()) {
        let (applied, observers) = self.state.withLock { s -> (LiveConfiguration?, [@Sendable (LiveConfiguration) -> Void]) in
            guard let p = s.pending, let since = s.pendingSince, now.timeIntervalSince(since) > self.maxDeferral else {
                return (nil, [])
            }
            s.current = p
            s.pending = nil
            s.pendingSince = nil
            return (p, Array(s.observers.values))
        }
        if let applied { for o in observers { o(applied) } }
    }

    @discardableResult
    public func observe(_ body: @escaping @Sendable (LiveConfiguration) -> Void) -> Int {
        self.state.withLock { s in
            let id = s.nextObserver
            s.nextObserver += 1
            s.observers[id] = body
            return id
        }
    }
}

/// The devices the use cases print, scan and read cards with right now. kioskd's device supervisor swaps them on
/// hotplug; the in-process demo and tests give fixed ones.
public protocol DeviceAccess: Sendable {
    var printer: (any Printer)? { get }
    var scanner: any KioskDevices.Scanner { get }
    var cardReaderPresent: Bool { get }
    /// False while the USB printer is unplugged (udev saw it go); true when udev never saw one (a network printer).
    var printerConnected: Bool { get }
}

extension DeviceAccess {
    public var printerConnected: Bool { true }
}

/// Devices that never change (tests, the in-process demo).
public struct FixedDevices: DeviceAccess {
    public let printer: (any Printer)?
    public let scanner: any KioskDevices.Scanner
    public let cardReaderPresent: Bool

    public init(printer: (any Printer)?, scanner: any KioskDevices.Scanner, cardReaderPresent: Bool = true) {
        self.printer = printer
        self.scanner = scanner
        self.cardReaderPresent = cardReaderPresent
    }
}

/// Store work off Swift's cooperative pool: the store's calls block (its serial queue, a busy database waited out
/// for up to 30 s, the spool lock), and on a 2-core kiosk two blocked pool threads would stall every task.
public enum StoreWork {
    private static let queue = DispatchQueue(label: "kioskd.store-work", attributes: .concurrent)

    public static func run<T: Sendable, E: Error>(_ body: @escaping @Sendable () throws(E) -> T) async throws(E) -> T {
        let result: Result<T, E> = await withCheckedContinuation { c in
            queue.async {
                do throws(E) {
                    c.resume(returning: .success(try body()))
                } catch {
                    c.resume(returning: .failure(error))
                }
            }
        }
        return try result.get()
    }
}
