import Foundation

/// The "Ajukan" flow (OI Pasal 13 steps a–f): service by category → identify → event details → deadline result →
/// each requirement scanned → contact → consent → review → submit → receipt. Pure: events in, effects out.
public struct ApplyFlow: Sendable, Equatable {
    public enum Step: Sendable, Equatable {
        case category
        case service(category: String)
        case identify
        case eventDate
        /// Index into `askedFacts`.
        case fact(Int)
        case deadline
        /// Index into `formFields`: the electronic form, one field at a time.
        case form(Int)
        /// Index into `requirements`.
        case scan(Int)
        case scanning(Int)
        case contact
        /// Whether to be told of progress by WhatsApp or SMS at the contact number (only with a contact).
        case notify
        case consent
        case review
        case submitting
        case done(SubmissionReceipt)
    }

    public static let consentVersion = "persetujuan-2026-1"
    public static let consentClause = LocalizedText(
        "Saya menyatakan data dan dokumen yang saya berikan benar. Saya setuju data ini dikirim ke Dinas "
            + "Kependudukan dan Pencatatan Sipil untuk memproses permohonan ini, dan salinan di kios dihapus "
            + "setelah Dinas menerimanya.",
        "I declare the data and documents I give are true. I agree that they are sent to the Dinas Kependudukan "
            + "dan Pencatatan Sipil to process this application, and that the kiosk's copy is deleted after the "
            + "Dinas has received it.")
    /// Where the consent comes from (staff screens and kioskctl; never on resident screens).
    public static let consentReference = "OI Pasal 13 ayat 1 huruf c"


    public let profile: JurisdictionProfile
    public let today: CivilDate
    public let id: UUID
    public private(set) var step: Step = .category
    /// Set when this flow corrects a returned application ("Perbaiki") instead of starting a new one.
    public let correction: CorrectionRequest?
    public private(set) var serviceID: String?
    public private(set) var applicant: NIK?
    public private(set) var nikEntry = TextEntry(.digits, maxLength: 16)
    public private(set) var datePicker: DatePicker
    public private(set) var facts: Facts = [:]
    public private(set) var factEntry = TextEntry(.digits, maxLength: 3)
    public private(set) var factDate: DatePicker
    public private(set) var evaluation: RuleEvaluation?
    public private(set) var rulesError: LocalizedText?
    public private(set) var requirements: [Requirement] = []
    /// Requirement id → its scans in order (each scan one or more pages).
    public private(set) var scans: [String: [ScanSummary]] = [:]
    /// The electronic form fields asked for this case (after the facts are known).
    public private(set) var formFields: [FormField] = []
    /// Field key → answer (strings as the manifest carries them).
    public private(set) var formValues: [String: String] = [:]
    public private(set) var formEntry = TextEntry(.digits, maxLength: 16)
    public private(set) var formDate: DatePicker
    public private(set) var contactEntry = TextEntry(.digits, maxLength: 15)
    /// "whatsapp", "sms" or nil (no notifications).
    public private(set) var notify: String?
    public private(set) var consentGiven = false
    /// The last problem to show on the current step (bad NIK, scan failed, submit failed, ...).
    public private(set) var problem: LocalizedText?
    /// The screen language, recorded with the application (set by the session).
    public var language: Language = .id

    public init(profile: JurisdictionProfile, today: CivilDate, id: UUID = UUID()) {
        self.init(profile: profile, today: today, id: id, correction: nil)
    }

    /// Assisted mode (PK 41/92): staff start the application on a resident's behalf; the draft names them.
    public init(profile: JurisdictionProfile, today: CivilDate, assistedBy staff: StaffIdentity, id: UUID = UUID()) {
        self.init(profile: profile, today: today, id: id, correction: nil)
        self.assistedBy = staff
    }

    /// "Perbaiki": the resident identifies as the applicant, answers again the form fields the Dinas named,
    /// scans again the documents it named, agrees, reviews and resubmits under the same application id.
    public init(profile: JurisdictionProfile, today: CivilDate, correcting request: CorrectionRequest) {
        self.init(profile: profile, today: today, id: request.applicationID, correction: request)
        self.serviceID = request.service
        self.step = .identify
    }

