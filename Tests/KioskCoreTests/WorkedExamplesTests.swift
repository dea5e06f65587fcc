import KioskCore
import Testing

/// The 15 worked examples of domain-brief §8, evaluated under the shipped profiles.
@Suite struct WorkedExamplesTests {
    let kupang: JurisdictionProfile
    let blora: JurisdictionProfile

    init() throws {
        self.kupang = try loadProfile("kota-kupang")
        self.blora = try loadProfile("blora")
    }

    @Test func example1BirthOnDay60IsOnTime() throws {
        let r = try evaluate(kupang, "birth", "2024-03-10", "2024-05-09")
        #expect(r.deadline == d("2024-05-09"))
        #expect(r.daysLate == 0)
        #expect(r.tier == .onTime)
        #expect(r.fineIDR == nil)
        #expect(r.due("sk-kelahiran") == d("2024-05-23"))
        #expect(r.due("kutipan-akta-kelahiran") == d("2024-06-08"))
        #expect(r.references.contains("PK 48(1)"))
        #expect(r.references.contains("PK 106(3)"))
    }

    @Test func example2BirthOnDay61NeedsHeadApproval() throws {
        let r = try evaluate(kupang, "birth", "2024-03-10", "2024-05-10", ["approval_date": .date(d("2024-05-14"))])
        #expect(r.daysLate == 1)
        #expect(r.tier == .headApproval)
        #expect(r.fineIDR == 1_000_000)
        #expect(r.due("kutipan-akta-kelahiran") == d("2024-06-13"))
        #expect(r.references.contains("PK 50(1), 64(1)"))
        #expect(r.references.contains("PK 144(1)(a)"))
    }

    @Test func example2WithoutApprovalTheIssuanceIsPending() throws {
        let r = try evaluate(kupang, "birth", "2024-03-10", "2024-05-10")
        let akta = try #require(r.issued("kutipan-akta-kelahiran"))
        #expect(akta.due == nil)
        #expect(akta.pending?.en == "awaiting Kepala Dinas approval")
    }

    @Test func example3FirstBirthdayAcrossLeapDayIsStillHeadApproval() throws {
        let onAnniversary = try evaluate(kupang, "birth", "2023-06-14", "2024-06-14")
        #expect(onAnniversary.tier == .headApproval)
        #expect(onAnniversary.fineIDR == 1_000_000)
        let dayAfter = try evaluate(kupang, "birth", "2023-06-14", "2024-06-15")
        #expect(dayAfter.tier == .courtOrder)
    }

    @Test func example4BirthAfterMoreThanAYearNeedsCourtOrder() throws {
        let r = try evaluate(kupang, "birth", "2022-01-05", "2024-02-01", ["court_order_date": .date(d("2024-04-22"))])
        #expect(r.tier == .courtOrder)
        #expect(r.fineIDR == 1_000_000)
        #expect(r.daysLate == d("2022-03-06").days(until: d("2024-02-01")))
        #expect(r.due("kutipan-akta-kelahiran") == d("2024-05-22"))
        #expect(r.references.contains("PK 50(2), 64(2)"))
    }

    @Test func example5StillbirthFiveDaysLate() throws {
        let r = try evaluate(kupang, "stillbirth", "2024-08-01", "2024-09-05", ["gestation_weeks": .int(30)])
        #expect(r.deadline == d("2024-08-31"))
        #expect(r.daysLate == 5)
        #expect(r.tier == .late)
        #expect(r.fineIDR == 1_000_000)
        #expect(r.due("sk-lahir-mati") == d("2024-09-19"))
        #expect(r.issued("sk-lahir-mati")?.signer?.id == "Lurah a.n. Kepala Dinas")
    }

