#if canImport(Glibc)
import Glibc
#endif
import Foundation
import KioskCore
import KioskStore
import Synchronization

/// The store's health for the watchdog: a probe takes the database's write lock and lets it go (writing nothing)
/// every `interval` on its own thread. A probe that has not come back within `maxSilence` (another process holds
/// the database, the disk hangs) makes kioskd unhealthy, and systemd's watchdog stops being fed.
public final class StoreHealthService: KioskdService {
    public let name = "store"
    public let store: KioskStore
    private let interval: Double
    public let liveness: Liveness
    private let lastError = Mutex<String?>(nil)

    public init(store: KioskStore, interval: Double = 2, maxSilence: Double = 10) {
        self.store = store
        self.interval = interval
        self.liveness = Liveness(maxSilence: maxSilence)
    }

    public var health: ServiceHealth {
        let h = self.liveness.health("store probe")
        if !h.ok { return h }
        if let e = self.lastError.withLock({ $0 }) { return ServiceHealth(ok: false, detail: "store: \(e)") }
        return .ok
    }

    public func run() async {
        while !Task.isCancelled {
            let store = self.store
            let result: Result<Void, StoreError> = await StoreWork.run { () -> Result<Void, StoreError> in
                do throws(StoreError) {
                    try store.probeWritable()
                    return .success(())
                } catch {
                    return .failure(error)
                }
            }
            switch result {
            case .success:
                self.lastError.withLock { $0 = nil }
                self.liveness.beat()
            case .failure(let e):
                self.lastError.withLock { $0 = e.code }
            }
            try? await Task.sleep(nanoseconds: UInt64(self.interval * 1e9))
        }
    }
}

/// Retention (architecture.md, "Data"): protected data of applications the Dinas confirmed is purged once the
/// retention period passes; at start and every `interval` seconds.
public final class RetentionService: KioskdService {
    public let name = "retention"
    private let store: KioskStore
    private let config: LiveConfig
    private let interval: Double
    private let log: KioskLog

    public init(store: KioskStore, config: LiveConfig, interval: Double, log: KioskLog) {
        self.store = store
        self.config = config
        self.interval = interval
        self.log = log
    }

    /// Purges now; the number of applications purged.
    @discardableResult
    public func purge() async -> Int {
        let days = self.config.current.kiosk?.retentionDays
        let store = self.store
        let result: Result<[UUID], StoreError> = await StoreWork.run { () -> Result<[UUID], StoreError> in
            do throws(StoreError) { return .success(try store.purgeExpired(retentionDays: days)) } catch { return .failure(error) }
        }
        switch result {
        case .success(let ids):
            if !ids.isEmpty { self.log.info("retention", "purged the protected data of \(ids.count) delivered applications") }
            return ids.count
        case .failure(let e):
            self.log.error("retention", "purge failed: \(e.code)")
            return 0
        }
    }

    public func start() async throws {
        await self.purge()
    }

    public func run() async {
        while !Task.isCancelled {
            try? await Task.sleep(nanoseconds: UInt64(self.interval * 1e9))
            if Task.isCancelled { return }
            await self.purge()
        }
    }
}
