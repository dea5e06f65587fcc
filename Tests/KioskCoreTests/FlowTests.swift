import Foundation
import KioskCore
import KioskTestSupport
import Testing

private let today = d("2026-11-22")
private let nikText = "5371014503240001"

private func nik() throws -> NIK { try NIK(nikText, today: today) }
private func summary(_ token: String, pages: Int = 1) -> ScanSummary { ScanSummary(token: token, pages: pages, preview: nil) }
private let code: TrackingCode = {
    var g = SystemRandomNumberGenerator()
    return TrackingCode(using: &g)
}()
private let receipt = SubmissionReceipt(trackingCode: code, expected: [], receiptProblem: nil)

/// Walks a Kota Kupang birth application to the deadline screen with a birth `daysAgo` days before today.
private func birthAtDeadline(daysAgo: Int) throws -> ApplyFlow {
    var f = ApplyFlow(profile: try loadProfile("kota-kupang"), today: today)
    _ = f.handle(.chooseCategory("pencatatan-sipil"))
    _ = f.handle(.chooseService("birth"))
    _ = f.handle(.card(try nik()))
    let target = today.adding(days: -daysAgo)
    // Step the picker the way a resident would: year, month, then day.
    _ = f.handle(.adjustDate(.year, target.year - today.year))
    _ = f.handle(.adjustDate(.month, target.month - f.datePicker.value.month))
    _ = f.handle(.adjustDate(.day, target.day - f.datePicker.value.day))
    #expect(f.datePicker.value == target)
    _ = f.handle(.confirm)
    #expect(f.step == .fact(0))
    _ = f.handle(.chooseFact(.string("wni")))
    return f
}

@Suite struct ApplyFlowTests {
    @Test func birthOnTimeToReceipt() throws {
        var f = try birthAtDeadline(daysAgo: 20)
        #expect(f.step == .deadline)
        #expect(f.evaluation?.tier == .onTime)
        #expect(f.requirements.map(\.id) == ["surat-kelahiran", "identitas-saksi", "kk-orang-tua", "ktp-orang-tua", "akta-nikah-orang-tua"])
        _ = f.handle(.confirm)
        FormSamples.fill(&f, nik: nikText)
        for i in 0..<4 {
            #expect(f.step == .scan(i))
            #expect(f.handle(.confirm) == [])  // nothing scanned: cannot continue
            #expect(f.handle(.startScan) == [.scan(requirement: f.requirements[i].id, expectedPages: nil)])
            #expect(f.step == .scanning(i))
            #expect(f.isBusy)
            _ = f.handle(.scanFinished(.success(summary("t\(i)"))))
            _ = f.handle(.confirm)
        }
        #expect(f.step == .scan(4))
        _ = f.handle(.skipRequirement)  // the marriage certificate is optional
        #expect(f.step == .contact)
        for c in "081234567890" { _ = f.handle(.key(c)) }
        _ = f.handle(.confirm)
        #expect(f.step == .notify)
        #expect(f.handle(.chooseNotify("telegram")) == [] && f.step == .notify)  // only WhatsApp or SMS
        _ = f.handle(.chooseNotify("whatsapp"))
        #expect(f.step == .consent)
        _ = f.handle(.consent(true))
        #expect(f.step == .review)
        let effects = f.handle(.confirm)
        guard case .submit(let draft) = effects.first else { Issue.record("no submit: \(effects)"); return }
        #expect(draft.service == "birth")
        #expect(draft.applicant.digits == nikText)
        #expect(draft.eventDate == today.adding(days: -20))
        #expect(draft.facts == ["citizenship": .string("wni")])
        #expect(draft.contact == "081234567890")
        #expect(draft.notify == "whatsapp")
        #expect(draft.scans.count == 4)
        #expect(draft.form == f.formValues && draft.form.count == f.formFields.count && !draft.form.isEmpty)
        #expect(draft.consentVersion == ApplyFlow.consentVersion)
        #expect(draft.id == f.id)
        // Committed first; the receipt is its own effect, and its outcome only annotates the done step.
        #expect(f.handle(.submitted(.success(receipt))) == [.printReceipt(trackingCode: receipt.trackingCode.raw, language: f.language)])
        #expect(f.step == .done(receipt))
        #expect(f.heldScans.isEmpty)
        let jam = LocalizedText("Kertas macet.", "Paper jam.")
        #expect(f.handle(.receiptPrinted(jam)) == [])
        guard case .done(let after) = f.step else { Issue.record("left the done step: \(f.step)"); return }
        #expect(after.trackingCode == receipt.trackingCode)
        #expect(after.receiptProblem == jam && !after.receiptPrinted)
        _ = f.handle(.receiptPrinted(nil))
        guard case .done(let printed) = f.step else { return }
        #expect(printed.receiptPrinted && printed.receiptProblem == nil)
        #expect(f.handle(.confirm) == [.exit])
    }

