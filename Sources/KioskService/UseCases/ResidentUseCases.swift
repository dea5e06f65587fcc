import Foundation
import KioskCore
import KioskDevices
import KioskRuntime
import KioskSecurity
import KioskStore
import Synchronization

/// Settings of the resident UI that come from the kiosk's configuration (signed bundle or local defaults).
public struct ResidentSettings: Sendable {
    public var desaName: String
    public var openingHours: [String]
    public var announcement: LocalizedText?
    public var idleTimeoutSeconds: Int
    public var reprintLimit: Int
    public var lowPaperThreshold: Int
    public var printTimeoutSeconds: Double
    public var demo: Bool
    public var deviceSummary: String?
    /// Residents may check their NIK and KK with the Dinas (the bundle's `registry_check`).
    public var registryCheck: Bool
    /// Staff mode without a touch for this long ends (the bundle's `staff_timeout_seconds`).
    public var staffTimeoutSeconds: Int
    /// The bundle lists staff PINs, so the staff gesture opens the PIN pad.
    public var staffEntry: Bool
    /// Voice guidance (the bundle's `voice_enabled`, `voice_volume`).
    public var voiceEnabled: Bool
    public var voiceVolume: Int

    public init(desaName: String, openingHours: [String] = [], announcement: LocalizedText? = nil,
                idleTimeoutSeconds: Int = 120, reprintLimit: Int = 2, lowPaperThreshold: Int = 20,
                printTimeoutSeconds: Double = 120, demo: Bool = false, deviceSummary: String? = nil,
                registryCheck: Bool = false, staffTimeoutSeconds: Int = StaffEntry.defaultTimeoutSeconds,
                staffEntry: Bool = false, voiceEnabled: Bool = true, voiceVolume: Int = 100) {
        self.voiceEnabled = voiceEnabled
        self.voiceVolume = voiceVolume
        self.registryCheck = registryCheck
        self.staffTimeoutSeconds = staffTimeoutSeconds
        self.staffEntry = staffEntry
        self.deviceSummary = deviceSummary
        self.desaName = desaName
        self.openingHours = openingHours
        self.announcement = announcement
        self.idleTimeoutSeconds = idleTimeoutSeconds
        self.reprintLimit = reprintLimit
        self.lowPaperThreshold = lowPaperThreshold
        self.printTimeoutSeconds = printTimeoutSeconds
        self.demo = demo
    }
}

/// The kiosk's resident use cases, once (architecture.md, "Modules"): rules from KioskCore, the SQLite store, the
/// live configuration and the devices. kioskd's control socket, the in-process demo and the tests all call this.
/// Scans wait in a private working folder (0700) until they are submitted or discarded; each is held for the
/// session (socket connection) that took it, and dropped when that session ends.
public final class KioskUseCases: KioskServices {
    public let store: KioskStore
    public let config: LiveConfig
    public let devices: any DeviceAccess
    /// The Dinas keys a document's signature must verify with, checked again before every print.
    public let trustedKeys: [Ed25519PublicKey]
    private let workDir: String
    private let cards: AsyncStream<CardTap>
    private let simulatedCard: (reader: SimulatedCardReader, nik: NIK)?
    private let scans = Mutex<[String: HeldScan]>([:])
    /// The reader said it is gone (unplugged, failed) and no card has been read since.
    private let readerGone = Flag()
    /// Asks the Dinas about a NIK and KK (set by kioskd when a Dinas link is configured).
    private let registry = Mutex<RegistryLookup?>(nil)

    public typealias RegistryLookup = @Sendable (NIK, String) async throws(ServiceFailure) -> RegistryCheck

    /// Connects "Cek NIK & KK" to the Dinas (kioskd does this with its Dinas client).
    public func attachRegistry(_ lookup: @escaping RegistryLookup) {
        self.registry.withLock { $0 = lookup }
    }

    struct HeldScan {
        var pages: [ScannedPage]
        var owner: Int?
    }

