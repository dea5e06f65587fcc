import Foundation
import KioskCore
import KioskDevices
import KioskRuntime
import KioskService
import KioskSecurity
import KioskStore
import KioskTestSupport
import Testing

let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

/// The in-process services on real parts: a SQLite store in a temp folder, `scanimage -d test`, and a private
/// cupsd whose queue prints to ippeveprinter (started here, on free ports, so no other suite is disturbed).
@Suite(.serialized) struct LocalServicesTests {
    let today = CivilDate(iso: "2026-11-22")!

    func profile() throws -> JurisdictionProfile {
        try JurisdictionProfile.load(
            try Data(contentsOf: packageRoot.appendingPathComponent("Kiosk/profiles/kota-kupang.json")), root: "kota-kupang")
    }

    @Test func scanSubmitIssuePrintThroughPaperOutAndRefill() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("kiosk-runtime-\(UUID().uuidString)").path
        let printerDir = "\(root)/printer"
        let scripts = packageRoot.appendingPathComponent("Hardware/printer").path
        #expect(try ChildProcess.run(["bash", "\(scripts)/start-test-printer.sh", printerDir]).status == 0)
        defer {
            _ = try? ChildProcess.run(["bash", "\(scripts)/stop-test-printer.sh", printerDir])
            try? FileManager.default.removeItem(atPath: root)
        }
        let printer = try await CUPSPrinter(queue: "kiosk", server: "\(printerDir)/run/cups.sock")
        let store = try KioskStore.open(directory: "\(root)/data").0
        try store.restockPaper(sheets: 50, actor: "test")
        var scan = ScanSettings()
        scan.device = "test"
        scan.extraOptions = ["--test-picture=Grid"]
        let reader = SimulatedCardReader()
        let nik = try NIK("5371011708950003", today: today)
        let profile = try self.profile()
        let dinasKey = try Ed25519PrivateKey.generate()
        let services = try LocalKioskServices(
            store: store, profile: profile, settings: ResidentSettings(desaName: "Desa Uji", printTimeoutSeconds: 30),
            printer: printer, scanner: SANEScanner(settings: scan), workDir: "\(root)/work", cards: reader.events,
            simulatedCard: (reader, nik), trustedKeys: [dinasKey.publicKey])

        // Scans: real pages with a preview, private files; a discarded scan leaves nothing.
        var tokens: [String: [String]] = [:]
        for requirement in ["surat-kelahiran", "identitas-saksi", "kk-orang-tua", "ktp-orang-tua"] {
            let s = try await services.scan(requirement: requirement, expectedPages: 1)
            #expect(s.pages == 1)
            #expect((s.preview?.width ?? 0) > 0)
            let files = try FileManager.default.contentsOfDirectory(atPath: "\(root)/work/\(s.token)")
            let mode = try FileManager.default.attributesOfItem(atPath: "\(root)/work/\(s.token)/\(files[0])")[.posixPermissions] as? Int
            #expect(mode == 0o600)
            tokens[requirement] = [s.token]
        }
        let extra = try await services.scan(requirement: "akta-nikah-orang-tua", expectedPages: 1)
        await services.discardScan(extra.token)
        #expect(!FileManager.default.fileExists(atPath: "\(root)/work/\(extra.token)"))

        // Submit: stored, receipt printed on the real printer; the same draft again is the same application.
        let draft = ApplicationDraft(
            id: UUID(), service: "birth", applicant: nik, eventDate: today.adding(days: -30), facts: ["citizenship": .string("wni")],
            contact: "081234567890", scans: tokens,
            form: FormSamples.answers(try #require(profile.service("birth")), facts: ["citizenship": .string("wni")], today: today,
                                      nik: "5371011708950003"),
            consentVersion: ApplyFlow.consentVersion, language: .id)
        let receipt = try await services.submit(draft)
        #expect(await services.printReceipt(trackingCode: receipt.trackingCode.raw, language: .id) == nil, "receipt printed, a separate step")
        #expect(receipt.expected.count == 2)
        #expect(try await services.submit(draft).trackingCode == receipt.trackingCode)
        #expect(try store.queueList().count == 1)
        #expect((try FileManager.default.contentsOfDirectory(atPath: "\(root)/work")).filter { !$0.hasPrefix("receipt") }.isEmpty)
        let history = try store.history(draft.id)
        let audit = history.map(\.event)
        #expect(audit.contains("consent"))
        // The consent row is written in the submit's own transaction (same instant as the transition to submitted).
        #expect(history.first { $0.event == "consent" }?.at == history.first { $0.to == .submitted }?.at)
        #expect(audit.contains("receipt_printed"))
        let mine = try await services.applications(of: nik)
        #expect(mine.map(\.trackingCode) == [receipt.trackingCode])
        #expect(mine.first?.state == .submitted)