    @Test func lateBirthNeedsApprovalAndShowsFine() throws {
        let f = try birthAtDeadline(daysAgo: 61)
        #expect(f.evaluation?.tier == .headApproval)
        #expect(f.evaluation?.fineIDR == 1_000_000)
        #expect(f.evaluation?.fineIndicative == true)
        let court = try birthAtDeadline(daysAgo: 800)
        #expect(court.evaluation?.tier == .courtOrder)
    }

    @Test func badNIKIsRefusedAndKeptForCorrection() throws {
        var f = ApplyFlow(profile: try loadProfile("kota-kupang"), today: today)
        _ = f.handle(.chooseCategory("pencatatan-sipil"))
        _ = f.handle(.chooseService("birth"))
        for c in "53710145032400" { _ = f.handle(.key(c)) }
        _ = f.handle(.key("x"))  // not a digit: ignored
        #expect(f.nikEntry.text == "53710145032400")
        _ = f.handle(.confirm)
        #expect(f.step == .identify)
        #expect(f.problem?.id.contains("16") == true)
        for c in "01" { _ = f.handle(.key(c)) }
        _ = f.handle(.key("9"))  // 17th digit: refused
        _ = f.handle(.confirm)
        #expect(f.step == .eventDate)
        #expect(f.applicant?.masked == NIK.mask(nikText))
        #expect(f.nikEntry.isEmpty)  // the typed NIK does not linger
        var g = ApplyFlow(profile: try loadProfile("kota-kupang"), today: today)
        _ = g.handle(.chooseCategory("pencatatan-sipil"))
        _ = g.handle(.chooseService("birth"))
        _ = g.handle(.cardUnreadable)
        #expect(g.problem != nil && g.step == .identify)
    }

    @Test func backWalksEveryStepToTheStart() throws {
        var f = try birthAtDeadline(daysAgo: 5)
        _ = f.handle(.confirm)
        let fields = FormSamples.fill(&f, nik: nikText)
        _ = f.handle(.startScan)
        #expect(f.handle(.back) == [.cancelScan])
        var seen: [ApplyFlow.Step] = [f.step]
        while true {
            let e = f.handle(.back)
            if e == [.exit] { break }
            seen.append(f.step)
            #expect(seen.count < 20)
        }
        let form = (0..<fields).reversed().map { ApplyFlow.Step.form($0) }
        #expect(seen == [.scan(0)] + form + [.deadline, .fact(0), .eventDate, .identify, .service(category: "pencatatan-sipil"), .category])
        #expect(f.applicant == nil)
    }

