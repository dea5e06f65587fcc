import Foundation
import KioskCore
import KioskSecurity
import Testing

@Suite struct ConfigBundleTests {
    let key: Ed25519PrivateKey
    let payloadBytes: Data

    init() throws {
        self.key = try Ed25519PrivateKey.generate()
        let profile = try JurisdictionProfile.load(
            try Data(contentsOf: packageRoot.appendingPathComponent("Kiosk/profiles/blora.json")))
        let payload = ConfigPayload(
            version: 7, issuedAt: "2026-11-22T08:00:00Z", targets: ["*"], jurisdiction: profile,
            kiosk: KioskSettings.defaults(desaName: "Desa Tempellemahbang"))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        self.payloadBytes = try encoder.encode(payload)
    }

    func bundleObject(_ data: Data) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    @Test func signedBundleVerifiesWithTheTrustedKey() throws {
        let bundle = try ConfigBundleSigner.sign(payload: self.payloadBytes, with: self.key)
        let object = try bundleObject(bundle)
        #expect(object["format"] as? String == "kiosk-config/1")
        #expect(object["key_id"] as? String == self.key.publicKey.keyID)
        let verified = try ConfigBundleSigner.verify(bundle: bundle, trusted: [self.key.publicKey])
        #expect(verified.payload.version == 7)
        #expect(verified.payload.jurisdiction.id == "blora")
        #expect(verified.payloadBytes == self.payloadBytes)
    }

    @Test func tamperedPayloadIsRejected() throws {
        var object = try bundleObject(try ConfigBundleSigner.sign(payload: self.payloadBytes, with: self.key))
        let tampered = String(decoding: self.payloadBytes, as: UTF8.self)
            .replacingOccurrences(of: "\"version\":7", with: "\"version\":8")
        #expect(tampered != String(decoding: self.payloadBytes, as: UTF8.self))
        object["payload"] = Data(tampered.utf8).base64EncodedString()
        let data = try JSONSerialization.data(withJSONObject: object)
        #expect(throws: BundleError.badSignature(keyID: self.key.publicKey.keyID)) {
            try ConfigBundleSigner.verify(bundle: data, trusted: [self.key.publicKey])
        }
    }

    @Test func untrustedKeyIsRejectedEvenWithAValidSignature() throws {
        let stranger = try Ed25519PrivateKey.generate()
        let bundle = try ConfigBundleSigner.sign(payload: self.payloadBytes, with: stranger)
        #expect(throws: BundleError.untrustedKey(keyID: stranger.publicKey.keyID)) {
            try ConfigBundleSigner.verify(bundle: bundle, trusted: [self.key.publicKey])
        }
        // A bundle claiming a trusted key id but signed by another key fails on the signature.
        var object = try bundleObject(bundle)
        object["key_id"] = self.key.publicKey.keyID
        #expect(throws: BundleError.badSignature(keyID: self.key.publicKey.keyID)) {
            try ConfigBundleSigner.verify(bundle: try JSONSerialization.data(withJSONObject: object), trusted: [self.key.publicKey])
        }
    }

    /// (key, replacement value as a JSON fragment, expected failing field)
    @Test(arguments: [
        ("format", "\"kiosk-config/2\"", "bundle.format"),
        ("payload", "\"@@not base64@@\"", "bundle.payload"),
        ("signature", "\"AAAAAAAAAAAAAA==\"", "bundle.signature"),
        ("key_id", "42", "bundle.key_id"),
        ("key_id", "\"\"", "bundle.key_id"),
    ])
    func malformedBundleNamesTheField(_ key: String, _ fragment: String, _ field: String) throws {
        var object = try bundleObject(try ConfigBundleSigner.sign(payload: self.payloadBytes, with: self.key))
        object[key] = try JSONSerialization.jsonObject(with: Data(fragment.utf8), options: .fragmentsAllowed)
        let data = try JSONSerialization.data(withJSONObject: object)
        #expect { try ConfigBundleSigner.verify(bundle: data, trusted: [self.key.publicKey]) } throws: { error in
            guard let e = error as? BundleError, case .malformed = e else { return false }
            return e.field == field
        }
    }

    @Test func missingFieldAndNonJSONAreMalformed() throws {
        var object = try bundleObject(try ConfigBundleSigner.sign(payload: self.payloadBytes, with: self.key))
        object.removeValue(forKey: "signature")
        #expect { try ConfigBundleSigner.verify(bundle: try JSONSerialization.data(withJSONObject: object), trusted: []) } throws: {
            ($0 as? BundleError)?.field == "bundle.signature"
        }
        #expect { try ConfigBundleSigner.verify(bundle: Data("<html>portal</html>".utf8), trusted: []) } throws: {
            guard let e = $0 as? BundleError, case .malformed = e else { return false }
            return true
        }
    }

    @Test func validlySignedButInvalidPayloadNamesTheField() throws {
        // Sign bytes that bypass the signer's own validation, as a compromised build server might.
        var object = try #require(try JSONSerialization.jsonObject(with: self.payloadBytes) as? [String: Any])
        var kiosk = try #require(object["kiosk"] as? [String: Any])
        kiosk["idle_timeout_seconds"] = 5
        object["kiosk"] = kiosk
        let bad = try JSONSerialization.data(withJSONObject: object)
        #expect(throws: BundleError.self) { try ConfigBundleSigner.sign(payload: bad, with: self.key) }
        let bundle = ConfigBundle(payloadBytes: bad, signature: try self.key.sign(bad), keyID: self.key.publicKey.keyID)
        let data = try JSONEncoder().encode(bundle)
        #expect { try ConfigBundleSigner.verify(bundle: data, trusted: [self.key.publicKey]) } throws: {
            ($0 as? BundleError)?.field == "payload.kiosk.idle_timeout_seconds"
        }
    }

    @Test func payloadValidationCoversEveryTopLevelField() throws {
        func check(_ edit: (inout [String: Any]) -> Void, field: String) throws {
            var object = try #require(try JSONSerialization.jsonObject(with: self.payloadBytes) as? [String: Any])
            edit(&object)
            #expect { try ConfigPayload.load(try JSONSerialization.data(withJSONObject: object)) } throws: {
                ($0 as? ValidationError)?.field == field
            }
        }
        try check({ $0["version"] = 0 }, field: "payload.version")
        try check({ $0["version"] = "seven" }, field: "payload.version")
        try check({ $0["issued_at"] = "yesterday" }, field: "payload.issued_at")
        try check({ $0["targets"] = [String]() }, field: "payload.targets")
        try check({ $0.removeValue(forKey: "jurisdiction") }, field: "payload.jurisdiction")
        try check({ o in
            var k = o["kiosk"] as! [String: Any]
            k["languages"] = ["en", "id"]
            o["kiosk"] = k
        }, field: "payload.kiosk.languages")
        try check({ o in
            var k = o["kiosk"] as! [String: Any]
            k["staff_pins"] = [["staff_id": "s1", "name": "Ibu Sari", "pin_hash": "1234"]]
            o["kiosk"] = k
        }, field: "payload.kiosk.staff_pins[0].pin_hash")
        try check({ o in
            var j = o["jurisdiction"] as! [String: Any]
            j["fee_idr"] = -5
            o["jurisdiction"] = j
        }, field: "payload.jurisdiction.fee_idr")
    }
}
