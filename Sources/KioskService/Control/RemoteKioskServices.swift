import Foundation
import KioskCore
import Synchronization

/// `KioskServices` over kioskd's control socket: what kiosk-ui runs on (architecture.md, "Processes"). It holds no
/// durable state. `run()` keeps one connection up, reconnecting with backoff while kioskd is down or restarting, and
/// reports each change on `updates()`; card taps, device changes, configuration changes and print progress arrive
/// as pushed events. A call while kioskd is unreachable fails at once with a calm message.
public final class RemoteKioskServices: KioskServices {
    public let socketPath: String
    private let demo: Bool
    private let state = Mutex(State())
    private let cardStream: AsyncStream<CardTap>
    private let cardContinuation: AsyncStream<CardTap>.Continuation
    private let updateStream: AsyncStream<ServiceUpdate>
    private let updateContinuation: AsyncStream<ServiceUpdate>.Continuation
    /// Backoff between connection attempts: first, and the most.
    private let firstRetry: Double
    private let maxRetry: Double

    struct State {
        var client: ControlClient?
        var info: KioskInfo?
        /// Print progress callbacks by document id.
        var progress: [String: @Sendable (Double) -> Void] = [:]
    }

    /// - Parameter demo: the UI runs as the demo (Ctrl-C quits it, the F2 test-card hint shows).
    public init(socket: String, demo: Bool = false, firstRetry: Double = 0.2, maxRetry: Double = 3) {
        self.socketPath = socket
        self.demo = demo
        self.firstRetry = firstRetry
        self.maxRetry = maxRetry
        (self.cardStream, self.cardContinuation) = AsyncStream.makeStream(of: CardTap.self, bufferingPolicy: .bufferingNewest(8))
        (self.updateStream, self.updateContinuation) = AsyncStream.makeStream(of: ServiceUpdate.self, bufferingPolicy: .bufferingNewest(16))
    }

    public static let unavailableMessage = LocalizedText(
        "Layanan kios sedang dimulai ulang. Mohon tunggu sebentar.", "The kiosk service is restarting. Please wait a moment.")

    // MARK: - The connection

    /// Keeps a connection to kioskd until the task is cancelled. Each connection: hello, subscribe, `resident.info`,
    /// then `.available(info)`; when it drops, `.unavailable` and a reconnect after a growing pause.
    public func run() async {
        var pause = self.firstRetry
        var toldUnavailable = false
        while !Task.isCancelled {
            let client: ControlClient
            do throws(ControlError) {
                client = try ControlClient.connect(path: self.socketPath, timeout: 3)
            } catch {
                if !toldUnavailable {
                    self.updateContinuation.yield(.unavailable)
                    toldUnavailable = true
                }
                try? await Task.sleep(nanoseconds: UInt64(pause * 1e9))
                pause = min(pause * 2, self.maxRetry)
                continue
            }
            let events = client.events()
            do throws(ControlError) {
                try await client.subscribe(["card", "device", "config", "print"])
                let info = try await self.fetchInfo(client)
                self.state.withLock {
                    $0.client = client
                    $0.info = info
                }
                pause = self.firstRetry
                toldUnavailable = false
                self.updateContinuation.yield(.available(info))
            } catch {
                client.close()
                continue
            }
            for await event in events {
                await self.handle(event, client)
            }
            self.state.withLock { s in
                if s.client === client { s.client = nil }
                s.progress = [:]
            }
            client.close()
            if !Task.isCancelled {
                self.updateContinuation.yield(.unavailable)
                toldUnavailable = true
            }
        }
    }

    private func fetchInfo(_ client: ControlClient) async throws(ControlError) -> KioskInfo {
        let value = try await client.call("resident.info", nil, timeout: 30)
        do {
            return try value.decode(ResidentWire.Info.self).info(demo: self.demo)
        } catch {
            throw ControlError("bad_reply", id: "Jawaban kioskd tidak dikenali.", en: "kioskd's reply is not understood.")
        }
    }

