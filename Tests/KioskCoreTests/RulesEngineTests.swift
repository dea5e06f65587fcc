import KioskCore
import Testing

@Suite struct RulesEngineTests {
    let kupang: JurisdictionProfile

    init() throws { self.kupang = try loadProfile("kota-kupang") }

    @Test func unknownServiceIsAnError() {
        #expect(throws: RulesError.unknownService(service: "nope", profile: "kota-kupang")) {
            try evaluate(kupang, "nope", "2024-01-01", "2024-01-02")
        }
    }

    @Test func reportBeforeEventIsAnError() {
        #expect(throws: RulesError.reportBeforeEvent(event: d("2024-01-02"), report: d("2024-01-01"))) {
            try evaluate(kupang, "birth", "2024-01-02", "2024-01-01")
        }
    }

    @Test func factsAreCheckedAgainstTheService() {
        #expect { try evaluate(kupang, "birth", "2024-01-01", "2024-01-02", ["gestation_weeks": .int(30)]) } throws: {
            ($0 as? RulesError)?.code == "unknown_fact"
        }
        #expect { try evaluate(kupang, "stillbirth", "2024-01-01", "2024-01-02") } throws: {
            ($0 as? RulesError)?.code == "missing_fact"
        }
        #expect { try evaluate(kupang, "stillbirth", "2024-01-01", "2024-01-02", ["gestation_weeks": .string("many")]) } throws: {
            ($0 as? RulesError)?.code == "bad_fact"
        }
        #expect { try evaluate(kupang, "move-out", "2024-01-01", "2024-01-02", ["move_class": .string("z")]) } throws: {
            ($0 as? RulesError)?.code == "bad_fact"
        }
    }

    @Test func gapsAreNotInventedIntoRules() throws {
        let legitimation = try evaluate(kupang, "child-legitimation", "2024-01-01", "2025-01-01")
        #expect(legitimation.assessment == .notDefined)
        #expect(legitimation.tier == nil)
        #expect(legitimation.fineIDR == nil)
        #expect(legitimation.notes.contains { $0.en?.contains("A-21") == true })
        let kabKupang = try loadProfile("kab-kupang")
        let death = try evaluate(kabKupang, "death", "2024-01-01", "2025-01-01")
        #expect(death.assessment == .notDefined)
        #expect(death.fineIDR == nil)
        #expect(death.issuance.allSatisfy { $0.due == nil && $0.pending != nil })
    }

    @Test func deadlineCountingConventionIsConfigurable() throws {
        var profile = kupang
        profile.conventions.deadlineCounting = .eventIsDayOne
        let r = try evaluate(profile, "birth", "2024-03-10", "2024-05-09")
        #expect(r.deadline == d("2024-05-08"))
        #expect(r.daysLate == 1)
        #expect(r.tier == .headApproval)
    }

    @Test func workingDaysSkipWeekendsAndConfiguredHolidays() throws {
        var profile = kupang
        let plain = try evaluate(profile, "move-out", "2024-07-22", "2024-07-22",
                                 ["move_class": .string("b"), "issued_date": .date(d("2024-08-02"))])
        #expect(plain.issued("sk-pindah")?.validUntil == d("2024-09-13"))
        profile.conventions.holidays = [d("2024-08-19"), d("2024-09-16")]
        let withHoliday = try evaluate(profile, "move-out", "2024-07-22", "2024-07-22",
                                       ["move_class": .string("b"), "issued_date": .date(d("2024-08-02"))])
        #expect(withHoliday.issued("sk-pindah")?.validUntil == d("2024-09-17"))
        #expect(withHoliday.issued("sk-pindah")?.signer?.id == "Lurah a.n. Kepala Dinas")
    }

    @Test func theCourtTierCanBeRemovedByConfiguration() throws {
        var profile = kupang
        let i = try #require(profile.services.firstIndex { $0.id == "birth" })
        profile.services[i].lateTiers = [LateTier(tier: .headApproval, within: nil, reference: "UU 24/2013")]
        let r = try evaluate(profile, "birth", "2022-01-05", "2024-02-01")
        #expect(r.tier == .headApproval)
    }

    @Test func requirementsCompleteDateOverridesTheReportDate() throws {
        let r = try evaluate(kupang, "death", "2024-01-20", "2024-02-19", ["requirements_complete_date": .date(d("2024-02-26"))])
        #expect(r.due("sk-kematian") == d("2024-02-29"))
    }

    @Test func moveClassPicksTheProductAndSigner() throws {
        let a = try evaluate(kupang, "move-out", "2024-07-22", "2024-07-22", ["move_class": .string("a")])
        #expect(a.issued("skpd") != nil)
        #expect(a.issued("sk-pindah") == nil)
        let e = try evaluate(kupang, "move-out", "2024-07-22", "2024-07-22", ["move_class": .string("e")])
        #expect(e.issued("sk-pindah")?.signer?.id == "Kepala Dinas")
    }
}
