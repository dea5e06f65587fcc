import Foundation

/// One file on a USB stick sealed to the Dinas's X25519 recipient key (PROTOCOL.md, "USB transfer").
///
/// Layout: a 76-byte header, then the plaintext in 64 KiB chunks, each sealed with AES-256-GCM under a key
/// derived by HKDF-SHA256 from the X25519 secret between the export's ephemeral key and the recipient key.
/// The nonce is the chunk index; the header, the index and a final-chunk flag are the additional data, so a chunk
/// cannot be changed, reordered, dropped, or the file cut at a chunk boundary without the tag failing.
public enum USBSeal {
    public static let magic: [UInt8] = Array("kusb/2".utf8) + [0, 0]
    public static let headerSize = 76
    public static let chunkSize = 65_536
    static let info = Array("kiosk-usb/2 chunk key".utf8)

    public struct Header: Sendable, Equatable {
        public var ephemeral: X25519PublicKey
        public var recipientKeyID: [UInt8]
        public var salt: [UInt8]
        public var chunkSize: Int
        public var plaintextLength: Int

        var bytes: [UInt8] {
            var out = USBSeal.magic + self.ephemeral.raw + self.recipientKeyID + self.salt
            out += be(UInt64(self.chunkSize), 4) + be(UInt64(self.plaintextLength), 8)
            return out
        }

        var chunkCount: Int { max(1, (self.plaintextLength + self.chunkSize - 1) / self.chunkSize) }
        var sealedSize: Int { USBSeal.headerSize + self.plaintextLength + self.chunkCount * AES256GCM.tagSize }
    }

    /// The exact size of a sealed file holding `plaintextLength` bytes (a reader checks it before reading).
    public static func sealedSize(plaintextLength: Int) -> Int {
        headerSize + plaintextLength + max(1, (plaintextLength + chunkSize - 1) / chunkSize) * AES256GCM.tagSize
    }

    /// The recipient key id as written in the header: the first 8 bytes of SHA-256 over the raw key.
    public static func keyID(_ key: X25519PublicKey) -> [UInt8] { Array(SHA256.hash(key.raw).prefix(8)) }

    public static func seal(_ plaintext: [UInt8], to recipient: X25519PublicKey,
                            ephemeral: X25519PrivateKey) throws(CryptoError) -> [UInt8] {
        let header = Header(ephemeral: ephemeral.publicKey, recipientKeyID: keyID(recipient), salt: try secureRandomBytes(16),
                            chunkSize: chunkSize, plaintextLength: plaintext.count)
        let key = try chunkKey(secret: try ephemeral.sharedSecret(with: recipient), header: header, recipient: recipient)
        let hb = header.bytes
        var out = hb
        out.reserveCapacity(header.sealedSize)
        for i in 0..<header.chunkCount {
            let start = i * chunkSize
            let chunk = Array(plaintext[start..<min(plaintext.count, start + chunkSize)])
            out += try AES256GCM.seal(key: key, nonce: nonce(i), plaintext: chunk, aad: aad(hb, i, final: i == header.chunkCount - 1))
        }
        return out
    }

    /// Parses and bounds the header; throws `.authenticationFailed` for anything that is not a well-formed file.
    public static func header(_ sealed: [UInt8], maxPlaintext: Int, what: String) throws(CryptoError) -> Header {
        guard sealed.count >= headerSize, Array(sealed[0..<8]) == magic else { throw .authenticationFailed("\(what): not a kiosk-usb/2 file") }
        let eph = try X25519PublicKey(raw: Array(sealed[8..<40]))
        let cs = Int(unbe(sealed[64..<68])), len = unbe(sealed[68..<76])
        guard cs == chunkSize, len <= UInt64(maxPlaintext) else { throw .authenticationFailed("\(what): header out of bounds") }
        let h = Header(ephemeral: eph, recipientKeyID: Array(sealed[40..<48]), salt: Array(sealed[48..<64]),
                       chunkSize: cs, plaintextLength: Int(len))
        guard sealed.count == h.sealedSize else { throw .authenticationFailed("\(what): truncated or extended (\(sealed.count) of \(h.sealedSize) bytes)") }
        return h
    }

    /// The Dinas side: opens a file with the recipient private key.
    public static func open(_ sealed: [UInt8], with recipient: X25519PrivateKey, maxPlaintext: Int,
                            what: String) throws(CryptoError) -> [UInt8] {
        let h = try header(sealed, maxPlaintext: maxPlaintext, what: what)
        guard h.recipientKeyID == keyID(recipient.publicKey) else {
            throw .authenticationFailed("\(what): sealed to another recipient key")
        }
        return try open(sealed, header: h, secret: try recipient.sharedSecret(with: h.ephemeral), recipient: recipient.publicKey, what: what)
    }

    /// The kiosk side, for resuming an export: opens a file this kiosk sealed with `ephemeral` to `recipient`.
    public static func open(_ sealed: [UInt8], sealedWith ephemeral: X25519PrivateKey, to recipient: X25519PublicKey,
                            maxPlaintext: Int, what: String) throws(CryptoError) -> [UInt8] {
        let h = try header(sealed, maxPlaintext: maxPlaintext, what: what)
        guard h.ephemeral == ephemeral.publicKey, h.recipientKeyID == keyID(recipient) else {
            throw .authenticationFailed("\(what): sealed by another export")
        }
        return try open(sealed, header: h, secret: try ephemeral.sharedSecret(with: recipient), recipient: recipient, what: what)
    }

    private static func open(_ sealed: [UInt8], header h: Header, secret: [UInt8], recipient: X25519PublicKey,
                             what: String) throws(CryptoError) -> [UInt8] {
        let key = try chunkKey(secret: secret, header: h, recipient: recipient)
        let hb = Array(sealed[0..<headerSize])
        var out: [UInt8] = []
        out.reserveCapacity(h.plaintextLength)
        var offset = headerSize
        for i in 0..<h.chunkCount {
            let plain = min(h.chunkSize, h.plaintextLength - i * h.chunkSize)
            let end = offset + plain + AES256GCM.tagSize
            out += try AES256GCM.open(key: key, nonce: nonce(i), sealed: Array(sealed[offset..<end]),
                                      aad: aad(hb, i, final: i == h.chunkCount - 1), what: "\(what) chunk \(i)")
            offset = end
        }
        return out
    }

    private static func chunkKey(secret: [UInt8], header: Header, recipient: X25519PublicKey) throws(CryptoError) -> [UInt8] {
        try HKDF.sha256(ikm: secret, salt: header.salt, info: info + header.ephemeral.raw + recipient.raw, length: 32)
    }

    private static func nonce(_ i: Int) -> [UInt8] { [0, 0, 0, 0] + be(UInt64(i), 8) }
    private static func aad(_ header: [UInt8], _ i: Int, final: Bool) -> [UInt8] { header + be(UInt64(i), 8) + [final ? 1 : 0] }
}

private func be(_ v: UInt64, _ n: Int) -> [UInt8] { (0..<n).reversed().map { UInt8(truncatingIfNeeded: v >> (8 * UInt64($0))) } }
private func unbe(_ s: ArraySlice<UInt8>) -> UInt64 { s.reduce(0) { $0 << 8 | UInt64($1) } }
