import Foundation
import KioskCore
import KioskDevices
import KioskRuntime
import KioskService
import KioskStore
import KioskTestSupport
import Testing

/// Every kiosk-available service of every shipped profile, walked through the apply flow as a resident would
/// (facts answered, the electronic form filled, every required document scanned, optional ones skipped), and
/// committed by the use cases to a real SQLite store. A profile that leaves a service unsubmittable fails here.
@Suite(.serialized) struct EveryServiceWalkTests {
    static let profiles = ["kota-kupang", "kab-kupang", "ogan-ilir", "blora"]
    let nikText = "5371011708950003"

    @Test(arguments: Self.profiles)
    func everyKioskServiceReachesACommittedSubmission(profileID: String) async throws {
        let profile = try FormSamples.profile(profileID)
        let today = profile.conventions.utcOffset.civilDate(of: Date())
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("kiosk-walk-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let store = try KioskStore.open(directory: "\(root)/data").0
        let services = try LocalKioskServices(
            store: store, profile: profile, settings: ResidentSettings(desaName: "Desa Uji"), printer: nil,
            scanner: SimulatedScanner(), workDir: "\(root)/work", cards: SimulatedCardReader().events)
        let nik = try NIK(self.nikText, today: today)
        var walked = 0
        var hourly = 0
        for service in profile.services where service.kioskAvailable != false {
            // The event a week ago; where the event date is a birth date (KTP), thirty years ago.
            var f = self.start(profile, service, nik, today, years: 0)
            if f.rulesError != nil { f = self.start(profile, service, nik, today, years: -30) }
            var guardSteps = 0
            #expect(f.step == .deadline, "\(profileID)/\(service.id): facts did not lead to the deadline step (\(f.step))")
            guard f.step == .deadline, f.rulesError == nil else {
                Issue.record("\(profileID)/\(service.id): the kiosk refuses it with its default answers: \(f.rulesError.map(String.init(describing:)) ?? "-")")
                continue
            }
            _ = f.handle(.confirm)
            FormSamples.fill(&f, nik: self.nikText)
            #expect(!f.formFields.isEmpty || !f.requirements.isEmpty, "\(profileID)/\(service.id): nothing to fill or scan")
            var pages = 0
            while case .scan(let i) = f.step, guardSteps < 200 {
                guardSteps += 1
                let req = f.requirements[i]
                if req.optional == true {
                    _ = f.handle(.skipRequirement)
                    continue
                }
                guard case .scan(let r, let expected)? = f.handle(.startScan).first else {
                    Issue.record("\(profileID)/\(service.id): no scan effect for \(req.id)")
                    break
                }
                let result = await Self.result { () async throws(ServiceFailure) in try await services.scan(requirement: r, expectedPages: expected) }
                if case .success(let s) = result { pages += s.pages }
                _ = f.handle(.scanFinished(result))
                _ = f.handle(.confirm)
            }
            #expect(f.step == .contact, "\(profileID)/\(service.id): stuck at \(f.step): \(f.problem.map(String.init(describing:)) ?? "")")
            for c in "081234567890" { _ = f.handle(.key(c)) }
            _ = f.handle(.confirm)
            _ = f.handle(.chooseNotify("sms"))
            _ = f.handle(.consent(true))
            guard case .submit(let draft)? = f.handle(.confirm).first else {
                Issue.record("\(profileID)/\(service.id): no submission from \(f.step)")
                continue
            }
            let submitted = await Self.result { () async throws(ServiceFailure) in try await services.submit(draft) }
            _ = f.handle(.submitted(submitted))
            guard case .done(let receipt) = f.step else {
                Issue.record("\(profileID)/\(service.id): not stored: \(submitted)")
                continue
            }
            let stored = try store.application(receipt.trackingCode.raw)
            #expect(stored.id == draft.id && stored.service == service.id)
            #expect(stored.attachments.count == pages, "\(profileID)/\(service.id): every page stored")
            #expect(stored.formMasked.count == draft.form.count, "\(profileID)/\(service.id): the form stored")
            #expect(stored.notify == .sms)
            // A service level in hours (Blora's 24 hours) is a due time, not a date.
            if service.products.contains(where: { $0.sla?.period.unit == .hours }) {
                #expect(receipt.expected.contains { $0.due.id.contains(" pukul ") && $0.due.id.contains(profile.conventions.timeZoneName) },
                        "\(profileID)/\(service.id): \(receipt.expected.map(\.due.id))")
                hourly += 1
            }
            walked += 1
        }
        let available = profile.services.filter { $0.kioskAvailable != false }.count
        #expect(walked == available && available > 0, "\(profileID): \(walked) of \(available) services submitted")
        if profileID == "blora" { #expect(hourly > 0, "Blora's 24-hour service level was walked") }
    }

    /// Category, service, identity, the event date (`years` back plus a week), and the facts answered plausibly.
    func start(_ profile: JurisdictionProfile, _ service: Service, _ nik: NIK, _ today: CivilDate, years: Int) -> ApplyFlow {
        var f = ApplyFlow(profile: profile, today: today)
        _ = f.handle(.chooseCategory(service.category))
        _ = f.handle(.chooseService(service.id))
        _ = f.handle(.card(nik))
        _ = f.handle(.adjustDate(.day, -7))
        _ = f.handle(.adjustDate(.year, years))
        _ = f.handle(.confirm)
        var guardSteps = 0
        while case .fact(let i) = f.step, guardSteps < 50 {
            guardSteps += 1
            let spec = f.askedFacts[i]
            switch spec.kind {
            case .bool: _ = f.handle(.chooseFact(.bool(false)))
            case .choice: _ = f.handle(.chooseFact(.string(spec.choices?.first ?? "")))
            case .int:
                // 30: a plausible count, age or gestation in weeks (a stillbirth needs 28).
                for c in "30" { _ = f.handle(.key(c)) }
                _ = f.handle(.confirm)
            case .date:
                _ = f.handle(.adjustDate(.year, -1))
                _ = f.handle(.confirm)
            case .text:
                for c in "UJI" { _ = f.handle(.key(c)) }
                _ = f.handle(.confirm)
            }
        }
        return f
    }

    static func result<T: Sendable>(_ body: () async throws(ServiceFailure) -> T) async -> Result<T, ServiceFailure> {
        do throws(ServiceFailure) {
            return .success(try await body())
        } catch {
            return .failure(error)
        }
    }
}

@Suite struct DueTimeTests {
    /// A service level in hours is told as a date and time in the Dinas's zone, with its working hours when the
    /// profile states them.
    @Test func anHourlyDueTimeReadsAsADateAndTime() throws {
        var blora = try FormSamples.profile("blora").conventions
        let json = #"{"product": "akta", "name": {"id": "Akta Kelahiran"}, "printable_at_kiosk": true, "due_at": "2026-12-04T10:15+07:00"}"#
        let issuance = try KioskJSON.decoder().decode(RuleEvaluation.Issuance.self, from: Data(json.utf8))
        #expect(ResidentFacing.due(issuance, conventions: blora).id == "4 Desember 2026 pukul 10.15 WIB")
        blora.workingHours = WorkingHours(opens: "08:00", closes: "16:00")
        let due = ResidentFacing.due(issuance, conventions: blora)
        #expect(due.id == "4 Desember 2026 pukul 10.15 WIB (jam kerja Dinas 08.00–16.00)")
        #expect(due.text(.en) == "4 December 2026 at 10:15 WIB (Dinas working hours 08:00–16:00)")
    }
}
