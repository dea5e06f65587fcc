import Foundation
import KioskSecurity
import Testing

@Suite struct CryptoTests {
    @Test func sha256MatchesKnownVectors() {
        #expect(SHA256.hex(Data()) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hex(Data("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        var stream = SHA256Stream()
        stream.update(Data("a".utf8))
        stream.update(Data("bc".utf8))
        #expect(stream.finalize().hexString == SHA256.hex(Data("abc".utf8)))
    }

    @Test func pbkdf2MatchesRFC7914Vectors() {
        #expect(PBKDF2.sha256(password: "password", salt: Array("salt".utf8), iterations: 1).hexString
            == "120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b")
        #expect(PBKDF2.sha256(password: "password", salt: Array("salt".utf8), iterations: 2).hexString
            == "ae4d0c95af6b46d32d0adff928f06dd02a303f8ef3c251dfd6e2d85a95474c43")
    }

    @Test func staffPINHashesVerifyOnlyTheRightPIN() throws {
        let hash = try PBKDF2.hashPIN("246810", iterations: 100_000)
        #expect(hash.hasPrefix("pbkdf2-sha256$100000$"))
        #expect(PBKDF2.verifyPIN("246810", against: hash))
        #expect(!PBKDF2.verifyPIN("246811", against: hash))
        #expect(!PBKDF2.verifyPIN("246810", against: "plain-text"))
        #expect(try PBKDF2.hashPIN("246810", iterations: 100_000) != hash)  // salted
    }

    @Test func ed25519SignsAndVerifies() throws {
        let key = try Ed25519PrivateKey.generate()
        let message = Data("kiosk-config/1".utf8)
        let signature = try key.sign(message)
        #expect(signature.count == 64)
        #expect(key.publicKey.isValidSignature(signature, for: message))
        #expect(!key.publicKey.isValidSignature(signature, for: Data("kiosk-config/2".utf8)))
        var flipped = signature
        flipped[10] ^= 0x01
        #expect(!key.publicKey.isValidSignature(flipped, for: message))
        #expect(!key.publicKey.isValidSignature(signature.prefix(63), for: message))
        let other = try Ed25519PrivateKey.generate()
        #expect(!other.publicKey.isValidSignature(signature, for: message))
        #expect(key.publicKey.keyID.count == 16)
        #expect(key.publicKey.keyID != other.publicKey.keyID)
    }

    @Test func pemRoundTrips() throws {
        let key = try Ed25519PrivateKey.generate()
        let pem = try key.pem()
        #expect(pem.hasPrefix("-----BEGIN PRIVATE KEY-----"))
        #expect(try Ed25519PrivateKey(pem: pem).publicKey == key.publicKey)
        let pub = try key.publicKey.pem()
        #expect(pub.hasPrefix("-----BEGIN PUBLIC KEY-----"))
        #expect(try Ed25519PublicKey(pem: pub) == key.publicKey)
    }

    @Test func rejectsGarbageAndForeignKeyTypes() throws {
        #expect(throws: CryptoError.invalidPEM("public key")) { try Ed25519PublicKey(pem: "hello") }
        #expect(throws: CryptoError.invalidPEM("private key")) { try Ed25519PrivateKey(pem: "") }
        guard let openssl else { return }
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let ec = dir.appendingPathComponent("ec.pem").path
        try run(openssl, ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", ec])
        #expect(throws: CryptoError.wrongKeyType("the private key")) {
            try Ed25519PrivateKey(pem: String(contentsOfFile: ec, encoding: .utf8))
        }
    }

    @Test(.enabled(if: openssl != nil)) func interoperatesWithTheOpenSSLCommandLine() throws {
        let openssl = try #require(openssl)
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let priv = dir.appendingPathComponent("k.pem").path
        let pub = dir.appendingPathComponent("k.pub.pem").path
        let msg = dir.appendingPathComponent("msg").path
        let sig = dir.appendingPathComponent("sig").path
        try Data("payload bytes".utf8).write(to: URL(fileURLWithPath: msg))

        // openssl makes the key and signs; we read the key and verify.
        #expect(try run(openssl, ["genpkey", "-algorithm", "ed25519", "-out", priv]).status == 0)
        #expect(try run(openssl, ["pkey", "-in", priv, "-pubout", "-out", pub]).status == 0)
        #expect(try run(openssl, ["pkeyutl", "-sign", "-inkey", priv, "-rawin", "-in", msg, "-out", sig]).status == 0)
        let theirKey = try Ed25519PublicKey(pem: String(contentsOfFile: pub, encoding: .utf8))
        #expect(theirKey.isValidSignature(try Data(contentsOf: URL(fileURLWithPath: sig)), for: Data("payload bytes".utf8)))
        #expect(try Ed25519PrivateKey(pem: String(contentsOfFile: priv, encoding: .utf8)).publicKey == theirKey)

        // We make the key and sign; openssl reads our PEM and verifies.
        let ours = try Ed25519PrivateKey.generate()
        try Data(try ours.pem().utf8).write(to: URL(fileURLWithPath: priv))
        try Data(try ours.publicKey.pem().utf8).write(to: URL(fileURLWithPath: pub))
        try ours.sign(Data("payload bytes".utf8)).write(to: URL(fileURLWithPath: sig))
        #expect(try run(openssl, ["pkey", "-in", priv, "-noout"]).status == 0)
        let verify = try run(openssl, ["pkeyutl", "-verify", "-pubin", "-inkey", pub, "-rawin", "-in", msg, "-sigfile", sig])
        #expect(verify.status == 0)
        #expect(verify.out.contains("Signature Verified Successfully"))
    }
}
