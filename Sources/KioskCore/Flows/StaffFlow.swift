#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What staff mode asks the driver to do (through `StaffServices`).
public enum StaffEffect: Sendable, Equatable {
    case unlock(pin: String)
    /// Leave staff mode at kioskd (Keluar, a timeout, the home screen).
    case lock
    case loadOverview
    case restock(sheets: Int)
    case testPrint
    case resumePrinter
    case testScan
    case redetect
    case loadQueue
    case retry(UUID)
    case syncNow
    case loadCalls
    case findDocuments(trackingCode: String)
    case reprint(documentID: String, reason: String)
    case rollback
    /// Start an application on a resident's behalf (the session opens it).
    case assist(StaffIdentity)
}

/// Staff mode at the touchscreen (issue 17), a pure state machine: the PIN pad, then the staff menu and its
/// screens. Entered only from the home screen, left by "Keluar", a timeout or the home screen; kioskd checks the
/// PIN, keeps the lockout and decides what the unlocked connection may do.
public struct StaffFlow: Sendable, Equatable {
    public enum Section: String, Sendable, Equatable, CaseIterable {
        case status, paper, scanner, queue, calls, documents, technician

        public var label: LocalizedText {
            switch self {
            case .status: LocalizedText("Status kios", "Kiosk status")
            case .paper: LocalizedText("Kertas & printer", "Paper & printer")
            case .scanner: LocalizedText("Pemindai & perangkat", "Scanner & devices")
            case .queue: LocalizedText("Antrean permohonan", "Application queue")
            case .calls: LocalizedText("Panggilan & pengaduan", "Calls & complaints")
            case .documents: LocalizedText("Cetak ulang dokumen", "Reprint a document")
            case .technician: LocalizedText("Teknisi: konfigurasi", "Technician: configuration")
            }
        }
    }

    public enum Step: Sendable, Equatable {
        case pin
        case menu
        case section(Section)
    }

    /// Reasons staff may give for a reprint beyond the resident's limit (recorded with the reprint).
    public static let reprintReasons: [LocalizedText] = [
        LocalizedText("Kertas macet", "Paper jam"),
        LocalizedText("Hasil cetak rusak atau pudar", "Print damaged or faint"),
        LocalizedText("Dokumen hilang, diminta warga", "Document lost, resident asked"),
        LocalizedText("Salinan untuk arsip desa", "Copy for the desa archive"),
    ]

    public private(set) var step: Step = .pin
    public private(set) var pin = TextEntry(.digits, maxLength: StaffEntry.pinLength.upperBound)
    public private(set) var identity: StaffIdentity?
    public private(set) var overview: StaffOverview?
    /// A call to kioskd is under way: its buttons wait.
    public private(set) var busy = false
    /// What the last action did, in words (shown in the problem row when it failed, as a line when it worked).
    public private(set) var problem: LocalizedText?
    public private(set) var message: LocalizedText?
    public private(set) var sheets = TextEntry(.digits, maxLength: 4)
    public private(set) var scan: ScanSummary?
    public private(set) var detected: [String]?
    public private(set) var today: [StaffApplicationRow] = []
    public private(set) var quarantined: [StaffApplicationRow] = []
    public private(set) var calls: [StaffCallRow] = []
    public private(set) var complaints: [StaffComplaintRow] = []
    public private(set) var code = TextEntry(.trackingCode, maxLength: TrackingCode.length)
    public private(set) var documents: [StaffDocumentRow]?
    /// The document chosen for a reprint (its reason is asked next).
    public private(set) var chosenDocument: String?

    public init() {}

    /// Today's applications and the held ones, as kioskd lists them.
    public struct Queue: Sendable, Equatable {
        public var today: [StaffApplicationRow]
        public var held: [StaffApplicationRow]
        public init(today: [StaffApplicationRow], held: [StaffApplicationRow]) {
            self.today = today
            self.held = held
        }
    }

    /// Today's staff calls and complaints.
    public struct Calls: Sendable, Equatable {
        public var calls: [StaffCallRow]
        public var complaints: [StaffComplaintRow]
        public init(calls: [StaffCallRow], complaints: [StaffComplaintRow]) {
            self.calls = calls
            self.complaints = complaints
        }
    }

