// The only file in the project that touches the OpenSSL libcrypto C API or its pointers.
// Keys cross this boundary as raw bytes in value types; every EVP object lives inside one function call.
import CCrypto
import Foundation

/// A libcrypto failure or unusable key material.
public enum CryptoError: Error, Hashable, Sendable, CustomStringConvertible {
    case invalidPEM(String)
    case wrongKeyType(String)
    case libcrypto(String)
    /// An AEAD tag did not verify: the bytes were changed, truncated, or sealed to another key.
    case authenticationFailed(String)

    public var description: String {
        switch self {
        case .authenticationFailed(let what): return "\(what): authentication failed (tampered, truncated or the wrong key)"
        case .invalidPEM(let what): return "not a PEM \(what)"
        case .wrongKeyType(let what): return "\(what) is not an Ed25519 key"
        case .libcrypto(let what): return "libcrypto: \(what)"
        }
    }
}

/// Reads and clears the calling thread's OpenSSL error queue (it is per-thread, so read it at once).
private func drainErrors(_ context: String) -> CryptoError {
    var text: [String] = []
    while case let code = ERR_get_error(), code != 0 {
        var buf = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &buf, buf.count)
        text.append(buf.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
    }
    return .libcrypto(text.isEmpty ? context : "\(context): \(text.joined(separator: "; "))")
}

/// SHA-256 (the corresponding C function is `EVP_Digest`).
public enum SHA256 {
    public static func hash(_ data: some DataProtocol) -> [UInt8] {
        var stream = SHA256Stream()
        stream.update(data)
        return stream.finalize()
    }

    public static func hex(_ data: some DataProtocol) -> String { hash(data).hexString }
}

/// Incremental SHA-256 for files too large to hold in memory.
public struct SHA256Stream: ~Copyable {
    private let ctx: OpaquePointer

    public init() {
        guard let ctx = EVP_MD_CTX_new(), EVP_DigestInit_ex(ctx, EVP_sha256(), nil) == 1 else {
            fatalError("EVP_DigestInit_ex(sha256) failed: libcrypto is unusable")
        }
        self.ctx = ctx
    }

    public mutating func update(_ data: some DataProtocol) {
        for region in data.regions {
            region.withUnsafeBytes { raw in
                _ = EVP_DigestUpdate(self.ctx, raw.baseAddress, raw.count)
            }
        }
    }

    public mutating func update(_ buffer: UnsafeRawBufferPointer) {
        _ = EVP_DigestUpdate(self.ctx, buffer.baseAddress, buffer.count)
    }

    public consuming func finalize() -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        var len: UInt32 = 0
        _ = EVP_DigestFinal_ex(self.ctx, &out, &len)
        return out
    }

    deinit { EVP_MD_CTX_free(self.ctx) }
}