    @Test func example5UnderTwentyEightWeeksIsRoutedToTheDinas() throws {
        #expect {
            try evaluate(kupang, "stillbirth", "2024-08-01", "2024-09-05", ["gestation_weeks": .int(26)])
        } throws: { error in
            guard case RulesError.refused(_, let ref) = error else { return false }
            return ref.contains("PK 1.24")
        }
    }

    @Test func example6DeathOnDay30AndTwoDaysLate() throws {
        let r = try evaluate(kupang, "death", "2024-01-20", "2024-02-19")
        #expect(r.deadline == d("2024-02-19"))
        #expect(r.tier == .onTime)
        #expect(r.fineIDR == nil)
        #expect(r.due("sk-kematian") == d("2024-02-22"))
        #expect(r.due("kutipan-akta-kematian") == d("2024-03-20"))
        let late = try evaluate(kupang, "death", "2024-01-20", "2024-02-21")
        #expect(late.daysLate == 2)
        #expect(late.tier == .late)
        #expect(late.fineIDR == 1_000_000)
        #expect(late.references.contains("PK 144(1)(f)"))
    }

    @Test func example7ChurchMarriageNineDaysLateAndMuslimContrast() throws {
        let r = try evaluate(kupang, "marriage", "2024-10-12", "2024-12-20")
        #expect(r.deadline == d("2024-12-11"))
        #expect(r.daysLate == 9)
        #expect(r.tier == .late)
        #expect(r.fineIDR == 1_000_000)
        #expect(r.due("kutipan-akta-perkawinan") == d("2025-01-19"))
        #expect(throws: RulesError.self) {
            try evaluate(kupang, "marriage", "2024-10-12", "2024-10-12", ["religion_islam": .bool(true)])
        }
    }

    @Test func example8AnnulmentNinetyDaysAndDivorceSixty() throws {
        let a = try evaluate(kupang, "marriage-annulment", "2024-01-10", "2024-04-15")
        #expect(a.deadline == d("2024-04-09"))
        #expect(a.daysLate == 6)
        #expect(a.fineIDR == 1_000_000)
        #expect(a.due("sk-pembatalan-perkawinan") == d("2024-04-22"))
        #expect(a.issued("sk-pembatalan-perkawinan")?.signer?.id == "Kepala Dinas")
        let b = try evaluate(kupang, "divorce", "2024-04-02", "2024-05-31")
        #expect(b.deadline == d("2024-06-01"))
        #expect(b.tier == .onTime)
        #expect(b.due("kutipan-akta-perceraian") == d("2024-06-30"))
    }

    @Test func example9RecognitionThreeDaysLateAndReligiousExemption() throws {
        let r = try evaluate(kupang, "child-recognition", "2024-02-01", "2024-03-05")
        #expect(r.deadline == d("2024-03-02"))
        #expect(r.daysLate == 3)
        #expect(r.fineIDR == 1_000_000)
        #expect(r.due("kutipan-akta-pengakuan-anak") == d("2024-04-04"))
        let exempt = try evaluate(kupang, "child-recognition", "2024-02-01", "2024-03-05", ["religion_exempt": .bool(true)])
        #expect(exempt.assessment == .exempt)
        #expect(exempt.tier == .onTime)
        #expect(exempt.daysLate == 0)
        #expect(exempt.fineIDR == nil)
        #expect(exempt.references.contains("PK 87(2)"))
    }

    @Test func example10BirthOnTimeButKKFineIsNotAssessed() throws {
        let birth = try evaluate(kupang, "birth", "2024-05-01", "2024-06-10")
        #expect(birth.deadline == d("2024-06-30"))
        #expect(birth.tier == .onTime)
        #expect(birth.due("kutipan-akta-kelahiran") == d("2024-07-10"))
        let kk = try evaluate(kupang, "kk-change", "2024-05-01", "2024-06-10", ["cause": .string("birth")])
        #expect(kk.assessment == .indeterminate)
        #expect(kk.tier == nil)
        #expect(kk.fineIDR == nil)
        #expect(kk.due("kk") == d("2024-06-24"))
        #expect(kk.requirements.contains("kutipan-akta-kelahiran"))
    }

    @Test func example11KTPAtSeventeenAndMarriedMinor() throws {
        #expect {
            try evaluate(kupang, "ktp-new", "2007-09-30", "2024-09-29", ["marital_status": .string("belum_kawin")])
        } throws: { error in
            guard case RulesError.notEligible(let reason, _) = error else { return false }
            return reason.en?.contains("2024-09-30") == true
        }
        let a = try evaluate(kupang, "ktp-new", "2007-09-30", "2024-09-30", ["marital_status": .string("belum_kawin")])
        #expect(a.due("ktp-el") == d("2024-10-14"))
        #expect(a.issued("ktp-el")?.printableAtKiosk == false)
        #expect(a.notes.contains { $0.en?.contains("red background") == true })
        #expect(!a.requirements.contains("akta-nikah"))
        let b = try evaluate(kupang, "ktp-new", "2008-03-03", "2024-06-01", ["marital_status": .string("kawin")])
        #expect(b.notes.contains { $0.en?.contains("blue background") == true })
        #expect(b.requirements.contains("akta-nikah"))
    }

    @Test func example12ArrivalFromAbroadFiveDaysLate() throws {
        let r = try evaluate(kupang, "arrival-from-abroad", "2024-03-01", "2024-03-20")
        #expect(r.deadline == d("2024-03-15"))
        #expect(r.daysLate == 5)
        #expect(r.fineIDR == 1_000_000)
        #expect(r.due("sk-datang-ln") == d("2024-04-03"))
        #expect(r.due("kk") == d("2024-04-03"))
        #expect(r.due("ktp-el") == d("2024-04-03"))
    }

    @Test func example13ForeignerITASOnTimeThenITAP() throws {
        let r = try evaluate(kupang, "foreigner-itas-arrival", "2024-02-12", "2024-02-26",
                             ["itas_valid_until": .date(d("2025-02-11"))])
        #expect(r.deadline == d("2024-02-26"))
        #expect(r.tier == .onTime)
        #expect(r.due("sktt") == d("2024-03-11"))
        #expect(r.issued("sktt")?.validUntil == d("2025-02-11"))
        let itap = try evaluate(kupang, "foreigner-itap", "2024-11-04", "2024-11-18")
        #expect(itap.deadline == d("2024-11-18"))
        #expect(itap.tier == .onTime)
        let late = try evaluate(kupang, "foreigner-itap", "2024-11-04", "2024-11-19")
        #expect(late.fineIDR == 1_000_000)
        #expect(late.references.contains("PK 143(1)(e)"))
    }

    @Test func example14MoveBetweenKecamatanSignerAndValidity() throws {
        let r = try evaluate(kupang, "move-out", "2024-07-22", "2024-07-22",
                             ["move_class": .string("c"), "issued_date": .date(d("2024-08-02"))])
        #expect(r.assessment == .noDeadline)
        #expect(r.tier == .onTime)
        #expect(r.fineIDR == nil)
        let sk = try #require(r.issued("sk-pindah"))
        #expect(sk.due == d("2024-08-05"))
        #expect(sk.validUntil == d("2024-09-13"))
        #expect(sk.signer?.id == "Camat a.n. Kepala Dinas")
        #expect(r.issued("skpd") == nil)
    }

    @Test func example15BloraPackageTwentyFourHoursAndCourier() throws {
        let r = try evaluate(blora, "birth", "2024-05-01", "2024-05-06",
                             ["requirements_complete_at": .string("2024-05-06T09:00"),
                              "parent_marital_status": .string("cerai_hidup")])
        #expect(r.issued("akta-kelahiran")?.dueAt == "2024-05-07T09:00+07:00")
        #expect(r.issued("kk")?.dueAt == "2024-05-07T09:00+07:00")
        #expect(r.due("kia") == d("2024-06-05"))
        #expect(r.due("ktp-el") == d("2024-06-05"))
        #expect(r.issued("ktp-el")?.printableAtKiosk == false)
        #expect(r.assessment == .notDefined)
        #expect(r.fineIDR == nil)
        #expect(r.tier == nil)
        #expect(blora.feeIDR == 0)
        let married = try evaluate(blora, "birth", "2024-05-01", "2024-05-06", ["parent_marital_status": .string("kawin")])
        #expect(married.issued("ktp-el") == nil)
        #expect(married.requirements.contains("ktp-el-asli-orang-tua") == false)
    }
}