        // The store moves as the sync engine moves it: delivered, in review, one signed document, ready.
        try Self.issueOneDocument(receipt.trackingCode.raw, store: store, profile: profile, key: dinasKey)
        let status = try await services.status(trackingCode: receipt.trackingCode.raw)
        #expect(status.state == .ready)
        #expect(status.history.map(\.state).contains(.delivered))

        // Someone else's card with the right code sees nothing.
        let other = try NIK("3316015703100001", today: today)
        await #expect(throws: ServiceFailure.self) { try await services.readyDocuments(nik: other, trackingCode: receipt.trackingCode.raw) }
        let docs = try await services.readyDocuments(nik: nik, trackingCode: receipt.trackingCode.raw)
        #expect(docs.count == 1)
        #expect(docs.first?.printsLeft == 3)

        // Paper out: the home screen says so, the print is refused, the document is kept and counts nothing.
        #expect(try ChildProcess.run(["bash", "\(scripts)/printer-ctl.sh", printerDir, "media-empty"]).status == 0)
        var notices: [DeviceNotice] = []
        for _ in 0..<50 {
            notices = await services.deviceNotices()
            if notices.contains(where: { $0.device == "printer" }) { break }
            try await Task.sleep(nanoseconds: 200_000_000)
        }
        #expect(notices.first { $0.device == "printer" }?.message.id.contains("tetap dapat mengajukan") == true)
        let failed = try await services.printDocument(docs[0].id) { _ in }
        #expect(!failed.printed)
        #expect(failed.problem?.id.contains("tetap tersimpan") == true)
        #expect(try store.document(docs[0].id).printState == "print_failed")
        #expect(try await services.readyDocuments(nik: nik, trackingCode: receipt.trackingCode.raw).first?.printsLeft == 3)

        // Refill: it prints, with progress, and the application becomes printed.
        #expect(try ChildProcess.run(["bash", "\(scripts)/printer-ctl.sh", printerDir, "refill"]).status == 0)
        for _ in 0..<50 where !(await services.deviceNotices()).filter({ $0.device == "printer" }).isEmpty {
            try await Task.sleep(nanoseconds: 200_000_000)
        }
        let progress = ProgressLog()
        let printed = try await services.printDocument(docs[0].id) { progress.add($0) }
        #expect(printed.printed)
        #expect(printed.sheets >= 1)
        #expect(progress.values.last == 1)
        #expect(try store.application(receipt.trackingCode.raw).state == .printed)
        #expect(try await services.readyDocuments(nik: nik, trackingCode: receipt.trackingCode.raw).first?.printsLeft == 2)

