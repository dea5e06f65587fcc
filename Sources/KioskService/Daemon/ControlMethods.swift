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

    init(kiosk: Kioskd) {
        self.kiosk = kiosk
    }

    /// Methods that change state (audited).
    static let changing: Set<String> = [
        "staff.submit", "staff.queue.retry", "staff.queue.quarantine", "staff.restock", "staff.printer.test",
        "admin.config.apply", "admin.config.rollback", "admin.sync.now",
    ]

    public func connectionClosed(_ connection: ControlConnection) async {
        self.kiosk.config.live.endSession(connection.id)
        await self.kiosk.useCases.endSession(connection.id)
    }

    public func handle(_ request: ControlRequest, from connection: ControlConnection) async -> Result<JSONValue, ControlError> {
        let result: Result<JSONValue, ControlError>
        do throws(ControlError) {
            result = .success(try await self.call(request.method, request.params ?? .object([:]), connection))
        } catch {
            result = .failure(error)
        }
        if Self.changing.contains(request.method) {
            let peer = connection.peer
            let outcome: String = switch result {
            case .success: "ok"
            case .failure(let e): "error \(e.code)"
            }
            let store = self.kiosk.store
            let method = request.method
            _ = await StoreWork.run { () -> Bool in
                (try? store.recordEvent(nil, event: "control", actor: "\(peer.role.rawValue) uid=\(peer.uid) pid=\(peer.pid)",
                                        detail: "\(method): \(outcome)")) != nil
            }
            self.kiosk.log.info("control", "\(method) by \(peer.role.rawValue) uid=\(peer.uid) pid=\(peer.pid): \(outcome)")
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
        let actor = "\(connection.peer.role.rawValue):uid=\(connection.peer.uid)"
        switch method {
        // MARK: resident
        case "resident.info":
            let live = kiosk.config.live.current
            return try self.encode(ResidentInfo(live))
        case "resident.notices":
            let notices = await kiosk.useCases.deviceNotices()
            return try self.encode(notices.map { ["device": $0.device, "id": $0.message.id, "en": $0.message.en ?? $0.message.id] })
        case "resident.session.begin":
            kiosk.config.live.beginSession(connection.id)
            return .object(["config_version": .number(Double(kiosk.config.live.current.version))])
        case "resident.session.end":
            kiosk.config.live.endSession(connection.id)
            await kiosk.useCases.endSession(connection.id)
            return .object([:])

        // MARK: staff
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
            let value = try await self.staffWork { (s) throws(ControlError) in try s.submit(submission, profile: profile, today: today, actor: actor) }
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
            return try self.encode(try await kiosk.printTestPage())
        case "staff.devices.list":
            return try self.encode(kiosk.devices.present)

        // MARK: admin
        case "admin.config.apply":
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
        case "admin.config.rollback":
            do throws(ConfigRollbackError) {
                let (from, to) = try kiosk.config.rollback(actor: actor)
                return .object(["from": .number(Double(from)), "to": .number(Double(to))])
            } catch {
                throw ControlError("rollback_failed", LocalizedText("Tidak dapat kembali ke konfigurasi sebelumnya: \(error)",
                                                                   "Cannot roll back the configuration: \(error)"), exit: 65)
            }
        case "admin.sync.now":
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

/// `resident.info`: what the home screen shows.
struct ResidentInfo: Encodable {
    struct ServiceEntry: Encodable {
        var id: String
        var name: LocalizedText
        var category: String
    }

    var desaName: String
    var openingHours: [String]
    var announcement: LocalizedText?
    var idleTimeoutSeconds: Int
    var profile: String
    var configVersion: Int
    var services: [ServiceEntry]

    init(_ live: LiveConfiguration) {
        self.desaName = live.settings.desaName
        self.openingHours = live.settings.openingHours
        self.announcement = live.settings.announcement
        self.idleTimeoutSeconds = live.settings.idleTimeoutSeconds
        self.profile = live.profile.id
        self.configVersion = live.version
        self.services = live.profile.services.filter { $0.kioskAvailable != false }
            .map { ServiceEntry(id: $0.id, name: $0.name, category: $0.category) }
    }

    enum CodingKeys: String, CodingKey {
        case announcement, profile, services
        case desaName = "desa_name"
        case openingHours = "opening_hours"
        case idleTimeoutSeconds = "idle_timeout_seconds"
        case configVersion = "config_version"
    }
}
