import Foundation
import KioskCore
import KioskDevices
import KioskSecurity
import KioskService
import KioskStore
import KioskTestSupport
import Testing

/// Issue 16's follow-up on the production path: a real kioskd (simulated devices) over its real socket, linked to
/// the Dinas reference endpoint over loopback HTTP. A returned application is corrected and delivered as revision 2;
/// a complaint's answer comes back; "Cek NIK & KK" asks the Dinas only where the bundle allows it.
@Suite(.serialized) struct FollowUpSocketTests {
    let nik = SimulatedCardReader.testCardDigits

    func birthDraft(_ scans: [String: [String]], today: CivilDate) throws -> JSONValue {
        let birth = try #require(try FormSamples.profile("kota-kupang").service("birth"))
        let facts: Facts = ["citizenship": .string("wni")]
        let draft = ApplicationDraft(
            id: UUID(), service: "birth", applicant: try NIK(self.nik, today: today), eventDate: today.adding(days: -20),
            facts: facts, contact: "081234567890", scans: scans,
            form: FormSamples.answers(birth, facts: facts, today: today, nik: self.nik), notify: "sms",
            consentVersion: ApplyFlow.consentVersion, language: .id)
        return .object(["draft": try JSONValue(encoding: ResidentWire.Draft(draft))])
    }

    func dinasApp(_ dinas: DinasServer, _ id: String) throws -> [String: Any]? {
        try dinas.applications().first { ($0["id"] as? String) == id }
    }

    @Test func aReturnedApplicationIsCorrectedAndDeliveredAsRevisionTwo() async throws {
        let dinas = try DinasServer()
        let k = try KioskdProcess(dinas: dinas)
        let c = try k.startAndWait()
        let today = UTCOffset(seconds: 8 * 3600).civilDate(of: Date())
        var scans: [String: [String]] = [:]
        for r in ["surat-kelahiran", "identitas-saksi", "kk-orang-tua", "ktp-orang-tua"] {
            scans[r] = [try #require(try await c.call("resident.scan", .object(["requirement": .string(r)]))["token"]?.stringValue)]
        }
        let receipt = try await c.call("resident.submit", try self.birthDraft(scans, today: today)).decode(ResidentWire.Receipt.self)
        let code = receipt.trackingCode.raw
        func status() async throws -> ResidentWire.Status {
            try await c.call("resident.status", .object(["tracking_code": .string(code)])).decode(ResidentWire.Status.self)
        }
        _ = try await c.call("staff.sync.now")
        #expect(try await eventuallyAsync(within: 30) {
            try dinas.applications().contains { ($0["state"] as? String) == "delivered" }
        })
        let id = try #require(try dinas.applications().first?["id"] as? String)
        #expect(try self.dinasApp(dinas, id)?["notify"] as? String == "sms")