        // Issue 13: the file changed on disk after it arrived: verified again before the print, never printed,
        // and the refusal is recorded for staff.
        let stored = try store.document(docs[0].id)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: store.path(of: stored)))
        bytes[bytes.count / 2] ^= 0x20
        try bytes.write(to: URL(fileURLWithPath: store.path(of: stored)))
        let refused = try await services.printDocument(docs[0].id) { _ in }
        #expect(!refused.printed)
        #expect(try store.document(docs[0].id).printState == "print_failed")
        #expect(try store.document(docs[0].id).printCount == 1)
        #expect(try store.history(draft.id).contains { $0.event == "print_refused" })

        // A complaint is queued durably; the Dinas stand-in marks it sent.
        let reference = try await services.fileComplaint(Complaint(category: .kiosk, text: "printer macet", contact: nil, language: .id))
        #expect(reference.hasPrefix("PGD-"))
        #expect(try store.unsentComplaints().map(\.reference) == [reference])
        try store.markComplaintSent(try #require(try store.unsentComplaints().first).id)
        #expect(try store.unsentComplaints().isEmpty)
    }

    /// What the sync engine does to the store when the Dinas delivers, reviews and issues (the engine itself is
    /// tested against the reference endpoint in KioskSyncTests); here only the resident use cases are under test.
    static func issueOneDocument(_ code: String, store: KioskStore, profile: JurisdictionProfile, key: Ed25519PrivateKey) throws {
        let app = try store.application(code)
        try store.markUploading(app.id)
        try store.markDelivered(app.id, detail: "test")
        _ = try store.applyDinasState(app.id, .inReview, reason: nil)
        let products = profile.service(app.service)?.products ?? []
        let product = try #require(products.first { $0.printableAtKiosk })
        var pdf = PDFDocument()
        pdf.text("TEST DOCUMENT \(product.id)", x: 56, y: 780, size: 16, bold: true)
        let data = pdf.data()
        let signature = try DocumentSignature.sign(document: data, applicationID: app.id, product: product.id, with: key)
        _ = try store.storeDocument(app.id, documentID: UUID().uuidString.lowercased(), product: product.id, data: data,
                                    sha256: SHA256.hex(data), signature: signature, keyID: key.publicKey.keyID)
        _ = try store.applyDinasState(app.id, .ready, reason: nil)
    }

    @Test func scannerFaultGivesTheResidentMessageAndKeepsNothing() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("kiosk-runtime-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let store = try KioskStore.open(directory: "\(root)/data").0
        var scan = ScanSettings()
        scan.device = "test"
        scan.extraOptions = ["--test-picture=Grid", "--read-return-value=SANE_STATUS_JAMMED"]
        let services = try LocalKioskServices(
            store: store, profile: try self.profile(), settings: ResidentSettings(desaName: "Desa Uji"), printer: nil,
            scanner: SANEScanner(settings: scan), workDir: "\(root)/work", cards: SimulatedCardReader().events)
        do {
            _ = try await services.scan(requirement: "surat-kelahiran", expectedPages: 1)
            Issue.record("a jammed scan succeeded")
        } catch {
            #expect(error.code == "scan_failed")
            #expect(error.message.id.lowercased().contains("tersangkut"))
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: "\(root)/work").isEmpty)
        // No printer at all: a clear notice, and printing says what to do.
        #expect(await services.deviceNotices().contains { $0.device == "printer" })
        await #expect(throws: ServiceFailure.self) { try await services.printDocument("nothing") { _ in } }
    }
}

final class ProgressLog: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [Double] = []
    func add(_ v: Double) { self.lock.withLock { self.list.append(v) } }
    var values: [Double] { self.lock.withLock { self.list } }
}

@Suite struct ResidentSettingsTests {
    @Test func kioskSettingsFromTheConfigBundleReachTheUI() async throws {
        var kiosk = KioskSettings.defaults(desaName: "Desa Tempellemahbang")
        kiosk.idleTimeoutSeconds = 45
        kiosk.openingHours.append(.init(days: [6], open: "08:00", close: "12:00"))
        kiosk.openingHours.append(.init(days: [1, 3], open: "13:00", close: "15:00"))
        let settings = ResidentSettings(kiosk: kiosk)
        #expect(settings.idleTimeoutSeconds == 45)
        #expect(settings.openingHours == ["Senin–Jumat 08:00–15:00", "Sabtu 08:00–12:00", "Senin, Rabu 13:00–15:00"])
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("kiosk-runtime-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let profile = try JurisdictionProfile.load(
            try Data(contentsOf: packageRoot.appendingPathComponent("Kiosk/profiles/blora.json")), root: "blora")
        let services = try LocalKioskServices(
            store: try KioskStore.open(directory: "\(root)/data").0, profile: profile, settings: settings, printer: nil,
            scanner: SimulatedScanner(), workDir: "\(root)/work", cards: SimulatedCardReader().events)
        let info = await services.info()
        #expect(info.desaName == "Desa Tempellemahbang")
        #expect(info.idleTimeoutSeconds == 45)
        #expect(info.profile.id == "blora")
        #expect(await services.tapTestCard() == false)  // no simulated card configured
    }

