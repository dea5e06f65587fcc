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
        /// Index into `requirements`.
        case scan(Int)
        case scanning(Int)
        case contact
        case consent
        case review
        case submitting
        case done(SubmissionReceipt)
    }

    public static let consentVersion = "persetujuan-2026-1"
    public static let consentClause = LocalizedText(
        "Saya menyatakan data dan dokumen yang saya berikan benar. Saya setuju data ini dikirim ke Dinas "
            + "Kependudukan dan Pencatatan Sipil untuk memproses permohonan ini, dan salinan di kios dihapus "
            + "setelah Dinas menerimanya (OI Pasal 13 ayat 1 huruf c).",
        "I declare the data and documents I give are true. I agree that they are sent to the Dinas Kependudukan "
            + "dan Pencatatan Sipil to process this application, and that the kiosk's copy is deleted after the "
            + "Dinas has received it (OI Article 13(1)(c)).")

    public let profile: JurisdictionProfile
    public let today: CivilDate
    public let id: UUID
    public private(set) var step: Step = .category
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
    public private(set) var scans: [String: ScanSummary] = [:]
    public private(set) var contactEntry = TextEntry(.digits, maxLength: 15)
    public private(set) var consentGiven = false
    /// The last problem to show on the current step (bad NIK, scan failed, submit failed, ...).
    public private(set) var problem: LocalizedText?
    /// The screen language, recorded with the application (set by the session).
    public var language: Language = .id

    public init(profile: JurisdictionProfile, today: CivilDate, id: UUID = UUID()) {
        self.profile = profile
        self.today = today
        self.id = id
        let earliest = today.adding(years: -100)
        self.datePicker = DatePicker(value: today, earliest: earliest, latest: today)
        self.factDate = DatePicker(value: today, earliest: earliest, latest: today.adding(years: 20))
    }

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
    public var heldScans: [String] { self.scans.values.map(\.token) }

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
            self.step = .eventDate
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
                self.step = .eventDate
            } catch {
                self.problem = error.message
            }
        case (.eventDate, .adjustDate(let f, let delta)):
            self.datePicker.adjust(f, by: delta)
        case (.eventDate, .confirm):
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
            self.enterScan(0)
        case (.scan(let i), .startScan):
            self.problem = nil
            self.step = .scanning(i)
            let req = self.requirements[i]
            return [.scan(requirement: req.id, expectedPages: nil)]
        case (.scanning(let i), .cancelScan):
            self.step = .scan(i)
            return [.cancelScan]
        case (.scanning(let i), .scanFinished(let result)):
            self.step = .scan(i)
            switch result {
            case .success(let summary):
                let req = self.requirements[i].id
                let old = self.scans[req]
                self.scans[req] = summary
                self.problem = nil
                if let old, old.token != summary.token { return [.discardScan(token: old.token)] }
            case .failure(let f):
                self.problem = f.message
            }
        case (.scan(let i), .confirm) where self.scans[self.requirements[i].id] != nil:
            self.enterScan(i + 1)
        case (.scan(let i), .skipRequirement) where self.requirements[i].optional == true:
            let req = self.requirements[i].id
            let old = self.scans.removeValue(forKey: req)
            self.enterScan(i + 1)
            if let old { return [.discardScan(token: old.token)] }
        case (.contact, .key(let c)):
            self.contactEntry.type(c)
            self.problem = nil
        case (.contact, .backspace):
            self.contactEntry.backspace()
        case (.contact, .confirm):
            self.problem = PhoneNumber.problem(self.contactEntry)
            if self.problem == nil { self.step = .consent }
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
        return ApplicationDraft(
            id: self.id, service: service, applicant: applicant, eventDate: self.datePicker.value, facts: self.facts,
            contact: self.contactEntry.isEmpty ? nil : self.contactEntry.text,
            scans: self.scans.mapValues(\.token), consentVersion: ApplyFlow.consentVersion, language: language)
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
        self.step = i < self.requirements.count ? .scan(i) : .contact
    }

    private mutating func evaluate() {
        guard let service = self.service else { return }
        do {
            let e = try RulesEngine(profile: self.profile).evaluate(
                service: service.id, eventDate: self.datePicker.value, reportDate: self.today, facts: self.facts)
            self.evaluation = e
            self.rulesError = nil
            self.requirements = service.requirements.filter { e.requirements.contains($0.id) }
        } catch {
            self.evaluation = nil
            self.rulesError = error.message
            self.requirements = []
        }
    }

    private mutating func goBack() -> [FlowEffect] {
        self.problem = nil
        switch self.step {
        case .category: return [.exit]
        case .service: self.step = .category
        case .identify:
            self.applicant = nil
            self.nikEntry.clear()
            self.step = .service(category: self.service?.category ?? "")
        case .eventDate: self.step = .identify
        case .fact(let i): self.step = i == 0 ? .eventDate : .fact(i - 1)
        case .deadline:
            self.step = self.askedFacts.isEmpty ? .eventDate : .fact(self.askedFacts.count - 1)
        case .scan(let i): self.step = i == 0 ? .deadline : .scan(i - 1)
        case .scanning(let i):
            self.step = .scan(i)
            return [.cancelScan]
        case .contact: self.step = self.requirements.isEmpty ? .deadline : .scan(self.requirements.count - 1)
        case .consent: self.step = .contact
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
    /// Print the tanda terima of an application just submitted (after its commit, never instead of it).
    case printReceipt(trackingCode: String, language: Language)
    case lookupStatus(trackingCode: String)
    case lookupApplications(NIK)
    case findDocuments(NIK, trackingCode: String)
    case printDocument(id: String)
    case fileComplaint(Complaint)
    /// Leave the flow for the home screen.
    case exit
}