    private func handle(_ event: ControlReply, _ client: ControlClient) async {
        guard let name = event.event else { return }
        let data = event.data ?? .null
        switch name {
        case "card.inserted":
            // A NIK that does not validate is an unreadable card, never a crash.
            guard let digits = data["nik"]?.stringValue, digits.utf8.count <= 32,
                  let nik = try? NIK(digits, today: self.today) else {
                self.cardContinuation.yield(.unreadable)
                return
            }
            self.cardContinuation.yield(.inserted(nik))
        case "card.removed": self.cardContinuation.yield(.removed)
        case "card.unreadable": self.cardContinuation.yield(.unreadable)
        case "print.progress":
            guard let p = try? data.decode(ResidentWire.Progress.self), p.fraction.isFinite else { return }
            let callback = self.state.withLock { $0.progress[p.documentID] }
            callback?(min(1, max(0, p.fraction)))
        case "config.changed":
            guard let info = try? await self.fetchInfo(client) else { return }
            self.state.withLock { $0.info = info }
            self.updateContinuation.yield(.configChanged(info))
        case _ where name.hasPrefix("device.") || name.hasPrefix("printer."):
            self.updateContinuation.yield(.devicesChanged)
        default:
            break
        }
    }

    /// Today in the jurisdiction of the configuration in force (WIB until kioskd first answered).
    public var today: CivilDate {
        let offset = self.state.withLock { $0.info?.profile.conventions.utcOffset } ?? UTCOffset(seconds: 7 * 3600)
        return offset.civilDate(of: Date())
    }

    /// One call on the current connection; every failure is a `ServiceFailure` for the resident.
    func call(_ method: String, _ params: JSONValue? = nil, timeout: Double = 60) async throws(ServiceFailure) -> JSONValue {
        guard let client = self.state.withLock({ $0.client }) else {
            throw ServiceFailure("unavailable", Self.unavailableMessage)
        }
        do throws(ControlError) {
            return try await client.call(method, params, timeout: timeout)
        } catch {
            switch error.code {
            case "disconnected", "not_running", "unavailable": throw ServiceFailure("unavailable", Self.unavailableMessage)
            default: throw ServiceFailure(error.code, error.message)
            }
        }
    }

    func decode<T: Decodable>(_ value: JSONValue, _ type: T.Type) throws(ServiceFailure) -> T {
        do {
            return try value.decode(T.self)
        } catch {
            throw ServiceFailure("bad_reply", LocalizedText("Jawaban layanan kios tidak dikenali; hubungi petugas desa.",
                                                            "The kiosk service's answer is not understood; ask the desa staff."))
        }
    }

    func encode(_ value: some Encodable) throws(ServiceFailure) -> JSONValue {
        do {
            return try JSONValue(encoding: value)
        } catch {
            throw ServiceFailure("encode", LocalizedText("Permintaan tidak dapat disusun.", "The request could not be made."))
        }
    }

    // MARK: - KioskServices

    public func updates() -> AsyncStream<ServiceUpdate> { self.updateStream }

    public func info() async -> KioskInfo {
        while true {
            if let info = self.state.withLock({ $0.info }) { return info }
            try? await Task.sleep(nanoseconds: 100_000_000)
        }
    }

    public func deviceNotices() async -> [DeviceNotice] {
        guard let value = try? await self.call("resident.notices", timeout: 30),
              let notices = try? self.decode(value, [ResidentWire.Notice].self) else { return [] }
        return notices.prefix(8).map(\.notice)
    }

    public func cardEvents() -> AsyncStream<CardTap> { self.cardStream }

    public func tapTestCard() async -> Bool {
        (try? await self.call("resident.card.tap_test"))?["tapped"]?.boolValue ?? false
    }

    public func sessionBegan() async {
        _ = try? await self.call("resident.session.begin")
    }

    public func sessionEnded() async {
        _ = try? await self.call("resident.session.end")
    }

    public func scan(requirement: String, expectedPages: Int?) async throws(ServiceFailure) -> ScanSummary {
        var params: [String: JSONValue] = ["requirement": .string(requirement)]
        if let expectedPages { params["expected_pages"] = .number(Double(expectedPages)) }
        let client = self.state.withLock { $0.client }
        // Cancelling the calling task stops the scan in kioskd too (and nothing is kept there).
        let result: Result<JSONValue, ServiceFailure> = await withTaskCancellationHandler {
            do throws(ServiceFailure) {
                return .success(try await self.call("resident.scan", .object(params), timeout: 900))
            } catch {
                return .failure(error)
            }
        } onCancel: {
            if let client { Task { _ = try? await client.call("resident.scan.cancel", nil, timeout: 10) } }
        }
        return try self.decode(try result.get(), ResidentWire.Scan.self).summary
    }

    public func discardScan(_ token: String) async {
        _ = try? await self.call("resident.scan.discard", .object(["token": .string(token)]))
    }

