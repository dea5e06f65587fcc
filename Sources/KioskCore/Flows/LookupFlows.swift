import Foundation

/// "Cek Status": a card tap or a tracking code → the application's state, history, expected date, and the
/// Dinas's reason when it was returned; or a complaint number (`PGD-XXXX-XXXX`, the "PGD" may be left out) →
/// the complaint and the Dinas's answer.
public struct StatusFlow: Sendable, Equatable {
    public enum Step: Sendable, Equatable {
        case ask
        case looking
        case results([ApplicationStatus])
        case complaint(ComplaintStatus)
    }

    /// What complaint numbers start with; the rest is a tracking code.
    public static let complaintPrefix = "PGD"

    public private(set) var step: Step = .ask
    public private(set) var codeEntry = TextEntry(.trackingCode, maxLength: TrackingCode.length + StatusFlow.complaintPrefix.count)
    /// The code looked up as an application; when there is none, it is tried as a complaint number.
    private var pendingComplaint: String?
    /// Which result is open when a card found several applications.
    public private(set) var selected = 0
    public private(set) var problem: LocalizedText?

    public init() {}

    public var isBusy: Bool { self.step == .looking }

    public enum Event: Sendable, Equatable {
        case card(NIK)
        case cardUnreadable
        case key(Character)
        case backspace
        case confirm
        case found(Result<[ApplicationStatus], ServiceFailure>)
        case complaintFound(Result<ComplaintStatus, ServiceFailure>)
        case select(Int)
        /// "Perbaiki" on a returned application.
        case correct
        case back
    }

    public mutating func handle(_ event: Event) -> [FlowEffect] {
        switch (self.step, event) {
        case (.ask, .back), (.looking, .back):
            return [.exit]
        case (.results, .back), (.complaint, .back):
            self.step = .ask
            self.codeEntry.clear()
        case (.ask, .card(let nik)):
            self.problem = nil
            self.pendingComplaint = nil
            self.step = .looking
            return [.lookupApplications(nik)]
        case (.ask, .cardUnreadable):
            self.problem = LocalizedText("Kartu tidak terbaca. Coba lagi.", "The card could not be read. Try again.")
        case (.ask, .key(let c)):
            self.codeEntry.type(c)
            self.problem = nil
        case (.ask, .backspace):
            self.codeEntry.backspace()
        case (.ask, .confirm):
            var text = self.codeEntry.text
            let complaint = text.count > TrackingCode.length && text.hasPrefix(StatusFlow.complaintPrefix)
            if complaint { text.removeFirst(StatusFlow.complaintPrefix.count) }
            do {
                let code = try TrackingCode(text)
                self.problem = nil
                self.step = .looking
                let reference = StatusFlow.complaintPrefix + "-" + code.formatted
                if complaint {
                    self.pendingComplaint = nil
                    return [.lookupComplaint(reference: reference)]
                }
                self.pendingComplaint = reference
                return [.lookupStatus(trackingCode: code.raw)]
            } catch {
                self.problem = error.message
            }
        case (.looking, .found(.failure(let f))) where f.code == "not_found" && self.pendingComplaint != nil:
            // No application with this code: it may be a complaint number typed without "PGD".
            let reference = self.pendingComplaint ?? ""
            self.pendingComplaint = nil
            return [.lookupComplaint(reference: reference)]
        case (.looking, .complaintFound(let result)):
            switch result {
            case .success(let c): self.step = .complaint(c)
            case .failure(let f):
                self.step = .ask
                self.problem = f.code == "not_found"
                    ? LocalizedText("Kode itu tidak ditemukan, baik sebagai permohonan maupun pengaduan. Periksa lagi kodenya.",
                                    "That code was not found, neither as an application nor as a complaint. Check the code again.")
                    : f.message
            }
        case (.looking, .found(let result)):
            switch result {
            case .success(let list) where !list.isEmpty:
                self.pendingComplaint = nil
                self.selected = 0
                self.step = .results(list)
            case .success:
                self.step = .ask
                self.problem = LocalizedText(
                    "Belum ada permohonan untuk kartu ini.", "There are no applications for this card yet.")
            case .failure(let f):
                self.step = .ask
                self.problem = f.message
            }
        case (.results(let list), .select(let i)) where list.indices.contains(i):
            self.selected = i
        case (.results(let list), .correct):
            if let c = list[min(self.selected, list.count - 1)].correction { return [.startCorrection(c)] }
        default:
            break
        }
        return []
    }
}

