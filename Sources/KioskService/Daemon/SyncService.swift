import Foundation
import KioskCore
import KioskStore
import KioskSync
import Synchronization

/// The Dinas link for the life of kioskd: forwarding starts within seconds of a submit (a wake-up, not only a
/// timer); status, documents and config are pulled every `pollSeconds` and at once after a delivery; complaints
/// go with the pull; a heartbeat every `heartbeatSeconds`. While uploads back off the Dinas is probed every
/// `probeSeconds`, and the first answer makes them due at once, so a Dinas back after days is used within a minute.
/// A refused credential stops the link (an alert for staff) until `kioskctl sync now` or a restart.
public final class SyncService: KioskdService {
    public let name = "sync"
    public let engine: SyncEngine
    private let store: KioskStore
    private let config: ConfigService
    private let pollSeconds: Double
    private let heartbeatSeconds: Double
    private let probeSeconds: Double
    private let log: KioskLog
    private let onEvent: @Sendable (String, JSONValue) -> Void
    public let liveness: Liveness

    struct State {
        var wakeups: [CheckedContinuation<Void, Never>] = []
        var woken = false
        var forcePull = false
        var lastPoll: Date = .distantPast
        var lastHeartbeat: Date = .distantPast
        var lastProbe: Date = .distantPast
        var lastSuccess: Date?
        var lastError: String?
        var nextAttempt: Date?
        var authStopped: String?
        var passes = 0
    }

    private let state = Mutex(State())

    public init(engine: SyncEngine, store: KioskStore, config: ConfigService, pollSeconds: Double, heartbeatSeconds: Double,
                probeSeconds: Double = 30, log: KioskLog, onEvent: @escaping @Sendable (String, JSONValue) -> Void) {
        self.engine = engine
        self.store = store
        self.config = config
        self.pollSeconds = pollSeconds
        self.heartbeatSeconds = heartbeatSeconds
        self.probeSeconds = probeSeconds
        self.log = log
        self.onEvent = onEvent
        self.liveness = Liveness(maxSilence: max(pollSeconds, heartbeatSeconds, probeSeconds) + 60)
    }

    public var health: ServiceHealth { self.liveness.health("sync loop") }

    /// Something to forward (a submit, a retry) or `kioskctl sync now` (`pull` too): the loop runs at once.
    public func wake(pull: Bool = false, clearAuthStop: Bool = false) {
        let waiters = self.state.withLock { s -> [CheckedContinuation<Void, Never>] in
            s.woken = true
            if pull { s.forcePull = true }
            if clearAuthStop { s.authStopped = nil }
            let w = s.wakeups
            s.wakeups = []
            return w
        }
        for w in waiters { w.resume() }
    }

    public struct Status: Sendable, Codable, Equatable {
        public var lastSuccess: Date?
        public var lastError: String?
        public var nextAttempt: Date?
        public var stoppedByCredential: String?
        public var passes: Int

        enum CodingKeys: String, CodingKey {
            case passes
            case lastSuccess = "last_success"
            case lastError = "last_error"
            case nextAttempt = "next_attempt"
            case stoppedByCredential = "stopped_by_credential"
        }
    }

    public var status: Status {
        self.state.withLock {
            Status(lastSuccess: $0.lastSuccess, lastError: $0.lastError, nextAttempt: $0.nextAttempt,
                   stoppedByCredential: $0.authStopped, passes: $0.passes)
        }
    }

    public func start() async throws {
        try? self.store.setSyncValue("auth_alert", nil)
    }

