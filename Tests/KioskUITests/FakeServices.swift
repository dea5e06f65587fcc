import Foundation
import KioskCore
import Synchronization

let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

func loadProfile(_ id: String) throws -> JurisdictionProfile {
    let data = try Data(contentsOf: packageRoot.appendingPathComponent("Kiosk/profiles/\(id).json"))
    return try JurisdictionProfile.load(data, root: id)
}

/// A manual clock for the app under test.
final class TestClock: Sendable {
    private let value = Mutex<Double>(1000)
    var now: Double { self.value.withLock { $0 } }
    func advance(_ s: Double) { self.value.withLock { $0 += s } }
}

/// In-memory `KioskServices` for UI tests: records what the UI asked for, fails on request.
final class FakeServices: KioskServices {
    struct State {
        var submitted: [ApplicationDraft] = []
        var receiptsPrinted: [String] = []
        var discarded: [String] = []
        var printed: [String] = []
        var printFailure: LocalizedText?
        var scanFailure: ServiceFailure?
        var notices: [DeviceNotice] = []
        var status: ApplicationStatus?
        var complaints: [Complaint] = []
        var slips: [String] = []
        var corrections: [CorrectionDraft] = []
        var complaintStatus: ComplaintStatus?
        var registryCheck = false
        var scanCount = 0
    }

    let state = Mutex(State())

    struct StaffState {
        var wrongPINs = 0
        var unlocked = false
        var locks = 0
        var calls: [String] = []
        var sheets = 0
        var restocks: [Int] = []
        var testPages = 0
        var retried: [UUID] = []
        var reprints: [String] = []
        var role = StaffRole.petugas
    }

    let staffState = Mutex(StaffState())
    let profile: JurisdictionProfile
    let code: TrackingCode
    private let cards: AsyncStream<CardTap>
    private let cardInput: AsyncStream<CardTap>.Continuation
    let testNIK: NIK

    init(profile: JurisdictionProfile) throws {
        self.profile = profile
        var g = SystemRandomNumberGenerator()
        self.code = TrackingCode(using: &g)
        (self.cards, self.cardInput) = AsyncStream<CardTap>.makeStream()
        self.testNIK = try NIK("5371011708950003", today: CivilDate(iso: "2026-11-22")!)
    }

    func info() async -> KioskInfo {
        KioskInfo(desaName: "Desa \u{1B}[31mUji", openingHours: ["Senin–Jumat 08.00–15.00"],
                  announcement: LocalizedText("Pengumuman\u{1B}[2J penting", "Important"), profile: self.profile,
                  idleTimeoutSeconds: 60, demo: true, registryCheck: self.state.withLock { $0.registryCheck },
                  staffTimeoutSeconds: 90, staffEntry: true)
    }

    func deviceNotices() async -> [DeviceNotice] { self.state.withLock { $0.notices } }
    func cardEvents() -> AsyncStream<CardTap> { self.cards }

    func tapTestCard() async -> Bool {
        self.cardInput.yield(.inserted(self.testNIK))
        return true
    }

    func scan(requirement: String, expectedPages: Int?) async throws(ServiceFailure) -> ScanSummary {
        let n = try self.state.withLock { s throws(ServiceFailure) -> Int in
            if let f = s.scanFailure { throw f }
            s.scanCount += 1
            return s.scanCount
        }
        return ScanSummary(token: "scan-\(n)", pages: 1, preview: PagePreview(width: 4, height: 4, luma: Array(repeating: 200, count: 16)))
    }

    func discardScan(_ token: String) async { self.state.withLock { $0.discarded.append(token) } }

    func submit(_ draft: ApplicationDraft) async throws(ServiceFailure) -> SubmissionReceipt {
        self.state.withLock { $0.submitted.append(draft) }
        return SubmissionReceipt(trackingCode: self.code, expected: [], receiptProblem: nil)
    }

    func printReceipt(trackingCode: String, language: Language) async -> LocalizedText? {
        self.state.withLock { $0.receiptsPrinted.append(trackingCode) }
        return nil
    }

    func status(trackingCode: String) async throws(ServiceFailure) -> ApplicationStatus {
        guard trackingCode == self.code.raw, let s = self.state.withLock({ $0.status }) else {
            throw ServiceFailure("not_found", LocalizedText("Permohonan tidak ditemukan.", "Application not found."))
        }
        return s
    }

    func applications(of nik: NIK) async throws(ServiceFailure) -> [ApplicationStatus] {
        self.state.withLock { $0.status.map { [$0] } ?? [] }
    }

    func readyDocuments(nik: NIK, trackingCode: String) async throws(ServiceFailure) -> [ReadyDocument] {
        guard nik == self.testNIK, trackingCode == self.code.raw else {
            throw ServiceFailure("not_found", LocalizedText("Permohonan tidak ditemukan.", "Application not found."))
        }
        return [ReadyDocument(id: "doc-1", name: LocalizedText("Kutipan Akta Kelahiran", "Birth certificate"), printsLeft: 3)]
    }

    func printDocument(_ documentID: String, progress: @escaping @Sendable (Double) -> Void) async throws(ServiceFailure) -> PrintReport {
        progress(0.5)
        if let problem = self.state.withLock({ $0.printFailure }) {
            return PrintReport(printed: false, sheets: 0, problem: problem)
        }
        self.state.withLock { $0.printed.append(documentID) }
        return PrintReport(printed: true, sheets: 1, problem: nil)
    }

    func fileComplaint(_ complaint: Complaint) async throws(ServiceFailure) -> String {
        self.state.withLock { $0.complaints.append(complaint) }
        return "PGD-TEST"
    }

    func verifyRegistration(nik: NIK, kk: String) async throws(ServiceFailure) -> RegistryCheck {
        RegistryCheck(match: kk == "5371010101010001", nameMasked: kk == "5371010101010001" ? "M**** N***" : nil)
    }

    func resubmit(_ draft: CorrectionDraft) async throws(ServiceFailure) -> SubmissionReceipt {
        self.state.withLock { $0.corrections.append(draft) }
        return SubmissionReceipt(trackingCode: self.code, expected: [])
    }

    func printComplaintSlip(reference: String, language: Language) async -> LocalizedText? {
        self.state.withLock { $0.slips.append(reference) }
        return nil
    }

    func complaintStatus(reference: String) async throws(ServiceFailure) -> ComplaintStatus {
        guard let c = self.state.withLock({ $0.complaintStatus }), c.reference == reference else {
            throw ServiceFailure("not_found", LocalizedText("Tidak ditemukan.", "Not found."))
        }
        return c
    }
}