/// "Ambil Dokumen": identify (card or NIK) + tracking code → ready documents → print with progress →
/// "take your document". A printer fault keeps the document and says what to do.
public struct CollectFlow: Sendable, Equatable {
    public enum Step: Sendable, Equatable {
        case identify
        case code
        case looking
        /// The list is `documents` (it keeps the allowances used by prints in this session).
        case documents
        case printing(ReadyDocument, progress: Double)
        case printed(ReadyDocument, sheets: Int)
        case printFailed(ReadyDocument, LocalizedText)
    }

    public let today: CivilDate
    public private(set) var step: Step = .identify
    public private(set) var applicant: NIK?
    public private(set) var nikEntry = TextEntry(.digits, maxLength: 16)
    public private(set) var codeEntry = TextEntry(.trackingCode, maxLength: TrackingCode.length)
    public private(set) var problem: LocalizedText?
    /// The documents found, with print allowances counted down as this session prints.
    public private(set) var documents: [ReadyDocument] = []

    public init(today: CivilDate) {
        self.today = today
    }

    public var isBusy: Bool {
        switch self.step {
        case .looking, .printing: return true
        default: return false
        }
    }

    public enum Event: Sendable, Equatable {
        case card(NIK)
        case cardUnreadable
        case key(Character)
        case backspace
        case confirm
        case found(Result<[ReadyDocument], ServiceFailure>)
        case print(String)
        case progress(Double)
        case printFinished(Result<PrintReport, ServiceFailure>)
        case back
    }

    public mutating func handle(_ event: Event) -> [FlowEffect] {
        switch (self.step, event) {
        case (.identify, .back):
            return [.exit]
        case (.code, .back):
            self.applicant = nil
            self.codeEntry.clear()
            self.problem = nil
            self.step = .identify
        case (.documents, .back), (.printFailed, .back):
            self.problem = nil
            self.step = .code
        case (.identify, .card(let nik)):
            self.identified(nik)
        case (.identify, .cardUnreadable):
            self.problem = CardTap.unreadableMessage
        case (.identify, .key(let c)):
            self.nikEntry.type(c)
            self.problem = nil
        case (.identify, .backspace):
            self.nikEntry.backspace()
        case (.identify, .confirm):
            do {
                self.identified(try NIK(self.nikEntry.text, today: self.today))
            } catch {
                self.problem = error.message
            }
        case (.code, .key(let c)):
            self.codeEntry.type(c)
            self.problem = nil
        case (.code, .backspace):
            self.codeEntry.backspace()
        case (.code, .confirm):
            guard let nik = self.applicant else { break }
            do {
                let code = try TrackingCode(self.codeEntry.text)
                self.problem = nil
                self.step = .looking
                return [.findDocuments(nik, trackingCode: code.raw)]
            } catch {
                self.problem = error.message
            }
        case (.looking, .found(let result)):
            switch result {
            case .success(let docs) where !docs.isEmpty:
                self.documents = docs
                self.step = .documents
            case .success:
                self.step = .code
                self.problem = LocalizedText(
                    "Belum ada dokumen yang siap dicetak untuk permohonan ini. Cek status untuk perkiraan tanggalnya.",
                    "No document is ready to print for this application yet. Check its status for the expected date.")
            case .failure(let f):
                self.step = .code
                self.problem = f.message
            }
        case (.documents, .print(let id)):
            guard let doc = self.documents.first(where: { $0.id == id }) else { break }
            guard doc.printsLeft > 0 else {
                // Told, not silent: the resident learns why nothing prints and whom to ask.
                self.problem = CollectFlow.reprintLimitMessage
                break
            }
            self.problem = nil
            self.step = .printing(doc, progress: 0)
            return [.printDocument(id: id)]
        case (.printing(let doc, _), .progress(let p)):
            self.step = .printing(doc, progress: min(1, max(0, p)))
        case (.printing(let doc, _), .printFinished(let result)):
            switch result {
            case .success(let report) where report.printed:
                self.markPrinted(doc.id)
                self.step = .printed(doc, sheets: report.sheets)
            case .success(let report):
                self.step = .printFailed(doc, report.problem ?? CollectFlow.keptMessage)
            case .failure(let f):
                self.step = .printFailed(doc, f.message)
            }
        case (.printed, .confirm):
            return [.exit]
        case (.printed, .back):
            self.step = .documents
        case (.printFailed, .confirm):
            self.step = .documents
        default:
            break
        }
        return []
    }