    @Test func scanFailureRetakeAndDiscard() throws {
        var f = try birthAtDeadline(daysAgo: 5)
        _ = f.handle(.confirm)
        FormSamples.fill(&f, nik: nikText)
        _ = f.handle(.startScan)
        let jam = ServiceFailure("scan_failed", LocalizedText("Kertas macet.", "Paper jam."))
        _ = f.handle(.scanFinished(.failure(jam)))
        #expect(f.step == .scan(0))
        #expect(f.problem == jam.message)
        _ = f.handle(.startScan)
        _ = f.handle(.scanFinished(.success(summary("first"))))
        // "Tambah halaman": a second scan adds its pages.
        _ = f.handle(.startScan)
        #expect(f.handle(.scanFinished(.success(summary("second", pages: 2)))) == [])
        #expect(f.pages("surat-kelahiran") == 3)
        // "Ulangi" drops every page of the requirement and scans again.
        #expect(f.handle(.retakeScan) == [.discardScan(token: "first"), .discardScan(token: "second"),
                                          .scan(requirement: "surat-kelahiran", expectedPages: nil)])
        _ = f.handle(.scanFinished(.success(summary("third", pages: 2))))
        #expect(f.scans["surat-kelahiran"]?.map(\.token) == ["third"])
        // Cancelling a scan keeps the earlier one.
        _ = f.handle(.startScan)
        #expect(f.handle(.cancelScan) == [.cancelScan])
        #expect(f.scans["surat-kelahiran"]?.map(\.token) == ["third"])
        #expect(f.heldScans == ["third"])
        // A required requirement cannot be skipped.
        _ = f.handle(.confirm)
        #expect(f.step == .scan(1))
        _ = f.handle(.skipRequirement)
        #expect(f.step == .scan(1))
    }

    @Test func contactConsentAndSubmitFailure() throws {
        var f = ApplyFlow(profile: try loadProfile("ogan-ilir"), today: today)
        let category = f.categories[0].id
        let service = f.services(in: category)[0].id
        _ = f.handle(.chooseCategory(category))
        _ = f.handle(.chooseService(service))
        _ = f.handle(.card(try nik()))
        _ = f.handle(.confirm)
        while case .fact = f.step { _ = f.handle(.chooseFact(nil)) }
        _ = f.handle(.confirm)
        FormSamples.fill(&f, nik: nikText)
        while case .scan = f.step {
            _ = f.handle(.startScan)
            _ = f.handle(.scanFinished(.success(summary(UUID().uuidString))))
            _ = f.handle(.confirm)
        }
        #expect(f.step == .contact)
        for c in "1234" { _ = f.handle(.key(c)) }
        _ = f.handle(.confirm)
        #expect(f.step == .contact && f.problem != nil)
        for _ in 0..<4 { _ = f.handle(.backspace) }
        _ = f.handle(.confirm)  // no contact is allowed
        _ = f.handle(.consent(false))
        #expect(f.step == .consent && f.problem != nil)
        #expect(f.draft(language: .id) == nil)
        _ = f.handle(.consent(true))
        let effects = f.handle(.confirm)
        #expect(effects.count == 1)
        let down = ServiceFailure("store_failed", LocalizedText("Penyimpanan penuh.", "Storage full."))
        _ = f.handle(.submitted(.failure(down)))
        #expect(f.step == .review)
        #expect(f.problem == down.message)
        // The same draft (same id) is sent again: nothing lost, nothing doubled.
        #expect(f.handle(.confirm) == effects)
    }

    @Test func requiredIntFactUsesTheKeypad() throws {
        var f = ApplyFlow(profile: try loadProfile("kota-kupang"), today: today)
        _ = f.handle(.chooseCategory("pencatatan-sipil"))
        _ = f.handle(.chooseService("stillbirth"))
        _ = f.handle(.card(try nik()))
        _ = f.handle(.confirm)
        let i = f.askedFacts.firstIndex { $0.key == "gestation_weeks" }!
        while f.step != .fact(i) { _ = f.handle(.chooseFact(nil)) }
        _ = f.handle(.confirm)
        #expect(f.step == .fact(i) && f.problem != nil)
        for c in "30" { _ = f.handle(.key(c)) }
        _ = f.handle(.confirm)
        #expect(f.facts["gestation_weeks"] == .int(30))
    }
}

@Suite struct EntryTests {
    @Test func datePickerMovesLikeACalendarAndNeverPassesToday() {
        var p = DatePicker(value: d("2024-01-31"), earliest: d("2000-01-01"), latest: d("2024-03-15"))
        p.adjust(.month, by: 1)
        #expect(p.value == d("2024-02-29"))  // day clamped to the month
        p.adjust(.year, by: 1)
        #expect(p.value == d("2024-03-15"))  // never after the latest date
        p.adjust(.day, by: -15)
        #expect(p.value == d("2024-02-29"))  // the day moves back across the month end
        var q = DatePicker(value: d("2024-03-01"), earliest: d("2000-01-01"), latest: d("2030-01-01"))
        q.adjust(.day, by: -1)
        #expect(q.value == d("2024-02-29"))  // no wrap-around to 31 March
        q.adjust(.month, by: -2)
        #expect(q.value == d("2023-12-29"))  // the month moves back across the year end
        q.adjust(.month, by: 1)
        #expect(q.value == d("2024-01-29"))
        // The field report's cases: on 1 December "−Tgl" is 30 November; on 2 December "+Bln" stays on today.
        var first = DatePicker(value: d("2026-12-01"), earliest: d("2000-01-01"), latest: d("2026-12-01"))
        first.adjust(.day, by: -1)
        #expect(first.value == d("2026-11-30"))
        var second = DatePicker(value: d("2026-12-02"), earliest: d("2000-01-01"), latest: d("2026-12-02"))
        second.adjust(.month, by: 1)
        #expect(second.value == d("2026-12-02"))
        second.adjust(.day, by: 1)
        #expect(second.value == d("2026-12-02"))
        var early = DatePicker(value: d("2000-01-05"), earliest: d("2000-01-01"), latest: d("2026-12-02"))
        early.adjust(.month, by: -1)
        #expect(early.value == d("2000-01-01"))  // never before the earliest date
        early.adjust(.year, by: Int.max)
        #expect(early.value == d("2026-12-02"), "a huge step is clamped, never a trap")
        #expect(DatePicker.long(d("2024-03-10"), .id) == "10 Maret 2024")
        #expect(DatePicker.long(d("2024-03-10"), .en) == "10 March 2024")
    }

