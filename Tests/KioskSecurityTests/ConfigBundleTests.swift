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
            k["staff_pins"] = [["staff_id": "s1", "name": "Ibu Sari", "role": "petugas", "pin_hash": "1234"]]
            o["kiosk"] = k
        }, field: "payload.kiosk.staff_pins[0].pin_hash")
        try check({ o in
            var j = o["jurisdiction"] as! [String: Any]
            j["fee_idr"] = -5
            o["jurisdiction"] = j
        }, field: "payload.jurisdiction.fee_idr")
    }
}

/// Issue 13: a bundle signed by a trusted key is authentic, not necessarily sane. Each of these verifies its
/// signature and is still refused, naming the field.
@Suite struct InsaneBundleTests {
    let key: Ed25519PrivateKey
    let object: [String: Any]

    init() throws {
        self.key = try Ed25519PrivateKey.generate()
        let profile = try JurisdictionProfile.load(
            try Data(contentsOf: packageRoot.appendingPathComponent("Kiosk/profiles/kota-kupang.json")))
        let payload = ConfigPayload(
            version: 2, issuedAt: "2026-11-22T08:00:00Z", targets: ["*"], jurisdiction: profile,
            kiosk: KioskSettings.defaults(desaName: "Kelurahan Oebobo"))
        self.object = try #require(try JSONSerialization.jsonObject(with: try KioskJSON.encode(payload)) as? [String: Any])
    }

    /// Signs `bytes` as they are, skipping the signer's own validation (as a compromised build server might).
    func bundle(_ bytes: Data) throws -> Data {
        try KioskJSON.encode(ConfigBundle(payloadBytes: bytes, signature: try self.key.sign(bytes), keyID: self.key.publicKey.keyID))
    }

    func edited(_ edit: (inout [String: Any]) -> Void) throws -> Data {
        var o = self.object
        edit(&o)
        return try JSONSerialization.data(withJSONObject: o, options: [.sortedKeys])
    }

    func refusedField(_ bytes: Data, now: Date? = nil) throws -> String? {
        let data = try self.bundle(bytes)
        do {
            _ = try ConfigBundleSigner.verify(bundle: data, trusted: [self.key.publicKey], now: now)
            return nil
        } catch {
            guard case .invalidPayload = error else { return "not a payload error: \(error)" }
            return error.field
        }
    }

    static func kiosk(_ o: inout [String: Any], _ key: String, _ value: Any) {
        var k = o["kiosk"] as! [String: Any]
        k[key] = value
        o["kiosk"] = k
    }

    static func birth(_ o: inout [String: Any], _ edit: (inout [String: Any]) -> Void) {
        var j = o["jurisdiction"] as! [String: Any]
        var services = j["services"] as! [[String: Any]]
        edit(&services[0])
        j["services"] = services
        o["jurisdiction"] = j
    }

    @Test func theUneditedPayloadVerifies() throws {
        #expect(try refusedField(try edited { _ in }, now: Date()) == nil)
    }

    @Test func allSevenDaysOfWeekendIsRefused() throws {
        let bytes = try edited { o in
            var j = o["jurisdiction"] as! [String: Any]
            var c = j["conventions"] as! [String: Any]
            c["weekend"] = [1, 2, 3, 4, 5, 6, 7]
            j["conventions"] = c
            o["jurisdiction"] = j
        }
        #expect(try refusedField(bytes) == "payload.jurisdiction.conventions.weekend")
    }

    @Test func intMaxDeadlineAndFineAreRefused() throws {
        let deadline = try edited { o in
            Self.birth(&o) { s in s["deadline"] = ["period": ["amount": Int.max, "unit": "days"], "reference": "PK 4"] }
        }
        #expect(try refusedField(deadline) == "payload.jurisdiction.services[0].deadline.period.amount")
        let fine = try edited { o in
            Self.birth(&o) { s in s["fine"] = ["amount_idr": Int.max, "reference": "PK 144"] }
        }
        #expect(try refusedField(fine) == "payload.jurisdiction.services[0].fine.amount_idr")
    }

    @Test func intMaxVersionIsRefused() throws {
        #expect(try refusedField(try edited { $0["version"] = Int.max }) == "payload.version")
        #expect(try refusedField(try edited { $0["version"] = 1_000_000_001 }) == "payload.version")
        #expect(try refusedField(try edited { $0["version"] = 1_000_000_000 }) == nil)
    }