    public static let reprintLimitMessage = LocalizedText(
        "Batas cetak dokumen ini sudah tercapai. Minta bantuan petugas desa untuk mencetak lagi.",
        "This document's print limit is reached. Ask the desa staff to print it again.")

    public static let keptMessage = LocalizedText(
        "Dokumen belum tercetak dan tetap tersimpan. Hubungi petugas desa, lalu cetak lagi nanti.",
        "The document did not print and is kept. Ask the desa staff, then print it again later.")


    private mutating func identified(_ nik: NIK) {
        self.applicant = nik
        self.nikEntry.clear()
        self.problem = nil
        self.step = .code
    }

    private mutating func markPrinted(_ id: String) {
        if let i = self.documents.firstIndex(where: { $0.id == id }) {
            self.documents[i].printsLeft = max(0, self.documents[i].printsLeft - 1)
        }
    }
}

/// "Pengaduan": category → text on the on-screen keyboard → contact → send (queued for the Dinas).
public struct ComplaintFlow: Sendable, Equatable {
    public enum Step: Sendable, Equatable {
        case category
        case text
        case contact
        case review
        case sending
        case sent(reference: String)
    }

    public static let maxLength = 280
    /// What became of the printed slip: nil while printing, then printed or why not.
    public private(set) var slip: SlipOutcome?

    public enum SlipOutcome: Sendable, Equatable {
        case printed
        case failed(LocalizedText)
    }
    public private(set) var step: Step = .category
    public private(set) var category: ComplaintCategory?
    public private(set) var textEntry = TextEntry(.free, maxLength: ComplaintFlow.maxLength)
    public private(set) var contactEntry = TextEntry(.digits, maxLength: 15)
    public private(set) var problem: LocalizedText?
    public var language: Language = .id

    public init() {}

    public var isBusy: Bool { self.step == .sending }

    public enum Event: Sendable, Equatable {
        case choose(ComplaintCategory)
        case key(Character)
        case backspace
        case confirm
        case sent(Result<String, ServiceFailure>)
        /// The slip printed (nil) or what went wrong; the complaint is stored either way.
        case slipPrinted(LocalizedText?)
        case back
    }

    public mutating func handle(_ event: Event) -> [FlowEffect] {
        switch (self.step, event) {
        case (.sent, .slipPrinted(let problem)):
            self.slip = problem.map { .failed($0) } ?? .printed
        case (.category, .back), (.sent, .back), (.sent, .confirm):
            return [.exit]
        case (.text, .back):
            self.step = .category
        case (.contact, .back):
            self.step = .text
        case (.review, .back):
            self.step = .contact
        case (.category, .choose(let c)):
            self.category = c
            self.step = .text
        case (.text, .key(let c)):
            self.textEntry.type(c)
            self.problem = nil
        case (.text, .backspace):
            self.textEntry.backspace()
        case (.text, .confirm):
            if self.textEntry.text.trimmingCharacters(in: .whitespaces).count < 5 {
                self.problem = LocalizedText("Tulis pengaduan Anda (minimal 5 huruf).", "Write your complaint (at least 5 letters).")
            } else {
                self.problem = nil
                self.step = .contact
            }
        case (.contact, .key(let c)):
            self.contactEntry.type(c)
            self.problem = nil
        case (.contact, .backspace):
            self.contactEntry.backspace()
        case (.contact, .confirm):
            self.problem = PhoneNumber.problem(self.contactEntry)
            if self.problem == nil { self.step = .review }
        case (.review, .confirm):
            guard let category = self.category else { break }
            self.step = .sending
            return [.fileComplaint(Complaint(
                category: category, text: self.textEntry.text.trimmingCharacters(in: .whitespaces),
                contact: self.contactEntry.isEmpty ? nil : self.contactEntry.text, language: self.language))]
        case (.sending, .sent(let result)):
            switch result {
            case .success(let reference):
                self.step = .sent(reference: reference)
                // Stored first; the slip is a separate step that cannot undo it.
                return [.printComplaintSlip(reference: reference, language: self.language)]
            case .failure(let f):
                self.problem = f.message
                self.step = .review
            }
        default:
            break
        }
        return []
    }
}