    @Test func textEntryKinds() {
        var code = TextEntry(.trackingCode, maxLength: 8)
        for c in "abcd-0123" { code.type(c) }
        #expect(code.text == "ABCD23")  // 0 and 1 are not in the alphabet, dash ignored
        var free = TextEntry(.free, maxLength: 10)
        for c in "  a\u{1B}[31mb c" { free.type(c) }
        #expect(free.text == "a31mb c")  // no escape, no leading spaces
        #expect(PhoneNumber.check("081234567890") == nil)
        #expect(PhoneNumber.check("6281234567") == nil)
        #expect(PhoneNumber.check("12345678") != nil)
        #expect(PhoneNumber.masked("081234567890") == "0812*****890")
    }
}

@Suite struct LookupFlowTests {
    private func status(_ state: ApplicationState) -> ApplicationStatus {
        ApplicationStatus(trackingCode: code, serviceName: LocalizedText("Akta", "Cert"),
                          state: state, history: [], expected: [], reason: nil)
    }

    @Test func statusByCodeAndByCard() throws {
        var f = StatusFlow()
        for c in code.raw.lowercased().prefix(7) { _ = f.handle(.key(c)) }
        _ = f.handle(.confirm)
        #expect(f.step == .ask && f.problem != nil)  // 7 characters
        _ = f.handle(.key(code.raw.last!))
        #expect(f.handle(.confirm) == [.lookupStatus(trackingCode: code.raw)])
        #expect(f.isBusy)
        _ = f.handle(.found(.success([status(.ready)])))
        #expect(f.step == .results([status(.ready)]))
        _ = f.handle(.back)
        #expect(f.step == .ask && f.codeEntry.isEmpty)
        #expect(f.handle(.card(try nik())) == [.lookupApplications(try nik())])
        _ = f.handle(.found(.success([])))
        #expect(f.step == .ask && f.problem != nil)
        _ = f.handle(.card(try nik()))
        _ = f.handle(.found(.failure(ServiceFailure("not_found", LocalizedText("Tidak ada.", "None.")))))
        #expect(f.problem?.id == "Tidak ada.")
        #expect(f.handle(.back) == [.exit])
    }

    @Test func collectPrintsAndKeepsDocumentOnFault() throws {
        var f = CollectFlow(today: today)
        for c in nikText { _ = f.handle(.key(c)) }
        _ = f.handle(.confirm)
        #expect(f.step == .code)
        for c in code.raw { _ = f.handle(.key(c)) }
        #expect(f.handle(.confirm) == [.findDocuments(try nik(), trackingCode: code.raw)])
        let doc = ReadyDocument(id: "d1", name: LocalizedText("Akta", "Cert"), printsLeft: 1)
        _ = f.handle(.found(.success([doc])))
        #expect(f.handle(.print("d1")) == [.printDocument(id: "d1")])
        _ = f.handle(.progress(0.5))
        #expect(f.step == .printing(doc, progress: 0.5))
        let out = PrintReport(printed: false, sheets: 0, problem: LocalizedText("Kertas habis.", "Out of paper."))
        _ = f.handle(.printFinished(.success(out)))
        #expect(f.step == .printFailed(doc, out.problem!))
        _ = f.handle(.confirm)
        #expect(f.step == .documents && f.documents == [doc])  // kept, still printable
        _ = f.handle(.print("d1"))
        _ = f.handle(.printFinished(.success(PrintReport(printed: true, sheets: 1, problem: nil))))
        #expect(f.step == .printed(doc, sheets: 1))
        _ = f.handle(.back)
        #expect(f.documents.first?.printsLeft == 0)
        #expect(f.handle(.print("d1")) == [])  // allowance used up
        #expect(f.problem == CollectFlow.reprintLimitMessage, "told why, not silent")
        #expect(f.step == .documents)
        let failure = ServiceFailure("printer_unavailable", LocalizedText("Printer mati.", "Printer off."))
        var g = CollectFlow(today: today)
        _ = g.handle(.card(try nik()))
        for c in code.raw { _ = g.handle(.key(c)) }
        _ = g.handle(.confirm)
        _ = g.handle(.found(.success([doc])))
        _ = g.handle(.print("d1"))
        _ = g.handle(.printFinished(.failure(failure)))
        #expect(g.step == .printFailed(doc, failure.message))
    }

    @Test func complaintFlow() {
        var f = ComplaintFlow()
        _ = f.handle(.choose(.kiosk))
        for c in "rusak" { _ = f.handle(.key(c)) }
        _ = f.handle(.confirm)
        #expect(f.step == .contact)
        _ = f.handle(.confirm)
        let effects = f.handle(.confirm)
        #expect(effects == [.fileComplaint(Complaint(category: .kiosk, text: "rusak", contact: nil, language: .id))])
        _ = f.handle(.sent(.failure(ServiceFailure("x", LocalizedText("Gagal.", "Failed.")))))
        #expect(f.step == .review)
        _ = f.handle(.confirm)
        _ = f.handle(.sent(.success("PGD-1")))
        #expect(f.step == .sent(reference: "PGD-1"))
        #expect(f.handle(.confirm) == [.exit])
    }
}

