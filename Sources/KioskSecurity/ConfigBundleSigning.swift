import Foundation
import KioskCore

/// Why a configuration bundle was rejected; each case names the failing field.
public enum BundleError: Error, Hashable, Sendable, CustomStringConvertible {
    case malformed(ValidationError)
    case untrustedKey(keyID: String)
    case badSignature(keyID: String)
    case invalidPayload(ValidationError)

    public var field: String {
        switch self {
        case .malformed(let e), .invalidPayload(let e): return e.field
        case .untrustedKey: return "bundle.key_id"
        case .badSignature: return "bundle.signature"
        }
    }

    public var description: String {
        switch self {
        case .malformed(let e): return "malformed bundle: \(e)"
        case .untrustedKey(let id): return "bundle.key_id: key \(id) is not a trusted Dinas key"
        case .badSignature(let id): return "bundle.signature: does not verify with key \(id) (bundle altered or wrong key)"
        case .invalidPayload(let e): return "invalid payload: \(e)"
        }
    }
}

/// A bundle whose signature verified against a trusted key and whose payload validated.
public struct VerifiedBundle: Sendable {
    public var payload: ConfigPayload
    public var payloadBytes: Data
    public var keyID: String
}

/// Signs and verifies configuration bundles (`kiosk-config/1`, Ed25519 over the payload bytes).
public enum ConfigBundleSigner {
    /// Validates the payload, signs its exact bytes and returns the bundle file's JSON.
    public static func sign(payload bytes: Data, with key: Ed25519PrivateKey) throws -> Data {
        do {
            _ = try ConfigPayload.load(bytes)
        } catch {
            throw BundleError.invalidPayload(error)
        }
        let signature = try key.sign(bytes)
        let bundle = ConfigBundle(payloadBytes: bytes, signature: signature, keyID: key.publicKey.keyID)
        return try KioskJSON.encoder(pretty: true).encode(bundle)
    }

    /// Checks shape, then trust, then signature, then payload: nothing is decoded from unverified bytes.
    /// Duplicate keys are refused in the envelope and in the payload; every payload field is range-checked.
    /// - Parameter now: the kiosk clock when applying (an `issued_at` more than a day ahead is refused); nil to
    ///   check only the documented ranges, as when re-verifying the bundle already applied.
    public static func verify(bundle data: Data, trusted: [Ed25519PublicKey], now: Date? = nil) throws(BundleError)
        -> VerifiedBundle
    {
        let parts: ConfigBundle.Parts
        do {
            parts = try ConfigBundle.parse(data)
        } catch {
            throw .malformed(error)
        }
        guard let key = trusted.first(where: { $0.keyID == parts.keyID }) else {
            throw .untrustedKey(keyID: parts.keyID)
        }
        guard key.isValidSignature(parts.signature, for: parts.payloadBytes) else {
            throw .badSignature(keyID: parts.keyID)
        }
        do {
            let payload = try ConfigPayload.load(parts.payloadBytes, now: now)
            return VerifiedBundle(payload: payload, payloadBytes: parts.payloadBytes, keyID: parts.keyID)
        } catch {
            throw .invalidPayload(error)
        }
    }
}