        // The Dinas returns it, naming one document and one answer to redo.
        try dinas.admin("POST", "/admin/applications/\(id)/state", json: [
            "state": "returned_for_correction", "reason": "Surat kelahiran buram; nama anak salah eja",
            "correction": ["requirements": ["surat-kelahiran"], "fields": ["child_name"]],
        ])
        _ = try await c.call("staff.sync.now")
        var returned: ResidentWire.Status?
        #expect(try await eventuallyAsync(within: 30) {
            returned = try? await status()
            return returned?.correction != nil
        })
        let correction = try #require(returned?.correction)
        #expect(returned?.state == .returnedForCorrection && returned?.reason?.contains("buram") == true)
        #expect(correction.requirements == ["surat-kelahiran"] && correction.fields == ["child_name"])

        // Someone else's NIK, or something the Dinas did not ask for, is refused; nothing changes.
        let page = try #require(try await c.call("resident.scan", .object(["requirement": .string("surat-kelahiran")]))["token"]?.stringValue)
        func params(nik: String, form: [String: String], scans: [String: [String]]) -> JSONValue {
            .object(["correction": .object([
                "id": .string(correction.applicationID.uuidString.lowercased()), "applicant_nik": .string(nik),
                "form": .object(form.mapValues(JSONValue.string)), "scans": .object(scans.mapValues { .array($0.map(JSONValue.string)) }),
                "language": .string("id"),
            ])])
        }
        for (p, expected) in [
            (params(nik: "5371014503240001", form: ["child_name": "MARIA GORETI NDUN"], scans: ["surat-kelahiran": [page]]), "not_applicant"),
            (params(nik: self.nik, form: ["mother_nik": self.nik], scans: ["surat-kelahiran": [page]]), "not_asked"),
            (params(nik: self.nik, form: ["child_name": "MARIA GORETI NDUN"], scans: ["kk-orang-tua": [page]]), "not_asked"),
        ] {
            do {
                _ = try await c.call("resident.resubmit", p)
                Issue.record("accepted: \(p)")
            } catch {
                #expect(error.code == expected, "\(error.code) \(error.message.bilingual)")
            }
        }
        let fixed = try await c.call("resident.resubmit", params(nik: self.nik, form: ["child_name": "MARIA GORETI NDUN"],
                                                              scans: ["surat-kelahiran": [page]]))
            .decode(ResidentWire.Receipt.self)
        #expect(fixed.trackingCode == receipt.trackingCode, "same application, same tracking code")
        #expect(try await status().correction == nil)
        _ = try await c.call("staff.sync.now")
        #expect(try await eventuallyAsync(within: 30) {
            let app = try self.dinasApp(dinas, id)
            return (app?["revision"] as? Int) == 2 && (app?["state"] as? String) == "delivered"
        }, "the Dinas holds revision 2, delivered")
        let app = try #require(try self.dinasApp(dinas, id))
        #expect((app["form"] as? [String: String])?["child_name"] == "MARIA GORETI NDUN")
        #expect((app["form"] as? [String: String])?["mother_nik"] == self.nik, "answers not named are kept")
        // A second resubmission while it is not returned is refused.
        do {
            _ = try await c.call("resident.resubmit", params(nik: self.nik, form: ["child_name": "X Y"], scans: [:]))
            Issue.record("resubmitted while not returned")
        } catch {
            #expect(error.code == "not_returned")
        }
    }

    @Test func aComplaintsAnswerReachesCekStatusAndRegistryChecksNeedTheBundle() async throws {
        let dinas = try DinasServer()
        let k = try KioskdProcess(dinas: dinas)
        let c = try k.startAndWait()
        let filed = try await c.call("resident.complaint", .object(["complaint": try JSONValue(encoding: ResidentWire.ComplaintParams(
            Complaint(category: .kiosk, text: "Printer macet sejak Senin", contact: nil, language: .id)))]))
        let reference = try #require(filed["reference"]?.stringValue)
        // The simulated printer prints the slip.
        #expect(try await c.call("resident.complaint.slip.print", .object(["reference": .string(reference), "language": .string("id")]))["problem"] == nil)
        let before = try await c.call("resident.complaint.status", .object(["reference": .string(reference)])).decode(ComplaintStatus.self)
        #expect(before.answer == nil && before.category == .kiosk)
        _ = try await c.call("staff.sync.now")
        #expect(try await eventuallyAsync(within: 30) {
            // The reference endpoint lists complaints by id.
            ((try? dinas.admin("GET", "/admin/complaints")) as? [String: [String: Any]] ?? [:]).values.contains { ($0["reference"] as? String) == reference }
        })
        try dinas.admin("POST", "/admin/complaints/\(reference)/answer", json: ["answer": "Printer sudah diganti hari ini.\u{1B}[2J"])
        _ = try await c.call("staff.sync.now")
        var after: ComplaintStatus?
        #expect(try await eventuallyAsync(within: 30) {
            after = try? await c.call("resident.complaint.status", .object(["reference": .string(reference.lowercased())])).decode(ComplaintStatus.self)
            return after?.answer != nil
        })
        #expect(after?.answer == "Printer sudah diganti hari ini.[2J" || after?.answer == "Printer sudah diganti hari ini.",
                "stored without the control character: \(String(describing: after?.answer))")
        #expect(after?.sent == true)

        // Cek NIK & KK: refused until the bundle offers it; then match / no match, audited without the numbers.
        try dinas.admin("POST", "/admin/registry", json: ["entries": [["nik": self.nik, "kk": "5371010101010001", "name": "Maria Ndun"]]])
        do {
            _ = try await c.call("resident.verify", .object(["nik": .string(self.nik), "kk": .string("5371010101010001")]))
            Issue.record("verify without the bundle's consent")
        } catch {
            #expect(error.code == "not_offered")
        }
        let bundle = try signedBundle(dinas.key, version: 9, desa: "Desa Cek", kiosk: k.kioskID) { payload in
            var kiosk = payload["kiosk"] as? [String: Any] ?? [:]
            kiosk["registry_check"] = true
            payload["kiosk"] = kiosk
        }
        _ = try await c.call("technician.config.apply", .object(["bundle": .string(String(decoding: bundle, as: UTF8.self))]))
        let info = try await c.call("resident.info").decode(ResidentWire.Info.self)
        #expect(info.registryCheck == true)
        let match = try await c.call("resident.verify", .object(["nik": .string(self.nik), "kk": .string("5371010101010001")]))
            .decode(RegistryCheck.self)
        #expect(match == RegistryCheck(match: true, nameMasked: "M**** N***"))
        let miss = try await c.call("resident.verify", .object(["nik": .string(self.nik), "kk": .string("5371010101019999")]))
            .decode(RegistryCheck.self)
        #expect(miss.match == false && miss.nameMasked == nil)
        let log = try String(contentsOfFile: k.logPath, encoding: .utf8)
        #expect(!log.contains("5371010101010001"), "the KK number is not logged")
        // The audit trail (read as a second process would) has both checks, with masked numbers only.
        let audit = try KioskStore.open(directory: k.dataDir).0.kioskAudit(limit: 50).filter { $0.event == "registry_check" }
        #expect(audit.count == 2)
        #expect(audit.allSatisfy { !($0.detail ?? "").contains("5371010101010001") && !($0.detail ?? "").contains(self.nik) })
        #expect(audit.contains { ($0.detail ?? "").hasSuffix("no match") })
    }
}

/// Polls an async condition (every 0.2 s) until it holds or `seconds` pass.
func eventuallyAsync(within seconds: Double, _ body: () async throws -> Bool) async throws -> Bool {
    let end = Date().addingTimeInterval(seconds)
    while Date() < end {
        if try await body() { return true }
        try await Task.sleep(nanoseconds: 200_000_000)
    }
    return try await body()
}