@Suite struct SessionTests {
    /// Kota Kupang with the birth form left out: these tests are about the session, not the form.
    private func session() throws -> KioskSession {
        var profile = try loadProfile("kota-kupang")
        if let i = profile.services.firstIndex(where: { $0.id == "birth" }) { profile.services[i].form = nil }
        return KioskSession(profile: profile, today: today, now: 0, idleTimeout: 60)
    }

    @Test func idleWarningThenWipe() throws {
        var s = try session()
        #expect(s.idlePhase(now: 1000) == .active)  // pristine home: nothing to wipe
        _ = s.handle(.toggleLanguage, now: 0)
        _ = s.handle(.open(.apply), now: 0)
        _ = s.handle(.apply(.chooseCategory("pencatatan-sipil")), now: 1)
        #expect(s.idlePhase(now: 30) == .active)
        #expect(s.idlePhase(now: 45) == .warning(secondsLeft: 16))
        _ = s.handle(.stillHere, now: 45)
        #expect(s.idlePhase(now: 60) == .active)
        #expect(s.tick(now: 100, today: today) == [])
        #expect(s.tick(now: 106, today: today) == [.wiped(discardScans: [])])
        #expect(s.screen == .home)
        #expect(s.language == .id)
    }

    @Test func wipeDiscardsHeldScansAndBusyPausesTheTimer() throws {
        var s = try session()
        _ = s.handle(.open(.apply), now: 0)
        _ = s.handle(.apply(.chooseCategory("pencatatan-sipil")), now: 0)
        _ = s.handle(.apply(.chooseService("birth")), now: 0)
        _ = s.handle(.card(.inserted(try nik())), now: 0)
        _ = s.handle(.apply(.confirm), now: 0)
        _ = s.handle(.apply(.chooseFact(.string("wni"))), now: 0)
        _ = s.handle(.apply(.confirm), now: 0)
        #expect(s.handle(.apply(.startScan), now: 0) == [.flow(.scan(requirement: "surat-kelahiran", expectedPages: nil))])
        #expect(s.tick(now: 500, today: today) == [])  // scanning: not idle
        _ = s.handle(.apply(.scanFinished(.success(summary("keep")))), now: 500)
        #expect(s.tick(now: 530, today: today) == [])
        #expect(s.tick(now: 561, today: today) == [.wiped(discardScans: ["keep"])])
    }

    @Test func homeAndBackLeaveFlowsAndDropScans() throws {
        var s = try session()
        _ = s.handle(.toggleLanguage, now: 0)
        _ = s.handle(.open(.status), now: 0)
        #expect(s.handle(.back, now: 1) == [])
        #expect(s.screen == .home)
        #expect(s.language == .en)  // back and Home keep the chosen language
        _ = s.handle(.open(.collect), now: 2)
        #expect(s.handle(.card(.inserted(try nik())), now: 2) == [])
        if case .collect(let f) = s.screen { #expect(f.step == .code) } else { Issue.record("not collect") }
        #expect(s.handle(.home, now: 3) == [.wiped(discardScans: [])])
        #expect(s.screen == .home && s.language == .en)
        // Card taps on the home screen are ignored.
        #expect(s.handle(.card(.inserted(try nik())), now: 4) == [])
        #expect(s.screen == .home)
    }
}

/// The electronic form, multi-page scans and date typing, on a Kota Kupang birth whose form is set here (the
/// profiles' own forms are checked by the every-service walk).
@Suite struct ApplyFormTests {
    static let fields: [FormField] = [
        FormField(key: "child_name", kind: .name, label: LocalizedText("Nama anak", "Child's name"), maxLength: 30),
        FormField(key: "child_sex", kind: .choice, label: LocalizedText("Jenis kelamin", "Sex"),
                  choices: [.init(id: "laki_laki", label: LocalizedText("Laki-laki", "Male")),
                            .init(id: "perempuan", label: LocalizedText("Perempuan", "Female"))]),
        FormField(key: "birth_date", kind: .date, label: LocalizedText("Tanggal lahir", "Date of birth"), protected: true, past: true),
        FormField(key: "birth_time", kind: .time, label: LocalizedText("Jam lahir", "Time of birth"), required: false),
        FormField(key: "birth_order", kind: .number, label: LocalizedText("Anak ke-", "Birth order"), min: 1, max: 20),
        FormField(key: "mother_nik", kind: .nik, label: LocalizedText("NIK ibu", "Mother's NIK")),
        FormField(key: "father_nik", kind: .nik, label: LocalizedText("NIK ayah", "Father's NIK"), required: false),
    ]

