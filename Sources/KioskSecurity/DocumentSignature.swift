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
        case .badSignature(let k): return "document signature does not verify with key \(k) for this application and product"
        case .malformedSignature: return "document signature is not base64 of 64 bytes"
        }
    }
}

/// A Dinas document signature: Ed25519 by a trusted Dinas key over a statement binding the document to its
/// application and product (PROTOCOL.md §6):
///
///     kiosk-dinas/1 document\n<application id, lowercase UUID>\n<product>\n<lowercase hex SHA-256 of the PDF>
///
/// so a validly signed document for one application can never be stored or printed for another.
public enum DocumentSignature {
    /// The exact bytes the Dinas signs.
    public static func statement(applicationID: UUID, product: String, sha256: String) -> Data {
        Data("kiosk-dinas/1 document\n\(applicationID.uuidString.lowercased())\n\(product)\n\(sha256.lowercased())".utf8)
    }

    /// Checks the bytes against the announced hash, then the signature over (application, product, hash).
    public static func verify(
        document: Data, sha256 expected: String, applicationID: UUID, product: String, signature: String, keyID: String,
        trusted: [Ed25519PublicKey]
    ) throws(DocumentRejection) {
        let digest = SHA256.hash(document)
        guard digest.hexString == expected.lowercased() else {
            throw .hashMismatch(expected: expected, actual: digest.hexString)
        }
        guard let key = trusted.first(where: { $0.keyID == keyID }) else { throw .untrustedKey(keyID) }
        guard let sig = Data(base64Encoded: signature), sig.count == 64 else { throw .malformedSignature }
        let message = self.statement(applicationID: applicationID, product: product, sha256: digest.hexString)
        guard key.isValidSignature(sig, for: message) else { throw .badSignature(keyID: keyID) }
    }

    /// Signs a document as the Dinas would (for tests, demos and the embedded Dinas simulation).
    public static func sign(document: Data, applicationID: UUID, product: String, with key: Ed25519PrivateKey)
        throws(CryptoError) -> String
    {
        try key.sign(self.statement(applicationID: applicationID, product: product, sha256: SHA256.hex(document)))
            .base64EncodedString()
    }
}
