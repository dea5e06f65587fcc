import Foundation

/// Why a document from the Dinas was refused before it could be stored or printed.
public enum DocumentRejection: Error, Hashable, Sendable, CustomStringConvertible {
    case hashMismatch(expected: String, actual: String)
    case untrustedKey(String)
    case badSignature(keyID: String)
    case malformedSignature

    public var description: String {
        switch self {
        case .hashMismatch(let e, let a): return "document SHA-256 \(a) does not match the announced \(e)"
        case .untrustedKey(let k): return "document signed by untrusted key \(k)"
        case .badSignature(let k): return "document signature does not verify with key \(k)"
        case .malformedSignature: return "document signature is not base64 of 64 bytes"
        }
    }
}

/// A Dinas document signature: Ed25519 by a trusted Dinas key over the document's raw 32-byte SHA-256 digest.
public enum DocumentSignature {
    /// Checks the bytes against the announced hash, then the signature over that hash.
    public static func verify(
        document: Data, sha256 expected: String, signature: String, keyID: String, trusted: [Ed25519PublicKey]
    ) throws(DocumentRejection) {
        let digest = SHA256.hash(document)
        guard digest.hexString == expected.lowercased() else {
            throw .hashMismatch(expected: expected, actual: digest.hexString)
        }
        guard let key = trusted.first(where: { $0.keyID == keyID }) else { throw .untrustedKey(keyID) }
        guard let sig = Data(base64Encoded: signature), sig.count == 64 else { throw .malformedSignature }
        guard key.isValidSignature(sig, for: digest) else { throw .badSignature(keyID: keyID) }
    }

    /// Signs a document as the Dinas would (for tests, demos and the embedded Dinas simulation).
    public static func sign(document: Data, with key: Ed25519PrivateKey) throws(CryptoError) -> String {
        try key.sign(SHA256.hash(document)).base64EncodedString()
    }
}
