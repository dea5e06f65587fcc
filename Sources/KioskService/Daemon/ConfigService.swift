import Foundation
import KioskCore
import KioskSecurity
import KioskStore
import Synchronization

/// Verified configuration bundle → live configuration (architecture.md, "Configuration"). At start it loads the
/// current verified bundle, else the shipped profile; a bundle arriving later (sync, USB import,
/// `kioskctl config apply`) is verified and stored by `ConfigBundleStore`, then offered to `LiveConfig`, which
/// swaps it in between resident sessions. A refused bundle changes nothing and is remembered for the heartbeat.
public final class ConfigService: KioskdService {
    public let name = "config"
    public let live: LiveConfig
    public let bundles: ConfigBundleStore
    public let trustedKeys: [Ed25519PublicKey]
    public let kioskID: String
    private let shipped: LiveConfiguration
    private let residentDefaults: ResidentDefaults
    private let store: KioskStore
    private let log: KioskLog
    private let lastRefusal = Mutex<String?>(nil)

    /// Printer and timing settings that come from kioskd.json, not from bundles.
    public struct ResidentDefaults: Sendable {
        public var reprintLimit: Int
        public var lowPaperThreshold: Int
        public var printTimeoutSeconds: Double

        public init(reprintLimit: Int = 2, lowPaperThreshold: Int = 20, printTimeoutSeconds: Double = 120) {
            self.reprintLimit = reprintLimit
            self.lowPaperThreshold = lowPaperThreshold
            self.printTimeoutSeconds = printTimeoutSeconds
        }
    }

    /// - Parameter shippedProfile: the profile used until a bundle is applied, with a desa name placeholder.
    public init(store: KioskStore, dataDir: String, kioskID: String, trustedKeys: [Ed25519PublicKey],
                shippedProfile: JurisdictionProfile, defaults: ResidentDefaults, log: KioskLog) throws(StoreError) {
        self.store = store
        self.bundles = try ConfigBundleStore(dataDirectory: dataDir)
        self.trustedKeys = trustedKeys
        self.kioskID = kioskID
        self.residentDefaults = defaults
        self.log = log
        var settings = KioskSettings.defaults(desaName: kioskID)
        settings.announcement = nil
        self.shipped = LiveConfiguration(
            profile: shippedProfile, settings: Self.resident(settings, defaults), version: 0,
            source: "shipped profile \(shippedProfile.id)")
        var initial = self.shipped
        if let (bundle, rolledBack) = self.bundles.current(trusted: trustedKeys) {
            initial = Self.configuration(bundle.payload, defaults: defaults, source: "bundle \(bundle.payload.version)")
            if rolledBack { log.warning("config", "current bundle did not verify; last known good \(bundle.payload.version) restored") }
        }
        self.live = LiveConfig(initial)
        log.info("config", "in force: \(initial.source)")
    }

    static func resident(_ k: KioskSettings, _ d: ResidentDefaults) -> ResidentSettings {
        ResidentSettings(kiosk: k, reprintLimit: d.reprintLimit, lowPaperThreshold: d.lowPaperThreshold,
                         printTimeoutSeconds: d.printTimeoutSeconds)
    }

    static func configuration(_ p: ConfigPayload, defaults: ResidentDefaults, source: String) -> LiveConfiguration {
        LiveConfiguration(profile: p.jurisdiction, settings: Self.resident(p.kiosk, defaults), version: p.version,
                          source: source, kiosk: p.kiosk)
    }

    /// The refusal of the last bundle offered, if it was refused (for the heartbeat and `kioskctl status`).
    public var refusal: String? { self.lastRefusal.withLock { $0 } }

    /// Verifies, stores and offers a bundle. Throws the refusal (the live configuration stays as it is).
    @discardableResult
    public func apply(_ data: Data, source: String, actor: String) throws(ConfigApplyError) -> ConfigPayload {
        do {
            let payload = try self.bundles.apply(data, trusted: self.trustedKeys, kioskID: self.kioskID)
            self.adopt(payload, source: "bundle \(payload.version) (\(source))", actor: actor)
            return payload
        } catch {
            if case .notNewer = error {} else { self.refused("\(error)", source: source) }
            throw error
        }
    }

    /// The bundle the sync engine just stored (it verified and stored it): make it live.
    public func adoptStored(source: String) {
        guard let (bundle, _) = self.bundles.current(trusted: self.trustedKeys),
              bundle.payload.version != self.live.pending?.version ?? self.live.current.version
        else { return }
        self.adopt(bundle.payload, source: "bundle \(bundle.payload.version) (\(source))", actor: "dinas")
    }

    /// A refusal the sync engine saw (it stored nothing).
    public func refused(_ why: String, source: String) {
        let text = SafeText.strip(why)
        self.lastRefusal.withLock { $0 = "\(source): \(text)" }
        try? self.store.setSyncValue("config_rejected", "\(source): \(text)")
        self.log.warning("config", "bundle from \(source) refused: \(text)")
    }

    /// `kioskctl config rollback`: the previous good bundle becomes current (and live between sessions).
    public func rollback(actor: String) throws(ConfigRollbackError) -> (from: Int, to: Int) {
        let (from, good) = try self.bundles.rollback(trusted: self.trustedKeys)
        self.adopt(good.payload, source: "bundle \(good.payload.version) (rollback from \(from))", actor: actor)
        try? self.store.recordEvent(nil, event: "config_rolled_back", actor: actor, detail: "from \(from) to \(good.payload.version)")
        return (from, good.payload.version)
    }

    private func adopt(_ payload: ConfigPayload, source: String, actor: String) {
        self.lastRefusal.withLock { $0 = nil }
        try? self.store.setSyncValue("config_rejected", nil)
        try? self.store.setSyncValue("config_version", String(payload.version))
        let next = Self.configuration(payload, defaults: self.residentDefaults, source: source)
        let now = self.live.offer(next)
        self.log.info("config", now ? "in force: \(source)" : "\(source) waits for the open resident session to end")
    }

    public func run() async {
        // A configuration deferred by a session that never ended (a crashed UI) still takes effect in time.
        while !Task.isCancelled {
            try? await Task.sleep(nanoseconds: 5_000_000_000)
            self.live.applyOverdue()
        }
    }
}
