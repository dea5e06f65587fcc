import Foundation
import KioskCore
import KioskSecurity
import KioskStore
import KioskSync
import KioskTestSupport
import Testing

func kioskctlPath() -> String { builtProduct("kioskctl") }

func runKioskctl(_ args: [String]) throws -> (status: Int32, out: String, err: String) {
    try runProgram(kioskctlPath(), args)
}

@Suite(.serialized, .timeLimit(.minutes(3))) struct ProcessAndUSBTests {
    @Test func sigkillMidUploadThenRestartResendsAtMostOneChunk() throws {
        let server = try DinasServer(faults: ["latency_ms": 25])
        let dir = try makeTempDir()
        let size = 3_000_000
        let id: UUID = try {
            let store = try KioskStore.open(directory: dir, configuration: StoreConfiguration(minFreeBytes: 0)).0
            return try store.submit(NewApplication(
                service: "birth", profile: "kota-kupang", applicant: testNIK,
                eventDate: CivilDate(year: 2024, month: 3, day: 10)!, contact: nil,
                attachments: [NewAttachment(requirement: "r", data: randomBytes(size), fileExtension: "jpg")])).id
        }()
        try Data(server.token.utf8).write(to: URL(fileURLWithPath: "\(dir)/token"))
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: "\(dir)/token")
        let args = ["--data-dir", dir, "sync", "run", "--dinas", server.url.absoluteString, "--kiosk-id", "desa-01",
                    "--token-file", "\(dir)/token", "--until-idle", "--backoff-base", "0.05"]
        let p = Process()
        p.executableURL = URL(fileURLWithPath: kioskctlPath())
        p.arguments = args
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        let deadline = Date().addingTimeInterval(30)
        while (try server.stats()["upload_bytes_received"] as? Int ?? 0) < 700_000, Date() < deadline { usleep(10_000) }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        let before = try server.stats()["upload_bytes_received"] as? Int ?? 0
        #expect(before > 0 && before < size, "killed mid-upload (\(before) of \(size) bytes)")
        // The confirmed offset and upload URL were persisted before the chunk in flight.
        let progress = try KioskStore.open(directory: dir).0.uploadProgress(id)
        #expect(progress[1]?.uploadURL.contains("/v1/uploads/") == true)

        let again = try runKioskctl(args)
        #expect(again.status == 0, "\(again.err)")
        let remote = try #require(try server.applications().first)
        let att = try #require((remote["attachments"] as? [[String: Any]])?.first)
        #expect(att["complete"] as? Bool == true)
        let total = try server.stats()["upload_bytes_received"] as? Int ?? 0
        let resent = total - size
        #expect(resent >= 0)
        #expect(resent <= ChunkSizer.maximum, "resent \(resent) bytes: more than one chunk")
        #expect(try KioskStore.open(directory: dir).0.application(id.uuidString).state == .delivered)
    }

    @Test func kioskctlSyncExitCodesAndStatus() throws {
        let server = try DinasServer()
        let dir = try makeTempDir()
        _ = try {
            let store = try KioskStore.open(directory: dir, configuration: StoreConfiguration(minFreeBytes: 0)).0
            _ = try store.submit(NewApplication(
                service: "birth", profile: "kota-kupang", applicant: testNIK, eventDate: CivilDate(year: 2024, month: 3, day: 10)!,
                contact: nil, attachments: [NewAttachment(requirement: "r", data: randomBytes(2_000), fileExtension: "jpg")]))
        }()
        try Data("wrong\n".utf8).write(to: URL(fileURLWithPath: "\(dir)/bad-token"))
        try Data("\(server.token)\n".utf8).write(to: URL(fileURLWithPath: "\(dir)/token"))
        for f in ["bad-token", "token"] { try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: "\(dir)/\(f)") }
        try Data(try server.key.publicKey.pem().utf8).write(to: URL(fileURLWithPath: "\(dir)/dinas.pub.pem"))
        let base = ["--data-dir", dir, "sync", "run", "--dinas", server.url.absoluteString, "--kiosk-id", "desa-01",
                    "--trusted-key", "\(dir)/dinas.pub.pem", "--until-idle"]
        let refused = try runKioskctl(base + ["--token-file", "\(dir)/bad-token"])
        #expect(refused.status == 77)
        #expect(refused.err.contains("STAFF ALERT"))
        let status = try runKioskctl(["--data-dir", dir, "sync", "status", "--json"])
        let alert = (try JSONSerialization.jsonObject(with: Data(status.out.utf8)) as? [String: Any])?["auth_alert"] as? String
        #expect(alert?.contains("401") == true)
        let ok = try runKioskctl(base + ["--token-file", "\(dir)/token", "--json"])
        #expect(ok.status == 0, "\(ok.err)")
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(ok.out.utf8)) as? [String: Any])
        #expect(summary["delivered"] as? Int == 1)
        let cleared = try runKioskctl(["--data-dir", dir, "sync", "status", "--json"])
        #expect((try JSONSerialization.jsonObject(with: Data(cleared.out.utf8)) as? [String: Any])?["auth_alert"] == nil)
        #expect(try runKioskctl(["--data-dir", dir, "sync", "run", "--kiosk-id", "x", "--token-file", "\(dir)/token"]).status == 64)
        #expect(try runKioskctl(base + ["--token-file", "\(dir)/missing"]).status == 66)
    }

    @Test func usbExportIsResumableAndImportVerifiesEverything() throws {
        let dinasKey = try Ed25519PrivateKey.generate()
        let dir = try makeTempDir()
        let store = try KioskStore.open(directory: dir, configuration: StoreConfiguration(minFreeBytes: 0)).0
        func submit(_ n: Int) throws -> UUID {
            try store.submit(NewApplication(
                service: "birth", profile: "kota-kupang", applicant: testNIK, eventDate: CivilDate(year: 2024, month: 3, day: 10)!,
                contact: nil, attachments: (0..<n).map { NewAttachment(requirement: "r\($0)", data: randomBytes(3_000 + $0), fileExtension: "jpg") })).id
        }
        let a = try submit(2), b = try submit(1)
        let usb = try makeTempDir()
        let transfer = USBTransfer(store: store, kioskID: "desa-01")
        let recipient = try X25519PrivateKey.generate(), exportKey = try X25519PrivateKey.generate()
        let first = try transfer.export(to: usb, recipient: recipient.publicKey, ephemeral: exportKey)
        #expect(first.applications == 2)
        #expect(first.filesWritten == 5)  // 2 manifests + 3 attachments
        // Nothing on the stick carries the NIK, the birth date or an attachment in the clear.
        let stick = try usbFiles(usb)
        #expect(stick.count == 7)  // 5 sealed files, the sealed index, the outer index
        for (name, bytes) in stick {
            let text = String(decoding: bytes, as: UTF8.self)
            #expect(!text.contains("5371011708950003"), "\(name) holds the NIK")
            #expect(!text.contains("1995-08-17"), "\(name) holds the birth date")
            #expect(!text.contains("2024-03-10"), "\(name) holds the event date")
        }
        let outer = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(usb)/kiosk-export.json"))) as? [String: Any])
        #expect(outer["format"] as? String == "kiosk-usb/2")
        #expect((outer["objects"] as? [[String: Any]])?.count == 5)
        let sealedIndex = try Data(contentsOf: URL(fileURLWithPath: "\(usb)/kiosk-export.kx"))
        let index = try #require(try JSONSerialization.jsonObject(with: Data(USBSeal.open(Array(sealedIndex), with: recipient, maxPlaintext: 1 << 20, what: "index"))) as? [String: Any])
        #expect((index["applications"] as? [[String: Any]])?.count == 2)
        let attachmentFile = "\(usb)/applications/\(a.uuidString.lowercased())/1.kx"
        let opened = try USBSeal.open(Array(try Data(contentsOf: URL(fileURLWithPath: attachmentFile))), with: recipient, maxPlaintext: 1 << 20, what: "1.kx")
        #expect(SHA256.hex(opened) == (try store.application(a.uuidString)).attachments[0].sha256)
        #expect(((try FileManager.default.attributesOfItem(atPath: attachmentFile))[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        // Idempotent and resumable: a file cut short and a missing one are completed, nothing else rewritten.
        let manifestFile = "\(usb)/applications/\(b.uuidString.lowercased())/manifest.kx"
        let cut = try Data(contentsOf: URL(fileURLWithPath: manifestFile)).prefix(100)
        try cut.write(to: URL(fileURLWithPath: manifestFile))
        try FileManager.default.removeItem(atPath: attachmentFile)
        let second = try transfer.export(to: usb, recipient: recipient.publicKey, ephemeral: exportKey)
        #expect(second.filesWritten == 2)
        #expect(second.filesSkipped == 3)
        #expect(throws: CryptoError.self) { try USBSeal.open(Array(cut), with: recipient, maxPlaintext: 1 << 20, what: "cut") }

        // What the Dinas writes back: receipts (one with a wrong hash), states, two documents (one tampered), a bundle.
        let appA = try store.application(a.uuidString)
        let pdf = Data("%PDF-1.4 akta".utf8)
        let goodSig = try DocumentSignature.sign(document: pdf, applicationID: a, product: "akta", with: dinasKey)
        try FileManager.default.createDirectory(atPath: "\(usb)/documents", withIntermediateDirectories: true)
        try pdf.write(to: URL(fileURLWithPath: "\(usb)/documents/good.pdf"))
        try Data("%PDF-1.4 AKTA PALSU".utf8).write(to: URL(fileURLWithPath: "\(usb)/documents/forged.pdf"))
        let profile = try JurisdictionProfile.load(try Data(contentsOf: packageRoot.appendingPathComponent("Kiosk/profiles/blora.json")))
        let bundle = try ConfigBundleSigner.sign(
            payload: try JSONEncoder().encode(ConfigPayload(version: 3, issuedAt: "2026-11-22T08:00:00Z", targets: ["desa-01"],
                                                            jurisdiction: profile, kiosk: .defaults(desaName: "Desa X"))),
            with: dinasKey)
        try FileManager.default.createDirectory(atPath: "\(usb)/config", withIntermediateDirectories: true)
        try bundle.write(to: URL(fileURLWithPath: "\(usb)/config/bundle.json"))
        let importIndex: [String: Any] = [
            "format": "dinas-usb/1", "kiosk_id": "desa-01",
            "receipts": [
                ["application_id": a.uuidString.lowercased(), "attachments": appA.attachments.map { ["seq": $0.seq, "sha256": $0.sha256] }],
                ["application_id": b.uuidString.lowercased(), "attachments": [["seq": 1, "sha256": String(repeating: "0", count: 64)]]],
            ],
            "states": [["application_id": a.uuidString.lowercased(), "state": "ready"]],
            "documents": [
                ["application_id": a.uuidString.lowercased(), "product": "akta", "document_id": "11111111-1111-1111-1111-111111111111",
                 "file": "documents/good.pdf", "sha256": SHA256.hex(pdf), "signature": goodSig, "key_id": dinasKey.publicKey.keyID],
                ["application_id": a.uuidString.lowercased(), "product": "akta-palsu", "document_id": "22222222-2222-2222-2222-222222222222",
                 "file": "documents/forged.pdf", "sha256": SHA256.hex(pdf), "signature": goodSig, "key_id": dinasKey.publicKey.keyID],
            ],
            "config_bundles": ["config/bundle.json"],
        ]
        try JSONSerialization.data(withJSONObject: importIndex).write(to: URL(fileURLWithPath: "\(usb)/dinas-import.json"))
        let summary = try transfer.importFrom(usb, trusted: [dinasKey.publicKey], configStore: try ConfigBundleStore(dataDirectory: dir))
        #expect(summary.delivered == 1)
        #expect(summary.states == 1)
        #expect(summary.documentsStored == 1)
        #expect(summary.configApplied == 3)
        #expect(summary.rejected.count == 2)  // the wrong receipt and the forged document
        #expect(try store.application(a.uuidString).state == .ready)
        #expect(try store.application(b.uuidString).state == .submitted)
        #expect(try store.documents(a).map(\.product) == ["akta"])
        // Importing twice changes nothing.
        let again = try transfer.importFrom(usb, trusted: [dinasKey.publicKey], configStore: try ConfigBundleStore(dataDirectory: dir))
        #expect(again.delivered == 0 && again.configApplied == nil)
        #expect(try store.documents(a).count == 1)
        // A stick written for another kiosk is refused.
        var other = importIndex
        other["kiosk_id"] = "desa-99"
        try JSONSerialization.data(withJSONObject: other).write(to: URL(fileURLWithPath: "\(usb)/dinas-import.json"))
        #expect(throws: ValidationError.self) { try transfer.importFrom(usb, trusted: [dinasKey.publicKey], configStore: nil) }
    }
}

/// Every regular file under a stick folder, by relative path.
func usbFiles(_ dir: String) throws -> [(String, Data)] {
    var out: [(String, Data)] = []
    let e = FileManager.default.enumerator(atPath: dir)
    while let name = e?.nextObject() as? String {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: "\(dir)/\(name)", isDirectory: &isDir), !isDir.boolValue {
            out.append((name, try Data(contentsOf: URL(fileURLWithPath: "\(dir)/\(name)"))))
        }
    }
    return out
}
