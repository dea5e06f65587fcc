import Foundation
import KioskCore
import KioskSecurity
import KioskStore
import KioskTestSupport
import Testing

/// The Dinas's tools end to end: the built kioskctl against the reference endpoint over loopback.
@Suite(.serialized, .timeLimit(.minutes(4))) struct DinasToolsTests {
    func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    func writeSecret(_ text: String, _ path: String) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
    }

    @Test func sealedStickRoundTripsThroughTheDinasAndResumes() throws {
        let server = try DinasServer()
        let dir = try makeTempDir()
        let size = 2_500_000
        let (a, b): (UUID, UUID) = try {
            let store = try KioskStore.open(directory: dir, configuration: StoreConfiguration(minFreeBytes: 0)).0
            func submit(_ sizes: [Int]) throws -> UUID {
                try store.submit(NewApplication(
                    service: "birth", profile: "kota-kupang", applicant: testNIK, eventDate: CivilDate(year: 2024, month: 3, day: 10)!,
                    contact: nil, attachments: sizes.map { NewAttachment(requirement: "r\($0)", data: randomBytes($0), fileExtension: "jpg") })).id
            }
            return (try submit([size]), try submit([4_000, 5_000]))
        }()
        let keys = try makeTempDir()
        let gen = try runKioskctl(["keys", "generate", "--kind", "x25519", "--private", "\(keys)/r.pem", "--public", "\(keys)/r.pub.pem"])
        #expect(gen.status == 0, "\(gen.err)")
        try writeSecret(server.token, "\(keys)/token")
        try Data(try server.key.publicKey.pem().utf8).write(to: URL(fileURLWithPath: "\(keys)/dinas.pub.pem"))

        // A plain folder on the root filesystem (no stick mounted) is refused; --force writes there.
        let usb = try makeTempDir()
        let export = ["--data-dir", dir, "sync", "export", "--to", usb, "--kiosk-id", "desa-01", "--recipient", "\(keys)/r.pub.pem"]
        let refused = try runKioskctl(export)
        #expect(refused.status == 73, "\(refused.err)")
        #expect(refused.err.contains("Mount the USB stick, or use --force"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: usb).isEmpty)
        let exported = try runKioskctl(export + ["--force", "--json"])
        #expect(exported.status == 0, "\(exported.err)")
        #expect(try json(exported.out)["files_written"] as? Int == 5)
        // The whole stick, grepped: no NIK, no birth date.
        for (name, bytes) in try usbFiles(usb) {
            let text = String(decoding: bytes, as: UTF8.self)
            #expect(!text.contains("5371011708950003") && !text.contains("1995-08-17"), "\(name) leaks personal data")
        }

        let base = ["dinas", "usb-import", "--key", "\(keys)/r.pem", "--dinas", server.url.absoluteString, "--token-file", "\(keys)/token"]
        // A tampered copy is refused before anything is uploaded.
        let bad = try makeTempDir()
        for (name, bytes) in try usbFiles(usb) {
            try FileManager.default.createDirectory(atPath: ((("\(bad)/\(name)") as NSString).deletingLastPathComponent), withIntermediateDirectories: true)
            var d = bytes
            if name.hasSuffix("/1.kx") { d[d.count / 2] ^= 0x20 }
            try d.write(to: URL(fileURLWithPath: "\(bad)/\(name)"))
        }
        let tampered = try runKioskctl(base + ["--from", bad])
        #expect(tampered.status == 65, "\(tampered.err)")
        #expect(tampered.err.contains("authentication failed"))
        #expect(try server.applications().isEmpty)

        // The link breaks mid-upload: the first run stops, the second resumes from the Dinas's offset.
        try server.setFaults(["drop_after_bytes": 600_000])
        let partial = try runKioskctl(base + ["--from", usb, "--retries", "0", "--json"])
        #expect(partial.status == 75, "\(partial.out) \(partial.err)")
        try server.setFaults(["drop_after_bytes": 0])
        let received = try server.applications().first { $0["id"] as? String == a.uuidString.lowercased() }
            .flatMap { ($0["attachments"] as? [[String: Any]])?.first?["received"] as? Int } ?? 0
        #expect(received > 0 && received < size)
        let resumed = try runKioskctl(base + ["--from", usb, "--json"])
        #expect(resumed.status == 0, "\(resumed.err)")
        let r = try json(resumed.out)
        #expect(r["applications"] as? Int == 2)
        #expect(r["bytes_uploaded"] as? Int ?? 0 <= size - received + 9_000)
        #expect(try server.applications().allSatisfy { (($0["attachments"] as? [[String: Any]]) ?? []).allSatisfy { $0["complete"] as? Bool == true } })

        // The Dinas issues a document; a third run uploads nothing and brings it back on the return stick.
        try server.setState(a, "ready")
        let again = try runKioskctl(base + ["--from", usb, "--json"])
        #expect(again.status == 0, "\(again.err)")
        let g = try json(again.out)
        #expect(g["bytes_uploaded"] as? Int == 0 && g["attachments_uploaded"] as? Int == 0)
        #expect(g["attachments_already_there"] as? Int == 3)
        #expect(g["documents"] as? Int ?? 0 >= 1)

        // The kiosk reads the return stick: both delivered, the signed document stored.
        let back = try runKioskctl(["--data-dir", dir, "sync", "import", "--from", usb, "--kiosk-id", "desa-01",
                                    "--trusted-key", "\(keys)/dinas.pub.pem", "--json"])
        #expect(back.status == 0, "\(back.out) \(back.err)")
        let k = try json(back.out)
        #expect(k["delivered"] as? Int == 2)
        #expect(k["documents_stored"] as? Int ?? 0 >= 1)
        _ = b
    }

    @Test func provisionChecksTheLinkAndWritesNothingOnFailure() throws {
        let server = try DinasServer()
        let work = try makeTempDir()
        let etc = "\(work)/etc"
        try FileManager.default.createDirectory(atPath: etc, withIntermediateDirectories: true)
        let existing = Data("{\n  \"log_level\": \"debug\"\n}\n".utf8)
        try existing.write(to: URL(fileURLWithPath: "\(etc)/kioskd.json"))
        try writeSecret(server.token, "\(work)/token")
        try writeSecret("wrong-token", "\(work)/bad-token")
        try Data(try server.key.publicKey.pem().utf8).write(to: URL(fileURLWithPath: "\(work)/dinas.pub.pem"))
        try Data(try X25519PrivateKey.generate().publicKey.pem().utf8).write(to: URL(fileURLWithPath: "\(work)/x.pub.pem"))
        try writeSecret("", "\(work)/empty-token")
        func provision(_ token: String = "token", key: String = "dinas.pub.pem", url: String? = nil, id: String = "desa-01") throws -> (status: Int32, out: String, err: String) {
            try runKioskctl(["provision", "--config", "\(etc)/kioskd.json", "--data-dir", "\(work)/data", "--dinas", url ?? server.url.absoluteString,
                             "--kiosk-id", id, "--token-file", "\(work)/\(token)", "--trusted-key", "\(work)/\(key)"])
        }
        func untouched() throws -> Bool {
            try Data(contentsOf: URL(fileURLWithPath: "\(etc)/kioskd.json")) == existing
                && FileManager.default.contentsOfDirectory(atPath: etc) == ["kioskd.json"]
        }
        let badToken = try provision("bad-token")
        #expect(badToken.status == 77, "\(badToken.err)")
        #expect(badToken.err.contains("Nothing was written"))
        #expect(try untouched())
        #expect(try provision(key: "x.pub.pem").status == 65)
        #expect(try provision("empty-token").status == 65)
        #expect(try provision("missing").status == 66)
        #expect(try provision(url: "http://dinas.example.org").status == 65)
        #expect(try provision(id: "desa 01/../x").status == 65)
        #expect(try provision(url: "http://127.0.0.1:1").status == 69)
        #expect(try untouched())

        let ok = try provision()
        #expect(ok.status == 0, "\(ok.err)")
        #expect(ok.out.contains("Langkah berikutnya") && ok.out.contains("Next steps"))
        let config = try json(String(decoding: try Data(contentsOf: URL(fileURLWithPath: "\(etc)/kioskd.json")), as: UTF8.self))
        #expect(config["log_level"] as? String == "debug")  // other keys kept
        #expect(config["kiosk_id"] as? String == "desa-01")
        #expect(config["data_dir"] as? String == "\(work)/data")
        let dinas = try #require(config["dinas"] as? [String: Any])
        #expect(dinas["url"] as? String == server.url.absoluteString)
        #expect(dinas["token_file"] as? String == "\(etc)/dinas.token")
        #expect(dinas["trusted_keys"] as? [String] == ["\(etc)/dinas.pub.pem"])
        let mode = (try FileManager.default.attributesOfItem(atPath: "\(etc)/dinas.token")[.posixPermissions] as? NSNumber)?.intValue
        #expect(mode == 0o600)
        #expect(String(decoding: try Data(contentsOf: URL(fileURLWithPath: "\(etc)/dinas.token")), as: UTF8.self) == server.token + "\n")
        #expect(try Ed25519PublicKey(pem: String(decoding: try Data(contentsOf: URL(fileURLWithPath: "\(etc)/dinas.pub.pem")), as: UTF8.self)) == server.key.publicKey)
        // The written file is one kioskctl reads, and it points where the files are.
        let status = try runKioskctl(["--config", "\(etc)/kioskd.json", "sync", "run", "--json"])
        #expect(status.status == 0, "\(status.err)")
    }

    @Test func publishRefusesUnsignedAndOlderAndFleetFlagsTheSilent() throws {
        let server = try DinasServer()
        let work = try makeTempDir()
        try writeSecret(server.token, "\(work)/token")
        try Data(try server.key.publicKey.pem().utf8).write(to: URL(fileURLWithPath: "\(work)/dinas.pub.pem"))
        let other = try Ed25519PrivateKey.generate()
        try Data(try other.publicKey.pem().utf8).write(to: URL(fileURLWithPath: "\(work)/other.pub.pem"))
        let profiles = packageRoot.appendingPathComponent("Kiosk/profiles").path
        func bundle(_ version: Int) throws -> String {
            let payload = try runKioskctl(["--profiles-dir", profiles, "config", "init", "--profile", "kota-kupang", "--version", String(version)])
            #expect(payload.status == 0, "\(payload.err)")
            try Data(payload.out.utf8).write(to: URL(fileURLWithPath: "\(work)/p\(version).json"))
            let signed = try runKioskctl(["config", "sign", "\(work)/p\(version).json", "--key", "\(server.dir)/dinas.pem", "--out", "\(work)/b\(version).json"])
            #expect(signed.status == 0, "\(signed.err)")
            return "\(work)/b\(version).json"
        }
        let dinas = ["--dinas", server.url.absoluteString, "--token-file", "\(work)/token"]
        func publish(_ path: String, key: String = "dinas.pub.pem") throws -> (status: Int32, out: String, err: String) {
            try runKioskctl(["dinas", "publish", path] + dinas + ["--trusted-key", "\(work)/\(key)"])
        }
        let five = try bundle(5), four = try bundle(4), six = try bundle(6)
        #expect(try publish("\(work)/p5.json").status == 65)  // unsigned
        #expect(try publish(five, key: "other.pub.pem").status == 65)  // not signed by the trusted key
        let ok = try publish(five)
        #expect(ok.status == 0, "\(ok.err)")
        let same = try publish(five)
        #expect(same.status == 65 && same.err.contains("not newer"))
        #expect(try publish(four).status == 65)
        #expect(try publish(six).status == 0)
        #expect((try server.admin("GET", "/admin/config") as? [String: Any])?["version"] as? Int == 6)

        // Heartbeats: one fresh, one an hour old, one with hostile text.
        let now = Date().timeIntervalSince1970
        try server.admin("POST", "/admin/heartbeats", json: ["kiosk_id": "desa-fresh", "received_at": now - 30,
                                                             "queue": ["depth": 2, "oldest_undelivered_seconds": 600],
                                                             "versions": ["config": 6], "devices": ["printer": "ok"]])
        try server.admin("POST", "/admin/heartbeats", json: ["kiosk_id": "desa-silent", "received_at": now - 3600,
                                                             "queue": ["depth": 7], "versions": ["config": 5],
                                                             "devices": ["printer": "\u{1b}[2Jpaper_out"]])
        try server.admin("POST", "/admin/heartbeats", json: ["kiosk_id": "desa-fresh", "received_at": now - 7200])  // older beat
        let fleet = try runKioskctl(["dinas", "fleet"] + dinas + ["--json"])
        #expect(fleet.status == 0, "\(fleet.err)")
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(fleet.out.utf8)) as? [[String: Any]])
        #expect(rows.map { $0["kiosk_id"] as? String } == ["desa-silent", "desa-fresh"])
        #expect(rows[0]["silent"] as? Bool == true && rows[1]["silent"] as? Bool == false)
        #expect(rows[0]["queue_depth"] as? Int == 7 && rows[1]["oldest_undelivered_seconds"] as? Int == 600)
        #expect(rows[1]["config_version"] as? Int == 6)
        let text = try runKioskctl(["dinas", "fleet"] + dinas)
        #expect(text.status == 0)
        #expect(text.out.contains("DIAM/SILENT desa-silent"))
        #expect(!text.out.contains("\u{1b}"))
        let badToken = try runKioskctl(["dinas", "fleet", "--dinas", server.url.absoluteString, "--token-file", "\(work)/other.pub.pem"])
        #expect(badToken.status == 65)  // not a token file
        try writeSecret("nope", "\(work)/nope")
        #expect(try runKioskctl(["dinas", "fleet", "--dinas", server.url.absoluteString, "--token-file", "\(work)/nope"]).status == 77)
    }
}