    public enum Event: Sendable, Equatable {
        case key(Character)
        case backspace
        case submitPIN
        case unlocked(Result<StaffUnlock, ServiceFailure>)
        case open(Section)
        case assist
        case back
        case overviewLoaded(Result<StaffOverview, ServiceFailure>)
        case restock
        case testPrint
        case resumePrinter
        case testScan
        case redetect
        case syncNow
        case retry(UUID)
        case chooseDocument(String)
        case reason(Int)
        case findDocuments
        case rollback
        /// Answers of kioskd to an action: what to say, and whether the overview is worth loading again.
        case done(Result<LocalizedText, ServiceFailure>)
        case scanned(Result<ScanSummary, ServiceFailure>)
        case detectedDevices(Result<[String], ServiceFailure>)
        case queueLoaded(Result<Queue, ServiceFailure>)
        case callsLoaded(Result<Calls, ServiceFailure>)
        case documentsFound(Result<[StaffDocumentRow], ServiceFailure>)
    }

    public var isBusy: Bool { self.busy }
    public var isTechnician: Bool { self.identity?.role == .teknisi }

    /// The sections this staff member may open.
    public var sections: [Section] {
        Section.allCases.filter { $0 != .technician || self.isTechnician }
    }

    /// The tries left message after a wrong PIN, or the lock.
    static func lockedMessage(_ until: Date, offset: UTCOffset) -> LocalizedText {
        let t = String(offset.timestamp(of: until).suffix(5))
        return LocalizedText("Masuk petugas dikunci sampai pukul \(t) karena PIN salah \(StaffEntry.maxAttempts) kali.",
                             "Staff sign-in is locked until \(t) after \(StaffEntry.maxAttempts) wrong PINs.")
    }

    public mutating func handle(_ event: Event, offset: UTCOffset = UTCOffset(seconds: 0)) -> [FlowEffect] {
        switch event {
        case .back:
            return self.back()
        case .key(let c):
            switch self.step {
            case .pin:
                self.problem = nil
                self.pin.type(c)
            case .section(.paper): self.sheets.type(c)
            case .section(.documents) where self.documents == nil: self.code.type(c)
            default: break
            }
            return []
        case .backspace:
            switch self.step {
            case .pin: self.pin.backspace()
            case .section(.paper): self.sheets.backspace()
            case .section(.documents) where self.documents == nil: self.code.backspace()
            default: break
            }
            return []
        case .submitPIN:
            guard self.step == .pin, !self.busy else { return [] }
            guard StaffEntry.pinLength.contains(self.pin.text.count) else {
                self.problem = LocalizedText("PIN terdiri dari \(StaffEntry.pinLength.lowerBound)–\(StaffEntry.pinLength.upperBound) angka.",
                                             "A PIN has \(StaffEntry.pinLength.lowerBound)–\(StaffEntry.pinLength.upperBound) digits.")
                return []
            }
            let pin = self.pin.text
            // The PIN leaves the flow with the request: nothing keeps it.
            self.pin.clear()
            self.busy = true
            self.problem = nil
            return [.staff(.unlock(pin: pin))]
        case .unlocked(let result):
            guard self.step == .pin, self.busy else { return [] }
            self.busy = false
            switch result {
            case .success(.unlocked(let who, _)):
                // The timeout is the session's (the same bundle setting kioskd enforces on its side).
                self.identity = who
                self.step = .menu
                return [.staff(.loadOverview)]
            case .success(.wrongPIN(let left)):
                self.problem = left > 0
                    ? LocalizedText("PIN salah. Sisa \(left) kali coba sebelum dikunci.", "Wrong PIN. \(left) tries left before the lock.")
                    : LocalizedText("PIN salah.", "Wrong PIN.")
            case .success(.locked(let until)):
                self.problem = Self.lockedMessage(until, offset: offset)
            case .failure(let f):
                self.problem = f.message
            }
            return []
        case .open(let section):
            guard self.step == .menu, self.identity != nil, self.sections.contains(section), !self.busy else { return [] }
            self.step = .section(section)
            self.problem = nil
            self.message = nil
            switch section {
            case .status, .paper, .technician:
                // The overview refreshes behind the screen: its buttons stay usable.
                return [.staff(.loadOverview)]
            case .queue:
                self.busy = true
                return [.staff(.loadQueue)]
            case .calls:
                self.busy = true
                return [.staff(.loadCalls)]
            case .scanner:
                self.scan = nil
                self.detected = nil
                return []
            case .documents:
                self.code.clear()
                self.documents = nil
                self.chosenDocument = nil
                return []
            }
        case .assist:
            guard self.step == .menu, let who = self.identity, !self.busy else { return [] }
            return [.staff(.assist(who))]
        default:
            return self.action(event)
        }
    }