/// "Informasi Layanan": the list of services, then one service's requirements, products, SLA, fee and channels.
public struct InfoFlow: Sendable, Equatable {
    public private(set) var selected: String?

    public init() {}

    public enum Event: Sendable, Equatable {
        case show(String)
        case back
    }

    public mutating func handle(_ event: Event) -> [FlowEffect] {
        switch event {
        case .show(let id): self.selected = id
        case .back:
            if self.selected == nil { return [.exit] }
            self.selected = nil
        }
        return []
    }
}

/// "Cek NIK & KK" (LOPE CAPIL, OI Pasal 10), where the bundle allows it: the resident's NIK (card or keypad) and
/// KK number → the Dinas says whether they are registered together. Only match / no match and a masked name are
/// shown; nothing is kept.
public struct VerifyFlow: Sendable, Equatable {
    public enum Step: Sendable, Equatable {
        case nik
        case kk
        case checking
        case result(RegistryCheck)
    }

    public private(set) var step: Step = .nik
    public private(set) var nik: NIK?
    public private(set) var nikEntry = TextEntry(.digits, maxLength: 16)
    public private(set) var kkEntry = TextEntry(.digits, maxLength: 16)
    public private(set) var problem: LocalizedText?
    public let today: CivilDate

    public init(today: CivilDate) { self.today = today }

    public var isBusy: Bool { self.step == .checking }

    public enum Event: Sendable, Equatable {
        case card(NIK)
        case cardUnreadable
        case key(Character)
        case backspace
        case confirm
        case checked(Result<RegistryCheck, ServiceFailure>)
        case back
    }

    public mutating func handle(_ event: Event) -> [FlowEffect] {
        switch (self.step, event) {
        case (.nik, .back), (.checking, .back):
            return [.exit]
        case (.kk, .back):
            self.nik = nil
            self.kkEntry.clear()
            self.problem = nil
            self.step = .nik
        case (.result, .back), (.result, .confirm):
            return [.exit]
        case (.nik, .card(let n)):
            self.nik = n
            self.problem = nil
            self.step = .kk
        case (.nik, .cardUnreadable):
            self.problem = CardTap.unreadableMessage
        case (.nik, .key(let c)):
            self.nikEntry.type(c)
            self.problem = nil
        case (.nik, .backspace):
            self.nikEntry.backspace()
        case (.nik, .confirm):
            do {
                self.nik = try NIK(self.nikEntry.text, today: self.today)
                self.nikEntry.clear()
                self.problem = nil
                self.step = .kk
            } catch {
                self.problem = error.message
            }
        case (.kk, .key(let c)):
            self.kkEntry.type(c)
            self.problem = nil
        case (.kk, .backspace):
            self.kkEntry.backspace()
        case (.kk, .confirm):
            guard let nik = self.nik else { break }
            if let p = RegistryCheck.kkProblem(self.kkEntry.text) {
                self.problem = p
                break
            }
            self.problem = nil
            self.step = .checking
            return [.verifyRegistration(nik, kk: self.kkEntry.text)]
        case (.checking, .checked(let result)):
            switch result {
            case .success(let r):
                // The numbers are not needed any more.
                self.kkEntry.clear()
                self.nik = nil
                self.step = .result(r)
            case .failure(let f):
                self.problem = f.message
                self.step = .kk
            }
        default:
            break
        }
        return []
    }
}
