#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Synchronization

/// One part of kioskd (the shape of swift-service-lifecycle's `Service`, in-house): `start()` does the quick,
/// ordered set-up and may fail (the group then stops what already started and kioskd exits); `run()` is the long
/// work and returns when its task is cancelled; `stop()` releases what `start()` took, after `run()` returned.
public protocol KioskdService: Sendable {
    var name: String { get }
    func start() async throws
    func run() async
    func stop() async
    /// Read from the watchdog thread: must not block (atomics and locks only).
    var health: ServiceHealth { get }
}

extension KioskdService {
    public func start() async throws {}
    public func stop() async {}
    public var health: ServiceHealth { .ok }
}

public struct ServiceHealth: Sendable, Equatable {
    public var ok: Bool
    public var detail: String

    public init(ok: Bool, detail: String) {
        self.ok = ok
        self.detail = detail
    }

    public static let ok = ServiceHealth(ok: true, detail: "ok")
}

/// A progress beacon for a loop: the loop calls `beat()` each time round (and `busy(until:)` before a step that may
/// legitimately take long); it is unhealthy when silent for longer than allowed. Lock-free to read.
public final class Liveness: Sendable {
    private let last = Atomic<Int64>(0)
    private let allowance = Atomic<Int64>(0)
    private let maxSilence: Int64

    public init(maxSilence: Double) {
        self.maxSilence = Int64(maxSilence * 1000)
        self.last.store(Liveness.nowMillis(), ordering: .relaxed)
    }

    static func nowMillis() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }

    public func beat() {
        self.last.store(Liveness.nowMillis(), ordering: .relaxed)
        self.allowance.store(0, ordering: .relaxed)
    }

    /// The next step may take up to `seconds` without a beat (a sync pass with its own deadline).
    public func busy(for seconds: Double) {
        self.last.store(Liveness.nowMillis(), ordering: .relaxed)
        self.allowance.store(Int64(seconds * 1000), ordering: .relaxed)
    }

    public var silentSeconds: Double { Double(Liveness.nowMillis() - self.last.load(ordering: .relaxed)) / 1000 }

    public func health(_ what: String) -> ServiceHealth {
        let silent = Liveness.nowMillis() - self.last.load(ordering: .relaxed)
        let limit = self.maxSilence + self.allowance.load(ordering: .relaxed)
        return silent <= limit ? .ok : ServiceHealth(ok: false, detail: "\(what) made no progress for \(silent / 1000) s")
    }
}

/// Starts services in order, runs them together, and stops them in reverse order (the socket first, the store
/// last). `run` returns when `shutdown()` is called or a service's `run()` ends on its own (a failure: kioskd
/// exits non-zero and systemd restarts it).
public final class ServiceGroup: Sendable {
    public let services: [any KioskdService]
    private let log: KioskLog
    private let stopRequested = Mutex<CheckedContinuation<Void, Never>?>(nil)
    private let stopFlag = Atomic<Bool>(false)

    public init(_ services: [any KioskdService], log: KioskLog) {
        self.services = services
        self.log = log
    }

    public enum Outcome: Sendable, Equatable {
        case stopped
        case failed(String)
    }

    /// Every service's health; the first unhealthy one's detail when not all are healthy.
    public var health: ServiceHealth {
        for s in self.services {
            let h = s.health
            if !h.ok { return ServiceHealth(ok: false, detail: "\(s.name): \(h.detail)") }
        }
        return .ok
    }

    /// Asks `run` to stop (from a signal handler's task); safe to call more than once, before or during `run`.
    public func shutdown() {
        self.stopFlag.store(true, ordering: .sequentiallyConsistent)
        self.stopRequested.withLock { c in
            c?.resume()
            c = nil
        }
    }

    public func run(ready: @Sendable () -> Void, stopping: @Sendable () -> Void, stopTimeout: Double = 8) async -> Outcome {
        var started: [any KioskdService] = []
        for s in self.services {
            if self.stopFlag.load(ordering: .sequentiallyConsistent) { break }
            do {
                try await s.start()
                started.append(s)
                self.log.debug("kioskd", "started \(s.name)")
            } catch {
                self.log.error("kioskd", "\(s.name) failed to start: \(error)")
                for t in started.reversed() { await t.stop() }
                return .failed("\(s.name): \(error)")
            }
        }
        let tasks = started.map { s in
            Task { [group = self] in
                await s.run()
                // A service that returns before shutdown was asked for has failed: stop the whole group.
                if !group.stopFlag.load(ordering: .sequentiallyConsistent) {
                    group.log.error("kioskd", "\(s.name) stopped unexpectedly")
                    group.failure.withLock { $0 = $0 ?? s.name }
                    group.shutdown()
                }
            }
        }
        if !self.stopFlag.load(ordering: .sequentiallyConsistent) { ready() }
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let resumeNow = self.stopRequested.withLock { slot -> Bool in
                if self.stopFlag.load(ordering: .sequentiallyConsistent) { return true }
                slot = c
                return false
            }
            if resumeNow { c.resume() }
        }
        stopping()
        // Reverse order: the socket stops taking requests first; the store closes last.
        let deadline = Date().addingTimeInterval(stopTimeout)
        for (s, task) in zip(started, tasks).reversed() {
            task.cancel()
            let finished = await Self.wait(task, until: deadline)
            if !finished { self.log.warning("kioskd", "\(s.name) did not stop in time; abandoning its work") }
            await s.stop()
            self.log.debug("kioskd", "stopped \(s.name)")
        }
        if let failed = self.failure.withLock({ $0 }) { return .failed(failed) }
        return .stopped
    }

    private let failure = Mutex<String?>(nil)

    /// Waits for `task` until `deadline`; false if it is still running then.
    private static func wait(_ task: Task<Void, Never>, until deadline: Date) async -> Bool {
        let done = Atomic<Bool>(false)
        let waiter = Task {
            await task.value
            done.store(true, ordering: .sequentiallyConsistent)
        }
        while !done.load(ordering: .sequentiallyConsistent) {
            if Date() >= deadline {
                waiter.cancel()
                return false
            }
            try? await Task.sleep(nanoseconds: 20_000_000)
        }
        return true
    }
}