    func flow() throws -> ApplyFlow {
        var profile = try loadProfile("kota-kupang")
        let i = try #require(profile.services.firstIndex { $0.id == "birth" })
        profile.services[i].form = Self.fields
        var f = ApplyFlow(profile: profile, today: today)
        _ = f.handle(.chooseCategory("pencatatan-sipil"))
        _ = f.handle(.chooseService("birth"))
        _ = f.handle(.card(try nik()))
        _ = f.handle(.adjustDate(.day, -10))
        _ = f.handle(.confirm)
        _ = f.handle(.chooseFact(.string("wni")))
        _ = f.handle(.confirm)
        return f
    }

    @Test func everyKindValidatesAndTheReviewMasksProtectedAnswers() throws {
        var f = try self.flow()
        #expect(f.step == .form(0))
        // Name: letters only; digits are not even taken by its keyboard.
        #expect(f.handle(.confirm) == [] && f.problem != nil && f.step == .form(0))
        for c in "MARIA 9NDUN" { _ = f.handle(.key(c)) }
        #expect(f.formEntry.text == "MARIA NDUN")
        _ = f.handle(.confirm)
        #expect(f.step == .form(1) && f.formValues["child_name"] == "MARIA NDUN")
        // Choice: only a listed id, by button; "Lanjut" alone says to choose.
        _ = f.handle(.confirm)
        #expect(f.step == .form(1) && f.problem != nil)
        _ = f.handle(.chooseField("other"))
        #expect(f.step == .form(1))
        _ = f.handle(.chooseField("perempuan"))
        #expect(f.step == .form(2))
        // Date: a past date; typing tomorrow is refused with a reason, a real past date is taken.
        for c in "23112026" { _ = f.handle(.key(c)) }
        _ = f.handle(.confirm)
        #expect(f.step == .form(2) && f.problem?.id.contains("setelah") == true)
        for _ in 0..<8 { _ = f.handle(.backspace) }
        for c in "3102" { _ = f.handle(.key(c)) }
        for c in "2026" { _ = f.handle(.key(c)) }  // 31 February
        _ = f.handle(.confirm)
        #expect(f.step == .form(2) && f.problem != nil)
        for _ in 0..<8 { _ = f.handle(.backspace) }
        for c in "12112026" { _ = f.handle(.key(c)) }
        _ = f.handle(.confirm)
        #expect(f.formValues["birth_date"] == "2026-11-12")
        // Time: optional, so an empty answer moves on; a bad one is refused.
        #expect(f.step == .form(3))
        for c in "2575" { _ = f.handle(.key(c)) }
        _ = f.handle(.confirm)
        #expect(f.step == .form(3) && f.problem != nil)
        for _ in 0..<4 { _ = f.handle(.backspace) }
        for c in "0930" { _ = f.handle(.key(c)) }
        _ = f.handle(.confirm)
        #expect(f.formValues["birth_time"] == "09:30")
        // Number within its range.
        for c in "21" { _ = f.handle(.key(c)) }
        _ = f.handle(.confirm)
        #expect(f.step == .form(4) && f.problem != nil)
        _ = f.handle(.backspace)
        _ = f.handle(.backspace)
        _ = f.handle(.key("2"))
        _ = f.handle(.confirm)
        // NIK validated like the applicant's.
        for c in "1234567890123456" { _ = f.handle(.key(c)) }
        _ = f.handle(.confirm)
        #expect(f.step == .form(5) && f.problem != nil)
        for _ in 0..<16 { _ = f.handle(.backspace) }
        for c in nikText { _ = f.handle(.key(c)) }
        _ = f.handle(.confirm)
        // An optional NIK may be skipped; a required field may not.
        #expect(f.step == .form(6))
        _ = f.handle(.skipField)
        #expect(f.step == .scan(0))
        // Back into the form keeps what was typed.
        _ = f.handle(.back)
        #expect(f.step == .form(6))
        _ = f.handle(.back)
        #expect(f.step == .form(5) && f.formEntry.text == nikText)
        _ = f.handle(.skipField)
        #expect(f.step == .form(5))  // required
        #expect(f.formValues == ["child_name": "MARIA NDUN", "child_sex": "perempuan", "birth_date": "2026-11-12",
                                 "birth_time": "09:30", "birth_order": "2", "mother_nik": nikText])
        // What the review shows: protected answers masked, choices by label.
        let shown = Dictionary(uniqueKeysWithValues: f.formFields.compactMap { field in
            f.formValues[field.key].map { (field.key, field.display($0, .id)) }
        })
        #expect(shown["mother_nik"] == NIK.mask(nikText) && !shown.values.contains(nikText))
        #expect(shown["birth_date"] == "**-**-****")
        #expect(shown["child_sex"] == "Perempuan")
        // The same check refuses a hostile draft on kioskd's side.
        let service = try #require(f.service)
        #expect(throws: RulesError.self) { try service.checkForm(["child_name": "X"], facts: f.facts, today: today) }
        #expect(throws: RulesError.self) {
            try service.checkForm(f.formValues.merging(["extra": "1"]) { a, _ in a }, facts: f.facts, today: today)
        }
        #expect(throws: RulesError.self) {
            try service.checkForm(f.formValues.merging(["child_name": "A\u{1B}[2J"]) { _, b in b }, facts: f.facts, today: today)
        }
        try service.checkForm(f.formValues, facts: f.facts, today: today)
    }

    @Test func pagesAddUpToTheLimitAndOptionalOnesAreSkipped() throws {
        var f = try self.flow()
        FormSamples.fill(&f, nik: nikText)
        #expect(f.step == .scan(0))
        let req = f.requirements[0]
        #expect(f.handle(.skipRequirement) == [] && f.step == .scan(0) && f.problem != nil)  // required: told why
        var n = 0
        while f.pages(req.id) < req.pageLimit {
            _ = f.handle(.startScan)
            _ = f.handle(.scanFinished(.success(summary("p\(n)"))))
            n += 1
        }
        // One page too many: refused, told, and the surplus scan discarded.
        #expect(f.handle(.startScan) == [] && f.problem != nil)
        var g = try self.flow()
        FormSamples.fill(&g, nik: nikText)
        _ = g.handle(.startScan)
        _ = g.handle(.scanFinished(.success(summary("a", pages: req.pageLimit))))
        _ = g.handle(.startScan)
        #expect(g.problem != nil)
        #expect(g.pages(req.id) == req.pageLimit)
        // An optional requirement: "Lanjut" with no page says to scan or skip; "Lewati" moves on.
        while case .scan(let i) = g.step, g.requirements[i].optional != true {
            if g.pages(g.requirements[i].id) == 0 {
                _ = g.handle(.startScan)
                _ = g.handle(.scanFinished(.success(summary(UUID().uuidString))))
            }
            _ = g.handle(.confirm)
        }
        _ = g.handle(.confirm)
        #expect(g.problem?.id.contains("Lewati") == true)
        _ = g.handle(.skipRequirement)
        #expect(g.step == .contact)
        // No contact: no notification question, and no notification consent in the draft.
        _ = g.handle(.confirm)
        #expect(g.step == .consent)
        _ = g.handle(.consent(true))
        guard case .submit(let draft) = g.handle(.confirm).first else { Issue.record("no submit"); return }
        #expect(draft.notify == nil && draft.contact == nil)
        #expect(draft.scans[req.id]?.count == 1)
        #expect(draft.form.count == Self.fields.count)  // the sample answers the optional fields too
    }

    @Test func theEventDateCanBeTypedAndNeverLiesAfterToday() throws {
        var f = ApplyFlow(profile: try loadProfile("kota-kupang"), today: today)
        _ = f.handle(.chooseCategory("pencatatan-sipil"))
        _ = f.handle(.chooseService("birth"))
        _ = f.handle(.card(try nik()))
        for c in "01122026" { _ = f.handle(.key(c)) }
        _ = f.handle(.confirm)
        #expect(f.step == .eventDate && f.problem != nil)
        for _ in 0..<8 { _ = f.handle(.backspace) }
        for c in "0111202" { _ = f.handle(.key(c)) }
        _ = f.handle(.confirm)
        #expect(f.step == .eventDate && f.problem != nil)  // 7 digits
        _ = f.handle(.key("6"))
        #expect(f.datePicker.value == d("2026-11-01"))
        _ = f.handle(.confirm)
        #expect(f.step == .fact(0))
        // The buttons move, never wrap: 1 November − 1 day is 31 October; + 1 month from 22 November stays today.
        var p = DatePicker(value: d("2026-12-01"), earliest: d("2000-01-01"), latest: d("2026-12-02"))
        p.adjust(.day, by: -1)
        #expect(p.value == d("2026-11-30"))
        var q = DatePicker(value: d("2026-12-02"), earliest: d("2000-01-01"), latest: d("2026-12-02"))
        q.adjust(.month, by: 1)
        #expect(q.value == d("2026-12-02"))
    }
}

