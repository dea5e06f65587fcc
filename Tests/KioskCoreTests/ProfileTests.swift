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

    private func mutated(_ id: String = "kota-kupang", _ edit: (inout [String: Any]) -> Void) throws -> Data {
        let data = try Data(contentsOf: packageRoot.appendingPathComponent("Kiosk/profiles/\(id).json"))
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

    // MARK: Issue 16: every kiosk service can be filed

    /// Every label a resident reads: service names and summaries, facts, requirements, form fields, products.
    static func residentLabels(_ p: JurisdictionProfile) -> [(String, LocalizedText)] {
        var out: [(String, LocalizedText)] = []
        for s in p.services {
            out.append(("\(s.id).name", s.name))
            if let summary = s.summary { out.append(("\(s.id).summary", summary)) }
            for f in s.facts ?? [] { out.append(("\(s.id).facts.\(f.key)", f.label)) }
            for r in s.requirements {
                out.append(("\(s.id).requirements.\(r.id)", r.name))
                for a in r.alternatives ?? [] {
                    out.append(("\(s.id).requirements.\(r.id).\(a.id)", a.name))
                    if let note = a.note { out.append(("\(s.id).requirements.\(r.id).\(a.id).note", note)) }
                }
            }
            for f in s.form ?? [] {
                out.append(("\(s.id).form.\(f.key)", f.label))
                if let help = f.help { out.append(("\(s.id).form.\(f.key).help", help)) }
                for c in f.choices ?? [] { out.append(("\(s.id).form.\(f.key).\(c.id)", c.label)) }
            }
            for product in s.products { out.append(("\(s.id).products.\(product.id)", product.name)) }
        }
        return out
    }

    /// True when `text` holds `word` as a whole word (case-insensitive).
    static func hasWord(_ text: String, _ word: String) -> Bool {
        text.lowercased().range(of: "\\b\(word)\\b", options: .regularExpression) != nil
    }

    @Test(arguments: ids)
    func everyKioskServiceLeavesSomethingToSubmit(_ id: String) throws {
        let profile = try loadProfile(id)
        let engine = RulesEngine(profile: profile)
        let today = d("2025-06-02")
        for service in profile.services where service.kioskAvailable ?? true {
            // As the engine filters (services with a required fact cannot be evaluated without it: filter alike).
            let applying = (try? engine.evaluate(service: service.id, eventDate: today, reportDate: today))?.requirements
                ?? service.requirements.filter { $0.appliesWhen?.holds([:]) ?? true }.map(\.id)
            let fields = (service.form ?? []).filter { $0.appliesWhen?.holds([:]) ?? true }
            #expect(!applying.isEmpty || !fields.isEmpty, "\(id)/\(service.id) leaves nothing to submit")
            #expect(!(service.form ?? []).isEmpty, "\(id)/\(service.id) has no electronic form")
        }
    }

    @Test(arguments: ["kab-kupang", "ogan-ilir", "blora"])
    func nationalDefaultsSayWhereTheyComeFrom(_ id: String) throws {
        let profile = try loadProfile(id)
        for service in profile.services {
            for r in service.requirements {
                let at = "\(id)/\(service.id)/\(r.id)"
                let basis = try #require(r.basis, "\(at) has no basis")
                #expect(r.reference != nil, "\(at) has no reference")
                // These regulations list no requirements of their own, except Blora's birth package (BL A.1).
                #expect((basis == .dinas) == (id == "blora" && service.id == "birth" && r.id != "supporting-documents"), "\(at)")
                // Only articles quoted by a source ([Q] in national-requirements.md) count as confirmed.
                if basis == .national { #expect(r.reference?.contains("[Q]") == true, "\(at)") }
            }
        }
        let kota = try loadProfile("kota-kupang")
        for service in ["marriage", "kia"] {
            #expect(try #require(kota.service(service)).requirements.allSatisfy { $0.basis == .nationalUnconfirmed })
        }
    }

    @Test(arguments: ids)
    func residentLabelsCarryNoReferencesOrJargon(_ id: String) throws {
        let pattern = #"Pasal|PK \d|PB \d|OI \d|UU \d|BL [A-Z]\.?\d|\(gen\.\)|SHDK|TTE|SPTJM|SPJTM|A-\d\d"#
        for (path, label) in Self.residentLabels(try loadProfile(id)) {
            for text in [label.id, label.en ?? ""] {
                #expect(text.range(of: pattern, options: .regularExpression) == nil, "\(id)/\(path): \(text)")
            }
        }
    }

    @Test(arguments: ids)
    func eachLanguageStaysInItsOwnText(_ id: String) throws {
        let english = ["the", "and", "of", "with", "from", "for", "your", "card", "certificate", "letter", "other",
                       "if any", "birth", "death", "child", "family", "copy"]
        let indonesian = ["dan", "atau", "dari", "yang", "untuk", "jika", "surat", "dengan", "bagi", "anak", "orang"]
        for (path, label) in Self.residentLabels(try loadProfile(id)) {
            for word in english { #expect(!Self.hasWord(label.id, word), "\(id)/\(path): \"\(word)\" in \(label.id)") }
            for word in indonesian {
                #expect(!Self.hasWord(label.en ?? "", word), "\(id)/\(path): \"\(word)\" in \(label.en ?? "")")
            }
        }
    }

    @Test(arguments: ids)
    func formsProtectPersonalDataAndLeaveTheFlowItsSteps(_ id: String) throws {
        for service in try loadProfile(id).services {
            for f in service.form ?? [] {
                let at = "\(id)/\(service.id)/\(f.key)"
                #expect(f.kind != .phone, "\(at): the contact step asks the phone")
                #expect(!["nik", "applicant_nik", "event_date", "contact", "phone"].contains(f.key), "\(at)")
                if f.kind == .nik || f.key.hasSuffix("kk_number") || f.key.hasSuffix("birth_date") {
                    #expect(f.isProtected, "\(at) is personal data")
                }
            }
        }
    }

    @Test func beLanDAAndDoAAreFileableAtTheKiosk() throws {
        let kab = try loadProfile("kab-kupang")
        let birth = try #require(kab.service("birth"))
        #expect(birth.kioskAvailable ?? true)
        #expect(birth.requirements.contains { $0.id == "surat-keterangan-kelahiran" && $0.optional != true })
        let keys = Set((birth.form ?? []).map(\.key))
        #expect(keys.isSuperset(of: ["child_name", "child_sex", "birth_place", "birth_time", "birth_order",
                                     "reporter_relationship", "mother_nik", "father_nik", "witness1_nik", "witness2_nik"]))
        let b = try evaluate(kab, "birth", "2025-06-01", "2025-06-02")
        #expect(b.issuance.map(\.product) == ["akta-kelahiran", "kk", "kia"])
        #expect(b.issuance.map(\.printableAtKiosk) == [true, true, false])
        #expect(b.requirements.contains("kk"))

        let death = try #require(kab.service("death"))
        #expect(death.kioskAvailable ?? true)
        let widowed = try evaluate(kab, "death", "2025-06-01", "2025-06-02", ["surviving_spouse": .bool(true)])
        #expect(widowed.issuance.map(\.product) == ["akta-kematian", "kk", "ktp-el"])
        #expect(widowed.issued("ktp-el")?.printableAtKiosk == false)
        #expect(widowed.requirements.contains("surat-kematian") && widowed.requirements.contains("ktp-el-pasangan"))
        let alone = try evaluate(kab, "death", "2025-06-01", "2025-06-02", ["surviving_spouse": .bool(false)])
        #expect(!alone.requirements.contains("ktp-el-pasangan"))
        #expect(alone.issuance.map(\.product) == ["akta-kematian", "kk"])
        let spouse = try #require(death.form?.first { $0.key == "spouse_nik" })
        #expect(spouse.appliesWhen?.holds(["surviving_spouse": .bool(true)]) == true)
        #expect(spouse.appliesWhen?.holds([:]) == false)
    }

    @Test func servicesWithoutAListAreClosedOrSaySo() throws {
        for id in ["kab-kupang", "ogan-ilir", "blora"] {
            let profile = try loadProfile(id)
            for service in ["foreigner-itas-arrival", "foreigner-itap"] {
                let s = try #require(profile.service(service))
                #expect(s.kioskAvailable == false && !(s.gaps ?? []).isEmpty, "\(id)/\(service)")
            }
            let other = try #require(profile.service("other-vital-event"))
            #expect(other.requirements.map(\.id) == ["supporting-documents"])
            #expect(other.requirements.allSatisfy { $0.optional == true })
        }
        #expect(try loadProfile("ogan-ilir").service("data-verification")?.kioskAvailable ?? true)
        for id in ["kota-kupang", "kab-kupang", "blora"] {
            #expect(try loadProfile(id).service("data-verification")?.kioskAvailable == false)
        }
    }

    // MARK: Validation of forms and requirements (hostile bundles: each case is named, nothing traps)

    /// The error loading `profile` with one service edited, or nil when it loads.
    private func error(
        _ profile: String = "kab-kupang", service: String = "birth", _ edit: (inout [String: Any]) -> Void
    ) throws -> ValidationError? {
        let data = try mutated(profile) { o in
            var s = self.services(o)
            let i = s.firstIndex { $0["id"] as? String == service }!
            edit(&s[i])
            o["services"] = s
        }
        do {
            _ = try JurisdictionProfile.load(data, root: "p")
            return nil
        } catch {
            return error
        }
    }

    /// The error with the birth form's field `i` edited.
    private func formError(_ i: Int, _ edit: (inout [String: Any]) -> Void) throws -> ValidationError? {
        try self.error { s in
            var form = s["form"] as! [[String: Any]]
            edit(&form[i])
            s["form"] = form
        }
    }

    private func requirementError(_ i: Int, _ edit: (inout [String: Any]) -> Void) throws -> ValidationError? {
        try self.error { s in
            var reqs = s["requirements"] as! [[String: Any]]
            edit(&reqs[i])
            s["requirements"] = reqs
        }
    }

    @Test func formKeysMustBeSnakeCase() throws {
        for bad in ["Child_name", "child-name", "1child", "", "_x", String(repeating: "a", count: 41), "anak\u{7}"] {
            let e = try formError(0) { $0["key"] = bad }
            #expect(e?.field == "p.services[0].form[0].key", "\(bad)")
        }
        #expect(try formError(0) { $0["key"] = String(repeating: "a", count: 40) } == nil)
    }

    @Test func formKeysMustBeUnique() throws {
        let e = try formError(2) { $0["key"] = "child_name" }
        #expect(e == ValidationError(field: "p.services[0].form[2].key", reason: "duplicate form key child_name"))
    }

    @Test func formKeyMustNotBeAFact() throws {
        let e = try error(service: "death") { s in
            var form = s["form"] as! [[String: Any]]
            form[0]["key"] = "surviving_spouse"
            s["form"] = form
        }
        #expect(e?.field == "p.services[2].form[0].key")
        #expect(e?.reason.contains("fact") == true)
        let common = try formError(0) { $0["key"] = "requirements_complete_date" }
        #expect(common?.field == "p.services[0].form[0].key")
    }

    @Test func choiceFieldsNeedChoices() throws {
        #expect(try formError(1) { $0["choices"] = [Any]() }?.field == "p.services[0].form[1].choices")
        #expect(try formError(1) { $0.removeValue(forKey: "choices") }?.field == "p.services[0].form[1].choices")
    }

    @Test func choiceIdsMustBeUnique() throws {
        let e = try formError(1) { f in
            var choices = f["choices"] as! [[String: Any]]
            choices[1]["id"] = choices[0]["id"]
            f["choices"] = choices
        }
        #expect(e == ValidationError(field: "p.services[0].form[1].choices[1].id", reason: "duplicate choice id laki_laki"))
    }

    @Test func choiceIdsMustBeSnakeCase() throws {
        let e = try formError(1) { f in
            var choices = f["choices"] as! [[String: Any]]
            choices[0]["id"] = "Laki-laki"
            f["choices"] = choices
        }
        #expect(e?.field == "p.services[0].form[1].choices[0].id")
    }

    @Test func onlyChoiceFieldsHaveChoices() throws {
        let e = try formError(0) { $0["choices"] = [["id": "x", "label": ["id": "X"]]] }
        #expect(e == ValidationError(field: "p.services[0].form[0].choices", reason: "only choice fields have choices"))
    }

    @Test func numberFieldsNeedAnOrderedRange() throws {
        // form[5] is birth_order, 1…20.
        #expect(try formError(5) { $0["min"] = 30 }?.field == "p.services[0].form[5].min")
        #expect(try formError(5) { $0.removeValue(forKey: "max") }?.field == "p.services[0].form[5]")
        #expect(try formError(5) { $0.removeValue(forKey: "min") }?.field == "p.services[0].form[5]")
        #expect(try formError(5) { $0["min"] = Int.min; $0["max"] = Int.max } == nil)
        #expect(try formError(0) { $0["max"] = 3 }?.field == "p.services[0].form[0].max")
    }

    @Test func textLengthsStayWithinTheLimit() throws {
        for bad in [0, -1, 121, Int.max, Int.min] {
            #expect(try formError(0) { $0["max_length"] = bad }?.field == "p.services[0].form[0].max_length", "\(bad)")
        }
        #expect(try formError(0) { $0["max_length"] = 120 } == nil)
    }

    @Test func pageLimitsStayWithinTheLimit() throws {
        for bad in [0, -3, 21, Int.max, Int.min] {
            #expect(try requirementError(0) { $0["max_pages"] = bad }?.field == "p.services[0].requirements[0].max_pages")
        }
        #expect(try requirementError(0) { $0["max_pages"] = 20 } == nil)
    }

    @Test func requirementIdsMustBeUnique() throws {
        let e = try requirementError(1) { $0["id"] = "surat-keterangan-kelahiran" }
        #expect(e == ValidationError(field: "p.services[0].requirements[1].id",
                                     reason: "duplicate requirement id surat-keterangan-kelahiran"))
    }

    @Test func labelsMustNotBeEmpty() throws {
        #expect(try formError(0) { $0["label"] = ["id": "  ", "en": "Name"] }?.field == "p.services[0].form[0].label.id")
        #expect(try requirementError(0) { r in r["name"] = ["id": "Surat", "en": ""] }?.field
                == "p.services[0].requirements[0].name.en")
        let choice = try formError(1) { f in
            var choices = f["choices"] as! [[String: Any]]
            choices[0]["label"] = ["id": ""]
            f["choices"] = choices
        }
        #expect(choice?.field == "p.services[0].form[1].choices[0].label.id")
    }

    @Test func labelsMustNotHoldControlCharacters() throws {
        for bad in ["Nama\u{7}", "Nama\nanak", "\u{202E}Nama", "Nama\u{9B}"] {
            let e = try formError(0) { $0["label"] = ["id": bad, "en": "Name"] }
            #expect(e?.field.hasPrefix("p.services[0].form[0].label") == true, "\(bad.unicodeScalars.map(\.value))")
        }
    }

    @Test func onlyDatesArePast() throws {
        #expect(try formError(0) { $0["past"] = true }
                == ValidationError(field: "p.services[0].form[0].past", reason: "only date fields can be past"))
    }

    @Test func formConditionsUseDeclaredFacts() throws {
        let e = try formError(0) { $0["applies_when"] = ["fact": "shoe_size", "gte": 40] }
        #expect(e == ValidationError(field: "p.services[0].form[0].applies_when", reason: "uses undeclared fact shoe_size"))
    }

    @Test func aKioskServiceMustLeaveSomethingToSubmit() throws {
        let empty = try error { s in
            s["requirements"] = [Any]()
            s["form"] = [Any]()
        }
        #expect(empty?.field == "p.services[0]")
        // Everything conditional on a fact that is not given is as good as nothing.
        let conditional = try error(service: "death") { s in
            var reqs = s["requirements"] as! [[String: Any]]
            for i in reqs.indices { reqs[i]["applies_when"] = ["fact": "surviving_spouse", "equals": true] }
            s["requirements"] = reqs
            var form = s["form"] as! [[String: Any]]
            for i in form.indices { form[i]["applies_when"] = ["fact": "surviving_spouse", "equals": true] }
            s["form"] = form
        }
        #expect(conditional?.field == "p.services[2]")
        let closed = try error { s in
            s["requirements"] = [Any]()
            s["form"] = [Any]()
            s["kiosk_available"] = false
        }
        #expect(closed == nil)
        let formOnly = try error { s in s["requirements"] = [Any]() }
        #expect(formOnly == nil)
    }

    @Test func workingHoursAreCheckedWhenGiven() throws {
        func load(_ hours: Any) throws -> Result<JurisdictionProfile, ValidationError> {
            let data = try mutated("blora") { o in
                var c = o["conventions"] as! [String: Any]
                c["working_hours"] = hours
                o["conventions"] = c
            }
            do { return .success(try JurisdictionProfile.load(data, root: "p")) } catch { return .failure(error) }
        }
        let good = try load(["opens": "08:00", "closes": "16:00"]).get()
        #expect(good.conventions.workingHours == WorkingHours(opens: "08:00", closes: "16:00"))
        #expect(try loadProfile("blora").conventions.workingHours == nil)
        let cases: [([String: String], String)] = [
            (["opens": "16:00", "closes": "08:00"], "p.conventions.working_hours"),
            (["opens": "08:00", "closes": "08:00"], "p.conventions.working_hours"),
            (["opens": "8:00", "closes": "16:00"], "p.conventions.working_hours.opens"),
            (["opens": "08:00", "closes": "24:00"], "p.conventions.working_hours.closes"),
            (["opens": "08:60", "closes": "16:00"], "p.conventions.working_hours.opens"),
            (["opens": "٠٨:٠٠", "closes": "16:00"], "p.conventions.working_hours.opens"),
        ]
        for (hours, field) in cases {
            guard case .failure(let e) = try load(hours) else {
                Issue.record("\(hours) was accepted")
                continue
            }
            #expect(e.field == field, "\(hours)")
        }
    }
}
