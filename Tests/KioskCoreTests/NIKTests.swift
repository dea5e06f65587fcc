import KioskCore
import Testing

@Suite struct NIKTests {
    let today = d("2026-11-22")

    @Test func decodesAMaleNIK() throws {
        let nik = try NIK("5371011708950003", today: today)
        #expect(nik.provinceCode == "53")
        #expect(nik.province.name == "Nusa Tenggara Timur")
        #expect(nik.regencyCode == "71")
        #expect(nik.districtCode == "01")
        #expect(nik.birthDate == d("1995-08-17"))
        #expect(nik.sex == .male)
        #expect(nik.serial == 3)
    }

    @Test func decodesAFemaleNIKWithForty() throws {
        let nik = try NIK("3316015703100001", today: today)
        #expect(nik.sex == .female)
        #expect(nik.birthDate == d("2010-03-17"))
        #expect(nik.provinceCode == "33")
    }

    @Test func resolvesTheCenturyAgainstToday() throws {
        // "26" is 2026 only up to today; a later date that year must be 1926.
        #expect(try NIK("5371010101260001", today: today).birthDate == d("2026-01-01"))
        #expect(try NIK("5371013112260001", today: today).birthDate == d("1926-12-31"))
        #expect(try NIK("5371010101990001", today: today).birthDate == d("1999-01-01"))
    }

    @Test func acceptsSpacesAndDotsAsTypedOnForms() throws {
        #expect(try NIK("5371 0117 0895 0003", today: today).serial == 3)
    }

    @Test func masksAllButTheLastFourDigits() throws {
        let nik = try NIK("5371011708950003", today: today)
        #expect(nik.masked == "************0003")
        #expect("\(nik)" == "************0003")
        #expect(!nik.masked.contains("170895"))
    }

    @Test(arguments: [
        ("", NIKError.empty),
        ("53710117089500A3", .notDigits),
        ("537101170895000", .wrongLength(15)),
        ("53710117089500031", .wrongLength(17)),
        ("9971011708950003", .unknownProvince("99")),
        ("2071011708950003", .unknownProvince("20")),
        ("5300011708950003", .zeroRegency),
        ("5371001708950003", .zeroDistrict),
        ("5371013508950003", .invalidBirthDay(35)),
        ("5371010008950003", .invalidBirthDay(0)),
        ("5371017208950003", .invalidBirthDay(72)),
        ("5371011713950003", .invalidBirthMonth(13)),
        ("5371011700950003", .invalidBirthMonth(0)),
        ("5371013102950003", .invalidBirthDate("310295")),
        ("5371012902230003", .invalidBirthDate("290223")),
        ("5371011708950000", .zeroSerial),
    ])
    func rejectsEachBadInputWithItsOwnReason(_ text: String, _ expected: NIKError) {
        #expect(throws: expected) { try NIK(text, today: today) }
    }

    @Test func everyReasonHasDistinctBilingualMessages() {
        let errors: [NIKError] = [.empty, .notDigits, .wrongLength(3), .unknownProvince("99"), .zeroRegency, .zeroDistrict,
                                  .invalidBirthDay(35), .invalidBirthMonth(13), .invalidBirthDate("310295"), .zeroSerial]
        #expect(Set(errors.map(\.message.id)).count == errors.count)
        #expect(Set(errors.map(\.code)).count == errors.count)
        #expect(errors.allSatisfy { $0.message.en != nil && $0.message.en != $0.message.id })
    }

    @Test func leapDayBirthIsResolvedToALeapYear() throws {
        // 29 Feb "00" exists in 2000 (leap) but not in 1900.
        #expect(try NIK("5371012902000001", today: today).birthDate == d("2000-02-29"))
    }
}

@Suite struct KTPRulesTests {
    @Test func eligibleFromSeventeenOrWhenEverMarried() {
        let born = d("2007-09-30")
        #expect(!KTPRules.isEligible(birthDate: born, maritalStatus: .belumKawin, on: d("2024-09-29")))
        #expect(KTPRules.isEligible(birthDate: born, maritalStatus: .belumKawin, on: d("2024-09-30")))
        for status in [MaritalStatus.kawin, .ceraiHidup, .ceraiMati] {
            #expect(KTPRules.isEligible(birthDate: d("2010-01-01"), maritalStatus: status, on: d("2024-01-01")))
        }
    }

    @Test func photoBackgroundFollowsBirthYearParity() {
        #expect(KTPRules.photoBackground(birthYear: 2007) == .red)
        #expect(KTPRules.photoBackground(birthYear: 2008) == .blue)
    }
}
