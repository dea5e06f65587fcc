import Foundation
import KioskCore
import KioskDevices
import KioskStore
import Synchronization

/// What `kioskctl status` shows and `staff.status` returns.
public struct KioskStatus: Sendable, Codable {
    public struct Config: Sendable, Codable {
        public var version: Int
        public var source: String
        public var appliedAt: Date
        public var pendingVersion: Int?
        public var refused: String?
        public var desaName: String
        public var profile: String

        enum CodingKeys: String, CodingKey {
            case version, source, refused, profile
            case appliedAt = "applied_at"
            case pendingVersion = "pending_version"
            case desaName = "desa_name"
        }
    }

    public var version: String
    public var kioskID: String
    public var pid: Int32
    public var startedAt: Date
    public var uptimeSeconds: Int
    public var health: String
    public var config: Config
    public var devices: DeviceSupervisor.Report
    public var present: [KioskDevice]
    public var queue: QueueStats?
    public var paper: PaperStatus?
    public var sync: SyncService.Status?
    public var dinas: String?
    public var diskFreeBytes: Int?

    enum CodingKeys: String, CodingKey {
        case version, pid, health, config, devices, present, queue, paper, sync, dinas
        case kioskID = "kiosk_id"
        case startedAt = "started_at"
        case uptimeSeconds = "uptime_seconds"
        case diskFreeBytes = "disk_free_bytes"
    }
}

/// The control API's methods (architecture.md, "Control API"), each a thin call into the use cases. The server
/// has checked the caller's role; here every state-changing call is audited with method, role, uid, pid and
/// result.
public final class ControlMethods: ControlHandler {
    let kiosk: Kioskd
    /// The scan each connection is running.
    private let scanning = Mutex<[Int: Task<Result<ScanSummary, ServiceFailure>, Never>]>([:])
    /// Requests in flight per connection.
    private let active = Mutex<[Int: Int]>([:])

    init(kiosk: Kioskd) {
        self.kiosk = kiosk
    }

    /// Methods that change state (audited).
    static let changing: Set<String> = [
        "resident.submit", "resident.resubmit", "resident.complaint", "resident.complaint.slip.print",
        "resident.receipt.print", "resident.document.print", "resident.verify",
        "resident.staff.unlock", "resident.staff.lock", "resident.staff.call",
        "staff.submit", "staff.queue.retry", "staff.queue.quarantine", "staff.restock", "staff.printer.test",
        "staff.printer.resume", "staff.scanner.test", "staff.devices.redetect", "staff.sync.now", "staff.document.reprint",
        "technician.config.apply", "technician.config.rollback", "technician.devices.redetect",
    ]

    /// Who the audit names for a request on `connection`: the staff member who unlocked it (`petugas:sari:uid=1000`),
    /// else the peer's role and unix user (`staff:user=budi:uid=1001`).
    static func actor(_ connection: ControlConnection) -> String {
        let peer = connection.peer
        if let staff = connection.staff { return "\(staff.role.rawValue):\(staff.staffID):uid=\(peer.uid)" }
        return "\(peer.role.rawValue):user=\(self.unixUser(peer)):uid=\(peer.uid)"
    }

    /// The peer's unix user name (`getpwuid_r`), made safe; `uidN` when it has none.
    static func unixUser(_ peer: ControlPeer) -> String {
        SystemAccounts.userName(uid: peer.uid).map { SafeText.visible(String($0.prefix(32))) } ?? "uid\(peer.uid)"
    }

    public func connectionClosed(_ connection: ControlConnection) async {
        self.kiosk.config.live.endSession(connection.id)
        // The UI went away (crashed, killed, restarted): its scan stops, and once its requests still in flight have
        // ended (a submit that was under way keeps its scans; a short grace at most), its held scans are deleted.
        self.scanning.withLock { $0[connection.id] }?.cancel()
        let deadline = Date().addingTimeInterval(Self.closeGraceSeconds)
        while self.active.withLock({ $0[connection.id] ?? 0 }) > 0, Date() < deadline {
            try? await Task.sleep(nanoseconds: 50_000_000)
        }
        await self.kiosk.useCases.endSession(connection.id)
    }

    /// How long a closed connection's in-flight requests may keep its scans.
    static let closeGraceSeconds = 30.0