    private mutating func back() -> [FlowEffect] {
        switch self.step {
        case .pin:
            guard !self.busy else { return [] }
            return [.exit]
        case .menu:
            // "Keluar": staff mode ends at kioskd too.
            return [.staff(.lock), .exit]
        case .section(.documents) where self.chosenDocument != nil:
            self.chosenDocument = nil
        case .section(.documents) where self.documents != nil:
            self.documents = nil
        case .section:
            self.step = .menu
            self.problem = nil
            self.message = nil
            self.busy = false
            return [.staff(.loadOverview)]
        }
        return []
    }

    private mutating func start(_ effect: StaffEffect) -> [FlowEffect] {
        guard !self.busy else { return [] }
        self.busy = true
        self.problem = nil
        self.message = nil
        return [.staff(effect)]
    }

    private mutating func action(_ event: Event) -> [FlowEffect] {
        guard case .section(let section) = self.step else {
            if case .overviewLoaded(let r) = event, self.step == .menu { self.loaded(r) }
            return []
        }
        switch (section, event) {
        case (_, .overviewLoaded(let r)):
            self.loaded(r)
        case (.paper, .restock):
            guard let n = Int(self.sheets.text), (1...5000).contains(n) else {
                self.problem = LocalizedText("Tulis jumlah lembar yang dimuat (1–5000).", "Type the sheets loaded (1–5000).")
                return []
            }
            self.sheets.clear()
            return self.start(.restock(sheets: n))
        case (.paper, .testPrint): return self.start(.testPrint)
        case (.paper, .resumePrinter): return self.start(.resumePrinter)
        case (.scanner, .testScan):
            self.scan = nil
            return self.start(.testScan)
        case (.scanner, .redetect), (.technician, .redetect):
            self.detected = nil
            return self.start(.redetect)
        case (.queue, .syncNow): return self.start(.syncNow)
        case (.queue, .retry(let id)):
            guard self.quarantined.contains(where: { $0.id == id }) else { return [] }
            return self.start(.retry(id))
        case (.documents, .findDocuments):
            guard self.code.text.count == TrackingCode.length else {
                self.problem = LocalizedText("Kode pelacakan terdiri dari \(TrackingCode.length) huruf dan angka.",
                                             "A tracking code has \(TrackingCode.length) letters and digits.")
                return []
            }
            return self.start(.findDocuments(trackingCode: self.code.text))
        case (.documents, .chooseDocument(let id)):
            guard self.documents?.contains(where: { $0.id == id }) == true else { return [] }
            self.chosenDocument = id
        case (.documents, .reason(let i)):
            guard let id = self.chosenDocument, Self.reprintReasons.indices.contains(i) else { return [] }
            return self.start(.reprint(documentID: id, reason: Self.reprintReasons[i].id))
        case (.technician, .rollback): return self.start(.rollback)
        case (_, .done(let r)):
            self.busy = false
            switch r {
            case .success(let m):
                self.message = m
                if section == .documents { self.chosenDocument = nil }
                // What changed is worth seeing: paper count, printer state, queue.
                switch section {
                case .paper, .technician:
                    return [.staff(.loadOverview)]
                case .queue:
                    self.busy = true
                    return [.staff(.loadQueue)]
                default: break
                }
            case .failure(let f): self.problem = f.message
            }
        case (.scanner, .scanned(let r)):
            self.busy = false
            switch r {
            case .success(let s): self.scan = s
            case .failure(let f): self.problem = f.message
            }
        case (_, .detectedDevices(let r)):
            self.busy = false
            switch r {
            case .success(let d): self.detected = d
            case .failure(let f): self.problem = f.message
            }
        case (.queue, .queueLoaded(let r)):
            self.busy = false
            switch r {
            case .success(let q):
                self.today = q.today
                self.quarantined = q.held
            case .failure(let f): self.problem = f.message
            }
        case (.calls, .callsLoaded(let r)):
            self.busy = false
            switch r {
            case .success(let c):
                self.calls = c.calls
                self.complaints = c.complaints
            case .failure(let f): self.problem = f.message
            }
        case (.documents, .documentsFound(let r)):
            self.busy = false
            switch r {
            case .success(let docs):
                self.documents = docs
                if docs.isEmpty {
                    self.message = LocalizedText("Permohonan ini belum punya dokumen yang dapat dicetak.",
                                                 "This application has no printable document yet.")
                }
            case .failure(let f): self.problem = f.message
            }
        default:
            break
        }
        return []
    }

