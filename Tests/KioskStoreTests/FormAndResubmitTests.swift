import Foundation
import KioskCore
import KioskSecurity
@testable import KioskStore
import Testing

/// Issue 16, the store half: migration 4, the electronic form, notification consent, resubmission after a return
/// for correction, the Dinas's correction details and complaint answers — on real SQLite files.
@Suite struct FormAndResubmitTests {
    func open(_ dir: String? = nil) throws -> (KioskStore, String) {
        let dir = try dir ?? makeTempDir()
        return (try KioskStore.open(directory: dir, configuration: StoreConfiguration(minFreeBytes: 0)).0, dir)
    }

    func formApplication(_ attachments: [NewAttachment], notify: NotifyChannel? = .whatsapp, contact: String? = "081234567890")
        -> NewApplication
    {
        NewApplication(service: "birth", profile: "kota-kupang", applicant: testNIK,
                       eventDate: CivilDate(year: 2024, month: 3, day: 10)!, contact: contact,
                       attachments: attachments,
                       form: ["child_name": "Maria Goreti", "mother_nik": "5371014101900002", "kk_number": "5371010101200001",
                              "birth_place": "Kupang"],
                       protectedFields: ["mother_nik", "kk_number", "birth_place"], notify: notify)
    }

    @Test func migrationFourKeepsAVersionThreeDatabase() throws {
        let dir = try makeTempDir()
        let db = "\(dir)/kiosk.sqlite3"
        // A database exactly as a v3 build left it: migrations 1…3 and rows written with that schema.
        for m in Migrations.all where m.version <= 3 {
            let r = try sqlite3(db, "BEGIN; \(m.sql) PRAGMA user_version = \(m.version); COMMIT;")
            #expect(r.status == 0, "\(r.err)")
        }
        let id = UUID().uuidString.lowercased()
        var g = SystemRandomNumberGenerator()
        let code = TrackingCode(using: &g).raw
        let file = bytes(2_000)
        try FileManager.default.createDirectory(atPath: "\(dir)/attachments/\(id)", withIntermediateDirectories: true)
        try file.write(to: URL(fileURLWithPath: "\(dir)/attachments/\(id)/1.jpg"))
        for (path, m) in [("\(dir)/attachments", 0o700), ("\(dir)/attachments/\(id)", 0o700), ("\(dir)/attachments/\(id)/1.jpg", 0o600)] {
            chmod(path, mode_t(m))
        }
        let insert = """
            INSERT INTO applications (id, tracking_code, service, profile, applicant_nik, applicant_nik_masked, event_date,
              contact, facts_json, state, attachment_count, total_bytes, created_at, updated_at, submitted_at)
              VALUES ('\(id)', '\(code)', 'birth', 'kota-kupang', '5371011708950003', '************0003', '2024-03-10',
              '081234567890', '{"citizenship":"wni"}', 'submitted', 1, 2000, 1790000000000, 1790000000000, 1790000000000);
            INSERT INTO attachments (application_id, seq, requirement, file, media_type, sha256, size)
              VALUES ('\(id)', 1, 'surat-kelahiran', '\(id)/1.jpg', 'image/jpeg', '\(SHA256.hex(file))', 2000);
            INSERT INTO upload_queue (application_id, state, enqueued_at, next_attempt_at) VALUES ('\(id)', 'pending', 1, 1);
            INSERT INTO complaints (id, reference, category, body, language, created_at)
              VALUES ('3f1c0000-0000-4000-8000-000000000001', 'PGD-3F1C0000', 'kios', 'printer macet', 'id', 1790000000000);
            """
        #expect(try sqlite3(db, insert).status == 0)
        let (store, report) = try KioskStore.open(directory: dir, configuration: StoreConfiguration(minFreeBytes: 0))
        #expect(report.migrated == [4, 5])
        #expect(store.schemaVersion == KioskStore.latestSchemaVersion)
        let app = try store.application(id)
        #expect(app.trackingCode.raw == code)
        #expect(app.state == .submitted)
        #expect(app.revision == 1)
        #expect(app.formMasked.isEmpty)
        #expect(app.notify == nil)
        #expect(app.correction == nil)
        #expect(app.attachments.map(\.sha256) == [SHA256.hex(file)])
        let source = try store.manifestSource(app.id)
        #expect(source.form.isEmpty)
        #expect(source.facts["citizenship"] == .string("wni"))
        let complaint = try #require(try store.complaint(reference: "pgd-3f1c0000"))
        #expect(complaint.body == "printer macet")
        #expect(complaint.answer == nil && complaint.answeredAt == nil && complaint.sentAt == nil)
        #expect(try store.check().ok)
    }