    public func handle(_ request: ControlRequest, from connection: ControlConnection) async -> Result<JSONValue, ControlError> {
        self.active.withLock { $0[connection.id, default: 0] += 1 }
        defer {
            self.active.withLock { a in
                a[connection.id, default: 1] -= 1
                if a[connection.id] == 0 { a[connection.id] = nil }
            }
        }
        let result: Result<JSONValue, ControlError>
        let staffActor = request.method == "resident.staff.lock" ? connection.staff.map { _ in Self.actor(connection) } : nil
        do throws(ControlError) {
            result = .success(try await self.call(request.method, request.params ?? .object([:]), connection))
        } catch {
            result = .failure(error)
        }
        if Self.changing.contains(request.method) {
            let outcome: String = switch result {
            case .success(let value) where request.method == "resident.staff.unlock": value["result"]?.stringValue ?? "ok"
            case .success: "ok"
            case .failure(let e): "error \(e.code)"
            }
            let store = self.kiosk.store
            let method = request.method
            // The staff member who unlocked the connection (an unlock names who it unlocked; a lock, who it ended).
            let actor = "\(staffActor ?? Self.actor(connection)) pid=\(connection.peer.pid)"
            _ = await StoreWork.run { () -> Bool in
                (try? store.recordEvent(nil, event: "control", actor: actor, detail: "\(method): \(outcome)")) != nil
            }
            self.kiosk.log.info("control", "\(method) by \(actor): \(outcome)")
        }
        return result
    }

    private func param<T: Decodable>(_ params: JSONValue, _ key: String, _ type: T.Type) throws(ControlError) -> T {
        guard let v = params[key] else { throw .badParams("\(key) is missing", field: key) }
        do {
            return try v.decode(T.self)
        } catch {
            throw .badParams("\(key) has the wrong type", field: key)
        }
    }

    /// A short identifier param (tracking code, token, document id, requirement id): 1…128 printable ASCII.
    private func identifier(_ params: JSONValue, _ key: String) throws(ControlError) -> String {
        let value = try self.param(params, key, String.self)
        guard (1...128).contains(value.utf8.count), value.utf8.allSatisfy({ (0x21...0x7e).contains($0) }) else {
            throw .badParams("\(key) must be 1…128 printable ASCII characters", field: key)
        }
        return value
    }

    private func nik(_ params: JSONValue) throws(ControlError) -> NIK {
        let digits = try self.param(params, "nik", String.self)
        do throws(NIKError) {
            return try NIK(String(digits.prefix(32)), today: self.kiosk.useCases.today)
        } catch {
            throw ControlError("invalid_nik", error.message, field: "nik")
        }
    }

    /// A resident use case's failure as the socket's error (same code, same bilingual message).
    private static func resident<T>(_ body: () async throws(ServiceFailure) -> T) async throws(ControlError) -> T {
        do throws(ServiceFailure) {
            return try await body()
        } catch {
            throw ControlError(error.code, error.message)
        }
    }

    /// One scan at a time per connection, cancellable by `resident.scan.cancel` or by the connection closing.
    private func scan(_ requirement: String, _ pages: Int?, _ connection: ControlConnection) async throws(ControlError) -> ScanSummary {
        let useCases = self.kiosk.useCases
        let owner = connection.id
        let task = Task { () -> Result<ScanSummary, ServiceFailure> in
            do throws(ServiceFailure) {
                return .success(try await useCases.scan(requirement: requirement, expectedPages: pages, owner: owner))
            } catch {
                return .failure(error)
            }
        }
        let started = self.scanning.withLock { running -> Bool in
            guard running[owner] == nil else { return false }
            running[owner] = task
            return true
        }
        guard started else {
            task.cancel()
            throw ControlError("scan_busy", id: "Pemindai sedang dipakai; tunggu sampai selesai.",
                               en: "The scanner is busy; wait until it finishes.")
        }
        let result = await task.value
        self.scanning.withLock { $0[owner] = nil }
        switch result {
        case .success(let s): return s
        case .failure(let f): throw ControlError(f.code, f.message)
        }
    }

    private func encode(_ value: some Encodable) throws(ControlError) -> JSONValue {
        do {
            return try JSONValue(encoding: value)
        } catch {
            throw ControlError("encode", id: "Gagal menyusun jawaban.", en: "Cannot encode the reply.")
        }
    }

    private func staffWork<T: Encodable & Sendable>(_ body: @escaping @Sendable (StaffUseCases) throws(ControlError) -> T)
        async throws(ControlError) -> JSONValue
    {
        let staff = StaffUseCases(store: self.kiosk.store)
        let value = try await StoreWork.run { () throws(ControlError) -> T in try body(staff) }
        return try self.encode(value)
    }