    @Test(arguments: ["1970-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "2019-12-31T23:59:59Z", "2101-01-01T00:00:00Z",
                      "2026-11-22T08:00:00"])
    func issuedAtOutOfRangeIsRefused(_ issuedAt: String) throws {
        #expect(try refusedField(try edited { $0["issued_at"] = issuedAt }) == "payload.issued_at")
    }

    @Test func issuedAtMoreThanADayAheadOfTheKioskClockIsRefusedWhenApplying() throws {
        let now = try #require(KioskJSON.date("2026-11-20T08:00:00Z"))
        #expect(try refusedField(try edited { $0["issued_at"] = "2026-11-21T07:59:00Z" }, now: now) == nil)
        #expect(try refusedField(try edited { $0["issued_at"] = "2026-11-21T08:00:01Z" }, now: now) == "payload.issued_at")
        // Without a clock (re-verifying the applied bundle) only the documented range applies.
        #expect(try refusedField(try edited { $0["issued_at"] = "2026-11-21T08:00:01Z" }) == nil)
    }

    @Test func retentionZeroIsRefused() throws {
        #expect(try refusedField(try edited { Self.kiosk(&$0, "retention_days", 0) }) == "payload.kiosk.retention_days")
    }

    @Test func escapesInAnyTextFieldAreRefused() throws {
        #expect(try refusedField(try edited { Self.kiosk(&$0, "desa_name", "Oebobo\u{1B}[2J\u{1B}]0;pwned\u{07}") })
                == "payload.kiosk.desa_name")
        #expect(try refusedField(try edited { Self.kiosk(&$0, "announcement", ["id": "Libur\u{9B}31m", "en": "Closed"]) })
                == "payload.kiosk.announcement.id")
        #expect(try refusedField(try edited { o in Self.birth(&o) { s in s["name"] = ["id": "Akta \u{202E}lahir", "en": "Birth"] } })
                == "payload.jurisdiction.services[0].name.id")
        #expect(try refusedField(try edited { o in
            var j = o["jurisdiction"] as! [String: Any]
            var channels = j["complaint_channels"] as! [[String: Any]]
            channels[0]["value"] = "0812\u{0}"
            j["complaint_channels"] = channels
            o["jurisdiction"] = j
        }) == "payload.jurisdiction.complaint_channels[0].value")
    }

    @Test func duplicateKeyInThePayloadIsRefused() throws {
        let clean = String(decoding: try edited { _ in }, as: UTF8.self)
        #expect(clean.hasPrefix("{"))
        // The kiosk would read version 2, a Python tool version 99: refused before either decides.
        let twice = Data(("{\"version\":2," + clean.dropFirst().replacingOccurrences(of: "\"version\":2", with: "\"version\":99")).utf8)
        #expect(try refusedField(twice) == "payload.version")
        let escaped = Data(("{\"\\u0076ersion\":99," + clean.dropFirst()).utf8)
        #expect(try refusedField(escaped) == "payload.version")
        var o = self.object
        var k = o["kiosk"] as! [String: Any]
        k["desa_name"] = "DESA_NAME"
        o["kiosk"] = k
        let nested = String(decoding: try JSONSerialization.data(withJSONObject: o, options: [.sortedKeys]), as: UTF8.self)
            .replacingOccurrences(of: "\"desa_name\":\"DESA_NAME\"", with: "\"desa_name\":\"A\",\"desa_name\":\"B\"")
        #expect(try refusedField(Data(nested.utf8)) == "payload.kiosk.desa_name")
    }

    @Test func duplicateKeyInTheOuterBundleIsRefused() throws {
        let good = String(decoding: try self.bundle(try edited { _ in }), as: UTF8.self)
        let twice = "{\"key_id\":\"0000000000000000\"," + good.dropFirst()
        #expect { try ConfigBundleSigner.verify(bundle: Data(twice.utf8), trusted: [self.key.publicKey]) } throws: {
            guard let e = $0 as? BundleError, case .malformed(let v) = e else { return false }
            return e.field == "bundle.key_id" && v.reason == "duplicate key"
        }
        let payloadTwice = "{\"payload\":\"e30=\"," + good.dropFirst()
        #expect { try ConfigBundleSigner.verify(bundle: Data(payloadTwice.utf8), trusted: [self.key.publicKey]) } throws: {
            ($0 as? BundleError)?.field == "bundle.payload"
        }
    }
}