    public init(store: KioskStore, config: LiveConfig, devices: any DeviceAccess, workDir: String,
                cards: AsyncStream<CardEvent>? = nil, simulatedCard: (reader: SimulatedCardReader, nik: NIK)? = nil,
                trustedKeys: [Ed25519PublicKey] = []) throws {
        self.store = store
        self.trustedKeys = trustedKeys
        self.config = config
        self.devices = devices
        self.workDir = workDir
        self.simulatedCard = simulatedCard
        try FileManager.default.createDirectory(atPath: workDir, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        let (stream, continuation) = AsyncStream<CardTap>.makeStream()
        self.cards = stream
        if let cards {
            let gone = self.readerGone
            Task {
                for await e in cards {
                    switch e {
                    case .cardInserted(let nik):
                        gone.set(false)
                        continuation.yield(.inserted(nik))
                    case .cardRemoved: continuation.yield(.removed)
                    case .unreadable: continuation.yield(.unreadable)
                    case .readerGone: gone.set(true)
                    }
                }
            }
        }
    }

    public var profile: JurisdictionProfile { self.config.current.profile }
    public var settings: ResidentSettings { self.config.current.settings }
    private var printer: (any Printer)? { self.devices.printer }
    private var scanner: any KioskDevices.Scanner { self.devices.scanner }

    public var today: CivilDate { self.profile.conventions.utcOffset.civilDate(of: Date()) }

    public func info() async -> KioskInfo {
        let settings = self.settings
        return KioskInfo(desaName: settings.desaName, openingHours: self.settings.openingHours,
                  announcement: settings.announcement, profile: self.profile,
                  idleTimeoutSeconds: settings.idleTimeoutSeconds, demo: settings.demo,
                  deviceSummary: settings.deviceSummary,
                  registryCheck: settings.registryCheck && self.registry.withLock { $0 != nil },
                  staffTimeoutSeconds: settings.staffTimeoutSeconds, staffEntry: settings.staffEntry,
                  voiceEnabled: settings.voiceEnabled, voiceVolume: settings.voiceVolume)
    }

    public func cardEvents() -> AsyncStream<CardTap> { self.cards }

    /// A simulated card reader with the test card is attached (demo and tests).
    public var hasTestCard: Bool { self.simulatedCard != nil }

    public func tapTestCard() async -> Bool {
        guard let card = self.simulatedCard else { return false }
        card.reader.tap(card.nik)
        return true
    }

    // MARK: - Devices

    public func deviceNotices() async -> [DeviceNotice] {
        var notices: [DeviceNotice] = []
        let printLater = LocalizedText(" Anda tetap dapat mengajukan permohonan; cetak nanti.", " You can still apply; print later.")
        if !self.devices.printerConnected {
            notices.append(DeviceNotice(device: "printer", message: LocalizedText(
                "Printer tidak tersambung; petugas desa akan memasangnya kembali." + printLater.id,
                "The printer is not connected; the desa staff will plug it back in." + (printLater.en ?? ""))))
        } else if let printer = self.printer {
            do throws(PrinterError) {
                let s = try await printer.status()
                if let problem = s.problem {
                    func sentence(_ t: String) -> String { t.hasSuffix(".") ? t : t + "." }
                    notices.append(DeviceNotice(device: "printer", message: LocalizedText(
                        "Printer tidak dapat dipakai: " + sentence(problem.id) + printLater.id,
                        "Printer unavailable: " + sentence(problem.en ?? problem.id) + (printLater.en ?? ""))))
                }
            } catch {
                notices.append(DeviceNotice(device: "printer", message: LocalizedText(
                    "Printer tidak tersedia." + printLater.id, "Printer unavailable." + (printLater.en ?? ""))))
            }
        } else {
            notices.append(DeviceNotice(device: "printer", message: LocalizedText(
                "Printer tidak terpasang." + printLater.id, "No printer connected." + (printLater.en ?? ""))))
        }
        if let paper = try? self.store.paperStatus(lowThreshold: self.settings.lowPaperThreshold), paper.remaining == 0 {
            notices.append(DeviceNotice(device: "paper", message: LocalizedText(
                "Kertas printer habis; petugas desa akan mengisi ulang." + printLater.id,
                "The printer is out of paper; the desa staff will refill it." + (printLater.en ?? ""))))
        }
        if !self.devices.cardReaderPresent || self.readerGone.isSet {
            notices.append(DeviceNotice(device: "card-reader", message: LocalizedText(
                "Pembaca kartu tidak tersambung; ketik NIK pada layar.", "The card reader is disconnected; type the NIK on screen.")))
        }
        return notices
    }

    public func scan(requirement: String, expectedPages: Int?) async throws(ServiceFailure) -> ScanSummary {
        try await self.scan(requirement: requirement, expectedPages: expectedPages, owner: nil)
    }

    /// Scans for the session `owner` (a control connection id): its scans go when `endSession(owner)` is called.
    public func scan(requirement: String, expectedPages: Int?, owner: Int?) async throws(ServiceFailure) -> ScanSummary {
        let token = UUID().uuidString.lowercased()
        let dir = "\(self.workDir)/\(token)"
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: false,
                                                    attributes: [.posixPermissions: 0o700])
        } catch {
            throw ServiceFailure("scan_failed", LocalizedText("Penyimpanan sementara gagal; hubungi petugas.",
                                                              "Temporary storage failed; ask the staff."))
        }
        do throws(ScanError) {
            let pages = try await self.scanner.scan(ScanRequest(source: .flatbed, expectedPages: expectedPages ?? 1),
                                                    into: dir, events: { _ in })
            for p in pages { chmod(p.path, 0o600) }
            self.scans.withLock { $0[token] = HeldScan(pages: pages, owner: owner) }
            return ScanSummary(token: token, pages: pages.count, preview: pages.first.map { Self.preview($0.thumbnail) })
        } catch {
            try? FileManager.default.removeItem(atPath: dir)
            throw ServiceFailure(error == .cancelled ? "scan_cancelled" : "scan_failed", error.resident)
        }
    }

    static func preview(_ image: RasterImage) -> PagePreview {
        let t = image.thumbnail(maxWidth: 48, maxHeight: 64)
        var luma: [UInt8] = []
        luma.reserveCapacity(t.width * t.height)
        for y in 0..<t.height { for x in 0..<t.width { luma.append(UInt8(clamping: t.luma(x, y))) } }
        return PagePreview(width: t.width, height: t.height, luma: luma)
    }

    public func discardScan(_ token: String) async {
        await self.discardScan(token, owner: nil)
    }

    /// Drops a scan; with an `owner`, only one that session took (another session's token is ignored).
    public func discardScan(_ token: String, owner: Int?) async {
        let removed = self.scans.withLock { held -> Bool in
            guard let scan = held[token], owner == nil || scan.owner == owner else { return false }
            held[token] = nil
            return true
        }
        guard removed else { return }
        try? FileManager.default.removeItem(atPath: "\(self.workDir)/\(token)")
    }

    /// Drops every scan the session `owner` still holds (its connection closed: the UI crashed or the resident left).
    public func endSession(_ owner: Int) async {
        let tokens = self.scans.withLock { held in held.filter { $0.value.owner == owner }.map(\.key) }
        for token in tokens { await self.discardScan(token) }
    }

    /// Removes every scan still waiting (start-up and shutdown: nothing of a past session stays on disk).
    public func discardAllScans() {
        self.scans.withLock { $0.removeAll() }
        for name in (try? FileManager.default.contentsOfDirectory(atPath: self.workDir)) ?? [] {
            try? FileManager.default.removeItem(atPath: "\(self.workDir)/\(name)")
        }
    }

    // MARK: - Applications

    public func submit(_ draft: ApplicationDraft) async throws(ServiceFailure) -> SubmissionReceipt {
        try await self.submit(draft, owner: nil)
    }

    /// Submits for the session `owner`: only scans that session took may be attached.
    /// - Parameter actor: who the audit names; in assisted mode the staff member (`petugas:sari:uid=…`).
    public func submit(_ draft: ApplicationDraft, owner: Int?, actor: String = "resident") async throws(ServiceFailure) -> SubmissionReceipt {
        let profile = self.profile
        let stored: StoredApplication
        if let existing = try? self.store.application(draft.id.uuidString) {
            // The same draft sent again (a retry after an error the resident saw): one application, not two.
            stored = existing
        } else {
            guard let service = profile.service(draft.service) else {
                let e = RulesError.unknownService(service: SafeText.visible(draft.service), profile: profile.id)
                throw ServiceFailure(e.code, e.message)
            }
            do throws(RulesError) {
                try service.checkSubmission(facts: draft.facts, contact: draft.contact)
                try service.checkForm(draft.form, facts: draft.facts, today: self.today)
                if let n = draft.notify, !ApplyFlow.notifyChannels.contains(n) || draft.contact == nil {
                    throw RulesError.invalidText(field: "notify", reason: LocalizedText(
                        "Pemberitahuan hanya lewat WhatsApp atau SMS ke nomor yang diisi.",
                        "Notifications go only by WhatsApp or SMS to the number given."))
                }
            } catch {
                throw ServiceFailure(error.code, error.message)
            }
            let attachments = try self.attachments(draft.scans, service: service, owner: owner)
            let consent = "\(SafeText.strip(draft.consentVersion)) accepted; language \(draft.language.rawValue)"
            let protected = Set(service.formFields(for: draft.facts).filter(\.isProtected).map(\.key))
            let app = NewApplication(id: draft.id, service: draft.service, profile: profile.id,
                                     applicant: draft.applicant, eventDate: draft.eventDate, contact: draft.contact,
                                     facts: draft.facts, attachments: attachments, consent: consent,
                                     form: draft.form, protectedFields: protected,
                                     notify: draft.notify.flatMap(NotifyChannel.init(rawValue:)), assistedBy: draft.assistedBy)
            do throws(StoreError) {
                let receipt = try await StoreWork.run { () throws(StoreError) in try self.store.submit(app, actor: actor) }
                stored = try self.store.application(receipt.id.uuidString)
            } catch {
                throw ServiceFailure(error.code, error.message)
            }
            for token in draft.scans.values.joined() { await self.discardScan(token, owner: owner) }
        }
        return SubmissionReceipt(trackingCode: stored.trackingCode, expected: self.expected(stored))
    }

    /// The held scans of a draft as attachments: each for a requirement the service declares (or one of its
    /// alternatives), taken by this session, within the requirement's page limit.
    private func attachments(_ scans: [String: [String]], service: Service, owner: Int?) throws(ServiceFailure) -> [NewAttachment] {
        // The draft comes from a client: every scan must be for a requirement this service declares.
        let known = Set(service.requirements.flatMap { [$0.id] + ($0.alternatives ?? []).map(\.id) })
        if let unknown = scans.keys.sorted().first(where: { !known.contains($0) }) {
            throw ServiceFailure("unknown_requirement", LocalizedText(
                "Persyaratan \"\(SafeText.visible(String(unknown.prefix(80))))\" tidak dikenal untuk layanan ini.",
                "Requirement \"\(SafeText.visible(String(unknown.prefix(80))))\" is not known for this service."))
        }
        var attachments: [NewAttachment] = []
        let held = self.scans.withLock { $0 }
        for (requirement, tokens) in scans.sorted(by: { $0.key < $1.key }) {
            let limit = service.requirements.first { $0.id == requirement }?.pageLimit ?? Requirement.pageLimit
            let pages = tokens.reduce(0) { $0 + (held[$1]?.pages.count ?? 0) }
            guard pages <= limit else {
                throw ServiceFailure("too_many_pages", LocalizedText(
                    "Terlalu banyak halaman untuk satu dokumen (paling banyak \(limit)).",
                    "Too many pages for one document (at most \(limit))."))
            }
            for token in tokens {
                guard let scan = held[token], owner == nil || scan.owner == owner else {
                    throw ServiceFailure("scan_missing", LocalizedText("Hasil pindai hilang; pindai ulang dokumen.",
                                                                       "A scan is missing; please scan the document again."))
                }
                attachments += scan.pages.map { NewAttachment(requirement: requirement, path: $0.path) }
            }
        }
        return attachments
    }

    /// What a returned application lets the resident correct: what the Dinas named, or, when it named nothing,
    /// every document the application carried (nil unless it is returned for correction).
    func correctionRequest(_ app: StoredApplication) -> CorrectionRequest? {
        guard app.state == .returnedForCorrection, let service = self.profile.service(app.service) else { return nil }
        var requirements = app.correction?.requirements ?? []
        let fields = (app.correction?.fields ?? []).filter { key in (service.form ?? []).contains { $0.key == key } }
        let known = Set(service.requirements.flatMap { [$0.id] + ($0.alternatives ?? []).map(\.id) })
        requirements = requirements.filter(known.contains)
        if requirements.isEmpty && fields.isEmpty {
            var seen: [String] = []
            for a in app.attachments where !seen.contains(a.requirement) && known.contains(a.requirement) { seen.append(a.requirement) }
            requirements = seen
        }
        return CorrectionRequest(applicationID: app.id, service: app.service, requirements: requirements, fields: fields)
    }

    public func resubmit(_ draft: CorrectionDraft) async throws(ServiceFailure) -> SubmissionReceipt {
        try await self.resubmit(draft, owner: nil)
    }

    /// "Perbaiki": the corrections of a returned application, by its applicant, resubmitted under the same id.
    public func resubmit(_ draft: CorrectionDraft, owner: Int?) async throws(ServiceFailure) -> SubmissionReceipt {
        let app: StoredApplication
        let source: ApplicationManifestSource
        do throws(StoreError) {
            app = try self.store.application(draft.id.uuidString)
            source = try self.store.manifestSource(app.id)
        } catch {
            throw ServiceFailure(error.code, error.message)
        }
        guard let request = self.correctionRequest(app), let service = self.profile.service(app.service) else {
            throw ServiceFailure("not_returned", LocalizedText(
                "Permohonan ini tidak sedang dikembalikan untuk diperbaiki.", "This application is not returned for correction."))
        }
        // Only the applicant corrects their application.
        guard source.applicantNIK == draft.applicant.digits else {
            throw ServiceFailure("not_applicant", LocalizedText(
                "NIK ini bukan NIK pemohon. Hanya pemohon yang dapat memperbaiki permohonannya.",
                "This is not the applicant's NIK. Only the applicant can correct the application."))
        }
        let allowedScans = Set(request.requirements)
        let allowedFields = Set(request.fields)
        guard draft.scans.keys.allSatisfy({ key in
            allowedScans.contains(key) || service.requirements.contains { r in allowedScans.contains(r.id) && (r.alternatives ?? []).contains { $0.id == key } }
        }), draft.form.keys.allSatisfy(allowedFields.contains) else {
            throw ServiceFailure("not_asked", LocalizedText(
                "Hanya yang diminta Dinas yang dapat diperbaiki.", "Only what the Dinas asked for can be corrected."))
        }
        let form = source.form.merging(draft.form) { _, new in new }
        do throws(RulesError) {
            try service.checkForm(form, facts: source.facts, today: self.today)
        } catch {
            throw ServiceFailure(error.code, error.message)
        }
        let attachments = try self.attachments(draft.scans, service: service, owner: owner)
        let protected = Set(service.formFields(for: source.facts).filter(\.isProtected).map(\.key))
        let stored: StoredApplication
        do throws(StoreError) {
            _ = try await StoreWork.run { () throws(StoreError) in
                try self.store.resubmit(app.id, form: form, protectedFields: protected, attachments: attachments,
                                        replacing: Set(draft.scans.keys))
            }
            stored = try self.store.application(app.id.uuidString)
        } catch {
            throw ServiceFailure(error.code, error.message)
        }
        for token in draft.scans.values.joined() { await self.discardScan(token, owner: owner) }
        return SubmissionReceipt(trackingCode: stored.trackingCode, expected: self.expected(stored))
    }

    public func printReceipt(trackingCode: String, language: Language) async -> LocalizedText? {
        guard let app = try? self.store.application(trackingCode) else {
            return LocalizedText("Permohonan tidak ditemukan.", "Application not found.")
        }
        return await self.printReceipt(app, expected: self.expected(app), language: language)
    }

    private func printReceipt(_ app: StoredApplication, expected: [ExpectedProduct], language: Language) async -> LocalizedText? {
        guard let printer = self.printer else {
            return LocalizedText("Printer tidak terpasang.", "No printer connected.")
        }
        let content = ResidentFacing.receipt(app, store: self.store, profile: self.profile,
                                             kioskName: self.settings.desaName, language: language, statusURL: nil,
                                             assistedBy: app.assistedBy.map { self.staffLabel($0, language: language) })
        let path = "\(self.workDir)/receipt-\(app.trackingCode.raw).pdf"
        do {
            try ReceiptRenderer.render(content, language: language).write(to: URL(fileURLWithPath: path))
        } catch {
            return LocalizedText("Tanda terima tidak dapat dibuat.", "The receipt could not be made.")
        }
        defer { unlink(path) }
        do throws(PrinterError) {
            let o = try await printer.print(path: path, title: "Tanda terima \(app.trackingCode.formatted)",
                                            timeout: self.settings.printTimeoutSeconds)
            if o.printed {
                try? self.store.recordPagePrinted(app.id, event: "receipt_printed", sheets: o.sheets, actor: "kiosk", detail: o.detail)
                return nil
            }
            try? self.store.recordEvent(app.id, event: "receipt_print_failed", actor: "kiosk", detail: o.detail)
            return LocalizedText("Printer bermasalah (\(o.faultsSeen.joined(separator: ", "))).",
                                 "Printer problem (\(o.faultsSeen.joined(separator: ", "))).")
        } catch {
            try? self.store.recordEvent(app.id, event: "receipt_print_failed", actor: "kiosk", detail: error.description)
            return error.message
        }
    }

    /// "Ibu Sari (Petugas desa)" for a staff id of the bundle in force; the id itself (or the unix user of a
    /// kioskctl submission, `user:NAME`) otherwise.
    func staffLabel(_ staffID: String, language: Language) -> String {
        guard let staff = self.config.current.kiosk?.staffPins.first(where: { $0.staffID == staffID }) else { return staffID }
        return "\(staff.name) (\(staff.role.label.text(language)))"
    }

    /// Expected issuance per product, as the screens show it.
    func expected(_ app: StoredApplication) -> [ExpectedProduct] {
        ResidentFacing.issuance(of: app, store: self.store, profile: self.profile).map { i in
            ExpectedProduct(name: i.name, due: ResidentFacing.due(i, conventions: self.profile.conventions))
        }
    }

    func status(of app: StoredApplication) -> ApplicationStatus {
        let history = ((try? self.store.history(app.id)) ?? []).compactMap { entry -> ApplicationStatus.Step? in
            guard let to = entry.to else { return nil }
            return ApplicationStatus.Step(at: self.profile.conventions.utcOffset.timestamp(of: entry.at), state: to)
        }
        let name = ResidentFacing.serviceName(app.service, profile: self.profile)
        let reason = [.returnedForCorrection, .rejected].contains(app.state) ? app.stateReason : nil
        return ApplicationStatus(trackingCode: app.trackingCode, serviceName: name, state: app.state, history: history,
                                 expected: app.state == .ready || app.state == .printed ? [] : self.expected(app),
                                 reason: reason, correction: self.correctionRequest(app))
    }

    public func status(trackingCode: String) async throws(ServiceFailure) -> ApplicationStatus {
        do throws(StoreError) {
            return self.status(of: try self.store.application(trackingCode))
        } catch {
            throw ServiceFailure(error.code, error.message)
        }
    }

    public func applications(of nik: NIK) async throws(ServiceFailure) -> [ApplicationStatus] {
        do throws(StoreError) {
            return try self.store.applications(applicantNIK: nik.digits).map(self.status(of:))
        } catch {
            throw ServiceFailure(error.code, error.message)
        }
    }

    public func readyDocuments(nik: NIK, trackingCode: String) async throws(ServiceFailure) -> [ReadyDocument] {
        do {
            let app = try self.store.application(trackingCode)
            guard let owner = try self.store.applicantNIK(of: app.id) else {
                throw ServiceFailure("ask_staff", LocalizedText(
                    "Data permohonan ini sudah dihapus dari kios. Hubungi petugas desa.",
                    "This application's data has been removed from the kiosk. Please ask the desa staff."))
            }
            // The same message whether the code is unknown or not this resident's: nothing is revealed.
            guard owner == nik.digits else { throw StoreError.notFound(app.trackingCode.formatted) }
            let products = self.profile.service(app.service)?.products ?? []
            return try self.store.documents(app.id).compactMap { doc in
                let product = products.first { $0.id == doc.product }
                guard product?.printableAtKiosk ?? true else { return nil }
                return ReadyDocument(id: doc.documentID, name: product?.name ?? LocalizedText(doc.product, doc.product),
                                     printsLeft: max(0, self.settings.reprintLimit + 1 - doc.printCount))
            }
        } catch let f as ServiceFailure {
            throw f
        } catch let e as StoreError {
            throw ServiceFailure(e.code, e.message)
        } catch {
            throw ServiceFailure("failed", LocalizedText("\(error)", "\(error)"))
        }
    }

    public func printDocument(_ documentID: String, progress: @escaping @Sendable (Double) -> Void)
        async throws(ServiceFailure) -> PrintReport
    {
        try await self.printDocument(documentID, actor: "resident", limited: true, progress: progress)
    }

    /// Prints a document for `actor`; `limited` false skips the resident reprint limit (a staff reprint, which
    /// its caller audits with the reason).
    public func printDocument(_ documentID: String, actor: String, limited: Bool, progress: @escaping @Sendable (Double) -> Void)
        async throws(ServiceFailure) -> PrintReport
    {
        guard let printer = self.printer else {
            throw ServiceFailure("printer_unavailable", LocalizedText(
                "Printer tidak terpasang. Dokumen tetap tersimpan; cetak nanti.",
                "No printer is connected. The document is kept; print it later."))
        }
        let doc: StoredDocument
        let allowed: Bool
        do throws(StoreError) {
            doc = try self.store.document(documentID)
            allowed = try self.store.mayPrint(documentID: documentID, reprintLimit: self.settings.reprintLimit)
        } catch {
            throw ServiceFailure(error.code, error.message)
        }
        guard allowed || !limited else {
            throw ServiceFailure("reprint_limit", LocalizedText(
                "Batas cetak dokumen ini sudah tercapai. Hubungi petugas desa.",
                "This document's print limit is reached. Please ask the desa staff."))
        }
        // Verified again (hash and Dinas signature) immediately before printing; a refusal is recorded for staff.
        let path: String
        do throws(StoreError) {
            switch try self.store.verifyForPrint(documentID: documentID, trusted: self.trustedKeys, actor: actor) {
            case .verified(let p): path = p
            case .refused:
                return PrintReport(printed: false, sheets: 0, problem: LocalizedText(
                    "Dokumen ini tidak lolos pemeriksaan keaslian dan tidak dicetak. Hubungi petugas desa.",
                    "This document failed its authenticity check and was not printed. Please ask the desa staff."))
            }
        } catch {
            throw ServiceFailure(error.code, error.message)
        }
        progress(0.05)
        // Progress while CUPS works: an estimate that approaches 90 % until the job ends.
        let ticker = Task {
            var p = 0.05
            while !Task.isCancelled {
                try? await Task.sleep(nanoseconds: 250_000_000)
                p += (0.9 - p) * 0.25
                progress(p)
            }
        }
        let outcome: Result<PrintOutcome, PrinterError>
        do throws(PrinterError) {
            outcome = .success(try await printer.print(path: path, title: doc.product,
                                                       timeout: self.settings.printTimeoutSeconds))
        } catch {
            outcome = .failure(error)
        }
        ticker.cancel()
        let (printed, sheets, detail): (Bool, Int, String) = switch outcome {
        case .success(let o): (o.printed, o.sheets, o.detail)
        case .failure(let e): (false, 0, e.description)
        }
        do throws(StoreError) {
            try self.store.recordPrint(documentID: documentID, printed: printed, sheets: sheets, detail: detail, actor: actor)
        } catch {
            throw ServiceFailure(error.code, error.message)
        }
        if printed {
            progress(1)
            return PrintReport(printed: true, sheets: sheets, problem: nil)
        }
        let problem: LocalizedText
        switch outcome {
        case .failure(let e):
            problem = LocalizedText(e.message.id + " Dokumen tetap tersimpan; hubungi petugas desa lalu cetak lagi.",
                                    (e.message.en ?? e.message.id) + " The document is kept; ask the desa staff, then print again.")
        case .success(let o) where o.faultsSeen.contains("media-empty") || o.faultsSeen.contains("media-needed"):
            problem = LocalizedText("Kertas habis. Dokumen tetap tersimpan; minta petugas desa mengisi kertas, lalu cetak lagi.",
                                    "Out of paper. The document is kept; ask the desa staff to add paper, then print again.")
        case .success:
            problem = CollectFlow.keptMessage
        }
        return PrintReport(printed: false, sheets: 0, problem: problem)
    }

    public func verifyRegistration(nik: NIK, kk: String) async throws(ServiceFailure) -> RegistryCheck {
        guard self.settings.registryCheck else {
            throw ServiceFailure("not_offered", LocalizedText("Cek NIK & KK tidak tersedia di kios ini.",
                                                              "Checking a NIK and KK is not offered at this kiosk."))
        }
        if let p = RegistryCheck.kkProblem(kk) { throw ServiceFailure("invalid_kk", p) }
        guard let lookup = self.registry.withLock({ $0 }) else {
            throw ServiceFailure("no_dinas_link", LocalizedText("Kios belum terhubung ke Dinas. Coba lagi nanti.",
                                                                "The kiosk is not connected to the Dinas. Try again later."))
        }
        do throws(ServiceFailure) {
            let r = try await lookup(nik, kk)
            // Audited without the numbers: the masked NIK and the outcome.
            try? self.store.recordEvent(nil, event: "registry_check", actor: "resident",
                                        detail: "nik \(nik.masked) kk \(NIK.mask(kk)) \(r.match ? "match" : "no match")")
            return r
        } catch {
            try? self.store.recordEvent(nil, event: "registry_check_failed", actor: "resident",
                                        detail: "nik \(nik.masked) \(error.code)")
            throw error
        }
    }

    public func printComplaintSlip(reference: String, language: Language) async -> LocalizedText? {
        guard let c = try? self.store.complaint(reference: reference) else {
            return LocalizedText("Pengaduan tidak ditemukan.", "Complaint not found.")
        }
        guard let printer = self.printer else { return LocalizedText("Printer tidak terpasang.", "No printer connected.") }
        let category = ComplaintCategory(rawValue: c.category)?.label ?? LocalizedText(c.category, c.category)
        let slip = ComplaintSlip(
            dinasName: self.profile.dinas.text(language), kioskName: self.settings.desaName, reference: c.reference,
            category: category.text(language), filedAt: c.createdAt, utcOffset: self.profile.conventions.utcOffset,
            timeZoneName: self.profile.conventions.timeZoneName,
            complaintChannels: self.profile.complaintChannels.filter { $0.kind != "kiosk" }.map { $0.residentLine(language) })
        let path = "\(self.workDir)/complaint-\(UUID().uuidString.prefix(8)).pdf"
        do {
            try ReceiptRenderer.render(slip, language: language).write(to: URL(fileURLWithPath: path))
        } catch {
            return LocalizedText("Bukti pengaduan tidak dapat dibuat.", "The complaint slip could not be made.")
        }
        defer { unlink(path) }
        do throws(PrinterError) {
            let o = try await printer.print(path: path, title: "Bukti pengaduan \(c.reference)", timeout: self.settings.printTimeoutSeconds)
            if o.printed {
                try? self.store.recordPagePrinted(nil, event: "complaint_slip_printed", sheets: o.sheets, actor: "kiosk",
                                                  detail: "\(c.reference) \(o.detail)")
            } else {
                try? self.store.recordEvent(nil, event: "complaint_slip_print_failed", actor: "kiosk", detail: "\(c.reference) \(o.detail)")
            }
            return o.printed ? nil : LocalizedText("Printer bermasalah (\(o.faultsSeen.joined(separator: ", "))).",
                                                   "Printer problem (\(o.faultsSeen.joined(separator: ", "))).")
        } catch {
            return error.message
        }
    }

    public func complaintStatus(reference: String) async throws(ServiceFailure) -> ComplaintStatus {
        let found: StoredComplaint?
        do throws(StoreError) {
            found = try self.store.complaint(reference: reference)
        } catch {
            throw ServiceFailure(error.code, error.message)
        }
        guard let c = found else {
            throw ServiceFailure("not_found", LocalizedText("Pengaduan tidak ditemukan.", "Complaint not found."))
        }
        let offset = self.profile.conventions.utcOffset
        return ComplaintStatus(reference: c.reference, category: ComplaintCategory(rawValue: c.category) ?? .other,
                               filedAt: offset.timestamp(of: c.createdAt), sent: c.sentAt != nil, answer: c.answer,
                               answeredAt: c.answeredAt.map { offset.timestamp(of: $0) })
    }

    public func fileComplaint(_ complaint: Complaint) async throws(ServiceFailure) -> String {
        do throws(StoreError) {
            return try self.store.fileComplaint(
                category: complaint.category.rawValue, body: complaint.text, contact: complaint.contact,
                language: complaint.language.rawValue).reference
        } catch {
            throw ServiceFailure(error.code, error.message)
        }
    }
}

