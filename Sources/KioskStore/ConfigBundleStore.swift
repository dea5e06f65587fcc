#if canImport(Glibc)
import Glibc
#endif
import Foundation
import KioskCore
import KioskSecurity

/// Why a configuration bundle was not applied.
public enum ConfigApplyError: Error, Sendable, CustomStringConvertible {
    case rejected(BundleError)
    case notForThisKiosk(String)
    case notNewer(offered: Int, current: Int)
    case storage(StoreError)

    /// The failing field of a refused bundle (`payload.kiosk.retention_days`, `bundle.signature`, …).
    public var field: String? {
        switch self {
        case .rejected(let e): return e.field
        case .notForThisKiosk: return "payload.targets"
        case .notNewer: return "payload.version"
        case .storage: return nil
        }
    }

    public var description: String {
        switch self {
        case .rejected(let e): return "rejected: \(e)"
        case .notForThisKiosk(let id): return "bundle does not target kiosk \(id)"
        case .notNewer(let offered, let current): return "version \(offered) is not newer than the applied version \(current)"
        case .storage(let e): return "\(e)"
        }
    }
}

public enum ConfigRollbackError: Error, Sendable, CustomStringConvertible {
    case nothingToRollBackTo
    case lastKnownGoodInvalid
    case storage(StoreError)

    public var description: String {
        switch self {
        case .nothingToRollBackTo: return "there is no earlier configuration bundle to return to"
        case .lastKnownGoodInvalid: return "the last known good bundle no longer verifies against the trusted keys"
        case .storage(let e): return "\(e)"
        }
    }
}

/// The applied configuration bundle and the last known good one, as verified bundle files in `DATA/config`.
/// A new bundle is applied only if it verifies against a trusted key, targets this kiosk and is newer; the
/// previous one becomes last-known-good. At load, a current bundle that no longer verifies or validates is
/// replaced by the last known good one.
public struct ConfigBundleStore: Sendable {
    let spool: Spool

    public init(dataDirectory: String) throws(StoreError) {
        try Spool.makeDirectory(dataDirectory)
        self.spool = try Spool(root: "\(dataDirectory)/config")
    }

    private func read(_ name: String) -> Data? { FileManager.default.contents(atPath: "\(self.spool.root)/\(name)") }

    /// The current bundle, verified now; falls back to (and restores) the last known good one.
    public func current(trusted: [Ed25519PublicKey]) -> (bundle: VerifiedBundle, rolledBack: Bool)? {
        if let data = self.read("current.json"), let v = try? ConfigBundleSigner.verify(bundle: data, trusted: trusted) {
            return (v, false)
        }
        guard let data = self.read("last-known-good.json"),
              let v = try? ConfigBundleSigner.verify(bundle: data, trusted: trusted)
        else { return nil }
        _ = try? self.spool.store(data: data, as: "current.json", maxBytes: 16 << 20, label: "config")
        return (v, true)
    }

    /// The version last rolled back from (0 if none): offered again (the Dinas still serves it), it stays refused.
    public var rolledBackVersion: Int {
        self.read("rolled-back-version").flatMap { Int(String(decoding: $0, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) } ?? 0
    }

    /// Returns to the last known good bundle (`kioskctl config rollback`). The current one is kept as
    /// `rolled-back.json` and its version refused from now on, until the Dinas publishes a newer one.
    /// Fails when there is no verified last-known-good bundle to return to.
    public func rollback(trusted: [Ed25519PublicKey]) throws(ConfigRollbackError) -> (from: Int, to: VerifiedBundle) {
        guard let lkg = self.read("last-known-good.json") else { throw .nothingToRollBackTo }
        guard let good = try? ConfigBundleSigner.verify(bundle: lkg, trusted: trusted) else { throw .lastKnownGoodInvalid }
        let from = self.currentVersion(trusted: trusted)
        do {
            if let old = self.read("current.json") {
                _ = try self.spool.store(data: old, as: "rolled-back.json", maxBytes: 16 << 20, label: "config")
            }
            _ = try self.spool.store(data: Data("\(max(from, self.rolledBackVersion))\n".utf8), as: "rolled-back-version",
                                     maxBytes: 64, label: "config")
            _ = try self.spool.store(data: lkg, as: "current.json", maxBytes: 16 << 20, label: "config")
        } catch {
            throw .storage(error)
        }
        return (from, good)
    }

    public func currentVersion(trusted: [Ed25519PublicKey]) -> Int { self.current(trusted: trusted)?.bundle.payload.version ?? 0 }

    /// Verifies and applies a bundle; the old current one becomes last-known-good. A bundle that is refused for
    /// any reason (signature, a field out of its documented range, a duplicate key, an `issued_at` more than a day
    /// ahead of `now`) changes nothing: the applied configuration stays in force.
    @discardableResult
    public func apply(_ data: Data, trusted: [Ed25519PublicKey], kioskID: String, now: Date = Date())
        throws(ConfigApplyError) -> ConfigPayload
    {
        let verified: VerifiedBundle
        do {
            verified = try ConfigBundleSigner.verify(bundle: data, trusted: trusted, now: now)
        } catch {
            throw .rejected(error)
        }
        guard verified.payload.applies(to: kioskID) else { throw .notForThisKiosk(kioskID) }
        // After a rollback the bundle rolled back from (and anything older) stays refused until a newer one comes.
        let current = max(self.currentVersion(trusted: trusted), self.rolledBackVersion)
        guard verified.payload.version > current else {
            throw .notNewer(offered: verified.payload.version, current: current)
        }
        do {
            if let old = self.read("current.json") {
                _ = try self.spool.store(data: old, as: "last-known-good.json", maxBytes: 16 << 20, label: "config")
            }
            _ = try self.spool.store(data: data, as: "current.json", maxBytes: 16 << 20, label: "config")
        } catch {
            throw .storage(error)
        }
        return verified.payload
    }
}