extension Sequence where Element == UInt8 {
    public var hexString: String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        for b in self {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// An Ed25519 public key (RFC 8032), read from and written as SubjectPublicKeyInfo PEM.
public struct Ed25519PublicKey: Hashable, Sendable {
    public let raw: [UInt8]

    public init(raw: [UInt8]) throws(CryptoError) {
        guard raw.count == 32 else { throw .wrongKeyType("a \(raw.count)-byte key") }
        self.raw = raw
    }

    /// Parses `-----BEGIN PUBLIC KEY-----` (as written by `openssl pkey -pubout`).
    public init(pem: String) throws(CryptoError) {
        self.raw = try rawKey(fromPEM: pem, public: true, type: EVP_PKEY_ED25519, wrongType: .wrongKeyType("the public key"))
    }

    /// The key's identifier in bundles: the first 16 hex digits of SHA-256 over the raw key.
    public var keyID: String { String(SHA256.hex(self.raw).prefix(16)) }

    public func pem() throws(CryptoError) -> String {
        let pkey = try rawKey(public: true, self.raw)
        defer { EVP_PKEY_free(pkey) }
        return try writePEM { bio in PEM_write_bio_PUBKEY(bio, pkey) }
    }

    /// Verifies an Ed25519 signature over `message` (`EVP_DigestVerify` with no digest, as Ed25519 requires).
    public func isValidSignature(_ signature: some DataProtocol, for message: some DataProtocol) -> Bool {
        guard let pkey = try? rawKey(public: true, self.raw) else { return false }
        defer { EVP_PKEY_free(pkey) }
        guard let ctx = EVP_MD_CTX_new() else { return false }
        defer { EVP_MD_CTX_free(ctx) }
        let sig = Array(signature), msg = Array(message)
        guard sig.count == 64, EVP_DigestVerifyInit(ctx, nil, nil, nil, pkey) == 1 else {
            ERR_clear_error()
            return false
        }
        let ok = EVP_DigestVerify(ctx, sig, sig.count, msg, msg.count) == 1
        if !ok { ERR_clear_error() }  // a failed verify leaves an error on the per-thread queue
        return ok
    }
}

/// An Ed25519 private key, read from and written as PKCS#8 PEM (interoperable with `openssl pkey`).
public struct Ed25519PrivateKey: Sendable {
    /// The 32-byte seed.
    private let seed: [UInt8]
    public let publicKey: Ed25519PublicKey

    public static func generate() throws(CryptoError) -> Ed25519PrivateKey {
        var seed = [UInt8](repeating: 0, count: 32)
        guard RAND_bytes(&seed, 32) == 1 else { throw drainErrors("RAND_bytes") }
        return try Ed25519PrivateKey(seed: seed)
    }

    public init(seed: [UInt8]) throws(CryptoError) {
        guard seed.count == 32 else { throw .wrongKeyType("a \(seed.count)-byte seed") }
        let pkey = try rawKey(public: false, seed)
        defer { EVP_PKEY_free(pkey) }
        var pub = [UInt8](repeating: 0, count: 32)
        var len = 32
        guard EVP_PKEY_get_raw_public_key(pkey, &pub, &len) == 1 else { throw drainErrors("derive public key") }
        self.seed = seed
        self.publicKey = try Ed25519PublicKey(raw: pub)
    }

    /// Parses `-----BEGIN PRIVATE KEY-----` (PKCS#8, as written by `openssl genpkey -algorithm ed25519`).
    public init(pem: String) throws(CryptoError) {
        try self.init(seed: try rawKey(fromPEM: pem, public: false, type: EVP_PKEY_ED25519, wrongType: .wrongKeyType("the private key")))
    }

    public func pem() throws(CryptoError) -> String {
        let pkey = try rawKey(public: false, self.seed)
        defer { EVP_PKEY_free(pkey) }
        return try writePEM { bio in PEM_write_bio_PrivateKey(bio, pkey, nil, nil, 0, nil, nil) }
    }

    public func sign(_ message: some DataProtocol) throws(CryptoError) -> Data {
        let pkey = try rawKey(public: false, self.seed)
        defer { EVP_PKEY_free(pkey) }
        guard let ctx = EVP_MD_CTX_new() else { throw drainErrors("EVP_MD_CTX_new") }
        defer { EVP_MD_CTX_free(ctx) }
        guard EVP_DigestSignInit(ctx, nil, nil, nil, pkey) == 1 else { throw drainErrors("EVP_DigestSignInit") }
        let msg = Array(message)
        var sig = [UInt8](repeating: 0, count: 64)
        var len = 64
        guard EVP_DigestSign(ctx, &sig, &len, msg, msg.count) == 1, len == 64 else {
            throw drainErrors("EVP_DigestSign")
        }
        return Data(sig)
    }
}

/// PBKDF2-HMAC-SHA256 (`PKCS5_PBKDF2_HMAC`), used for staff PIN hashes.
public enum PBKDF2 {
    public static func sha256(password: String, salt: [UInt8], iterations: Int, length: Int = 32) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: length)
        let pw = Array(password.utf8)
        let rc = pw.withUnsafeBufferPointer { p in
            PKCS5_PBKDF2_HMAC(
                p.baseAddress.map { UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self) }, Int32(pw.count),
                salt, Int32(salt.count), Int32(iterations), EVP_sha256(), Int32(length), &out)
        }
        precondition(rc == 1, "PKCS5_PBKDF2_HMAC failed")
        return out
    }

    /// `pbkdf2-sha256$ITERATIONS$SALT$HASH` with base64 salt and hash.
    public static func hashPIN(_ pin: String, iterations: Int = 100_000) throws(CryptoError) -> String {
        var salt = [UInt8](repeating: 0, count: 16)
        guard RAND_bytes(&salt, 16) == 1 else { throw drainErrors("RAND_bytes") }
        let hash = sha256(password: pin, salt: salt, iterations: iterations)
        return "pbkdf2-sha256$\(iterations)$\(Data(salt).base64EncodedString())$\(Data(hash).base64EncodedString())"
    }

    public static func verifyPIN(_ pin: String, against encoded: String) -> Bool {
        let p = encoded.split(separator: "$")
        guard p.count == 4, p[0] == "pbkdf2-sha256", let iter = Int(p[1]), iter > 0,
              let salt = Data(base64Encoded: String(p[2])), let want = Data(base64Encoded: String(p[3]))
        else { return false }
        let got = sha256(password: pin, salt: Array(salt), iterations: iter, length: want.count)
        // Constant-time comparison.
        return zip(got, want).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0 && got.count == want.count
    }
}

