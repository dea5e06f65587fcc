import Foundation
import KioskCore
import Testing

@Suite struct KioskCtlCoreCommandTests {
    @Test func helpListsEveryCommandAndNoCommandIsAUsageError() {
        let help = ctl(["--help"])
        #expect(help.status == 0)
        for command in ["nik check", "catalog list", "catalog show", "rules evaluate", "keys generate", "config init",
                        "config sign", "config verify", "config show"] {
            #expect(help.out.contains(command))
        }
        #expect(ctl([]).status == 64)
        let unknown = ctl(["frobnicate", "now"])
        #expect(unknown.status == 64)
        #expect(unknown.err.contains("unknown command"))
        #expect(ctl(["nik", "check", "5371011708950003", "--bogus"]).status == 64)
    }

    @Test func nikCheckDecodesAndMasks() throws {
        let r = ctl(["nik", "check", "5371011708950003"])
        #expect(r.status == 0)
        #expect(r.out.contains("************0003"))
        #expect(!r.out.contains("5371011708950003"))
        #expect(r.out.contains("1995-08-17"))
        let j = try ctl(["nik", "check", "5371015708950003", "--json"]).object()
        #expect(j["birth_date"] as? String == "1995-08-17")
        #expect(j["sex"] as? String == "female")
        #expect(j["province_code"] as? String == "53")
        #expect(j["regency_code"] as? String == "71")
        #expect(j["district_code"] as? String == "01")
        #expect(j["nik_masked"] as? String == "************0003")
    }

    @Test(arguments: [
        ("12345", "wrong_length"), ("99710117089500031", "wrong_length"), ("9971011708950003", "unknown_province"),
        ("5300011708950003", "zero_regency"), ("5371001708950003", "zero_district"), ("5371013508950003", "invalid_birth_day"),
        ("5371011713950003", "invalid_birth_month"), ("5371013102950003", "invalid_birth_date"),
        ("5371011708950000", "zero_serial"), ("53710117O8950003", "not_digits"),
    ])
    func nikCheckRejectsWithItsReason(_ nik: String, _ code: String) throws {
        let human = ctl(["nik", "check", nik])
        #expect(human.status == 65)
        #expect(human.err.contains("NIK"))
        let json = ctl(["nik", "check", nik, "--json"])
        #expect(json.status == 65)
        let error = try #require(try json.object()["error"] as? [String: Any])
        #expect(error["code"] as? String == code)
    }

    @Test func nikCheckHonoursTodayForTheCentury() throws {
        let j = try ctl(["nik", "check", "5371010101300001", "--today", "2026-01-01", "--json"]).object()
        #expect(j["birth_date"] as? String == "1930-01-01")
        #expect(ctl(["nik", "check", "5371010101300001", "--today", "2026-13-01"]).status == 65)
        #expect(ctl(["nik", "check"]).status == 64)
    }

    @Test func catalogListAndShow() throws {
        let list = ctl(["catalog", "list", "--profile", "kota-kupang"])
        #expect(list.status == 0)
        #expect(list.out.contains("birth"))
        #expect(list.out.contains("Akta Kelahiran"))
        let entries = try #require(try ctl(["catalog", "list", "--profile", "blora", "--json"]).json() as? [[String: Any]])
        #expect(entries.contains { $0["id"] as? String == "birth" })
        let show = ctl(["catalog", "show", "birth", "--profile", "kota-kupang"])
        #expect(show.status == 0)
        #expect(show.out.contains("PK 48(1)"))
        #expect(show.out.contains("surat kelahiran"))
        let service = try ctl(["catalog", "show", "ktp-new", "--profile", "kota-kupang", "--json"]).object()
        let products = try #require(service["products"] as? [[String: Any]])
        #expect(products.first?["printable_at_kiosk"] as? Bool == false)
        #expect(ctl(["catalog", "show", "nope", "--profile", "kota-kupang"]).status == 65)
        #expect(ctl(["catalog", "list", "--profile", "atlantis"]).status == 65)
        #expect(ctl(["catalog", "list", "--profile", "../etc"]).status == 65)
        #expect(ctl(["catalog", "list"]).status == 64)
    }

    @Test func rulesEvaluateJSONHasTheContractKeys() throws {
        let r = ctl(["rules", "evaluate", "--profile", "kota-kupang", "--service", "stillbirth", "--event-date", "2024-08-01",
                     "--report-date", "2024-09-05", "--fact", "gestation_weeks=30", "--json"])
        #expect(r.status == 0)
        let j = try r.object()
        #expect(j["service"] as? String == "stillbirth")
        #expect(j["profile"] as? String == "kota-kupang")
        #expect(j["deadline"] as? String == "2024-08-31")
        #expect(j["days_late"] as? Int == 5)
        #expect(j["tier"] as? String == "late")
        #expect(j["fine_idr"] as? Int == 1_000_000)
        let issuance = try #require(j["issuance"] as? [[String: Any]])
        #expect(issuance.first?["product"] as? String == "sk-lahir-mati")
        #expect(issuance.first?["due"] as? String == "2024-09-19")
        #expect((j["references"] as? [String])?.contains("PK 65(1)") == true)
        let human = ctl(["rules", "evaluate", "--profile", "kota-kupang", "--service", "birth", "--event-date", "2024-03-10",
                         "--report-date", "2024-05-09"])
        #expect(human.status == 0)
        #expect(human.out.contains("2024-06-08"))
    }

    @Test func rulesEvaluateRejectsBadInputsClearly() {
        let base = ["rules", "evaluate", "--profile", "kota-kupang", "--service", "birth"]
        let before = ctl(base + ["--event-date", "2024-05-10", "--report-date", "2024-05-09"])
        #expect(before.status == 65)
        #expect(before.err.contains("before the event date"))
        let badDate = ctl(base + ["--event-date", "2024-02-30", "--report-date", "2024-05-09"])
        #expect(badDate.status == 65)
        #expect(badDate.err.contains("--event-date"))
        #expect(ctl(["rules", "evaluate", "--profile", "kota-kupang", "--service", "teleport", "--event-date", "2024-01-01",
                     "--report-date", "2024-01-02"]).status == 65)
        #expect(ctl(["rules", "evaluate", "--profile", "mars", "--service", "birth", "--event-date", "2024-01-01",
                     "--report-date", "2024-01-02"]).status == 65)
        #expect(ctl(base + ["--event-date", "2024-01-01"]).status == 64)
        #expect(ctl(base + ["--event-date", "2024-01-01", "--report-date", "2024-01-02", "--fact", "novalue"]).status == 64)
        let ineligible = ctl(["rules", "evaluate", "--profile", "kota-kupang", "--service", "ktp-new", "--event-date",
                              "2007-09-30", "--report-date", "2024-09-29", "--fact", "marital_status=belum_kawin", "--json"])
        #expect(ineligible.status == 65)
        #expect(ineligible.out.contains("not_eligible"))
    }
}