    /// The overview arrived (it never holds the screen busy).
    private mutating func loaded(_ r: Result<StaffOverview, ServiceFailure>) {
        switch r {
        case .success(let o): self.overview = o
        case .failure(let f): self.problem = f.message
        }
    }
}

extension StaffOverview {
    /// What needs doing first, in plain words, most urgent first; empty when all is well.
    public func attention(now: Date) -> [LocalizedText] {
        var out: [LocalizedText] = []
        for d in self.devices where d.health == .fault {
            out.append(LocalizedText("\(Self.deviceName(d.kind).id): \(d.detail.id)", "\(Self.deviceName(d.kind).en ?? d.kind): \(d.detail.en ?? d.detail.id)"))
        }
        if let sheets = self.paperSheets, sheets <= 0 {
            out.append(LocalizedText("Kertas habis: isi kertas lalu catat jumlahnya di Kertas & printer.",
                                     "Out of paper: load paper, then record it under Paper & printer."))
        }
        if let p = self.configProblem {
            out.append(LocalizedText("Konfigurasi: \(p)", "Configuration: \(p)"))
        }
        if let q = self.queue[ApplicationState.quarantined.rawValue], q > 0 {
            out.append(LocalizedText("\(q) permohonan tertahan: lihat alasannya di Antrean permohonan.",
                                     "\(q) application(s) held: see why under Application queue."))
        }
        if self.link.configured {
            if let e = self.link.lastError {
                out.append(LocalizedText("Koneksi ke Dinas gagal: \(e)", "The Dinas link failed: \(e)"))
            } else if let last = self.link.lastContact, now.timeIntervalSince(last) > 3600 {
                let h = Int(now.timeIntervalSince(last) / 3600)
                out.append(LocalizedText("Tidak ada kontak dengan Dinas selama \(h) jam.", "No contact with the Dinas for \(h) hour(s)."))
            } else if self.link.lastContact == nil {
                out.append(LocalizedText("Belum pernah terhubung ke Dinas.", "Never reached the Dinas yet."))
            }
        }
        if let oldest = self.oldestUndelivered, now.timeIntervalSince(oldest) > 24 * 3600 {
            let d = Int(now.timeIntervalSince(oldest) / 86_400)
            out.append(LocalizedText("Ada permohonan yang belum terkirim sejak \(d) hari.",
                                     "An application has waited \(d) day(s) to be sent."))
        }
        if self.openCalls > 0 {
            out.append(LocalizedText("\(self.openCalls) warga memanggil petugas.", "\(self.openCalls) resident call(s) for staff."))
        }
        if let sheets = self.paperSheets, sheets > 0, self.paperLow {
            out.append(LocalizedText("Kertas hampir habis (sisa sekitar \(sheets) lembar).", "Paper is low (about \(sheets) sheets left)."))
        }
        for (marker, level) in self.toner.sorted(by: { $0.key < $1.key }) where (0..<10).contains(level) {
            let m = SafeText.visible(String(marker.prefix(40)))
            out.append(LocalizedText("Tinta/toner \(m) hampir habis (\(level)%).", "Ink/toner \(m) is low (\(level)%)."))
        }
        for d in self.devices where d.health == .warning || d.health == .absent {
            out.append(LocalizedText("\(Self.deviceName(d.kind).id): \(d.detail.id)", "\(Self.deviceName(d.kind).en ?? d.kind): \(d.detail.en ?? d.detail.id)"))
        }
        if let free = self.diskFreeBytes, free < 1 << 30 {
            out.append(LocalizedText("Ruang disk tinggal \(free >> 20) MiB.", "Only \(free >> 20) MiB of disk left."))
        }
        return out
    }

    public static func deviceName(_ kind: String) -> LocalizedText {
        switch kind {
        case "printer": LocalizedText("Printer", "Printer")
        case "scanner": LocalizedText("Pemindai", "Scanner")
        case "card_reader": LocalizedText("Pembaca kartu", "Card reader")
        default: LocalizedText(SafeText.visible(String(kind.prefix(30))), SafeText.visible(String(kind.prefix(30))))
        }
    }
}