private func rawKey(public isPublic: Bool, _ bytes: [UInt8], type: Int32 = EVP_PKEY_ED25519) throws(CryptoError) -> OpaquePointer {
    let pkey = isPublic
        ? EVP_PKEY_new_raw_public_key(type, nil, bytes, bytes.count)
        : EVP_PKEY_new_raw_private_key(type, nil, bytes, bytes.count)
    guard let pkey else { throw drainErrors("EVP_PKEY_new_raw_\(isPublic ? "public" : "private")_key") }
    return pkey
}

/// The 32 raw bytes of a PEM key (SubjectPublicKeyInfo or PKCS#8) of one type (Ed25519 or X25519).
private func rawKey(fromPEM pem: String, public isPublic: Bool, type: Int32, wrongType: CryptoError) throws(CryptoError) -> [UInt8] {
    let pkey = try withPEM(pem, what: isPublic ? "public key" : "private key") { bio in
        isPublic ? PEM_read_bio_PUBKEY(bio, nil, nil, nil) : PEM_read_bio_PrivateKey(bio, nil, nil, nil)
    }
    defer { EVP_PKEY_free(pkey) }
    guard EVP_PKEY_get_id(pkey) == type else { throw wrongType }
    var buf = [UInt8](repeating: 0, count: 32)
    var len = 32
    let ok = isPublic ? EVP_PKEY_get_raw_public_key(pkey, &buf, &len) : EVP_PKEY_get_raw_private_key(pkey, &buf, &len)
    guard ok == 1, len == 32 else { throw drainErrors("EVP_PKEY_get_raw_\(isPublic ? "public" : "private")_key") }
    return buf
}

private func withPEM(
    _ pem: String, what: String, _ read: (OpaquePointer) -> OpaquePointer?
) throws(CryptoError) -> OpaquePointer {
    let bytes = Array(pem.utf8)
    guard let bio = BIO_new_mem_buf(bytes, Int32(bytes.count)) else { throw drainErrors("BIO_new_mem_buf") }
    defer { BIO_free(bio) }
    guard let pkey = read(bio) else {
        ERR_clear_error()
        throw .invalidPEM(what)
    }
    return pkey
}

private func writePEM(_ write: (OpaquePointer) -> Int32) throws(CryptoError) -> String {
    guard let bio = BIO_new(BIO_s_mem()) else { throw drainErrors("BIO_new") }
    defer { BIO_free(bio) }
    guard write(bio) == 1 else { throw drainErrors("PEM_write") }
    var ptr: UnsafeMutablePointer<CChar>?
    let len = ccrypto_bio_get_mem_data(bio, &ptr)
    guard let ptr, len > 0 else { throw drainErrors("BIO_get_mem_data") }
    return String(decoding: UnsafeRawBufferPointer(start: ptr, count: Int(len)), as: UTF8.self)
}

// MARK: - X25519, HKDF-SHA256, AES-256-GCM (the USB transfer, PROTOCOL.md "USB transfer")

/// An X25519 public key (RFC 7748), read from and written as SubjectPublicKeyInfo PEM.
public struct X25519PublicKey: Hashable, Sendable {
    public let raw: [UInt8]

    public init(raw: [UInt8]) throws(CryptoError) {
        guard raw.count == 32 else { throw .invalidPEM("X25519 public key (\(raw.count) bytes)") }
        self.raw = raw
    }

    /// Parses `-----BEGIN PUBLIC KEY-----` holding an X25519 key (`openssl pkey -pubout` of an x25519 key).
    public init(pem: String) throws(CryptoError) {
        self.raw = try rawKey(fromPEM: pem, public: true, type: EVP_PKEY_X25519, wrongType: .invalidPEM("X25519 public key (another key type)"))
    }

    /// The first 16 hex digits of SHA-256 over the raw key, as for Ed25519 keys.
    public var keyID: String { String(SHA256.hex(self.raw).prefix(16)) }