extension ResidentSettings {
    /// The resident-facing settings a configuration bundle carries (desa name, hours, idle timeout, announcement).
    public init(kiosk: KioskSettings, reprintLimit: Int = 2, lowPaperThreshold: Int = 20, printTimeoutSeconds: Double = 120,
                demo: Bool = false, deviceSummary: String? = nil) {
        self.init(desaName: kiosk.desaName, openingHours: kiosk.openingHours.map(Self.label), announcement: kiosk.announcement,
                  idleTimeoutSeconds: kiosk.idleTimeoutSeconds, reprintLimit: reprintLimit,
                  lowPaperThreshold: lowPaperThreshold, printTimeoutSeconds: printTimeoutSeconds, demo: demo,
                  deviceSummary: deviceSummary, registryCheck: kiosk.registryCheck == true,
                  staffTimeoutSeconds: kiosk.staffTimeout, staffEntry: !kiosk.staffPins.isEmpty,
                  voiceEnabled: kiosk.voiceEnabled != false, voiceVolume: kiosk.voiceVolume ?? 100)
    }

    static let dayNames = ["Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu"]

    /// "Senin–Jumat 08:00–15:00" for consecutive days, else "Senin, Rabu 08:00–12:00".
    static func label(_ h: KioskSettings.OpeningHours) -> String {
        let days = h.days.filter { (1...7).contains($0) }.sorted()
        guard let first = days.first, let last = days.last else { return "\(h.open)–\(h.close)" }
        let consecutive = days.count > 2 && days == Array(first...last)
        let names = consecutive ? "\(dayNames[first - 1])–\(dayNames[last - 1])" : days.map { dayNames[$0 - 1] }.joined(separator: ", ")
        return "\(names) \(h.open)–\(h.close)"
    }
}

/// A flag set and read from any thread.
final class Flag: Sendable {
    private let value = Atomic<Bool>(false)
    func set(_ on: Bool = true) { self.value.store(on, ordering: .sequentiallyConsistent) }
    var isSet: Bool { self.value.load(ordering: .sequentiallyConsistent) }
}