    /// Who helps the resident, in assisted mode.
    public private(set) var assistedBy: StaffIdentity?

    private init(profile: JurisdictionProfile, today: CivilDate, id: UUID, correction: CorrectionRequest?) {
        self.correction = correction
        self.profile = profile
        self.today = today
        self.id = id
        let earliest = today.adding(years: -100)
        self.datePicker = DatePicker(value: today, earliest: earliest, latest: today)
        self.factDate = DatePicker(value: today, earliest: earliest, latest: today.adding(years: 20))
        self.formDate = DatePicker(value: today, earliest: today.adding(years: -150), latest: today)
    }

    /// Pages scanned for a requirement so far.
    public func pages(_ requirement: String) -> Int { (self.scans[requirement] ?? []).reduce(0) { $0 + $1.pages } }

    public var service: Service? { self.serviceID.flatMap { self.profile.service($0) } }
    public var askedFacts: [FactSpec] { self.service?.facts ?? [] }

    /// Services the kiosk offers in a category, in catalog order.
    public func services(in category: String) -> [Service] {
        self.profile.services.filter { $0.category == category && $0.kioskAvailable != false }
    }

    public var categories: [JurisdictionProfile.Category] {
        self.profile.categories.filter { !self.services(in: $0.id).isEmpty }
    }

    /// Busy with a device or the store: the idle timer waits.
    public var isBusy: Bool {
        switch self.step {
        case .scanning, .submitting: return true
        default: return false
        }
    }

    /// Scan tokens held by this flow (to discard when the session is wiped).
    public var heldScans: [String] { self.scans.values.flatMap { $0.map(\.token) } }

    public enum Event: Sendable, Equatable {
        case chooseCategory(String)
        case chooseService(String)
        case card(NIK)
        case cardUnreadable
        case key(Character)
        case backspace
        /// "Lanjut": continue from the current step.
        case confirm
        case adjustDate(DatePicker.Field, Int)
        /// A choice or yes/no fact; nil skips an optional fact.
        case chooseFact(FactValue?)
        case startScan
        case cancelScan
        case scanFinished(Result<ScanSummary, ServiceFailure>)
        case skipRequirement
        /// "Ulangi": drop this requirement's pages and scan again.
        case retakeScan
        /// A choice field's answer (by choice id).
        case chooseField(String)
        /// "Lewati" on an optional form field.
        case skipField
        case chooseNotify(String?)
        case consent(Bool)
        case submitted(Result<SubmissionReceipt, ServiceFailure>)
        /// The receipt printed (nil) or what went wrong; the application is stored either way.
        case receiptPrinted(LocalizedText?)
        case back
    }

