import Foundation
import KioskCore
import KioskSecurity
import KioskStore
import KioskSync
import KioskTestSupport
import Testing

@Suite(.serialized, .timeLimit(.minutes(3))) struct SyncTests {
    @Test func hundredApplicationsUnderRandomFaultsArriveOnceAndIntact() async throws {
        let server = try DinasServer(faults: ["fail_rate": 0.1, "drop_after_bytes": 120_000, "drop_mode": "reset",
                                              "duplicate_rate": 0.1, "captive_portal_rate": 0.05, "latency_ms": 1])
        let kiosk = try TestKiosk(server: server)
        var g = SystemRandomNumberGenerator()
        var ids: [UUID] = []
        for _ in 0..<100 {
            ids.append(try kiosk.submit(sizes: (0..<Int.random(in: 1...3, using: &g)).map { _ in Int.random(in: 2_000...60_000, using: &g) }))
        }
        let result = await kiosk.engine.run(untilIdle: true, deadline: Date().addingTimeInterval(150))
        #expect(result.authFailure == nil)
        #expect(result.delivered == 100)
        #expect(result.quarantined == 0)

        let remote = try server.applications()
        #expect(remote.count == 100, "0 duplicated: the Dinas holds exactly one record per application")
        #expect(Set(remote.compactMap { $0["id"] as? String }) == Set(ids.map { $0.uuidString.lowercased() }))
        for id in ids {
            let local = try kiosk.store.application(id.uuidString)
            #expect(local.state == .delivered)
            let r = try #require(remote.first { $0["id"] as? String == id.uuidString.lowercased() })
            let atts = try #require(r["attachments"] as? [[String: Any]])
            #expect(atts.map { $0["sha256"] as? String } == local.attachments.map(\.sha256))
            #expect(atts.allSatisfy { $0["complete"] as? Bool == true })
            #expect(atts.map { $0["received"] as? Int } == local.attachments.map(\.size))
        }
        let stats = try server.stats()
        // The faults really happened.
        for key in ["drops", "failures_injected", "captive_portal_injected", "duplicates_injected"] {
            #expect((stats[key] as? Int ?? 0) > 0, "\(key) never fired")
        }
    }

    @Test func complaintsReachTheDinasOnceAndSurviveAnOutage() async throws {
        let server = try DinasServer(faults: ["fail_rate": 1.0])
        let kiosk = try TestKiosk(server: server)
        let first = try kiosk.store.fileComplaint(category: "kios", body: "Printer macet sejak pagi", contact: "081234567890", language: "id")
        let second = try kiosk.store.fileComplaint(category: "layanan", body: "Akta belum jadi", contact: nil, language: "id")
        // The Dinas is down: nothing is marked sent.
        _ = await kiosk.engine.pass()
        #expect(try kiosk.store.unsentComplaints().map(\.reference) == [first.reference, second.reference])
        try server.setFaults(["fail_rate": 0])
        let r = await kiosk.engine.pass()
        #expect(r.complaintsSent == 2)
        #expect(try kiosk.store.unsentComplaints().isEmpty)
        let remote = try #require(try server.admin("GET", "/admin/complaints") as? [String: [String: Any]])
        #expect(remote.count == 2)
        #expect(remote[first.id]?["body"] as? String == "Printer macet sejak pagi")
        #expect(remote[first.id]?["reference"] as? String == first.reference)
        #expect(remote[second.id]?["contact"] == nil)
        // Nothing is sent twice.
        #expect(await kiosk.engine.pass().complaintsSent == 0)
    }

    @Test func captivePortalTwoHundredIsNeverTakenAsDelivery() async throws {
        let server = try DinasServer(faults: ["captive_portal_rate": 1.0])
        let kiosk = try TestKiosk(server: server)
        let id = try kiosk.submit(sizes: [10_000])
        let r = await kiosk.engine.pass()
        #expect(r.delivered == 0)
        #expect(!r.reachable)
        #expect(try kiosk.store.application(id.uuidString).state == .submitted)
        #expect(try kiosk.store.queueList().first?.lastError?.contains("not the Dinas") == true)
        #expect(try server.applications().isEmpty)
        try server.setFaults(["captive_portal_rate": 0])
        try kiosk.store.resetBackoff()
        #expect(await kiosk.engine.pass().delivered == 1)
        #expect(try kiosk.store.application(id.uuidString).state == .delivered)
    }

    @Test func permanentErrorQuarantinesOneItemAndTheRestFlows() async throws {
        let server = try DinasServer()
        let kiosk = try TestKiosk(server: server)
        let bad = try kiosk.submit(sizes: [5_000])
        let good = [try kiosk.submit(sizes: [6_000]), try kiosk.submit(sizes: [7_000])]
        // Someone else already used this id with a different manifest at the Dinas: 409, a permanent conflict.
        let other = TestKiosk.manifestJSON(id: bad, kioskID: "another-kiosk")
        try server.admin("PUT", "/v1/applications/\(bad.uuidString.lowercased())", body: other)
        let r = await kiosk.engine.run(untilIdle: true, deadline: Date().addingTimeInterval(30))
        #expect(r.quarantined == 1)
        #expect(r.delivered == 2)
        let q = try kiosk.store.application(bad.uuidString)
        #expect(q.state == .quarantined)
        #expect(try kiosk.store.queueList(state: .quarantined).first?.quarantineReason?.contains("409") == true)
        #expect(try kiosk.store.queueList(state: .quarantined).first?.attempts == 1)
        for id in good { #expect(try kiosk.store.application(id.uuidString).state == .delivered) }
    }

    @Test func unauthorizedRaisesAnAlertAtOnceWithoutARetryLoop() async throws {
        let server = try DinasServer()
        let kiosk = try TestKiosk(server: server, token: "wrong-token")
        let id = try kiosk.submit(sizes: [5_000])
        let r = await kiosk.engine.run(untilIdle: true, deadline: Date().addingTimeInterval(20))
        #expect(r.authFailure?.contains("401") == true)
        #expect(try kiosk.store.syncValue("auth_alert")?.contains("401") == true)
        #expect((try server.stats()["requests"] as? Int ?? 99) <= 2, "gave up after the first refusal")
        #expect(try kiosk.store.application(id.uuidString).state == .submitted)
    }

    @Test func resumesSoonAfterTheLinkReturnsDespiteLongBackoff() async throws {
        let server = try DinasServer(faults: ["fail_rate": 1.0])
        var options = SyncOptions()
        options.backoff = Backoff(base: 40, cap: 900)
        options.probeInterval = 0.3
        options.maxQuickRetries = 0
        let kiosk = try TestKiosk(server: server, options: options)
        let id = try kiosk.submit(sizes: [8_000])
        _ = await kiosk.engine.pass()
        let due = try #require(try kiosk.store.nextDueDate())
        #expect(due.timeIntervalSinceNow > 15, "the first retry backs off")
        #expect(due.timeIntervalSinceNow <= 40, "the first retry comes within 60 s")
        try server.setFaults(["fail_rate": 0])
        let started = Date()
        let r = await kiosk.engine.run(untilIdle: true, deadline: Date().addingTimeInterval(15))
        #expect(r.delivered == 1)
        #expect(Date().timeIntervalSince(started) < 5, "a probe found the link and made the item due")
        #expect(try kiosk.store.application(id.uuidString).state == .delivered)
    }

    @Test func expiredUploadIsRecreatedAndCompleted() async throws {
        let server = try DinasServer(faults: ["drop_after_bytes": 100_000, "drop_mode": "drain"])
        var options = SyncOptions()
        options.maxQuickRetries = 0
        options.backoff = Backoff(base: 0.05, cap: 0.1)
        options.initialChunk = 64 * 1024
        let kiosk = try TestKiosk(server: server, options: options)
        let id = try kiosk.submit(sizes: [400_000])
        _ = await kiosk.engine.pass()
        #expect(try kiosk.store.application(id.uuidString).state == .submitted)
        try server.admin("POST", "/admin/expire-uploads")
        try server.setFaults(["drop_after_bytes": 0])
        let r = await kiosk.engine.run(untilIdle: true, deadline: Date().addingTimeInterval(20))
        #expect(r.delivered == 1)
        let remote = try #require(try server.applications().first)
        #expect((remote["attachments"] as? [[String: Any]])?.first?["complete"] as? Bool == true)
    }

    @Test func statusDocumentsAndReturnedForCorrection() async throws {
        let server = try DinasServer()
        let kiosk = try TestKiosk(server: server)
        let ready = try kiosk.submit(sizes: [3_000])
        let returned = try kiosk.submit(sizes: [3_000])
        let tampered = try kiosk.submit(sizes: [3_000])
        #expect(await kiosk.engine.run(untilIdle: true, deadline: Date().addingTimeInterval(20)).delivered == 3)
        try server.setState(ready, "in_review")
        try server.setState(ready, "ready", documents: ["kutipan-akta-kelahiran", "sk-kelahiran"])
        try server.setState(returned, "returned_for_correction", reason: "Foto KK buram, mohon pindai ulang")
        try server.setState(tampered, "ready", documents: ["bad-signature"], tamper: "signature")
        try server.setState(tampered, "ready", documents: ["bad-hash"], tamper: "hash")
        try server.setState(tampered, "ready", documents: ["bad-content"], tamper: "content")
        let r = await kiosk.engine.pass()
        #expect(r.documentsStored == 2)
        #expect(r.documentsRejected == 3)
        #expect(try kiosk.store.application(ready.uuidString).state == .ready)
        let docs = try kiosk.store.documents(ready)
        #expect(Set(docs.map(\.product)) == ["kutipan-akta-kelahiran", "sk-kelahiran"])
        for doc in docs {
            let data = try Data(contentsOf: URL(fileURLWithPath: kiosk.store.path(of: doc)))
            #expect(SHA256.hex(data) == doc.sha256)
            #expect(data.starts(with: Data("%PDF-".utf8)))
        }
        let back = try kiosk.store.application(returned.uuidString)
        #expect(back.state == .returnedForCorrection)
        #expect(back.stateReason == "Foto KK buram, mohon pindai ulang")
        #expect(try kiosk.store.documents(tampered).isEmpty, "a tampered document is never stored")
        #expect(try kiosk.store.history(tampered).filter { $0.event == "document_rejected" }.count == 3)
        // The cursor moved past everything: a second pass applies nothing twice.
        let again = await kiosk.engine.pass()
        #expect(again.events == 0)
        #expect(try kiosk.store.documents(ready).count == 2)
        #expect(try kiosk.store.check().ok)
        // A document altered on disk after it was verified is caught by the store check.
        try Data("%PDF-1.4 changed".utf8).write(to: URL(fileURLWithPath: kiosk.store.path(of: docs[0])))
        #expect(try kiosk.store.check().problems.map(\.issue) == ["document sha256 mismatch"])
    }

    @Test func configBundlesVerifiedAppliedAndRolledBack() async throws {
        let server = try DinasServer()
        let kiosk = try TestKiosk(server: server)
        func bundle(_ version: Int, targets: [String] = ["*"], key: Ed25519PrivateKey? = nil) throws -> Data {
            let profile = try JurisdictionProfile.load(try Data(contentsOf: packageRoot.appendingPathComponent("Kiosk/profiles/kota-kupang.json")))
            let payload = ConfigPayload(version: version, issuedAt: "2026-11-22T08:00:00Z", targets: targets, jurisdiction: profile,
                                        kiosk: KioskSettings.defaults(desaName: "Kelurahan Oebobo"))
            return try ConfigBundleSigner.sign(payload: try JSONEncoder().encode(payload), with: key ?? server.key)
        }
        try server.admin("PUT", "/admin/config", body: try bundle(2))
        #expect(await kiosk.engine.pass().configApplied == 2)
        #expect(try kiosk.store.syncValue("config_version") == "2")

        // Tampered: one payload byte changed after signing.
        var object = try #require(try JSONSerialization.jsonObject(with: try bundle(3)) as? [String: Any])
        var payload = try #require(Data(base64Encoded: object["payload"] as! String))
        payload[payload.count / 2] ^= 0x20
        object["payload"] = payload.base64EncodedString()
        try server.admin("PUT", "/admin/config", body: try JSONSerialization.data(withJSONObject: object))
        let tampered = await kiosk.engine.pass()
        #expect(tampered.configApplied == nil)
        #expect(tampered.configRejected?.contains("signature") == true)
        // Signed by a key the kiosk does not trust; then aimed at another kiosk.
        try server.admin("PUT", "/admin/config", body: try bundle(4, key: try Ed25519PrivateKey.generate()))
        #expect(await kiosk.engine.pass().configRejected?.contains("not a trusted") == true)
        try server.admin("PUT", "/admin/config", body: try bundle(5, targets: ["other-kiosk"]))
        #expect(await kiosk.engine.pass().configRejected?.contains("does not target") == true)
        #expect(kiosk.engine.configStore?.currentVersion(trusted: [server.key.publicKey]) == 2)

        try server.admin("PUT", "/admin/config", body: try bundle(6))
        #expect(await kiosk.engine.pass().configApplied == 6)
        // A current bundle damaged on disk: the last known good one (2) is restored.
        try Data("garbage".utf8).write(to: URL(fileURLWithPath: "\(kiosk.dir)/config/current.json"))
        let current = try #require(kiosk.engine.configStore?.current(trusted: [server.key.publicKey]))
        #expect(current.rolledBack)
        #expect(current.bundle.payload.version == 2)
    }

    @Test func heartbeatCarriesHealth() async throws {
        let server = try DinasServer()
        let kiosk = try TestKiosk(server: server)
        try kiosk.submit(sizes: [1_000])
        try server.setFaults(["fail_rate": 0])
        _ = await kiosk.engine.pass()
        let beats = try #require(try server.admin("GET", "/admin/heartbeats") as? [[String: Any]])
        let beat = try #require(beats.first)
        #expect(beat["kiosk_id"] as? String == "desa-oebobo-01")
        #expect((beat["queue"] as? [String: Any])?["depth"] as? Int == 1, "sent before this pass forwarded it")
        #expect((beat["disk_free_bytes"] as? Int ?? 0) > 0)
        #expect((beat["versions"] as? [String: Any])?["kioskd"] as? String != nil)
        #expect(beat["devices"] as? [String: Any] != nil)
    }

    @Test func backoffAndChunkSizing() {
        let b = Backoff()
        #expect(b.delay(attempt: 1, jitter: 1) <= 60)
        #expect(b.delay(attempt: 1, jitter: 0) >= 15)
        #expect(b.delay(attempt: 30, jitter: 1) == 900)
        #expect(b.delay(attempt: 3, jitter: 1) == 120)
        var sizer = ChunkSizer()
        #expect(sizer.current == 256 * 1024)
        sizer.record(bytes: 256 * 1024, seconds: 32)  // 64 kbit/s
        #expect(sizer.current == ChunkSizer.minimum)
        for _ in 0..<20 { sizer.record(bytes: 1 << 20, seconds: 0.01) }
        #expect(sizer.current == ChunkSizer.maximum)
        sizer.recordFailure()
        #expect(sizer.current == ChunkSizer.maximum / 2)
        // Issue 13: after a failure the size grows additively and never back to the size that failed.
        var link = ChunkSizer(initial: 256 * 1024)
        link.recordFailure()
        #expect(link.current == 128 * 1024 && link.ceiling == 240 * 1024)
        var sizes: [Int] = []
        for _ in 0..<30 { sizes.append(link.record(bytes: link.current, seconds: 0.001)) }
        #expect(sizes.max() == 240 * 1024, "\(sizes)")
        #expect(sizes.first == 192 * 1024)
    }
}

extension TestKiosk {
    /// A manifest for `id` as another kiosk would send it (a different manifest for the same id).
    static func manifestJSON(id: UUID, kioskID: String) -> Data {
        Manifest(id: id.uuidString.lowercased(), kioskID: kioskID, service: "death", profile: "kota-kupang",
                 applicantNIK: "5371011708950003", eventDate: "2024-01-01", contact: nil, facts: [:],
                 submittedAt: "2026-11-22T00:00:00Z",
                 attachments: [.init(seq: 1, requirement: "x", mediaType: "image/jpeg", size: 3, sha256: String(repeating: "a", count: 64))])
            .canonicalJSON()
    }
}
