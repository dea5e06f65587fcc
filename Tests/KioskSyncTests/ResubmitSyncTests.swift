import Foundation
import KioskCore
import KioskSecurity
import KioskStore
import KioskSync
import KioskTestSupport
import Testing

/// Issue 16 over the real reference endpoint on loopback: the form and consent in the manifest, resubmission as a
/// new revision, correction details, complaint answers, notifications and LOPE CAPIL verification.
@Suite(.serialized, .timeLimit(.minutes(3))) struct ResubmitSyncTests {
    static let form = ["child_name": "Maria Goreti", "mother_nik": "5371014101900002", "birth_place": "Kupang"]

    func submitWithForm(_ kiosk: TestKiosk, notify: NotifyChannel? = .whatsapp) throws -> UUID {
        try kiosk.store.submit(NewApplication(
            service: "birth", profile: "kota-kupang", applicant: testNIK, eventDate: CivilDate(year: 2024, month: 3, day: 10)!,
            contact: "081234567890",
            attachments: [NewAttachment(requirement: "surat-kelahiran", data: randomBytes(20_000), fileExtension: "jpg"),
                          NewAttachment(requirement: "kk-orang-tua", data: randomBytes(30_000), fileExtension: "jpg")],
            form: Self.form, protectedFields: ["mother_nik"], notify: notify)).id
    }

    /// The manifest the Dinas stored, read from its data directory.
    func remoteApp(_ server: DinasServer, _ id: UUID) throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: "\(server.dir)/data/applications/\(id.uuidString.lowercased())/app.json"))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    func notifications(_ server: DinasServer) throws -> [[String: Any]] {
        try server.notifications()
    }

    @Test func oldManifestsSerializeExactlyAsBefore() throws {
        let manifest = TestKiosk.manifestJSON(id: UUID(uuidString: "5a5d6fc7-1d88-40d3-af65-e41fd0dd3fe5")!, kioskID: "k1")
        let expected = #"{"applicant_nik":"5371011708950003","attachments":[{"media_type":"image/jpeg","requirement":"x","seq":1,"sha256":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","size":3}],"event_date":"2024-01-01","facts":{},"id":"5a5d6fc7-1d88-40d3-af65-e41fd0dd3fe5","kiosk_id":"k1","profile":"kota-kupang","service":"death","submitted_at":"2026-11-22T00:00:00Z"}"#
        #expect(String(decoding: manifest, as: UTF8.self) == expected)
        var m = try KioskJSON.decode(Manifest.self, from: manifest)
        #expect(m.form.isEmpty && m.notify == nil && m.revision == 1)
        #expect(m.canonicalJSON() == manifest, "decoding and encoding again changes no byte")
        m.form = ["child_name": "Maria"]
        m.notify = "sms"
        m.revision = 2
        let text = String(decoding: m.canonicalJSON(), as: UTF8.self)
        #expect(text.contains(#""form":{"child_name":"Maria"}"#) && text.contains(#""notify":"sms""#) && text.contains(#""revision":2"#))
        #expect(try KioskJSON.decode(Manifest.self, from: m.canonicalJSON()) == m)
    }

    @Test func anOldStyleApplicationReachesTheDinasWithTheManifestOfBefore() async throws {
        let server = try DinasServer()
        let kiosk = try TestKiosk(server: server)
        let id = try kiosk.submit(sizes: [2_000])
        #expect(await kiosk.engine.pass().delivered == 1)
        let manifest = try #require(try self.remoteApp(server, id)["manifest"] as? [String: Any])
        #expect(Set(manifest.keys) == ["applicant_nik", "attachments", "contact", "event_date", "facts", "id", "kiosk_id",
                                       "profile", "service", "submitted_at"])
        #expect(try self.notifications(server).isEmpty, "no consent, no notification")
    }

    @Test func resubmissionIsDeliveredAsRevisionTwoWithReplacedAttachments() async throws {
        let server = try DinasServer()
        let kiosk = try TestKiosk(server: server)
        let id = try self.submitWithForm(kiosk)
        let quiet = try self.submitWithForm(kiosk, notify: nil)
        #expect(await kiosk.engine.pass().delivered == 2)
        var manifest = try #require(try self.remoteApp(server, id)["manifest"] as? [String: Any])
        #expect(manifest["form"] as? [String: String] == Self.form, "the full form travels to the Dinas")
        #expect(manifest["notify"] as? String == "whatsapp")
        #expect(manifest["revision"] == nil)

        // The Dinas returns it with details; the kiosk stores them.
        try server.setState(id, "returned_for_correction", reason: "Foto KK buram", correction: [
            "reason": "Foto KK buram, pindai ulang", "requirements": ["kk-orang-tua"], "fields": ["child_name"]])
        try server.setState(quiet, "returned_for_correction", reason: "x")
        _ = await kiosk.engine.pass()
        let returned = try kiosk.store.application(id.uuidString)
        #expect(returned.state == .returnedForCorrection)
        #expect(returned.correction == Correction(reason: "Foto KK buram, pindai ulang", requirements: ["kk-orang-tua"], fields: ["child_name"]))

        let before = try self.uploadBytes(server)
        let newKK = randomBytes(25_000)
        _ = try kiosk.store.resubmit(
            id, form: ["child_name": "Maria Goretti", "mother_nik": "5371014101900002", "birth_place": "Kupang"],
            protectedFields: ["mother_nik"], attachments: [NewAttachment(requirement: "kk-orang-tua", data: newKK, fileExtension: "jpg")],
            replacing: ["kk-orang-tua"])
        #expect(await kiosk.engine.pass().delivered == 1)
        let local = try kiosk.store.application(id.uuidString)
        #expect(local.state == .delivered)
        #expect(local.revision == 2)
        #expect(local.correction == nil)
        #expect(local.attachments.map(\.seq) == [1, 3])
        #expect(try self.uploadBytes(server) - before == 25_000, "only the new attachment was uploaded; the kept one stayed")

        let remote = try self.remoteApp(server, id)
        #expect(remote["revision"] as? Int == 2)
        #expect(remote["state"] as? String == "delivered")
        manifest = try #require(remote["manifest"] as? [String: Any])
        #expect(manifest["revision"] as? Int == 2)
        #expect((manifest["form"] as? [String: String])?["child_name"] == "Maria Goretti")
        let listed = try #require(try server.applications().first { $0["id"] as? String == id.uuidString.lowercased() })
        let atts = try #require(listed["attachments"] as? [[String: Any]])
        #expect(atts.map { $0["seq"] as? Int } == [1, 3])
        #expect(atts.map { $0["sha256"] as? String } == local.attachments.map(\.sha256))
        #expect(atts.allSatisfy { $0["complete"] as? Bool == true })
        #expect(atts.last?["sha256"] as? String == SHA256.hex(newKK))
        // The Dinas hashed what it holds: the new file on disk is the resident's new scan.
        let held = try Data(contentsOf: URL(fileURLWithPath: "\(server.dir)/data/applications/\(id.uuidString.lowercased())/3.bin"))
        #expect(SHA256.hex(held) == SHA256.hex(newKK))

        // Notifications: every state change of the consenting application, none for the other one.
        let sent = try self.notifications(server)
        #expect(sent.allSatisfy { $0["application_id"] as? String == id.uuidString.lowercased() })
        #expect(sent.map { $0["state"] as? String } == ["delivered", "returned_for_correction", "delivered"])
        #expect(sent.allSatisfy { $0["channel"] as? String == "whatsapp" && $0["to"] as? String == "081234567890" })
        #expect(sent.allSatisfy { ($0["text"] as? String)?.contains("Permohonan") == true && $0["at"] is String })

        // A state about the current revision applies (and is notified).
        try server.setState(id, "in_review")
        _ = await kiosk.engine.pass()
        #expect(try kiosk.store.application(id.uuidString).state == .inReview)
        #expect(try self.notifications(server).last?["state"] as? String == "in_review")

        // Returned a second time: a revision 3 may not reuse seq 2 (replaced in revision 2); the kiosk's takes seq 4.
        try server.setState(id, "returned_for_correction", correction: ["requirements": ["surat-kelahiran"]])
        _ = await kiosk.engine.pass()
        #expect(try kiosk.store.application(id.uuidString).correction?.requirements == ["surat-kelahiran"])
        var reuse = try KioskJSON.decode(Manifest.self, from: Manifest(source: try kiosk.store.manifestSource(id), kioskID: "desa-oebobo-01").canonicalJSON())
        reuse.revision = 3
        reuse.attachments[0] = .init(seq: 2, requirement: "surat-kelahiran", mediaType: "image/jpeg", size: 5, sha256: String(repeating: "c", count: 64))
        reuse.attachments.sort { $0.seq < $1.seq }
        let refused = try self.put(server, reuse)
        #expect(refused.contains("seq_reused"), "\(refused)")
        let birth = randomBytes(9_000)
        _ = try kiosk.store.resubmit(id, form: Self.form, protectedFields: ["mother_nik"],
                                     attachments: [NewAttachment(requirement: "surat-kelahiran", data: birth, fileExtension: "jpg")],
                                     replacing: ["surat-kelahiran"])
        #expect(await kiosk.engine.pass().delivered == 1)
        let third = try kiosk.store.application(id.uuidString)
        #expect(third.revision == 3 && third.state == .delivered && third.attachments.map(\.seq) == [3, 4])
        #expect(try self.remoteApp(server, id)["revision"] as? Int == 3)
        let now = try #require(try server.applications().first { $0["id"] as? String == id.uuidString.lowercased() })
        #expect((now["attachments"] as? [[String: Any]])?.map { $0["sha256"] as? String } == third.attachments.map(\.sha256))
    }

    func uploadBytes(_ server: DinasServer) throws -> Int { try server.stats()["upload_bytes_received"] as? Int ?? -1 }

    @Test func theDinasRefusesARevisionForAnApplicationItDidNotReturn() async throws {
        let server = try DinasServer()
        let kiosk = try TestKiosk(server: server)
        let id = try self.submitWithForm(kiosk)
        #expect(await kiosk.engine.pass().delivered == 1)
        // The kiosk believes it was returned (say, from a USB import), the Dinas did not return it.
        #expect(try kiosk.store.applyDinasState(id, .returnedForCorrection, reason: "x"))
        _ = try kiosk.store.resubmit(id, form: Self.form, protectedFields: [], attachments: [], replacing: [])
        let outcome = await kiosk.engine.forward(id)
        guard case .quarantined(let why) = outcome else { Issue.record("\(outcome)"); return }
        #expect(why.contains("409") && why.contains("not_returned"))
        #expect(try self.remoteApp(server, id)["revision"] as? Int == 1)

        // A stale revision and a reused seq are refused too (raw protocol requests).
        try server.setState(id, "returned_for_correction")
        var manifest = try KioskJSON.decode(Manifest.self, from: Manifest(source: try kiosk.store.manifestSource(id), kioskID: "desa-oebobo-01").canonicalJSON())
        manifest.revision = 2
        manifest.attachments.append(.init(seq: 2, requirement: "x", mediaType: "image/jpeg", size: 3, sha256: String(repeating: "b", count: 64)))
        manifest.attachments.remove(at: 1)
        let changed = try self.put(server, manifest)
        #expect(changed.contains("attachment_changed"), "\(changed)")
        manifest.attachments[1].seq = 3
        let accepted = try self.put(server, manifest)
        #expect(accepted.contains("\"revision\": 2"), "\(accepted)")
        manifest.revision = 1
        manifest.form = [:]
        manifest.attachments[1].seq = 2
        let stale = try self.put(server, manifest)
        #expect(stale.contains("stale_revision"), "\(stale)")
        manifest.revision = 4
        manifest.attachments[1].seq = 3
        let gap = try self.put(server, manifest)
        #expect(gap.contains("revision_gap"), "\(gap)")
    }

    func put(_ server: DinasServer, _ manifest: Manifest) throws -> String {
        let answer = try adminRequest("PUT", server.url.appendingPathComponent("/v1/applications/\(manifest.id)"), token: server.token, body: manifest.canonicalJSON(), timeout: 10,
                                      requireSuccess: false)
        let data = try JSONSerialization.data(withJSONObject: answer ?? [:], options: [.sortedKeys, .prettyPrinted])
        return String(decoding: data, as: UTF8.self).replacingOccurrences(of: " : ", with: ": ")
    }

    @Test func hostileCorrectionDetailsAreRefusedAndTheReasonIsCleaned() async throws {
        let server = try DinasServer()
        let kiosk = try TestKiosk(server: server)
        let tooMany = try kiosk.submit(sizes: [1_000])
        let badID = try kiosk.submit(sizes: [1_000])
        let wrongType = try kiosk.submit(sizes: [1_000])
        let dirty = try kiosk.submit(sizes: [1_000])
        #expect(await kiosk.engine.pass().delivered == 4)
        func ret(_ id: UUID, _ correction: [String: Any]) throws {
            try server.admin("POST", "/admin/applications/\(id.uuidString.lowercased())/state",
                             json: ["state": "returned_for_correction", "reason": "r", "correction": correction])
        }
        try ret(tooMany, ["requirements": (0..<41).map { "r\($0)" }])
        try ret(badID, ["fields": ["child_name", "Bad Key\u{1B}[2J"]])
        try ret(wrongType, ["requirements": ["kk-orang-tua"], "fields": 7])
        try ret(dirty, ["reason": "Foto\u{1B}]0;owned\u{07} buram\u{202E}" + String(repeating: "!", count: 700),
                        "requirements": ["kk-orang-tua"]])
        _ = await kiosk.engine.pass()
        for id in [tooMany, badID, wrongType] {
            let app = try kiosk.store.application(id.uuidString)
            #expect(app.state == .returnedForCorrection, "the state is still applied")
            #expect(app.correction == nil)
            #expect(try kiosk.store.history(id).contains { $0.event == "correction_refused" })
        }
        // The reason is stripped of control characters and bounded.
        let cleaned = try #require(try kiosk.store.application(dirty.uuidString).correction)
        #expect(cleaned.requirements == ["kk-orang-tua"] && cleaned.fields.isEmpty)
        let reason = try #require(cleaned.reason)
        #expect(reason.count == 500 && SafeText.firstUnsafe(in: reason) == nil && reason.hasPrefix("Foto]0;owned buram"))
    }

    @Test func aComplaintAnsweredAtTheDinasArrivesInTheStore() async throws {
        let server = try DinasServer()
        let kiosk = try TestKiosk(server: server)
        let c = try kiosk.store.fileComplaint(category: "kios", body: "Printer macet", contact: nil, language: "id")
        let other = try kiosk.store.fileComplaint(category: "layanan", body: "Lama", contact: nil, language: "id")
        // Passes until done (at most 3): a request the loaded test machine times out is retried, as in production.
        func passes(_ count: (PassResult) -> Int, until n: Int) async -> Int {
            var total = 0
            for _ in 0..<3 where total < n { total += count(await kiosk.engine.pass()) }
            return total
        }
        #expect(await passes(\.complaintsSent, until: 2) == 2)
        #expect(try kiosk.store.complaint(reference: c.reference)?.sentAt != nil)
        try server.answerComplaint(c.reference.lowercased(), "Printer sudah diganti.\nTerima kasih.")
        try server.admin("POST", "/admin/complaints/\(other.id)/answer",
                         json: ["answer": "\u{1B}[2J\u{1B}]0;x\u{07}Sedang diproses" + String(repeating: "…", count: 1_500)])
        #expect(await passes(\.complaintAnswers, until: 2) == 2)
        let answered = try #require(try kiosk.store.complaint(reference: c.reference.lowercased()))
        #expect(answered.answer == "Printer sudah diganti.\nTerima kasih.")
        #expect(answered.answeredAt != nil)
        let bounded = try #require(try kiosk.store.complaint(reference: other.reference)?.answer)
        #expect(bounded.count == 1000 && bounded.hasPrefix("[2J]0;xSedang diproses"))
        #expect(SafeText.firstUnsafe(in: bounded, allowNewlines: true) == nil)
        #expect(await kiosk.engine.pass().complaintAnswers == 0, "the cursor moved on")
    }

    @Test func verifyMatchNoMatchAndHostileAnswers() async throws {
        let server = try DinasServer()
        let kiosk = try TestKiosk(server: server)
        let kk = "5371010101200001"
        try server.addToRegistry(nik: testNIK.digits, kk: kk, name: "Maria Goreti Lado")
        let client = kiosk.engine.client
        #expect(try await client.verify(nik: testNIK, kk: kk) == VerifyResult(match: true, nameMasked: "M**** G***** L***"))
        #expect(try await client.verify(nik: testNIK, kk: "5371010101209999") == VerifyResult(match: false, nameMasked: nil))
        await #expect(throws: SyncError.self) { try await client.verify(nik: testNIK, kk: "12345") }

        // A Dinas that answers badly is never believed.
        for hostile: [String: Any] in [
            ["match": true, "name_masked": "5371011708950003"],
            ["match": true, "name_masked": "M**** \u{1B}[2J"],
            ["match": true, "name_masked": String(repeating: "M", count: 81)],
            ["match": "yes"],
        ] {
            try server.setFaults(["verify_answer": hostile])
            await #expect(throws: SyncError.self) { try await client.verify(nik: testNIK, kk: kk) }
        }
        try server.setFaults(["verify_answer": ["match": false, "name_masked": "M**** G*****"]])
        #expect(try await client.verify(nik: testNIK, kk: kk) == VerifyResult(match: false, nameMasked: nil), "no name without a match")
        try server.setFaults(["verify_answer": NSNull()])
        #expect(try await client.verify(nik: testNIK, kk: kk).match)

        // The reference endpoint bounds the request body.
        let big = try adminRequest("POST", server.url.appendingPathComponent("/v1/verify"), token: server.token,
                                   body: Data(repeating: 0x20, count: 5_000), timeout: 10, requireSuccess: false)
        #expect(((big as? [String: Any])?["error"] as? [String: Any])?["code"] as? String == "too_large")
    }

    @Test func aDinasThatIgnoresRevisionsNeverConfirmsOneAndStaleStatesAreIgnored() async throws {
        let dinas = try HostileDinas(mode: "ok")
        let kiosk = try TestKiosk(server: try DinasServer())
        let engine = SyncEngine(
            store: kiosk.store,
            client: DinasClient(endpoint: DinasEndpoint(baseURL: dinas.url, kioskID: "desa-oebobo-01", token: dinas.token),
                                requestTimeout: 5),
            trustedKeys: [], configStore: nil, options: kiosk.engine.options)
        let id = try kiosk.submit(sizes: [2_000])
        #expect(await engine.pass().delivered == 1)
        let key = id.uuidString.lowercased()
        try dinas.setup(["events": [["seq": 1, "type": "state", "application_id": key, "state": "returned_for_correction",
                                     "reason": "x", "revision": 1,
                                     "correction": ["requirements": ["r0"], "fields": ["child_name"]]]]])
        _ = await engine.pass()
        #expect(try kiosk.store.application(key).correction?.requirements == ["r0"])
        // A form-only correction: every seq is kept, so only the revision tells the two apart.
        _ = try kiosk.store.resubmit(id, form: ["child_name": "Maria"], protectedFields: [], attachments: [], replacing: [])
        let outcome = await engine.forward(id)
        guard case .retryLater(let why) = outcome else { Issue.record("\(outcome)"); return }
        #expect(why.contains("revision 1, not 2"))
        #expect(try kiosk.store.application(key).state == .submitted, "never delivered by a Dinas that holds revision 1")

        // Once revision 2 is delivered, a replay of revision 1's return is stale; a state about revision 2 applies.
        try kiosk.store.markDelivered(id)
        try dinas.setup(["events": [
            ["seq": 2, "type": "state", "application_id": key, "state": "returned_for_correction", "reason": "x", "revision": 1],
            ["seq": 3, "type": "state", "application_id": key, "state": "in_review", "revision": 2]]])
        _ = await engine.pass()
        let app = try kiosk.store.application(key)
        #expect(app.state == .inReview)
        #expect(try kiosk.store.history(id).filter { $0.to == .returnedForCorrection }.count == 1, "the stale return was not applied")
    }
}