/// "Perbaiki": a returned application corrected at the kiosk, from Cek Status through the session.
@Suite struct CorrectionFlowTests {
    @Test func aReturnedApplicationIsCorrectedAndResubmittedUnderItsID() throws {
        var profile = try loadProfile("kota-kupang")
        let b = try #require(profile.services.firstIndex { $0.id == "birth" })
        profile.services[b].form = ApplyFormTests.fields
        let id = UUID()
        let request = CorrectionRequest(applicationID: id, service: "birth", requirements: ["surat-kelahiran"],
                                        fields: ["child_name"])
        let status = ApplicationStatus(trackingCode: code, serviceName: LocalizedText("Akta", "Deed"), state: .returnedForCorrection,
                                       history: [], expected: [], reason: "Foto surat kelahiran buram", correction: request)
        var s = KioskSession(profile: profile, today: today, now: 0, idleTimeout: 120)
        _ = s.handle(.open(.status), now: 1)
        for c in code.raw { _ = s.handle(.status(.key(c)), now: 1) }
        _ = s.handle(.status(.confirm), now: 1)
        _ = s.handle(.status(.found(.success([status]))), now: 1)
        _ = s.handle(.status(.correct), now: 2)
        guard case .apply(var f) = s.screen else { Issue.record("no correction flow: \(s.screen)"); return }
        #expect(f.correction == request && f.id == id && f.step == .identify)
        _ = f.handle(.card(try nik()))
        // Only what the Dinas named: one form field, one document.
        #expect(f.step == .form(0) && f.formFields.map(\.key) == ["child_name"])
        for c in "MARIA NDUN" { _ = f.handle(.key(c)) }
        _ = f.handle(.confirm)
        #expect(f.step == .scan(0) && f.requirements.map(\.id) == ["surat-kelahiran"])
        _ = f.handle(.startScan)
        _ = f.handle(.scanFinished(.success(summary("new-page"))))
        _ = f.handle(.confirm)
        // No contact or notification questions again: straight to the agreement, then the review.
        #expect(f.step == .consent)
        _ = f.handle(.consent(true))
        let effects = f.handle(.confirm)
        #expect(effects == [.resubmit(CorrectionDraft(id: id, applicant: try nik(), form: ["child_name": "MARIA NDUN"],
                                                      scans: ["surat-kelahiran": ["new-page"]], language: .id))])
        _ = f.handle(.submitted(.success(receipt)))
        #expect(f.step == .done(receipt))
        // Back from the first step leaves the correction (for the home screen), holding nothing.
        var g = ApplyFlow(profile: profile, today: today, correcting: request)
        #expect(g.handle(.back) == [.exit])
        // Without a correction offered, "Perbaiki" does nothing.
        var st = StatusFlow()
        for c in code.raw { _ = st.handle(.key(c)) }
        _ = st.handle(.confirm)
        var plain = status
        plain.correction = nil
        _ = st.handle(.found(.success([plain])))
        #expect(st.handle(.correct) == [])
    }

    @Test func aComplaintNumberIsFoundWithOrWithoutItsPrefix() throws {
        var f = StatusFlow()
        for c in "PGD-" + code.raw { _ = f.handle(.key(c)) }
        #expect(f.handle(.confirm) == [.lookupComplaint(reference: "PGD-" + code.formatted)])
        let answered = ComplaintStatus(reference: "PGD-" + code.formatted, category: .kiosk, filedAt: "2026-11-22 09:00",
                                       sent: true, answer: "Printer sudah diperbaiki.", answeredAt: "2026-11-23 10:00")
        _ = f.handle(.complaintFound(.success(answered)))
        #expect(f.step == .complaint(answered))
        // The bare 8 characters: tried as an application first, then as a complaint.
        var g = StatusFlow()
        for c in code.raw { _ = g.handle(.key(c)) }
        #expect(g.handle(.confirm) == [.lookupStatus(trackingCode: code.raw)])
        let none = ServiceFailure("not_found", LocalizedText("Tidak ada.", "None."))
        #expect(g.handle(.found(.failure(none))) == [.lookupComplaint(reference: "PGD-" + code.formatted)])
        _ = g.handle(.complaintFound(.failure(none)))
        #expect(g.step == .ask && g.problem?.id.contains("pengaduan") == true)
        // A complaint filed prints its slip after it is stored; the outcome is shown, not silent.
        var c = ComplaintFlow()
        _ = c.handle(.choose(.kiosk))
        for ch in "Printer macet" { _ = c.handle(.key(ch)) }
        _ = c.handle(.confirm)
        _ = c.handle(.confirm)
        _ = c.handle(.confirm)
        #expect(c.handle(.sent(.success("PGD-TEST-0001"))) == [.printComplaintSlip(reference: "PGD-TEST-0001", language: .id)])
        _ = c.handle(.slipPrinted(LocalizedText("Kertas habis.", "Out of paper.")))
        #expect(c.slip == .failed(LocalizedText("Kertas habis.", "Out of paper.")))
    }
}
