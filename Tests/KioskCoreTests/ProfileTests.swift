import Foundation
import KioskCore
import Testing

@Suite struct ProfileTests {
    static let ids = ["kota-kupang", "kab-kupang", "ogan-ilir", "blora"]
    static let toolServiceIDs = [
        "birth", "stillbirth", "death", "marriage", "marriage-annulment", "divorce", "divorce-annulment",
        "child-adoption", "child-recognition", "child-legitimation", "name-change", "citizenship-change",
        "kk-new", "kk-change", "kk-replacement", "ktp-new", "ktp-replacement", "kia", "move-out", "move-in",
        "move-abroad", "arrival-from-abroad", "akta-correction", "data-verification",
    ]

    @Test(arguments: ids)
    func shippedProfileLoadsAndCarriesEveryToolService(_ id: String) throws {
        let profile = try loadProfile(id)
        #expect(profile.id == id)
        for service in Self.toolServiceIDs {
            #expect(profile.service(service) != nil, "\(id) lacks \(service)")
        }
        #expect(profile.feeIDR == 0)
        #expect(!profile.complaintChannels.isEmpty)
        #expect(profile.complaintChannels.allSatisfy { $0.reference != nil || $0.kind == "kiosk" })
    }

    @Test(arguments: ids)
    func cardsAreNeverPrintableAtTheKiosk(_ id: String) throws {
        let profile = try loadProfile(id)
        for service in profile.services {
            for product in service.products where product.id.hasPrefix("ktp") || product.id == "kia" {
                #expect(!product.printableAtKiosk, "\(id)/\(service.id)/\(product.id)")
            }
        }
    }

    @Test(arguments: ids)
    func everyMissingRuleIsSaidPlainly(_ id: String) throws {
        let profile = try loadProfile(id)
        for service in profile.services {
            if service.deadline == nil || service.products.contains(where: { $0.sla == nil }) {
                #expect(!(service.gaps ?? []).isEmpty, "\(id)/\(service.id) lacks a rule but says nothing")
            }
            if service.fine != nil { #expect(service.deadline?.period != nil, "\(id)/\(service.id): fine without deadline") }
        }
    }

    @Test func timeZonesFollowTheJurisdictions() throws {
        #expect(try loadProfile("kota-kupang").conventions.timeZoneName == "WITA")
        #expect(try loadProfile("kab-kupang").conventions.utcOffset == UTCOffset("+08:00"))
        #expect(try loadProfile("ogan-ilir").conventions.utcOffset == UTCOffset("+07:00"))
        #expect(try loadProfile("blora").conventions.timeZoneName == "WIB")
    }

    @Test func onlyKotaKupangCarriesPKFines() throws {
        for id in ["kab-kupang", "ogan-ilir", "blora"] {
            #expect(try loadProfile(id).services.allSatisfy { $0.fine == nil && $0.lateTiers == nil })
        }
    }

    private func mutated(_ edit: (inout [String: Any]) -> Void) throws -> Data {
        let data = try Data(contentsOf: packageRoot.appendingPathComponent("Kiosk/profiles/kota-kupang.json"))
        var object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        edit(&object)
        return try JSONSerialization.data(withJSONObject: object)
    }

    private func services(_ o: [String: Any]) -> [[String: Any]] { o["services"] as! [[String: Any]] }

    @Test func validationNamesTheFailingField() throws {
        let duplicate = try mutated { o in
            var s = self.services(o)
            s[1]["id"] = s[0]["id"]
            o["services"] = s
        }
        #expect(throws: ValidationError(field: "p.services[1].id", reason: "duplicate service id birth")) {
            try JurisdictionProfile.load(duplicate, root: "p")
        }
        let undeclared = try mutated { o in
            var s = self.services(o)
            s[0]["refusals"] = [["when": ["fact": "shoe_size", "gte": 40], "reason": ["id": "x"], "reference": "y"]]
            o["services"] = s
        }
        #expect { try JurisdictionProfile.load(undeclared, root: "p") } throws: {
            ($0 as? ValidationError)?.field == "p.services[0].refusals[0].when"
        }
        let missing = try mutated { o in o.removeValue(forKey: "conventions") }
        #expect(throws: ValidationError(field: "p.conventions", reason: "missing")) {
            try JurisdictionProfile.load(missing, root: "p")
        }
        let badDate = try mutated { o in
            var c = o["conventions"] as! [String: Any]
            c["holidays"] = ["2024-02-30"]
            o["conventions"] = c
        }
        #expect { try JurisdictionProfile.load(badDate, root: "p") } throws: {
            ($0 as? ValidationError)?.field == "p.conventions.holidays[0]"
        }
        #expect { try JurisdictionProfile.load(Data("{not json".utf8), root: "p") } throws: {
            ($0 as? ValidationError)?.reason == "not valid JSON"
        }
    }
}
