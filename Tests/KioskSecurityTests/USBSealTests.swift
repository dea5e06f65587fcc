import Foundation
import KioskSecurity
import Testing

@Suite struct USBSealTests {
    @Test func x25519AgreesAndKeysRoundTripThroughPEM() throws {
        let a = try X25519PrivateKey.generate(), b = try X25519PrivateKey.generate()
        #expect(try a.sharedSecret(with: b.publicKey) == b.sharedSecret(with: a.publicKey))
        let again = try X25519PrivateKey(pem: try a.pem())
        #expect(again.publicKey == a.publicKey)
        #expect(try X25519PublicKey(pem: try a.publicKey.pem()) == a.publicKey)
        // An Ed25519 key is not a recipient key, and the reverse.
        let ed = try Ed25519PrivateKey.generate()
        #expect(throws: CryptoError.self) { try X25519PublicKey(pem: try ed.publicKey.pem()) }
        #expect(throws: CryptoError.self) { try Ed25519PublicKey(pem: try a.publicKey.pem()) }
    }

    @Test func hkdfMatchesRFC5869Case1() throws {
        let ikm = [UInt8](repeating: 0x0b, count: 22)
        let salt: [UInt8] = Array(0x00...0x0c)
        let info: [UInt8] = Array(0xf0...0xf9)
        #expect(try HKDF.sha256(ikm: ikm, salt: salt, info: info, length: 42).hexString
            == "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865")
    }

    @Test func sealedFilesRoundTripAcrossChunkBoundaries() throws {
        let recipient = try X25519PrivateKey.generate(), eph = try X25519PrivateKey.generate()
        for size in [0, 1, USBSeal.chunkSize - 1, USBSeal.chunkSize, USBSeal.chunkSize + 1, 3 * USBSeal.chunkSize + 17] {
            let plain = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31) }
            let sealed = try USBSeal.seal(plain, to: recipient.publicKey, ephemeral: eph)
            #expect(try USBSeal.open(sealed, with: recipient, maxPlaintext: 1 << 20, what: "f") == plain)
            #expect(try USBSeal.open(sealed, sealedWith: eph, to: recipient.publicKey, maxPlaintext: 1 << 20, what: "f") == plain)
        }
    }

    @Test func tamperTruncationAndTheWrongKeyAreDetected() throws {
        let recipient = try X25519PrivateKey.generate(), eph = try X25519PrivateKey.generate()
        let plain = Array("NIK 3201011501900001".utf8) + [UInt8](repeating: 7, count: 2 * USBSeal.chunkSize)
        let sealed = try USBSeal.seal(plain, to: recipient.publicKey, ephemeral: eph)
        #expect(!String(decoding: sealed, as: UTF8.self).contains("3201011501900001"))
        func refused(_ bytes: [UInt8], _ key: X25519PrivateKey = recipient) -> Bool {
            do { _ = try USBSeal.open(bytes, with: key, maxPlaintext: 1 << 20, what: "f"); return false } catch {
                if case .authenticationFailed = error { return true }
                return false
            }
        }
        for offset in [10, 50, 70, USBSeal.headerSize + 3, sealed.count - 1] {  // header, body and tag bytes
            var t = sealed
            t[offset] ^= 0x01
            #expect(refused(t), "flip at \(offset)")
        }
        #expect(refused(Array(sealed.dropLast(1))))
        // Cut exactly at a chunk boundary with the length field fixed up: the final-chunk flag catches it.
        var cut = Array(sealed.prefix(USBSeal.headerSize + USBSeal.chunkSize + 16))
        let len = UInt64(USBSeal.chunkSize)
        for i in 0..<8 { cut[68 + i] = UInt8(truncatingIfNeeded: len >> (8 * UInt64(7 - i))) }
        #expect(refused(cut))
        #expect(refused(sealed, try X25519PrivateKey.generate()))
        #expect(refused(Array(sealed.prefix(20))))
        // A length beyond the reader's bound is refused before any allocation.
        #expect(throws: CryptoError.self) { try USBSeal.open(sealed, with: recipient, maxPlaintext: 100, what: "f") }
    }
}