    @Test func anUnpluggedCardReaderIsToldOnTheHomeScreen() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("kiosk-runtime-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let reader = SimulatedCardReader()
        let services = try LocalKioskServices(
            store: try KioskStore.open(directory: "\(root)/data").0,
            profile: try JurisdictionProfile.load(
                try Data(contentsOf: packageRoot.appendingPathComponent("Kiosk/profiles/blora.json")), root: "blora"),
            settings: ResidentSettings(desaName: "Desa Uji"), printer: SimulatedPrinter(), scanner: SimulatedScanner(),
            workDir: "\(root)/work", cards: reader.events)
        #expect(!(await services.deviceNotices()).contains { $0.device == "card-reader" })
        reader.unplug()
        var notices: [DeviceNotice] = []
        for _ in 0..<100 {
            notices = await services.deviceNotices()
            if notices.contains(where: { $0.device == "card-reader" }) { break }
            try await Task.sleep(nanoseconds: 10_000_000)
        }
        #expect(notices.first { $0.device == "card-reader" }?.message.id.contains("ketik NIK") == true)
    }
}

@Suite struct ResidentFacingTests {
    @Test func sensitiveServicesAreNamedByCategoryAndLateBirthsWaitForApproval() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("kiosk-runtime-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let profile = try JurisdictionProfile.load(
            try Data(contentsOf: packageRoot.appendingPathComponent("Kiosk/profiles/kota-kupang.json")), root: "kota-kupang")
        // PK 120: a child-recognition application is shown and printed only as its category.
        let recognition = ResidentFacing.serviceName("child-recognition", profile: profile)
        #expect(recognition.id.hasPrefix("Pencatatan Sipil"))
        #expect(ResidentFacing.serviceName("birth", profile: profile).id == "Akta Kelahiran")

        let store = try KioskStore.open(directory: "\(root)/data").0
        let today = profile.conventions.utcOffset.civilDate(of: Date())
        let nik = try NIK("5371011708950003", today: today)
        func submit(_ service: String, daysAgo: Int) throws -> StoredApplication {
            let r = try store.submit(NewApplication(
                service: service, profile: profile.id, applicant: nik, eventDate: today.adding(days: -daysAgo), contact: nil,
                facts: [:], attachments: [NewAttachment(requirement: "surat-kelahiran", data: Data("scan".utf8), fileExtension: "jpg")]))
            return try store.application(r.id.uuidString)
        }
        // Day 61: registration waits for the Kepala Dinas; the kiosk must not promise a date.
        let late = try submit("birth", daysAgo: 61)
        let issuance = ResidentFacing.issuance(of: late, store: store, profile: profile)
        #expect(!issuance.isEmpty)
        #expect(issuance.allSatisfy { $0.due == nil && $0.pending?.id.contains("Kepala Dinas") == true })
        // On time: dates from the submission day.
        let onTime = try submit("birth", daysAgo: 10)
        #expect(ResidentFacing.issuance(of: onTime, store: store, profile: profile).allSatisfy { $0.due != nil })
        let receipt = ResidentFacing.receipt(try submit("child-recognition", daysAgo: 5), store: store, profile: profile,
                                             kioskName: "Desa Uji", language: .id, statusURL: nil)
        #expect(receipt.serviceName == recognition.id)
    }
}

/// The use cases with fixed devices and a fixed configuration, as the tests here build them.
func LocalKioskServices(store: KioskStore, profile: JurisdictionProfile, settings: ResidentSettings, printer: (any Printer)?,
                        scanner: any KioskDevices.Scanner, workDir: String, cards: AsyncStream<CardEvent>,
                        simulatedCard: (reader: SimulatedCardReader, nik: NIK)? = nil,
                        trustedKeys: [Ed25519PublicKey] = []) throws -> KioskUseCases {
    try KioskUseCases(store: store, config: LiveConfig(LiveConfiguration(profile: profile, settings: settings, version: 0, source: "test")),
                      devices: FixedDevices(printer: printer, scanner: scanner), workDir: workDir, cards: cards,
                      simulatedCard: simulatedCard, trustedKeys: trustedKeys)
}
