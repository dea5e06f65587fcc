import KioskCore
import Testing

@Suite struct CivilDateTests {
    @Test(arguments: ["2024-02-29", "1970-01-01", "2000-02-29", "9999-12-31", "0001-01-01"])
    func roundTripsThroughDayNumbers(_ text: String) {
        let date = d(text)
        #expect(CivilDate(dayNumber: date.dayNumber) == date)
        #expect(date.description == text)
    }

    @Test(arguments: ["2023-02-29", "1900-02-29", "2024-13-01", "2024-00-10", "2024-04-31", "24-01-01", "2024-1-01",
                      "2024-01-01x", "", "abcd-ef-gh", "２０２４-01-01"])
    func rejectsNonDates(_ text: String) {
        #expect(CivilDate(iso: text) == nil)
    }

    @Test func addsYearsOnTheCalendarWithLeapDayClamping() {
        #expect(d("2024-02-29").adding(years: 1) == d("2025-02-28"))
        #expect(d("2023-06-14").adding(years: 1) == d("2024-06-14"))
        #expect(d("2024-01-31").adding(months: 1) == d("2024-02-29"))
    }

    @Test func countsDaysAndWeekdays() {
        #expect(d("2024-03-10").days(until: d("2024-05-09")) == 60)
        #expect(d("2024-08-02").isoWeekday == 5)  // Friday
        #expect(d("2024-08-17").isoWeekday == 6)  // Saturday
        #expect(d("1970-01-01").isoWeekday == 4)
    }

    @Test func agesOnTheBirthday() {
        #expect(d("2007-09-30").age(on: d("2024-09-29")) == 16)
        #expect(d("2007-09-30").age(on: d("2024-09-30")) == 17)
        #expect(d("2008-02-29").age(on: d("2026-02-28")) == 17)
    }

    @Test func utcOffsetsGiveLocalDates() throws {
        let wita = try #require(UTCOffset("+08:00"))
        // 2024-05-09T17:00:00Z is already 2024-05-10 01:00 in Kupang.
        let instant = wita.instant(d("2024-05-10"), secondsOfDay: 3600)
        #expect(wita.civilDate(of: instant) == d("2024-05-10"))
        #expect(UTCOffset("+07:00")!.civilDate(of: instant) == d("2024-05-10"))
        #expect(UTCOffset("+00:00")!.civilDate(of: instant) == d("2024-05-09"))
        #expect(UTCOffset("WITA") == nil)
        #expect(UTCOffset("+25:00") == nil)
        #expect(wita.description == "+08:00")
    }
}