    @Test func formNotifyAndRevisionRoundTripWithProtectedValuesMasked() throws {
        let (store, dir) = try self.open()
        let receipt = try store.submit(self.formApplication([NewAttachment(requirement: "surat-kelahiran", data: bytes(1_000), fileExtension: "jpg")]))
        let app = try store.application(receipt.id.uuidString)
        #expect(app.notify == .whatsapp)
        #expect(app.revision == 1)
        #expect(app.formMasked == ["child_name": "Maria Goreti", "mother_nik": "************0002",
                                   "kk_number": "************0001", "birth_place": "••••ng"])
        // The full form stays in the store, for the manifest only.
        #expect(try store.manifestSource(receipt.id).form["mother_nik"] == "5371014101900002")
        // What is displayed or sent over the socket carries only the masked form.
        let shown = String(decoding: try KioskJSON.encode(app), as: UTF8.self)
        #expect(!shown.contains("5371014101900002") && !shown.contains("5371010101200001"))
        let decoded = try KioskJSON.decode(StoredApplication.self, from: try KioskJSON.encode(app))
        #expect(decoded.formMasked == app.formMasked && decoded.notify == app.notify && decoded.revision == 1)
        // Reopened from the file: the same.
        let (again, _) = try self.open(dir)
        #expect(try again.application(receipt.id.uuidString) == app)
    }

    struct BadForm: Sendable, CustomStringConvertible {
        var form: [String: String]
        var protected: Set<String> = []
        var code: String
        var description: String { self.code + " " + self.form.keys.sorted().prefix(2).joined(separator: ",") }
    }

    static let badForms: [BadForm] = [
        BadForm(form: ["Child_Name": "x"], code: "invalid_form"),
        BadForm(form: ["1child": "x"], code: "invalid_form"),
        BadForm(form: [String(repeating: "a", count: 41): "x"], code: "invalid_form"),
        BadForm(form: ["child_name": String(repeating: "x", count: 201)], code: "invalid_form"),
        BadForm(form: ["child_name": "Maria\u{1B}[2J"], code: "unsafe_text"),
        BadForm(form: ["child_name": "Maria\u{202E}"], code: "unsafe_text"),
        BadForm(form: ["child_name": "Maria"], protected: ["Bad-Key"], code: "invalid_form"),
        BadForm(form: Dictionary(uniqueKeysWithValues: (0..<61).map { ("f\($0)", "x") }), code: "invalid_form"),
    ]

    @Test(arguments: FormAndResubmitTests.badForms)
    func formRulesRefuseBadFields(_ bad: BadForm) throws {
        let (form, protected, code) = (bad.form, bad.protected, bad.code)
        let (store, dir) = try self.open()
        var app = newApplication([NewAttachment(requirement: "r", data: bytes(100), fileExtension: "jpg")])
        app.form = form
        app.protectedFields = protected
        #expect { try store.submit(app) } throws: { ($0 as? StoreError)?.code == code }
        #expect(try store.queueList().isEmpty)
        #expect(files(in: "\(dir)/attachments").isEmpty, "nothing spooled for a refused form")
    }

    @Test func formAtTheLimitsIsAccepted() throws {
        let (store, _) = try self.open()
        var app = newApplication([NewAttachment(requirement: "r", data: bytes(100), fileExtension: "jpg")])
        app.form = Dictionary(uniqueKeysWithValues: (0..<60).map { ("f\($0)_" + String(repeating: "x", count: 30), String(repeating: "é", count: 200)) })
        let id = try store.submit(app).id
        #expect(try store.manifestSource(id).form.count == 60)
    }

    @Test func notifyNeedsAContact() throws {
        let (store, _) = try self.open()
        for contact in [nil, "", "   "] as [String?] {
            #expect(throws: StoreError.self) {
                try store.submit(self.formApplication([NewAttachment(requirement: "r", data: bytes(10), fileExtension: "jpg")],
                                                      notify: .sms, contact: contact))
            }
        }
        let ok = try store.submit(self.formApplication([NewAttachment(requirement: "r", data: bytes(10), fileExtension: "jpg")], notify: nil, contact: nil))
        #expect(try store.application(ok.id.uuidString).notify == nil)
    }

    /// Submitted, delivered, then returned by the Dinas with details of what to correct.
    func returned(_ store: KioskStore) throws -> UUID {
        let id = try store.submit(self.formApplication([
            NewAttachment(requirement: "surat-kelahiran", data: bytes(3_000, seed: 1), fileExtension: "jpg"),
            NewAttachment(requirement: "kk-orang-tua", data: bytes(4_000, seed: 2), fileExtension: "jpg"),
            NewAttachment(requirement: "kk-orang-tua", data: bytes(5_000, seed: 3), fileExtension: "jpg"),
        ])).id
        try store.markDelivered(id)
        let correction = try #require(Correction.validated(reason: "Foto KK buram", requirements: ["kk-orang-tua"], fields: ["child_name"]))
        #expect(try store.applyDinasState(id, .returnedForCorrection, reason: "Foto KK buram", correction: correction))
        return id
    }

    @Test func resubmitIsRefusedUnlessReturnedForCorrection() throws {
        let (store, _) = try self.open()
        let id = try store.submit(self.formApplication([NewAttachment(requirement: "kk-orang-tua", data: bytes(100), fileExtension: "jpg")])).id
        let replacement = [NewAttachment(requirement: "kk-orang-tua", data: bytes(200), fileExtension: "jpg")]
        for state in [ApplicationState.submitted, .delivered, .inReview] {
            if state == .delivered { try store.markDelivered(id) }
            if state == .inReview { try store.transition(id, to: .inReview, actor: "dinas") }
            #expect { try store.resubmit(id, form: [:], protectedFields: [], attachments: replacement, replacing: ["kk-orang-tua"]) }
                throws: { ($0 as? StoreError)?.code == "not_returned_for_correction" }
        }
        let app = try store.application(id.uuidString)
        #expect(app.revision == 1 && app.attachments.count == 1)
        #expect(try store.history(id).allSatisfy { $0.event != "resubmit" })
    }

    @Test func resubmitReplacesTheNamedRequirementsKeepsTheRestAndRequeues() throws {
        let (store, dir) = try self.open()
        let id = try self.returned(store)
        let before = try store.application(id.uuidString)
        #expect(before.correction == Correction(reason: "Foto KK buram", requirements: ["kk-orang-tua"], fields: ["child_name"]))
        let oldFiles = before.attachments.filter { $0.requirement == "kk-orang-tua" }.map { store.path(of: $0) }
        let newKK = bytes(6_000, seed: 7)
        // An attachment for a requirement that is not being replaced is refused.
        #expect { try store.resubmit(id, form: [:], protectedFields: [], attachments: [NewAttachment(requirement: "surat-kelahiran", data: newKK, fileExtension: "jpg")], replacing: ["kk-orang-tua"]) }
            throws: { ($0 as? StoreError)?.code == "invalid_resubmission" }
        let receipt = try store.resubmit(
            id, form: ["child_name": "Maria Goretti", "mother_nik": "5371014101900002"], protectedFields: ["mother_nik"],
            attachments: [NewAttachment(requirement: "kk-orang-tua", data: newKK, fileExtension: "jpg")],
            replacing: ["kk-orang-tua"])
        #expect(receipt.id == id)
        #expect(receipt.trackingCode == before.trackingCode)
        let app = try store.application(id.uuidString)
        #expect(app.state == .submitted)
        #expect(app.revision == 2)
        #expect(app.correction == nil, "cleared on resubmit")
        #expect(app.formMasked == ["child_name": "Maria Goretti", "mother_nik": "************0002"])
        #expect(app.attachments.map(\.seq) == [1, 4], "the kept one, then seqs after the highest ever used")
        #expect(app.attachments.map(\.requirement) == ["surat-kelahiran", "kk-orang-tua"])
        #expect(app.attachments[0].sha256 == before.attachments[0].sha256)
        #expect(app.attachments[1].sha256 == SHA256.hex(newKK))
        #expect(app.attachmentCount == 2 && app.totalBytes == 3_000 + 6_000)
        #expect(app.deliveredAt == nil)
        for path in oldFiles { #expect(!FileManager.default.fileExists(atPath: path), "replaced files are removed") }
        #expect(try store.nextUploads().map(\.applicationID) == [id], "back in the upload queue")
        #expect(try store.manifestSource(id).form["mother_nik"] == "5371014101900002")
        let history = try store.history(id)
        #expect(history.last?.event == "resubmit")
        #expect(history.contains { $0.from == .returnedForCorrection && $0.to == .submitted })
        #expect(try store.check().ok)
        // Reopening (and its sweep) keeps everything.
        let (again, report) = try KioskStore.open(directory: dir, configuration: StoreConfiguration(minFreeBytes: 0))
        #expect(report.quarantined.isEmpty && report.missingFiles.isEmpty)
        #expect(try again.application(id.uuidString) == app)
        // A second resubmission is refused until the Dinas returns it again.
        #expect { try again.resubmit(id, form: [:], protectedFields: [], attachments: [], replacing: []) }
            throws: { ($0 as? StoreError)?.code == "not_returned_for_correction" }
    }

    @Test func aResubmissionThatFailsLeavesNothingBehind() throws {
        let (store, dir) = try self.open()
        let id = try self.returned(store)
        let before = try store.application(id.uuidString)
        let filesBefore = files(in: "\(dir)/attachments")
        // The second new file is empty: the first one must not survive.
        #expect(throws: StoreError.self) {
            try store.resubmit(id, form: [:], protectedFields: [], attachments: [
                NewAttachment(requirement: "kk-orang-tua", data: bytes(100), fileExtension: "jpg"),
                NewAttachment(requirement: "kk-orang-tua", path: "/dev/null"),
            ], replacing: ["kk-orang-tua"])
        }
        #expect(files(in: "\(dir)/attachments") == filesBefore)
        #expect(try store.application(id.uuidString) == before)
    }

    @Test func hostileCorrectionDetailsAreRefusedOrBounded() throws {
        #expect(Correction.validated(reason: nil, requirements: (0..<41).map { "r\($0)" }, fields: []) == nil)
        #expect(Correction.validated(reason: nil, requirements: [], fields: (0..<41).map { "f\($0)" }) == nil)
        #expect(Correction.validated(reason: nil, requirements: ["KK Orang Tua"], fields: []) == nil)
        #expect(Correction.validated(reason: nil, requirements: ["kk\u{1B}[2J"], fields: []) == nil)
        #expect(Correction.validated(reason: nil, requirements: [String(repeating: "a", count: 65)], fields: []) == nil)
        #expect(Correction.validated(reason: nil, requirements: [], fields: ["Child_Name"]) == nil)
        let c = try #require(Correction.validated(reason: "Foto\u{1B}]0;x\u{07} buram\u{202E}" + String(repeating: "x", count: 600),
                                                  requirements: ["kk-orang-tua", "kk-orang-tua"], fields: ["child_name"]))
        #expect(c.reason?.count == 500)
        #expect(c.reason.map { SafeText.firstUnsafe(in: $0) == nil } == true)
        #expect(c.reason?.hasPrefix("Foto]0;x buram") == true)
        #expect(c.requirements == ["kk-orang-tua"])
        #expect(Correction.validated(reason: nil, requirements: (0..<40).map { "r\($0)" }, fields: (0..<40).map { "f\($0)" }) != nil)
    }

    @Test func complaintAnswersAreStoredBoundedAndFoundByReference() throws {
        let (store, _) = try self.open()
        let c = try store.fileComplaint(category: "kios", body: "Printer macet", contact: nil, language: "id")
        #expect(try store.complaint(reference: "  " + c.reference.lowercased() + " ")?.id == c.id)
        #expect(try store.complaint(reference: "PGD-00000000") == nil)
        #expect(try store.recordComplaintAnswer(id: c.id, reference: "PGD-FFFFFFFF", answer: "wrong reference") == false)
        #expect(try store.recordComplaintAnswer(id: UUID().uuidString, reference: nil, answer: "unknown") == false)
        #expect(try store.recordComplaintAnswer(id: c.id, reference: c.reference, answer: "\u{1B}\u{202E}\u{7} \n ") == false, "nothing left")
        let hostile = "Sudah\u{1B}[31m diperbaiki\u{7}.\nTerima kasih" + String(repeating: "!", count: 2_000)
        #expect(try store.recordComplaintAnswer(id: c.id, reference: c.reference, answer: hostile))
        let stored = try #require(try store.complaint(reference: c.reference))
        let answer = try #require(stored.answer)
        #expect(answer.count == 1000)
        #expect(answer.hasPrefix("Sudah[31m diperbaiki.\nTerima kasih"))
        #expect(SafeText.firstUnsafe(in: answer, allowNewlines: true) == nil)
        #expect(stored.answeredAt != nil)
        #expect(try store.recordComplaintAnswer(id: c.id, reference: nil, answer: hostile) == false, "the same answer again")
    }

    @Test func filesOfAResubmissionThatCrashedBeforeItsCommitAreRemovedAtOpen() throws {
        let (store, dir) = try self.open()
        let id = try self.returned(store)
        let key = id.uuidString.lowercased()
        let before = try store.application(key)
        // What a writer killed between its new file and its commit leaves: its marker (a dead pid) and the file.
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/bin/true")
        try child.run()
        child.waitUntilExit()
        try Data("\(child.processIdentifier)\n".utf8).write(to: URL(fileURLWithPath: "\(dir)/attachments/.tmp/\(key).intent"))
        try bytes(500).write(to: URL(fileURLWithPath: "\(dir)/attachments/\(key)/4.jpg"))
        chmod("\(dir)/attachments/\(key)/4.jpg", 0o600)
        let (again, report) = try KioskStore.open(directory: dir, configuration: StoreConfiguration(minFreeBytes: 0))
        #expect(report.orphansRemoved == ["\(key)/4.jpg"])
        #expect(report.quarantined.isEmpty)
        #expect(try again.application(key) == before, "the committed revision is untouched")
        #expect(files(in: "\(dir)/attachments").filter { $0.hasSuffix(".intent") }.isEmpty)
        // The resident's retry works and takes seq 4.
        let r = try again.resubmit(id, form: [:], protectedFields: [], attachments: [NewAttachment(requirement: "kk-orang-tua", data: bytes(700), fileExtension: "jpg")], replacing: ["kk-orang-tua"])
        #expect(try again.application(r.id.uuidString).attachments.map(\.seq) == [1, 4])
        #expect(try again.check().ok)
    }
}
