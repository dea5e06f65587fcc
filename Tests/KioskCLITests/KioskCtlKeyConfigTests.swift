import Foundation
import KioskSecurity
import Testing

@Suite struct KioskCtlKeyConfigTests {
    @Test func keysGenerateWritesPrivateKeyOwnerOnlyAndRefusesToOverwrite() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = ctl(["keys", "generate", "--private", "k.pem", "--public", "k.pub.pem"], in: dir)
        #expect(r.status == 0)
        let attrs = try FileManager.default.attributesOfItem(atPath: dir.appendingPathComponent("k.pem").path)
        #expect((attrs[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        let pem = try String(contentsOf: dir.appendingPathComponent("k.pem"), encoding: .utf8)
        #expect(pem.hasPrefix("-----BEGIN PRIVATE KEY-----"))
        #expect(ctl(["keys", "generate", "--private", "k.pem", "--public", "k.pub.pem"], in: dir).status == 73)
        #expect(try String(contentsOf: dir.appendingPathComponent("k.pem"), encoding: .utf8) == pem)
        #expect(ctl(["keys", "generate", "--private", "k.pem", "--public", "k.pub.pem", "--force"], in: dir).status == 0)
        #expect(try String(contentsOf: dir.appendingPathComponent("k.pem"), encoding: .utf8) != pem)
        #expect(ctl(["keys", "generate", "--private", "k.pem"], in: dir).status == 64)
    }

    @Test func keysGenerateMakesAnX25519RecipientPairOnlyThatKindAccepts() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = ctl(["keys", "generate", "--kind", "x25519", "--private", "r.pem", "--public", "r.pub.pem", "--json"], in: dir)
        #expect(r.status == 0)
        #expect(try r.object()["kind"] as? String == "x25519")
        let pub = try String(contentsOf: dir.appendingPathComponent("r.pub.pem"), encoding: .utf8)
        #expect(throws: Never.self) { try X25519PublicKey(pem: pub) }
        #expect(throws: CryptoError.self) { try Ed25519PublicKey(pem: pub) }  // never a signing key by mistake
        #expect(ctl(["keys", "generate", "--kind", "rsa", "--private", "x.pem", "--public", "x.pub.pem"], in: dir).status == 64)
        // An Ed25519 key as the recipient is refused by sync export before anything is written.
        #expect(ctl(["keys", "generate", "--private", "e.pem", "--public", "e.pub.pem"], in: dir).status == 0)
        let export = ctl(["--data-dir", dir.appendingPathComponent("data").path, "sync", "export", "--to", "usb",
                          "--kiosk-id", "desa-01", "--recipient", "e.pub.pem", "--force"], in: dir)
        #expect(export.status == 65)
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("usb").path))
    }

    @Test func initSignVerifyShowRoundTrip() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(ctl(["keys", "generate", "--private", "dinas.pem", "--public", "dinas.pub.pem"], in: dir).status == 0)
        #expect(ctl(["keys", "generate", "--private", "other.pem", "--public", "other.pub.pem"], in: dir).status == 0)
        let initResult = ctl(["config", "init", "--profile", "kota-kupang", "--desa", "Kelurahan Oebobo", "--version", "3",
                              "--profiles-dir", packageRoot.appendingPathComponent("Kiosk/profiles").path], in: dir)
        #expect(initResult.status == 0)
        let payload = try initResult.object()
        #expect(payload["version"] as? Int == 3)
        #expect((payload["kiosk"] as? [String: Any])?["desa_name"] as? String == "Kelurahan Oebobo")
        try Data(initResult.out.utf8).write(to: dir.appendingPathComponent("payload.json"))

        #expect(ctl(["config", "sign", "payload.json", "--key", "dinas.pem", "--out", "bundle.json"], in: dir).status == 0)
        let verify = ctl(["config", "verify", "bundle.json", "--trusted-key", "dinas.pub.pem", "--json"], in: dir)
        #expect(verify.status == 0)
        let summary = try verify.object()
        #expect(summary["verified"] as? Bool == true)
        #expect(summary["version"] as? Int == 3)
        #expect(summary["profile"] as? String == "kota-kupang")

        let untrusted = ctl(["config", "verify", "bundle.json", "--trusted-key", "other.pub.pem", "--json"], in: dir)
        #expect(untrusted.status == 65)
        #expect((try untrusted.object()["error"] as? [String: Any])?["field"] as? String == "bundle.key_id")
        #expect(ctl(["config", "verify", "bundle.json", "--trusted-key", "other.pub.pem", "--trusted-key", "dinas.pub.pem"],
                    in: dir).status == 0)

        let show = ctl(["config", "show", "bundle.json"], in: dir)
        #expect(show.status == 0)
        #expect(show.out.contains("NOT VERIFIED"))
        #expect(ctl(["config", "show", "bundle.json", "--trusted-key", "dinas.pub.pem"], in: dir).out.contains("signature verified"))

        // Tamper with one payload byte: verification fails on the signature and names it.
        var bundle = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("bundle.json"))) as? [String: Any])
        var bytes = try #require(Data(base64Encoded: bundle["payload"] as! String))
        let i = try #require(bytes.firstIndex(of: UInt8(ascii: "3")))
        bytes[i] = UInt8(ascii: "4")
        bundle["payload"] = bytes.base64EncodedString()
        try JSONSerialization.data(withJSONObject: bundle).write(to: dir.appendingPathComponent("tampered.json"))
        let tampered = ctl(["config", "verify", "tampered.json", "--trusted-key", "dinas.pub.pem", "--json"], in: dir)
        #expect(tampered.status == 65)
        #expect((try tampered.object()["error"] as? [String: Any])?["field"] as? String == "bundle.signature")

        try Data("{\"format\":\"kiosk-config/1\"".utf8).write(to: dir.appendingPathComponent("broken.json"))
        #expect(ctl(["config", "verify", "broken.json", "--trusted-key", "dinas.pub.pem"], in: dir).status == 65)
        #expect(ctl(["config", "verify", "missing.json", "--trusted-key", "dinas.pub.pem"], in: dir).status == 66)
        #expect(ctl(["config", "verify", "bundle.json", "--trusted-key", "payload.json"], in: dir).status == 65)
        #expect(ctl(["config", "verify", "bundle.json"], in: dir).status == 64)
    }

    @Test func signRefusesAnInvalidPayload() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(ctl(["keys", "generate", "--private", "k.pem", "--public", "k.pub.pem"], in: dir).status == 0)
        try Data("{\"version\": 1}".utf8).write(to: dir.appendingPathComponent("p.json"))
        let r = ctl(["config", "sign", "p.json", "--key", "k.pem", "--out", "b.json", "--json"], in: dir)
        #expect(r.status == 65)
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("b.json").path))
        let field = try #require((try r.object()["error"] as? [String: Any])?["field"] as? String)
        #expect(["payload.issued_at", "payload.targets", "payload.jurisdiction", "payload.kiosk"].contains(field))
        #expect(ctl(["config", "sign", "p.json", "--key", "k.pub.pem", "--out", "b.json"], in: dir).status == 65)
    }
}

@Suite struct BinaryTests {
    @Test func kioskctlBinaryReturnsSysexitsCodes() throws {
        let bin = builtProduct("kioskctl")
        #expect(try runProcess(bin, ["nik", "check", "5371011708950003"]).status == 0)
        let bad = try runProcess(bin, ["nik", "check", "0000"])
        #expect(bad.status == 65)
        #expect(bad.err.contains("16"))
        #expect(try runProcess(bin, ["catalog"]).status == 64)
        // Profiles are found from the executable's location, whatever the working directory.
        #expect(try runProcess(bin, ["catalog", "list", "--profile", "ogan-ilir"], cwd: URL(fileURLWithPath: "/")).status == 0)
    }

    @Test func kioskdReportsItsVersionAndEveryLinkedLibrary() throws {
        let r = try runProcess(builtProduct("kioskd"), ["--version"])
        #expect(r.status == 0)
        for lib in ["sqlite3", "libcups", "libudev", "libcrypto", "qrencode"] { #expect(r.out.contains(lib)) }
        #expect(try runProcess(builtProduct("kioskd"), ["--bogus"]).status == 64)
    }
}