    public mutating func handle(_ event: Event) -> [FlowEffect] {
        switch (self.step, event) {
        case (_, .back):
            return self.goBack()
        case (.category, .chooseCategory(let c)) where !self.services(in: c).isEmpty:
            self.step = .service(category: c)
        case (.service(let c), .chooseService(let s)) where self.services(in: c).contains(where: { $0.id == s }):
            if s != self.serviceID {
                self.serviceID = s
                self.facts = [:]
            }
            self.step = .identify
        case (.identify, .card(let nik)):
            self.applicant = nik
            self.nikEntry.clear()
            self.problem = nil
            self.afterIdentify()
        case (.identify, .cardUnreadable):
            self.problem = CardTap.unreadableMessage
        case (.identify, .key(let c)):
            self.nikEntry.type(c)
            self.problem = nil
        case (.identify, .backspace):
            self.nikEntry.backspace()
        case (.identify, .confirm):
            do {
                self.applicant = try NIK(self.nikEntry.text, today: self.today)
                self.nikEntry.clear()
                self.problem = nil
                self.afterIdentify()
            } catch {
                self.problem = error.message
            }
        case (.eventDate, .adjustDate(let f, let delta)):
            self.datePicker.adjust(f, by: delta)
        case (.eventDate, .key(let c)):
            self.datePicker.type(c)
            self.problem = nil
        case (.eventDate, .backspace):
            self.datePicker.erase()
        case (.eventDate, .confirm):
            if let reason = self.datePicker.typingProblem {
                self.problem = reason
                return []
            }
            self.enterFact(0)
        case (.fact(let i), .chooseFact(let value)) where self.factAccepts(i, value):
            let spec = self.askedFacts[i]
            self.facts[spec.key] = value
            self.enterFact(i + 1)
        case (.fact, .key(let c)):
            self.factEntry.type(c)
        case (.fact, .backspace):
            self.factEntry.backspace()
        case (.fact(let i), .adjustDate(let f, let delta)) where self.askedFacts[i].kind == .date:
            self.factDate.adjust(f, by: delta)
        case (.fact(let i), .confirm):
            self.confirmFact(i)
        case (.deadline, .confirm) where self.rulesError == nil:
            self.enterForm(0)
        case (.form(let i), .key(let c)):
            if self.formFields[i].kind == .date {
                self.formDate.type(c)
            } else {
                self.formEntry.type(c)
            }
            self.problem = nil
        case (.form(let i), .backspace):
            if self.formFields[i].kind == .date { self.formDate.erase() } else { self.formEntry.backspace() }
        case (.form(let i), .adjustDate(let f, let delta)) where self.formFields[i].kind == .date:
            self.formDate.adjust(f, by: delta)
        case (.form(let i), .chooseField(let id)) where self.formFields[i].kind == .choice:
            self.answer(i, id)
        case (.form(let i), .skipField) where !self.formFields[i].isRequired:
            self.formValues[self.formFields[i].key] = nil
            self.enterForm(i + 1)
        case (.form(let i), .confirm):
            self.confirmField(i)
        case (.scan(let i), .startScan):
            let req = self.requirements[i]
            guard self.pages(req.id) < req.pageLimit else {
                self.problem = LocalizedText("Sudah \(req.pageLimit) halaman, batas untuk dokumen ini. Tekan Lanjut.",
                                             "That is \(req.pageLimit) pages, the limit for this document. Press Next.")
                return []
            }
            self.problem = nil
            self.step = .scanning(i)
            return [.scan(requirement: req.id, expectedPages: nil)]
        case (.scan(let i), .retakeScan):
            let req = self.requirements[i]
            let old = self.scans.removeValue(forKey: req.id) ?? []
            self.problem = nil
            self.step = .scanning(i)
            return old.map { .discardScan(token: $0.token) } + [.scan(requirement: req.id, expectedPages: nil)]
        case (.scanning(let i), .cancelScan):
            self.step = .scan(i)
            return [.cancelScan]
        case (.scanning(let i), .scanFinished(let result)):
            self.step = .scan(i)
            switch result {
            case .success(let summary):
                let req = self.requirements[i]
                var list = self.scans[req.id] ?? []
                guard !list.contains(where: { $0.token == summary.token }) else { break }
                self.problem = nil
                guard self.pages(req.id) + summary.pages <= req.pageLimit else {
                    self.problem = LocalizedText(
                        "Terlalu banyak halaman: paling banyak \(req.pageLimit) untuk dokumen ini. Halaman terakhir tidak disimpan.",
                        "Too many pages: at most \(req.pageLimit) for this document. The last scan was not kept.")
                    return [.discardScan(token: summary.token)]
                }
                list.append(summary)
                self.scans[req.id] = list
            case .failure(let f):
                self.problem = f.message
            }
        case (.scan(let i), .confirm):
            if self.pages(self.requirements[i].id) > 0 {
                self.enterScan(i + 1)
            } else if self.requirements[i].optional == true {
                self.problem = LocalizedText("Belum ada halaman. Tekan Pindai, atau Lewati bila tidak punya dokumen ini.",
                                             "No page yet. Press Scan, or Skip if you do not have this document.")
            } else {
                self.problem = LocalizedText("Dokumen ini wajib. Letakkan di pemindai lalu tekan Pindai.",
                                             "This document is required. Place it on the scanner and press Scan.")
            }
        case (.scan(let i), .skipRequirement):
            let req = self.requirements[i]
            guard req.optional == true else {
                self.problem = LocalizedText("Dokumen ini wajib dan tidak dapat dilewati.", "This document is required and cannot be skipped.")
                return []
            }
            let old = self.scans.removeValue(forKey: req.id) ?? []
            self.enterScan(i + 1)
            return old.map { .discardScan(token: $0.token) }
        case (.contact, .key(let c)):
            self.contactEntry.type(c)
            self.problem = nil
        case (.contact, .backspace):
            self.contactEntry.backspace()
        case (.contact, .confirm):
            self.problem = PhoneNumber.problem(self.contactEntry)
            if self.problem == nil {
                if self.contactEntry.isEmpty { self.notify = nil }
                self.step = self.contactEntry.isEmpty ? .consent : .notify
            }
        case (.notify, .chooseNotify(let channel)) where channel == nil || ApplyFlow.notifyChannels.contains(channel ?? ""):
            self.notify = channel
            self.step = .consent
        case (.consent, .consent(let yes)):
            self.consentGiven = yes
            if yes {
                self.problem = nil
                self.step = .review
            } else {
                self.problem = LocalizedText(
                    "Tanpa persetujuan, permohonan tidak dapat dikirim. Tekan Beranda untuk keluar.",
                    "Without your agreement the application cannot be sent. Press Home to leave.")
            }
        case (.review, .confirm):
            if let c = self.correction {
                guard let applicant = self.applicant, self.consentGiven else { return [] }
                self.problem = nil
                self.step = .submitting
                return [.resubmit(CorrectionDraft(id: c.applicationID, applicant: applicant, form: self.formValues,
                                                  scans: self.scans.mapValues { $0.map(\.token) }.filter { !$0.value.isEmpty },
                                                  language: self.language))]
            }
            guard let draft = self.draft(language: self.language) else { return [] }
            self.problem = nil
            self.step = .submitting
            return [.submit(draft)]
        case (.submitting, .submitted(let result)):
            switch result {
            case .success(let receipt):
                self.step = .done(receipt)
                // Scans now belong to the stored application.
                self.scans = [:]
                // Committed first; the receipt is a separate step that cannot undo it.
                return [.printReceipt(trackingCode: receipt.trackingCode.raw, language: self.language)]
            case .failure(let f):
                self.problem = f.message
                self.step = .review
            }
        case (.done(var receipt), .receiptPrinted(let problem)):
            receipt.receiptProblem = problem
            receipt.receiptPrinted = problem == nil
            self.step = .done(receipt)
        case (.done, .confirm):
            return [.exit]
        default:
            break
        }
        return []
    }

