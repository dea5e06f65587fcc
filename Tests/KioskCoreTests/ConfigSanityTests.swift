import Foundation
import KioskCore
import Testing

/// KioskJSON's duplicate-key scanner: the kiosk takes the first key, Python tools take the last, so a document
/// that has one must be refused before either reads it.
@Suite struct DuplicateKeyTests {
    func dup(_ json: String) -> String? { KioskJSON.duplicateKey(in: Data(json.utf8)) }

    @Test func findsADuplicateAndNamesItsPath() {
        #expect(dup(#"{"a":1,"a":2}"#) == "a")
        #expect(dup(#"{"a":1,"b":{"c":1,"d":[1,{"e":1},{"e":1,"f":2,"e":3}]}}"#) == "b.d[2].e")
        #expect(dup(#"[{"k":1},{"x":{"y":{"z":1, "z" :2}}}]"#) == "[1].x.y.z")
        #expect(dup(" {\n\t\"outer\" : { \"inner\" : 1 } ,\r\n \"outer\" : 2 } ") == "outer")
    }

    @Test func escapedSpellingsOfOneKeyAreOneKey() {
        #expect(dup(#"{"a":1,"\u0061":2}"#) == "a")
        #expect(dup(#"{"\u0064esa_name":"x","desa_name":"y"}"#) == "desa_name")
        #expect(dup(#"{"a\"b":1,"a\u0022b":2}"#) == "a\"b")
        #expect(dup(#"{"tab\t":1,"tab\u0009":2}"#) == "tab\t")
        #expect(dup(#"{"\/":1,"/":2}"#) == "/")
        // A surrogate pair and the raw UTF-8 of the same scalar.
        #expect(dup(#"{"\ud83d\ude00":1,"😀":2}"#) == "😀")
    }

    @Test func sameKeyInDifferentObjectsOrInsideStringsIsNotADuplicate() {
        #expect(dup(#"{"a":{"k":1},"b":{"k":1},"c":[{"k":1},{"k":2}]}"#) == nil)
        #expect(dup(#"{"a":"{\"a\":1,\"a\":2}","b":"a"}"#) == nil)
        #expect(dup(#"{"a":1,"A":2,"a ":3}"#) == nil)
        #expect(dup("[]") == nil)
        #expect(dup("{}") == nil)
    }

    @Test func malformedInputIsLeftToTheDecoder() {
        #expect(dup(#"{"a":1,"b""#) == nil)
        #expect(dup("not json") == nil)
        #expect(dup(String(repeating: "[", count: 10_000)) == nil)  // nesting is capped, no stack overflow
    }