    public func pem() throws(CryptoError) -> String {
        let pkey = try x25519Key(public: true, self.raw)
        defer { EVP_PKEY_free(pkey) }
        return try writePEM { bio in PEM_write_bio_PUBKEY(bio, pkey) }
    }
}

/// An X25519 private key, PKCS#8 PEM (interoperable with `openssl genpkey -algorithm x25519`).
public struct X25519PrivateKey: Sendable {
    private let raw: [UInt8]
    public let publicKey: X25519PublicKey

    public static func generate() throws(CryptoError) -> X25519PrivateKey {
        try X25519PrivateKey(raw: try secureRandomBytes(32))
    }

    public init(raw: [UInt8]) throws(CryptoError) {
        guard raw.count == 32 else { throw .invalidPEM("X25519 private key (\(raw.count) bytes)") }
        let pkey = try x25519Key(public: false, raw)
        defer { EVP_PKEY_free(pkey) }
        var pub = [UInt8](repeating: 0, count: 32)
        var len = 32
        guard EVP_PKEY_get_raw_public_key(pkey, &pub, &len) == 1, len == 32 else { throw drainErrors("derive X25519 public key") }
        self.raw = raw
        self.publicKey = try X25519PublicKey(raw: pub)
    }

    public init(pem: String) throws(CryptoError) {
        try self.init(raw: try rawKey(fromPEM: pem, public: false, type: EVP_PKEY_X25519, wrongType: .invalidPEM("X25519 private key (another key type)")))
    }

    public func pem() throws(CryptoError) -> String {
        let pkey = try x25519Key(public: false, self.raw)
        defer { EVP_PKEY_free(pkey) }
        return try writePEM { bio in PEM_write_bio_PrivateKey(bio, pkey, nil, nil, 0, nil, nil) }
    }

    /// X25519 ECDH (`EVP_PKEY_derive`). Refuses an all-zero result (a low-order peer key).
    public func sharedSecret(with peer: X25519PublicKey) throws(CryptoError) -> [UInt8] {
        let mine = try x25519Key(public: false, self.raw)
        defer { EVP_PKEY_free(mine) }
        let theirs = try x25519Key(public: true, peer.raw)
        defer { EVP_PKEY_free(theirs) }
        guard let ctx = EVP_PKEY_CTX_new(mine, nil) else { throw drainErrors("EVP_PKEY_CTX_new") }
        defer { EVP_PKEY_CTX_free(ctx) }
        guard EVP_PKEY_derive_init(ctx) == 1, EVP_PKEY_derive_set_peer(ctx, theirs) == 1 else {
            throw drainErrors("EVP_PKEY_derive_init")
        }
        var out = [UInt8](repeating: 0, count: 32)
        var len = 32
        guard EVP_PKEY_derive(ctx, &out, &len) == 1, len == 32 else { throw drainErrors("EVP_PKEY_derive") }
        guard out.contains(where: { $0 != 0 }) else { throw .libcrypto("X25519: low-order peer key") }
        return out
    }
}

/// HKDF-SHA256 (RFC 5869) through the `EVP_PKEY_HKDF` context.
public enum HKDF {
    public static func sha256(ikm: [UInt8], salt: [UInt8], info: [UInt8], length: Int) throws(CryptoError) -> [UInt8] {
        guard length > 0, length <= 255 * 32, !ikm.isEmpty else { throw .libcrypto("HKDF: bad length") }
        guard let ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, nil) else { throw drainErrors("EVP_PKEY_CTX_new_id(HKDF)") }
        defer { EVP_PKEY_CTX_free(ctx) }
        // An empty salt means "no salt" (RFC 5869: a string of HashLen zeros); pass one explicit zero block.
        let s = salt.isEmpty ? [UInt8](repeating: 0, count: 32) : salt
        guard EVP_PKEY_derive_init(ctx) == 1, EVP_PKEY_CTX_set_hkdf_md(ctx, EVP_sha256()) == 1,
              EVP_PKEY_CTX_set1_hkdf_salt(ctx, s, Int32(s.count)) == 1,
              EVP_PKEY_CTX_set1_hkdf_key(ctx, ikm, Int32(ikm.count)) == 1,
              info.isEmpty || EVP_PKEY_CTX_add1_hkdf_info(ctx, info, Int32(info.count)) == 1
        else { throw drainErrors("HKDF setup") }
        var out = [UInt8](repeating: 0, count: length)
        var len = length
        guard EVP_PKEY_derive(ctx, &out, &len) == 1, len == length else { throw drainErrors("HKDF derive") }
        return out
    }
}