    /// The application as it would be submitted (nil until identity and consent are given).
    public func draft(language: Language) -> ApplicationDraft? {
        guard let service = self.serviceID, let applicant = self.applicant, self.consentGiven else { return nil }
        let contact = self.contactEntry.isEmpty ? nil : self.contactEntry.text
        return ApplicationDraft(
            id: self.id, service: service, applicant: applicant, eventDate: self.datePicker.value, facts: self.facts,
            contact: contact, scans: self.scans.mapValues { $0.map(\.token) }.filter { !$0.value.isEmpty },
            form: self.formValues, notify: contact == nil ? nil : self.notify,
            consentVersion: ApplyFlow.consentVersion, language: language, assistedBy: self.assistedBy?.staffID)
    }

    /// The channels a resident may choose to be told of progress (the Dinas sends them).
    public static let notifyChannels = ["whatsapp", "sms"]

    private mutating func answer(_ i: Int, _ value: String) {
        let field = self.formFields[i]
        if let reason = field.problem(value, today: self.today) {
            self.problem = reason
            return
        }
        self.formValues[field.key] = field.kind == .name || field.kind == .text ? value.trimmingSpaces : value
        self.enterForm(i + 1)
    }

    private mutating func confirmField(_ i: Int) {
        let field = self.formFields[i]
        switch field.kind {
        case .choice:
            self.problem = LocalizedText("Pilih salah satu pilihan di atas.", "Choose one of the options above.")
        case .date:
            if let reason = self.formDate.typingProblem {
                self.problem = reason
                return
            }
            self.answer(i, self.formDate.value.description)
        case .time:
            let digits = self.formEntry.text
            if digits.isEmpty, !field.isRequired {
                self.formValues[field.key] = nil
                self.enterForm(i + 1)
                return
            }
            guard digits.count == 4 else {
                self.problem = LocalizedText("Ketik 4 angka jam dan menit, misalnya 0930 untuk pukul 09.30.",
                                             "Type 4 digits for hours and minutes, e.g. 0930 for 09:30.")
                return
            }
            self.answer(i, String(digits.prefix(2)) + ":" + String(digits.suffix(2)))
        default:
            if self.formEntry.text.trimmingSpaces.isEmpty {
                if field.isRequired {
                    self.problem = FormField.emptyAnswer
                } else {
                    self.formValues[field.key] = nil
                    self.enterForm(i + 1)
                }
                return
            }
            self.answer(i, self.formEntry.text)
        }
    }