    public func submit(_ draft: ApplicationDraft) async throws(ServiceFailure) -> SubmissionReceipt {
        let value = try await self.call("resident.submit", .object(["draft": try self.encode(ResidentWire.Draft(draft))]), timeout: 300)
        return try self.decode(value, ResidentWire.Receipt.self).receipt
    }

    public func verifyRegistration(nik: NIK, kk: String) async throws(ServiceFailure) -> RegistryCheck {
        let value = try await self.call("resident.verify", .object(["nik": .string(nik.digits), "kk": .string(kk)]), timeout: 60)
        var r = try self.decode(value, RegistryCheck.self)
        r.nameMasked = r.nameMasked.map { SafeText.visible(String($0.prefix(80))) }
        return r
    }

    public func resubmit(_ draft: CorrectionDraft) async throws(ServiceFailure) -> SubmissionReceipt {
        let value = try await self.call("resident.resubmit", .object(["correction": try self.encode(ResidentWire.Correction(draft))]), timeout: 300)
        return try self.decode(value, ResidentWire.Receipt.self).receipt
    }

    public func printReceipt(trackingCode: String, language: Language) async -> LocalizedText? {
        do throws(ServiceFailure) {
            let value = try await self.call("resident.receipt.print", .object([
                "tracking_code": .string(trackingCode), "language": .string(language.rawValue),
            ]), timeout: 3700)
            guard let problem = value["problem"] else { return nil }
            return try self.decode(problem, LocalizedText.self)
        } catch {
            return error.message
        }
    }

    public func status(trackingCode: String) async throws(ServiceFailure) -> ApplicationStatus {
        let value = try await self.call("resident.status", .object(["tracking_code": .string(trackingCode)]))
        return try self.decode(value, ResidentWire.Status.self).status
    }

    public func applications(of nik: NIK) async throws(ServiceFailure) -> [ApplicationStatus] {
        let value = try await self.call("resident.applications", .object(["nik": .string(nik.digits)]))
        return try self.decode(value, [ResidentWire.Status].self).map(\.status)
    }

    public func readyDocuments(nik: NIK, trackingCode: String) async throws(ServiceFailure) -> [ReadyDocument] {
        let value = try await self.call("resident.documents", .object([
            "nik": .string(nik.digits), "tracking_code": .string(trackingCode),
        ]))
        return try self.decode(value, [ResidentWire.Document].self).map(\.document)
    }

    public func printDocument(_ documentID: String, progress: @escaping @Sendable (Double) -> Void)
        async throws(ServiceFailure) -> PrintReport
    {
        self.state.withLock { $0.progress[documentID] = progress }
        defer { self.state.withLock { _ = $0.progress.removeValue(forKey: documentID) } }
        let value = try await self.call("resident.document.print", .object(["document_id": .string(documentID)]), timeout: 3700)
        return try self.decode(value, ResidentWire.Printed.self).report
    }

    public func fileComplaint(_ complaint: Complaint) async throws(ServiceFailure) -> String {
        let value = try await self.call("resident.complaint", .object([
            "complaint": try self.encode(ResidentWire.ComplaintParams(complaint)),
        ]))
        guard let reference = value["reference"]?.stringValue else {
            throw ServiceFailure("bad_reply", LocalizedText("Jawaban layanan kios tidak dikenali.", "The kiosk service's answer is not understood."))
        }
        return SafeText.visible(String(reference.prefix(64)))
    }

    public func printComplaintSlip(reference: String, language: Language) async -> LocalizedText? {
        do throws(ServiceFailure) {
            let value = try await self.call("resident.complaint.slip.print", .object([
                "reference": .string(reference), "language": .string(language.rawValue),
            ]), timeout: 3700)
            guard let problem = value["problem"] else { return nil }
            return try self.decode(problem, LocalizedText.self)
        } catch {
            return error.message
        }
    }

    public func complaintStatus(reference: String) async throws(ServiceFailure) -> ComplaintStatus {
        let value = try await self.call("resident.complaint.status", .object(["reference": .string(reference)]))
        var c = try self.decode(value, ComplaintStatus.self)
        // Shown on the terminal: bounded and without control characters, whatever kioskd sent.
        c.reference = SafeText.visible(String(c.reference.prefix(32)))
        c.filedAt = SafeText.visible(String(c.filedAt.prefix(32)))
        c.answer = c.answer.map { SafeText.visible(String($0.prefix(1000))) }
        c.answeredAt = c.answeredAt.map { SafeText.visible(String($0.prefix(32))) }
        return c
    }
}