    private func call(_ method: String, _ params: JSONValue, _ connection: ControlConnection) async throws(ControlError) -> JSONValue {
        let kiosk = self.kiosk
        let actor = Self.actor(connection)
        let desk = StaffDesk(kiosk: kiosk)
        switch method {
        // MARK: resident
        case "resident.info":
            let live = kiosk.config.live.current
            var info = await kiosk.useCases.info()
            info.deviceSummary = kiosk.devices.summary
            return try self.encode(ResidentWire.Info(info, configVersion: live.version, testCard: kiosk.useCases.hasTestCard))
        case "resident.notices":
            return try self.encode(await kiosk.useCases.deviceNotices().map(ResidentWire.Notice.init))
        case "resident.session.begin":
            kiosk.config.live.beginSession(connection.id)
            return .object(["config_version": .number(Double(kiosk.config.live.current.version))])
        case "resident.session.end":
            kiosk.config.live.endSession(connection.id)
            await kiosk.useCases.endSession(connection.id)
            return .object([:])
        case "resident.card.tap_test":
            return .object(["tapped": .bool(await kiosk.useCases.tapTestCard())])
        case "resident.scan":
            let requirement = try self.identifier(params, "requirement")
            let pages = params["expected_pages"]?.intValue
            if let pages, !(1...ResidentWire.maxExpectedPages).contains(pages) {
                throw .badParams("expected_pages must be 1…\(ResidentWire.maxExpectedPages)", field: "expected_pages")
            }
            return try self.encode(ResidentWire.Scan(try await self.scan(requirement, pages, connection)))
        case "resident.scan.cancel":
            self.scanning.withLock { $0[connection.id] }?.cancel()
            return .object([:])
        case "resident.scan.discard":
            await kiosk.useCases.discardScan(try self.identifier(params, "token"), owner: connection.id)
            return .object([:])
        case "resident.submit":
            let wire = try self.param(params, "draft", ResidentWire.Draft.self)
            let draft: ApplicationDraft
            do throws(NIKError) {
                draft = try wire.draft(today: kiosk.useCases.today)
            } catch {
                throw ControlError("invalid_nik", error.message, field: "draft.applicant_nik")
            }
            // Assisted mode: only the staff member who unlocked this connection may be named as the helper.
            if let helper = draft.assistedBy, connection.staff?.staffID != helper {
                throw ControlError("not_assisting", id: "Pengajuan dengan bantuan petugas hanya setelah petugas itu masuk dengan PIN.",
                                   en: "An assisted application needs that staff member to have entered their PIN.",
                                   field: "draft.assisted_by")
            }
            let receipt = try await Self.resident { () async throws(ServiceFailure) in
                try await kiosk.useCases.submit(draft, owner: connection.id, actor: draft.assistedBy == nil ? "resident" : actor)
            }
            kiosk.sync?.wake()
            return try self.encode(ResidentWire.Receipt(receipt))
        case "resident.verify":
            let nik = try self.nik(params)
            let kk = try self.identifier(params, "kk")
            return try self.encode(try await Self.resident { () async throws(ServiceFailure) in
                try await kiosk.useCases.verifyRegistration(nik: nik, kk: kk)
            })
        case "resident.resubmit":
            let wire = try self.param(params, "correction", ResidentWire.Correction.self)
            let draft: CorrectionDraft
            do throws(NIKError) {
                draft = try wire.draft(today: kiosk.useCases.today)
            } catch {
                throw ControlError("invalid_nik", error.message, field: "correction.applicant_nik")
            }
            let receipt = try await Self.resident { () async throws(ServiceFailure) in
                try await kiosk.useCases.resubmit(draft, owner: connection.id)
            }
            kiosk.sync?.wake()
            return try self.encode(ResidentWire.Receipt(receipt))
        case "resident.receipt.print":
            let code = try self.identifier(params, "tracking_code")
            let language = try self.param(params, "language", Language.self)
            let problem = await kiosk.useCases.printReceipt(trackingCode: code, language: language)
            return problem.map { (try? JSONValue(encoding: ["problem": $0])) ?? .null } ?? .object([:])
        case "resident.status":
            let code = try self.identifier(params, "tracking_code")
            return try self.encode(ResidentWire.Status(try await Self.resident { () async throws(ServiceFailure) in
                try await kiosk.useCases.status(trackingCode: code)
            }))
        case "resident.applications":
            let nik = try self.nik(params)
            return try self.encode(try await Self.resident { () async throws(ServiceFailure) in
                try await kiosk.useCases.applications(of: nik)
            }.map(ResidentWire.Status.init))
        case "resident.documents":
            let nik = try self.nik(params)
            let code = try self.identifier(params, "tracking_code")
            return try self.encode(try await Self.resident { () async throws(ServiceFailure) in
                try await kiosk.useCases.readyDocuments(nik: nik, trackingCode: code)
            }.map(ResidentWire.Document.init))
        case "resident.document.print":
            let id = try self.identifier(params, "document_id")
            let report = try await Self.resident { () async throws(ServiceFailure) in
                try await kiosk.useCases.printDocument(id) { fraction in
                    // Progress goes to the connection that asked, whatever it subscribed to.
                    if let data = try? JSONValue(encoding: ResidentWire.Progress(documentID: id, fraction: min(1, max(0, fraction)))) {
                        connection.push("print.progress", data)
                    }
                }
            }
            return try self.encode(ResidentWire.Printed(report))
        case "resident.complaint":
            let complaint = try self.param(params, "complaint", ResidentWire.ComplaintParams.self).complaint
            let reference = try await Self.resident { () async throws(ServiceFailure) in
                try await kiosk.useCases.fileComplaint(complaint)
            }
            kiosk.sync?.wake()
            return .object(["reference": .string(reference)])
        case "resident.complaint.slip.print":
            let reference = try self.identifier(params, "reference")
            let language = try self.param(params, "language", Language.self)
            let problem = await kiosk.useCases.printComplaintSlip(reference: reference, language: language)
            return problem.map { (try? JSONValue(encoding: ["problem": $0])) ?? .null } ?? .object([:])
        case "resident.complaint.status":
            let reference = try self.identifier(params, "reference")
            return try self.encode(try await Self.resident { () async throws(ServiceFailure) in
                try await kiosk.useCases.complaintStatus(reference: reference)
            })

        // MARK: staff mode entry (resident role)
        case "resident.staff.unlock":
            let pin = try self.param(params, "pin", String.self)
            guard !kiosk.config.live.isSessionOpen(connection.id) else {
                throw ControlError("session_open", id: "Selesaikan dulu sesi warga yang sedang berjalan.",
                                   en: "Finish the resident session in progress first.")
            }
            switch try await desk.unlock(pin: String(pin.prefix(64)), actor: actor) {
            case .unlocked(let staff, let timeout):
                connection.elevate(staff, timeout: Double(timeout))
                return .object(["result": .string("unlocked"), "staff": try self.encode(staff),
                                "timeout_seconds": .number(Double(timeout))])
            case .wrongPIN(let left):
                return .object(["result": .string("wrong_pin"), "attempts_left": .number(Double(left))])
            case .locked(let until):
                return .object(["result": .string("locked"), "until": try self.encode(until)])
            }
        case "resident.staff.lock":
            connection.lockStaff()
            return .object([:])
        case "resident.staff.call":
            let screen = try self.param(params, "screen", String.self)
            return try self.encode(try await desk.call(screen: String(screen.prefix(128)), actor: actor))

        // MARK: staff
        case "staff.overview":
            return try self.encode(try await desk.overview())
        case "staff.printer.resume":
            try await desk.resumePrinter(actor: actor)
            return .object([:])
        case "staff.scanner.test":
            return try self.encode(ResidentWire.Scan(try await desk.testScan(owner: connection.id)))
        case "staff.devices.redetect", "technician.devices.redetect":
            return .object(["devices": .array(await kiosk.devices.redetect().map { .string($0) })])
        case "staff.applications.today":
            return try self.encode(try await desk.todaysApplications())
        case "staff.queue.quarantined":
            return try self.encode(try await desk.quarantined())
        case "staff.complaints.today":
            return try self.encode(try await desk.todaysComplaints())
        case "staff.calls.today":
            return try self.encode(try await desk.todaysCalls())
        case "staff.documents":
            let code = try self.identifier(params, "tracking_code")
            return try self.encode(try await desk.documents(trackingCode: code))
        case "staff.document.reprint":
            let id = try self.identifier(params, "document_id")
            let reason = try self.param(params, "reason", String.self)
            return try self.encode(ResidentWire.Printed(try await desk.reprint(documentID: id, reason: reason, actor: actor) { fraction in
                if let data = try? JSONValue(encoding: ResidentWire.Progress(documentID: id, fraction: min(1, max(0, fraction)))) {
                    connection.push("print.progress", data)
                }
            }))
        case "staff.status", "admin.status":
            return try self.encode(await kiosk.status())
        case "staff.submit":
            let submission = try self.param(params, "submission", AssistedSubmission.self)
            let profile = kiosk.config.live.current.profile
            guard submission.profile == profile.id else {
                throw .data("wrong_profile", LocalizedText(
                    "Kios ini memakai profil \(profile.id), bukan \(SafeText.visible(String(submission.profile.prefix(40)))).",
                    "This kiosk uses profile \(profile.id), not \(SafeText.visible(String(submission.profile.prefix(40))))."), field: "profile")
            }
            guard submission.attachments.allSatisfy({ $0.path == nil }) else {
                throw .badParams("attachments travel as data_base64; kioskd opens no path a client names", field: "attachments")
            }
            let today = profile.conventions.utcOffset.civilDate(of: Date())
            // The helper: the staff member who unlocked this connection, else the caller's unix user (kioskctl).
            let helper = connection.staff?.staffID ?? "user:\(Self.unixUser(connection.peer))"
            let value = try await self.staffWork { (s) throws(ControlError) in
                try s.submit(submission, profile: profile, today: today, actor: actor, assistedBy: helper)
            }
            kiosk.sync?.wake()
            return value
        case "staff.application.show":
            let key = try self.param(params, "key", String.self)
            return try await self.staffWork { (s) throws(ControlError) in try s.show(key) }
        case "staff.queue.stats":
            return try await self.staffWork { (s) throws(ControlError) in try s.queueStats() }
        case "staff.queue.list":
            let state: ApplicationState?
            if let raw = params["state"]?.stringValue {
                guard let s = ApplicationState(rawValue: raw) else { throw .badParams("unknown state", field: "state") }
                state = s
            } else {
                state = nil
            }
            return try await self.staffWork { (s) throws(ControlError) in try s.queueList(state: state) }
        case "staff.queue.retry":
            let key = try self.param(params, "key", String.self)
            let value = try await self.staffWork { (s) throws(ControlError) in try s.retry(key, actor: actor) }
            kiosk.sync?.wake()
            return value
        case "staff.queue.quarantine":
            let key = try self.param(params, "key", String.self)
            let reason = try self.param(params, "reason", String.self)
            return try await self.staffWork { (s) throws(ControlError) in try s.quarantine(key, reason: reason, actor: actor) }
        case "staff.restock":
            let sheets = try self.param(params, "sheets", Int.self)
            let threshold = kiosk.config.live.current.settings.lowPaperThreshold
            return try await self.staffWork { (s) throws(ControlError) in try s.restock(sheets: sheets, actor: actor, lowThreshold: threshold) }
        case "staff.printer.test":
            let outcome = try await kiosk.printTestPage()
            guard case .object(var fields) = try self.encode(outcome) else { return .null }
            // `problem` for the staff screen: what stopped the page, in both languages (null when it printed).
            fields["problem"] = outcome.printed ? .null : try self.encode(LocalizedText(
                "Halaman uji tidak tercetak (\(outcome.faultsSeen.joined(separator: ", ")))",
                "The test page did not print (\(outcome.faultsSeen.joined(separator: ", ")))"))
            return .object(fields)
        case "staff.devices.list":
            return try self.encode(kiosk.devices.present)

        // MARK: technician (and staff.sync.now)
        case "technician.config.apply":
            let text = try self.param(params, "bundle", String.self)
            do throws(ConfigApplyError) {
                let payload = try kiosk.config.apply(Data(text.utf8), source: "kioskctl", actor: actor)
                return .object(["version": .number(Double(payload.version)),
                                "live": .bool(kiosk.config.live.current.version == payload.version)])
            } catch {
                throw ControlError("config_refused", LocalizedText("Bundel konfigurasi ditolak: \(error)",
                                                                  "Configuration bundle refused: \(error)"),
                                   field: error.field, exit: 65)
            }
        case "technician.config.rollback":
            do throws(ConfigRollbackError) {
                let (from, to) = try kiosk.config.rollback(actor: actor)
                return .object(["from": .number(Double(from)), "to": .number(Double(to))])
            } catch {
                throw ControlError("rollback_failed", LocalizedText("Tidak dapat kembali ke konfigurasi sebelumnya: \(error)",
                                                                   "Cannot roll back the configuration: \(error)"), exit: 65)
            }
        case "staff.sync.now":
            guard let sync = kiosk.sync else {
                throw ControlError("no_dinas", id: "Kios ini tidak dikonfigurasi dengan alamat Dinas (dinas.url).",
                                   en: "This kiosk has no Dinas address configured (dinas.url).", exit: 78)
            }
            sync.wake(pull: true, clearAuthStop: true)
            return try self.encode(sync.status)
        default:
            throw .unknownMethod(method)
        }
    }
}