    /// Moves to form field `i` (skipping to the scans after the last one), its entry prepared with any answer
    /// given before, so "Kembali" never loses what was typed.
    private mutating func enterForm(_ i: Int) {
        self.problem = nil
        guard i < self.formFields.count else {
            self.enterScan(0)
            return
        }
        let field = self.formFields[i]
        let old = self.formValues[field.key]
        switch field.kind {
        case .nik: self.formEntry = TextEntry(.digits, maxLength: 16)
        case .phone: self.formEntry = TextEntry(.digits, maxLength: 15)
        case .time: self.formEntry = TextEntry(.digits, maxLength: 4)
        case .number: self.formEntry = TextEntry(.digits, maxLength: min(9, String(field.max ?? 999_999_999).count))
        case .name: self.formEntry = TextEntry(.name, maxLength: field.lengthLimit)
        case .text: self.formEntry = TextEntry(.free, maxLength: field.lengthLimit)
        case .choice: self.formEntry = TextEntry(.digits, maxLength: 0)
        case .date:
            let latest = field.past == true ? self.today : self.today.adding(years: 20)
            let value = old.flatMap { CivilDate(iso: $0) } ?? min(self.datePicker.value, latest)
            self.formDate = DatePicker(value: value, earliest: self.today.adding(years: -150), latest: latest)
        }
        if let old, field.kind != .date, field.kind != .choice {
            for c in field.kind == .time ? old.filter({ $0 != ":" }) : old { self.formEntry.type(c) }
        }
        self.step = .form(i)
    }

    private func factAccepts(_ i: Int, _ value: FactValue?) -> Bool {
        let spec = self.askedFacts[i]
        guard let value else { return spec.required != true }
        switch spec.kind {
        case .bool, .choice: return spec.check(value) == nil
        default: return false
        }
    }

    private mutating func confirmFact(_ i: Int) {
        let spec = self.askedFacts[i]
        switch spec.kind {
        case .int:
            if let n = Int(self.factEntry.text) {
                self.facts[spec.key] = .int(n)
            } else if spec.required == true {
                self.problem = LocalizedText("Isi angka terlebih dahulu.", "Enter a number first.")
                return
            }
        case .date:
            self.facts[spec.key] = .date(self.factDate.value)
        case .text:
            if !self.factEntry.isEmpty {
                self.facts[spec.key] = .string(self.factEntry.text)
            } else if spec.required == true {
                self.problem = LocalizedText("Isi jawaban terlebih dahulu.", "Enter an answer first.")
                return
            }
        case .bool, .choice:
            return
        }
        self.enterFact(i + 1)
    }

    private mutating func enterFact(_ i: Int) {
        self.problem = nil
        guard i < self.askedFacts.count else {
            self.evaluate()
            self.step = .deadline
            return
        }
        let spec = self.askedFacts[i]
        self.factEntry = TextEntry(spec.kind == .text ? .free : .digits, maxLength: spec.kind == .text ? 60 : 3)
        if case .date(let d) = self.facts[spec.key] {
            self.factDate = DatePicker(value: d, earliest: self.factDate.earliest, latest: self.factDate.latest)
        }
        self.step = .fact(i)
    }

    private mutating func enterScan(_ i: Int) {
        self.problem = nil
        // A correction keeps the contact the resident gave; it goes straight on to the agreement.
        self.step = i < self.requirements.count ? .scan(i) : (self.correction == nil ? .contact : .consent)
    }