    public func run() async {
        while !Task.isCancelled {
            self.liveness.beat()
            let now = Date()
            let (woken, forcePull, lastPoll, lastBeat, lastProbe, authStopped) = self.state.withLock { s in
                let r = (s.woken, s.forcePull, s.lastPoll, s.lastHeartbeat, s.lastProbe, s.authStopped)
                s.woken = false
                s.forcePull = false
                return r
            }
            var parts: SyncEngine.Parts = []
            if authStopped == nil {
                if now.timeIntervalSince(lastBeat) >= self.heartbeatSeconds { parts.insert(.heartbeat) }
                if forcePull || now.timeIntervalSince(lastPoll) >= self.pollSeconds { parts.formUnion([.config, .complaints, .pull]) }
                let next = (try? self.store.nextDueDate()) ?? nil
                if woken || (next.map { $0 <= now } ?? false) { parts.insert(.forward) }
                // Uploads backing off: probe the Dinas; an answer makes them due now.
                if let next, next > now, now.timeIntervalSince(lastProbe) >= self.probeSeconds {
                    self.state.withLock { $0.lastProbe = now }
                    if await self.engine.probe(deadline: now.addingTimeInterval(15)) {
                        try? self.store.resetBackoff()
                        parts.insert(.forward)
                    }
                }
            }
            if !parts.isEmpty { await self.pass(parts, now: now) }
            await self.sleepUntilNext()
        }
    }

    private func pass(_ parts: SyncEngine.Parts, now: Date) async {
        self.liveness.busy(for: self.engine.options.passSeconds + 30)
        var result = await self.engine.pass(parts: parts)
        // A delivery: pull status at once (the Dinas may already have decided) instead of waiting for the poll.
        if result.delivered > 0, !parts.contains(.pull), result.authFailure == nil {
            let more = await self.engine.pass(parts: [.pull])
            result.events += more.events
            result.documentsStored += more.documentsStored
        }
        self.liveness.beat()
        self.state.withLock { s in
            s.passes += 1
            if parts.contains(.heartbeat) { s.lastHeartbeat = now }
            if parts.contains(.pull) { s.lastPoll = now }
            if result.reachable {
                s.lastSuccess = Date()
                s.lastError = nil
            } else if !parts.isEmpty {
                s.lastError = "dinas unreachable"
            }
            if let auth = result.authFailure {
                s.authStopped = auth
                s.lastError = auth
            }
            s.nextAttempt = (try? self.store.nextDueDate()) ?? nil
        }
        if let applied = result.configApplied {
            self.config.adoptStored(source: "sync")
            self.log.info("sync", "config bundle \(applied) from the Dinas stored")
        }
        if let rejected = result.configRejected { self.config.refused(rejected, source: "sync") }
        if result.delivered > 0 || result.quarantined > 0 || result.documentsStored > 0 || result.events > 0 {
            self.log.info("sync", "delivered \(result.delivered), retry \(result.retried), quarantined \(result.quarantined), "
                + "events \(result.events), documents \(result.documentsStored)")
            self.onEvent("queue.changed", .object(["delivered": .number(Double(result.delivered)),
                                                   "documents": .number(Double(result.documentsStored))]))
        }
        if let auth = result.authFailure { self.log.error("sync", "credential refused by the Dinas: \(auth); sync stopped") }
    }

    /// Sleeps until the next timer, the next due upload, or a wake-up.
    private func sleepUntilNext() async {
        let now = Date()
        let wait: Double = self.state.withLock { s in
            if s.woken { return 0 }
            if s.authStopped != nil { return 3600 }
            var next = min(s.lastPoll.addingTimeInterval(self.pollSeconds), s.lastHeartbeat.addingTimeInterval(self.heartbeatSeconds))
            if let due = s.nextAttempt { next = min(next, max(due, s.lastProbe.addingTimeInterval(self.probeSeconds))) }
            return max(0.05, min(next.timeIntervalSince(now), 30))
        }
        guard wait > 0 else { return }
        let timer = Task { [weak self] in
            try? await Task.sleep(nanoseconds: UInt64(wait * 1e9))
            self?.wakeTimer()
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let now = self.state.withLock { s -> Bool in
                    if s.woken || Task.isCancelled { return true }
                    s.wakeups.append(c)
                    return false
                }
                if now { c.resume() }
            }
        } onCancel: {
            self.wakeTimer()
        }
        timer.cancel()
    }

    private func wakeTimer() {
        let waiters = self.state.withLock { s -> [CheckedContinuation<Void, Never>] in
            let w = s.wakeups
            s.wakeups = []
            return w
        }
        for w in waiters { w.resume() }
    }
}