    @Test func strictDecodingRefusesTheDuplicateNamingTheField() throws {
        #expect(throws: ValidationError(field: "payload.kiosk.desa_name", reason: "duplicate key")) {
            try StrictJSON.decode([String: [String: String]].self,
                                  from: Data(#"{"kiosk":{"desa_name":"A","desa_name":"B"}}"#.utf8), root: "payload")
        }
        #expect(throws: ValidationError(field: "p.a", reason: "duplicate key")) {
            try StrictJSON.decode([String: Int].self, from: Data(#"{"a":1,"\u0061":2}"#.utf8), root: "p")
        }
        #expect(throws: (any Error).self) { try KioskJSON.decode([String: Int].self, from: Data(#"{"a":1,"a":2}"#.utf8)) }
        #expect(try KioskJSON.decode([String: Int].self, from: Data(#"{"a":1,"b":2}"#.utf8)) == ["a": 1, "b": 2])
    }

    @Test func unsafeTextScanNamesTheFirstOffendingString() {
        func scan(_ json: String, _ max: Int = 100) -> String? {
            KioskJSON.firstUnsafeText(in: Data(json.utf8), maxLength: max)?.path
        }
        #expect(scan(#"{"a":"ok","b":[{"c":"\u001b[2J"}]}"#) == "b[0].c")
        #expect(scan(#"{"a":"line\nbreak"}"#) == "a")
        #expect(scan("{\"a\":\"rtl \u{202E}override\"}") == "a")
        #expect(scan("{\"a\":\"zero\u{200B}width\"}") == "a")
        #expect(scan(#"{"ke\u0007y":"fine"}"#) == "ke\u{07}y")
        #expect(scan(#"{"a":"abcdef"}"#, 5) == "a")
        #expect(scan(#"{"a":"Kelurahan Oebobo – Kota Kupang","n":5,"b":true}"#) == nil)
    }
}

@Suite struct KioskJSONTimeTests {
    @Test func timestampIsISO8601UTCWithOffset() {
        #expect(KioskJSON.timestamp(Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00Z")
        #expect(KioskJSON.timestamp(Date(timeIntervalSince1970: 1_795_877_581.9)) == "2026-11-28T14:53:01Z")
        #expect(KioskJSON.timestamp(Date(timeIntervalSince1970: -1)) == "1969-12-31T23:59:59Z")
        #expect(KioskJSON.timestamp(Date(timeIntervalSince1970: 951_782_400)) == "2000-02-29T00:00:00Z")
        // The reference-date encoding the issue complained about never appears.
        #expect(KioskJSON.timestamp(Date(timeIntervalSinceReferenceDate: 817_877_276.54)) == "2026-12-02T04:07:56Z")
    }

    @Test func dateParsesOffsetsAndFractions() throws {
        let utc = try #require(KioskJSON.date("2026-12-02T06:53:01Z"))
        #expect(KioskJSON.date("2026-12-02T14:53:01+08:00") == utc)
        #expect(KioskJSON.date("2026-12-01T23:53:01-07:00") == utc)
        #expect(KioskJSON.date("2026-12-02t06:53:01z") == utc)
        let fractional = try #require(KioskJSON.date("2026-12-02T06:53:01.250Z"))
        #expect(abs(fractional.timeIntervalSince(utc) - 0.25) < 1e-6)
        for bad in ["2026-12-02T06:53:01", "2026-12-02", "2026-02-30T00:00:00Z", "2026-12-02T24:00:00Z",
                    "2026-12-02T06:53:01+8:00", "2026-12-02T06:53:01.Z", "yesterday", ""] {
            #expect(KioskJSON.date(bad) == nil, "\(bad)")
        }
    }

    @Test(arguments: [0.0, 1.0, -86_401.0, 1_795_877_581.0, 4_133_980_799.0, -62_135_596_800.0, 253_402_300_799.0])
    func timestampAndDateRoundTrip(_ seconds: Double) throws {
        let date = Date(timeIntervalSince1970: seconds)
        let text = KioskJSON.timestamp(date)
        #expect(text.wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/) != nil, "\(text)")
        #expect(KioskJSON.date(text) == date)
    }

    @Test func encoderAndDecoderUseTheFormat() throws {
        struct Stamped: Codable, Equatable { var at: Date }
        let value = Stamped(at: Date(timeIntervalSince1970: 1_795_877_581))
        let data = try KioskJSON.encode(value)
        #expect(String(decoding: data, as: UTF8.self) == #"{"at":"2026-11-28T14:53:01Z"}"#)
        #expect(try KioskJSON.decode(Stamped.self, from: data) == value)
        #expect(try KioskJSON.decode(Stamped.self, from: Data(#"{"at":"2026-11-28T22:53:01+08:00"}"#.utf8)) == value)
        #expect(throws: (any Error).self) { try KioskJSON.decode(Stamped.self, from: Data(#"{"at":817877276.54}"#.utf8)) }
    }
}

/// The rules engine must return on any profile, validated or not: no endless loop, no overflow trap.
@Suite(.timeLimit(.minutes(1))) struct RulesEngineRobustnessTests {
    func engine(_ edit: (inout JurisdictionProfile) -> Void) throws -> RulesEngine {
        var profile = try loadProfile("kota-kupang")
        edit(&profile)
        return RulesEngine(profile: profile)
    }

    @Test func allSevenDaysWeekendGivesUpInsteadOfSpinning() throws {
        let e = try engine { p in
            p.conventions.weekend = [1, 2, 3, 4, 5, 6, 7]
            p.services[0].deadline?.period = Period(10, .workingDays)
            p.services[0].products[0].sla?.period = Period(14, .workingDays)
        }
        let r = try e.evaluate(service: "birth", eventDate: d("2024-03-10"), reportDate: d("2024-09-01"))
        #expect(r.assessment == .indeterminate)
        #expect(r.deadline == nil)
        #expect(r.tier == nil)
        #expect(r.notes.contains { $0.en?.contains("cannot be computed") == true })
        #expect(r.issuance[0].due == nil)
        #expect(r.issuance[0].pending?.en?.contains("cannot be computed") == true)
        #expect(e.profile.conventions.date(Period(1, .workingDays), after: d("2024-01-01")) == nil)
    }

    @Test func holidaysCoveringEveryWorkingDayAlsoGiveUp() throws {
        var c = try loadProfile("kota-kupang").conventions
        c.weekend = [6, 7]
        let start = d("2024-01-01")
        c.holidays = (1...400).map { start.adding(days: $0) }
        #expect(c.date(Period(5, .workingDays), after: start) == d("2025-02-11"))  // past the holidays: computed
        #expect(c.date(Period(Int.max, .workingDays), after: start) == nil)  // bounded search, gives up
        c.weekend = []
        #expect(c.date(Period(Int.max, .workingDays), after: start) == nil)
    }

    @Test(arguments: [Period.Unit.days, .workingDays, .hours, .months, .years])
    func hugeOrNegativePeriodsNeverTrap(_ unit: Period.Unit) throws {
        for amount in [Int.max, Int.min, Int.max - 1, 3_000_000_000, -3_000_000_000] {
            let e = try engine { p in
                p.services[0].deadline?.period = Period(amount, unit)
                p.services[0].lateTiers = p.services[0].lateTiers?.map { t in
                    var t = t
                    if t.within != nil { t.within = Period(amount, unit) }
                    return t
                }
                p.services[0].products[0].sla?.period = Period(amount, unit)
                p.services[0].fine?.amountIDR = Int.max
            }
            let r = try e.evaluate(service: "birth", eventDate: d("2024-03-10"), reportDate: d("2024-09-01"),
                                   facts: ["requirements_complete_at": .string("2024-09-01T10:00")])
            // Either computed (e.g. a negative amount: a deadline before the event) or said to be uncomputable.
            #expect(r.assessment == .assessed || r.assessment == .indeterminate, "\(amount) \(unit)")
            if r.assessment == .indeterminate { #expect(r.deadline == nil) }
        }
    }

    @Test func fineOfIntMaxIsReportedAsIs() throws {
        let e = try engine { $0.services[0].fine?.amountIDR = Int.max }
        let r = try e.evaluate(service: "birth", eventDate: d("2022-01-05"), reportDate: d("2024-02-01"))
        #expect(r.fineIDR == Int.max)
    }

    @Test func civilDateArithmeticSaturates() {
        #expect(CivilDate(dayNumber: Int.max) == CivilDate.latest)
        #expect(CivilDate(dayNumber: Int.min) == CivilDate.earliest)
        #expect(CivilDate.latest.description == "9999-12-31")
        #expect(CivilDate.earliest.description == "0001-01-01")
        let x = d("2024-02-29")
        #expect(x.adding(days: Int.max) == CivilDate.latest)
        #expect(x.adding(days: Int.min) == CivilDate.earliest)
        #expect(x.adding(years: Int.max) == CivilDate.latest)
        #expect(x.adding(years: Int.min) == CivilDate.earliest)
        #expect(x.adding(months: Int.max) == CivilDate.latest)
        #expect(x.adding(months: Int.min) == CivilDate.earliest)
        #expect(x.adding(years: 8000) == CivilDate.latest)
        #expect(x.adding(days: 1) == d("2024-03-01"))
        #expect(x.adding(months: -2) == d("2023-12-29"))
        #expect(CivilDate.latest.adding(days: 1) == CivilDate.latest)
        #expect(CivilDate(dayNumber: CivilDate.latest.dayNumber) == CivilDate.latest)
        #expect(CivilDate(dayNumber: CivilDate.earliest.dayNumber) == CivilDate.earliest)
        #expect(LocalDateTime("2024-09-01T10:00")!.adding(hours: Int.max).date == CivilDate.latest)
        #expect(LocalDateTime("2024-09-01T10:00")!.adding(hours: Int.min).date == CivilDate.earliest)
    }
}

/// Profile and kiosk settings ranges (Kiosk/CONFIG-SCHEMA.md), each refusal naming its field.
@Suite struct ConfigRangeTests {
    func refusal(_ edit: (inout JurisdictionProfile) -> Void) throws -> String? {
        var p = try loadProfile("kota-kupang")
        edit(&p)
        do {
            try p.validate(root: "j")
            return nil
        } catch {
            return error.field
        }
    }

    @Test func shippedProfilesAreWithinTheRanges() throws {
        for id in ["kota-kupang", "kab-kupang", "ogan-ilir", "blora"] { _ = try loadProfile(id) }
        try KioskSettings.defaults(desaName: "Desa Tempellemahbang").validate(root: "k")
    }

    @Test func profileFieldsOutOfRangeAreNamed() throws {
        #expect(try refusal { $0.conventions.weekend = [1, 2, 3, 4, 5, 6, 7] } == "j.conventions.weekend")
        #expect(try refusal { $0.conventions.weekend = [6, 6] } == "j.conventions.weekend")
        #expect(try refusal { $0.conventions.weekend = [0] } == "j.conventions.weekend")
        #expect(try refusal { $0.conventions.weekend = [1, 2, 3, 4, 5, 6] } == nil)
        #expect(try refusal { $0.services[0].deadline?.period = Period(Int.max, .days) } == "j.services[0].deadline.period.amount")
        #expect(try refusal { $0.services[0].deadline?.period = Period(36_526, .days) } == "j.services[0].deadline.period.amount")
        #expect(try refusal { $0.services[0].products[0].sla?.period = Period(Int.max, .hours) }
                == "j.services[0].products[0].sla.period.amount")
        #expect(try refusal { $0.services[0].fine?.amountIDR = Int.max } == "j.services[0].fine.amount_idr")
        #expect(try refusal { $0.feeIDR = Int.max } == "j.fee_idr")
        #expect(try refusal { $0.conventions.holidays = [d("1970-01-01")] } == "j.conventions.holidays[0]")
        #expect(try refusal { $0.services[2].name.id = "Akta \u{1B}[2J" } == "j.services[2].name.id")
        #expect(try refusal { $0.name.en = "Kota \u{202E}gnapuK" } == "j.name.en")
        #expect(try refusal { $0.notes = [LocalizedText(String(repeating: "x", count: 4001), "x")] } == "j.notes[0].id")
    }

    @Test func kioskSettingsOutOfRangeAreNamed() {
        func field(_ edit: (inout KioskSettings) -> Void) -> String? {
            var k = KioskSettings.defaults(desaName: "Desa Tempellemahbang")
            edit(&k)
            do {
                try k.validate(root: "k")
                return nil
            } catch {
                return error.field
            }
        }
        #expect(field { $0.retentionDays = 0 } == "k.retention_days")
        #expect(field { $0.retentionDays = 3651 } == "k.retention_days")
        #expect(field { $0.retentionDays = 1 } == nil)
        #expect(field { $0.idleTimeoutSeconds = Int.max } == "k.idle_timeout_seconds")
        #expect(field { $0.desaName = "Desa \u{1B}]0;owned\u{07}" } == "k.desa_name")
        #expect(field { $0.desaName = String(repeating: "a", count: 101) } == "k.desa_name")
        #expect(field { $0.announcement = LocalizedText("Tutup\u{9B}2J", "Closed") } == "k.announcement.id")
        #expect(field { $0.announcement = LocalizedText("Tutup", "Closed\u{200B}") } == "k.announcement.en")
        #expect(field { $0.printerQueue = "receipt printer" } == "k.printer_queue")
        #expect(field { $0.openingHours[0].days = [1, 1] } == "k.opening_hours[0].days")
        #expect(field { $0.languages = [.id, .id] } == "k.languages")
    }
}