    /// After the NIK: a new application asks the event date; a correction goes to what the Dinas named.
    private mutating func afterIdentify() {
        guard let c = self.correction, let service = self.service else {
            self.step = .eventDate
            return
        }
        let fields = Set(c.fields), reqs = Set(c.requirements)
        self.formFields = (service.form ?? []).filter { fields.contains($0.key) }
        self.requirements = service.requirements.filter { r in
            reqs.contains(r.id) || (r.alternatives ?? []).contains { reqs.contains($0.id) }
        }
        self.enterForm(0)
    }

    private mutating func evaluate() {
        guard let service = self.service else { return }
        do {
            let e = try RulesEngine(profile: self.profile).evaluate(
                service: service.id, eventDate: self.datePicker.value, reportDate: self.today, facts: self.facts)
            self.evaluation = e
            self.rulesError = nil
            self.requirements = service.requirements.filter { e.requirements.contains($0.id) }
            self.formFields = service.formFields(for: self.facts)
            // Answers to fields no longer asked (the facts changed) are not sent.
            let asked = Set(self.formFields.map(\.key))
            self.formValues = self.formValues.filter { asked.contains($0.key) }
        } catch {
            self.evaluation = nil
            self.rulesError = error.message
            self.requirements = []
            self.formFields = []
        }
    }

    private mutating func goBack() -> [FlowEffect] {
        self.problem = nil
        switch self.step {
        case .category: return [.exit]
        case .service: self.step = .category
        case .identify:
            if self.correction != nil { return [.exit] }
            self.applicant = nil
            self.nikEntry.clear()
            self.step = .service(category: self.service?.category ?? "")
        case .eventDate: self.step = .identify
        case .fact(let i): self.step = i == 0 ? .eventDate : .fact(i - 1)
        case .deadline:
            self.step = self.askedFacts.isEmpty ? .eventDate : .fact(self.askedFacts.count - 1)
        case .form(let i):
            if i > 0 { self.enterForm(i - 1) } else { self.step = self.correction == nil ? .deadline : .identify }
        case .scan(let i):
            if i > 0 {
                self.step = .scan(i - 1)
            } else if self.formFields.isEmpty {
                self.step = self.correction == nil ? .deadline : .identify
            } else {
                self.enterForm(self.formFields.count - 1)
            }
        case .scanning(let i):
            self.step = .scan(i)
            return [.cancelScan]
        case .contact:
            if !self.requirements.isEmpty {
                self.step = .scan(self.requirements.count - 1)
            } else if !self.formFields.isEmpty {
                self.enterForm(self.formFields.count - 1)
            } else {
                self.step = .deadline
            }
        case .notify: self.step = .contact
        case .consent:
            if self.correction != nil {
                if !self.requirements.isEmpty {
                    self.step = .scan(self.requirements.count - 1)
                } else if !self.formFields.isEmpty {
                    self.enterForm(self.formFields.count - 1)
                } else {
                    self.step = .identify
                }
            } else {
                self.step = self.contactEntry.isEmpty ? .contact : .notify
            }
        case .review: self.step = .consent
        case .submitting: break
        case .done: return [.exit]
        }
        return []
    }
}

/// What a flow asks its driver to do. The driver performs it through `KioskServices` and feeds the result back.
public enum FlowEffect: Sendable, Equatable {
    case scan(requirement: String, expectedPages: Int?)
    case cancelScan
    case discardScan(token: String)
    case submit(ApplicationDraft)
    /// Resubmit a returned application with its corrections.
    case resubmit(CorrectionDraft)
    /// Print the tanda terima of an application just submitted (after its commit, never instead of it).
    case printReceipt(trackingCode: String, language: Language)
    case lookupStatus(trackingCode: String)
    case lookupApplications(NIK)
    case findDocuments(NIK, trackingCode: String)
    case printDocument(id: String)
    case fileComplaint(Complaint)
    /// Print the slip of a complaint just stored.
    case printComplaintSlip(reference: String, language: Language)
    case lookupComplaint(reference: String)
    case verifyRegistration(NIK, kk: String)
    /// Leave Cek Status for "Perbaiki" on this application (the session opens the correction).
    case startCorrection(CorrectionRequest)
    /// Staff mode's calls to kioskd.
    case staff(StaffEffect)
    /// "Panggil petugas" from the screen with this key.
    case callStaff(screen: String)
    /// Leave the flow for the home screen.
    case exit
}