/// AES-256-GCM with a 12-byte nonce and a 16-byte tag appended to the ciphertext.
public enum AES256GCM {
    public static let tagSize = 16

    public static func seal(key: [UInt8], nonce: [UInt8], plaintext: [UInt8], aad: [UInt8]) throws(CryptoError) -> [UInt8] {
        guard key.count == 32, nonce.count == 12 else { throw .libcrypto("AES-256-GCM: bad key or nonce size") }
        guard let ctx = EVP_CIPHER_CTX_new() else { throw drainErrors("EVP_CIPHER_CTX_new") }
        defer { EVP_CIPHER_CTX_free(ctx) }
        guard EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), nil, key, nonce) == 1 else { throw drainErrors("EVP_EncryptInit_ex") }
        var outl: Int32 = 0
        if !aad.isEmpty {
            guard EVP_EncryptUpdate(ctx, nil, &outl, aad, Int32(aad.count)) == 1 else { throw drainErrors("GCM aad") }
        }
        var out = [UInt8](repeating: 0, count: plaintext.count + tagSize)
        var written = 0
        if !plaintext.isEmpty {
            guard EVP_EncryptUpdate(ctx, &out, &outl, plaintext, Int32(plaintext.count)) == 1 else { throw drainErrors("GCM encrypt") }
            written = Int(outl)
        }
        let finalOK = out.withUnsafeMutableBufferPointer { p in
            EVP_EncryptFinal_ex(ctx, p.baseAddress.map { $0 + written }, &outl) == 1
        }
        guard finalOK, written + Int(outl) == plaintext.count else { throw drainErrors("GCM final") }
        var tag = [UInt8](repeating: 0, count: tagSize)
        guard EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, Int32(tagSize), &tag) == 1 else { throw drainErrors("GCM tag") }
        out.replaceSubrange(plaintext.count..., with: tag)
        return out
    }

    /// Opens `ciphertext || tag`; `.authenticationFailed(what)` when the tag does not verify.
    public static func open(key: [UInt8], nonce: [UInt8], sealed: [UInt8], aad: [UInt8], what: String) throws(CryptoError) -> [UInt8] {
        guard key.count == 32, nonce.count == 12 else { throw .libcrypto("AES-256-GCM: bad key or nonce size") }
        guard sealed.count >= tagSize else { throw .authenticationFailed(what) }
        let body = Array(sealed[..<(sealed.count - tagSize)])
        var tag = Array(sealed[(sealed.count - tagSize)...])
        guard let ctx = EVP_CIPHER_CTX_new() else { throw drainErrors("EVP_CIPHER_CTX_new") }
        defer { EVP_CIPHER_CTX_free(ctx) }
        guard EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), nil, key, nonce) == 1 else { throw drainErrors("EVP_DecryptInit_ex") }
        var outl: Int32 = 0
        if !aad.isEmpty {
            guard EVP_DecryptUpdate(ctx, nil, &outl, aad, Int32(aad.count)) == 1 else { throw drainErrors("GCM aad") }
        }
        var out = [UInt8](repeating: 0, count: body.count + tagSize)
        var written = 0
        if !body.isEmpty {
            guard EVP_DecryptUpdate(ctx, &out, &outl, body, Int32(body.count)) == 1 else { throw drainErrors("GCM decrypt") }
            written = Int(outl)
        }
        guard EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, Int32(tagSize), &tag) == 1 else { throw drainErrors("GCM tag") }
        let ok = out.withUnsafeMutableBufferPointer { p in
            EVP_DecryptFinal_ex(ctx, p.baseAddress.map { $0 + written }, &outl) == 1
        }
        guard ok else {
            ERR_clear_error()
            throw .authenticationFailed(what)
        }
        return Array(out[..<body.count])
    }
}

/// `RAND_bytes`.
public func secureRandomBytes(_ count: Int) throws(CryptoError) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: count)
    guard count == 0 || RAND_bytes(&out, Int32(count)) == 1 else { throw drainErrors("RAND_bytes") }
    return out
}

private func x25519Key(public isPublic: Bool, _ bytes: [UInt8]) throws(CryptoError) -> OpaquePointer {
    try rawKey(public: isPublic, bytes, type: EVP_PKEY_X25519)
}
