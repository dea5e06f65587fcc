#if canImport(Glibc)
import Glibc
#endif
import Foundation
import KioskCore
import KioskDevices
import KioskRuntime
import KioskSecurity
import KioskStore
import KioskSync
import Synchronization

/// Why kioskd could not start, with the sysexits status it exits with (78 config, 75 data directory held,
/// 66 missing input, 1 otherwise) and a message in both languages.
public struct KioskdFailure: Error, Sendable, CustomStringConvertible {
    public var status: Int32
    public var message: LocalizedText

    public init(_ status: Int32, _ id: String, _ en: String) {
        self.status = status
        self.message = LocalizedText(id, en)
    }

    public var description: String { self.message.bilingual }
}

/// The kiosk service (architecture.md, "Processes"): the composition of the store, configuration, devices, sync,
/// retention and the control socket, run as one service group. Start-up: lock and open the store (migrations,
/// sweep) → the current verified config (or the shipped profile) → devices, sync, retention → socket → READY=1.
public final class Kioskd: Sendable {
    public let settings: KioskdConfig
    public let kioskID: String
    let log: KioskLog
    let lock: DataDirLock
    public let store: KioskStore
    public let config: ConfigService
    public let devices: DeviceSupervisor
    public let useCases: KioskUseCases
    public let sync: SyncService?
    let retention: RetentionService
    let storeHealth: StoreHealthService
    let control: ControlService
    public let group: ServiceGroup
    let startedAt = Date()
    private let hub: EventHub

    public static func boot(_ settings: KioskdConfig, log: KioskLog, environment: [String: String] = ProcessInfo.processInfo.environment)
        throws(KioskdFailure) -> Kioskd
    {
        let kioskID: String
        do { kioskID = try settings.requireKioskID() } catch { throw KioskdFailure(78, error.message.id, error.message.en ?? error.message.id) }
        // Keys and credential first: a bad one is a config error, found before anything is opened.
        var trusted: [Ed25519PublicKey] = []
        for path in settings.dinas.trustedKeys {
            guard let pem = try? String(contentsOfFile: path, encoding: .utf8) else {
                if settings.dinas.url == nil && !FileManager.default.fileExists(atPath: path) { continue }
                throw KioskdFailure(78, "dinas.trusted_keys: tidak dapat membaca \(path)", "dinas.trusted_keys: cannot read \(path)")
            }
            do { trusted.append(try Ed25519PublicKey(pem: pem)) } catch {
                throw KioskdFailure(78, "dinas.trusted_keys: \(path) bukan kunci publik Ed25519 PEM", "dinas.trusted_keys: \(path) is not an Ed25519 PEM public key")
            }
        }
        var token: String?
        if settings.dinas.url != nil {
            do { token = try SecretFile.read(settings.dinas.tokenFile) } catch {
                throw KioskdFailure(78, "dinas.token_file: \(error.message.id)", "dinas.token_file: \(error.message.en ?? error.message.id)")
            }
        }
        let profile = try Self.shippedProfile(settings, environment: environment)

        do {
            try FileManager.default.createDirectory(atPath: settings.dataDir, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        } catch {
            throw KioskdFailure(73, "tidak dapat membuat data_dir \(settings.dataDir)", "cannot create data_dir \(settings.dataDir)")
        }
        let lock: DataDirLock
        do {
            lock = try DataDirLock.acquire(dataDir: settings.dataDir, owner: "kioskd")
        } catch .held(let pid, let owner) {
            let who = "\(owner ?? "proses / process") PID \(pid.map(String.init) ?? "?")"
            throw KioskdFailure(75, "Direktori data \(settings.dataDir) sedang dipakai \(who); kioskd kedua tidak dijalankan.",
                                "The data directory \(settings.dataDir) is held by \(who.replacingOccurrences(of: "proses / process", with: "process")); a second kioskd does not start.")
        } catch {
            throw KioskdFailure(1, "kunci data_dir: \(error)", "data_dir lock: \(error)")
        }
        let store: KioskStore
        do {
            let (s, report) = try KioskStore.open(directory: settings.dataDir, configuration: settings.store)
            store = s
            if !report.quarantined.isEmpty {
                log.warning("store", "\(report.quarantined.count) unreferenced files moved to \(report.quarantineDirectory ?? "quarantine")")
            }
            if let e = report.sweepError { log.warning("store", "spool sweep failed, files left in place: \(e)") }
            for m in report.missingFiles { log.error("store", "missing file \(m)") }
        } catch {
            lock.release()
            throw KioskdFailure(1, "penyimpanan: \(error.message.id)", "store: \(error.message.en ?? error.message.id)")
        }
        let hub = EventHub()
        let config: ConfigService
        do {
            config = try ConfigService(
                store: store, dataDir: settings.dataDir, kioskID: kioskID, trustedKeys: trusted, shippedProfile: profile,
                defaults: .init(reprintLimit: settings.printer.reprintLimit, lowPaperThreshold: settings.printer.lowPaperThreshold,
                                printTimeoutSeconds: Double(settings.printer.jobTimeoutSeconds)), log: log)
        } catch {
            lock.release()
            throw KioskdFailure(1, "konfigurasi: \(error.message.id)", "config: \(error.message.en ?? error.message.id)")
        }
        let live = config.live
        let devices = DeviceSupervisor(
            choices: .init(printer: settings.devices.printer, scanner: settings.devices.scanner, cardReader: settings.devices.cardReader),
            scanSettings: settings.scanner, store: store,
            today: { live.current.profile.conventions.utcOffset.civilDate(of: Date()) }, log: log,
            onEvent: { name, data in hub.broadcast(stream: name.hasPrefix("printer") ? "print" : "device", event: name, data: data) })
        let useCases: KioskUseCases
        do {
            let testCard = devices.simulatedReader.flatMap { reader in
                (try? NIK(SimulatedCardReader.testCardDigits, today: live.current.profile.conventions.utcOffset.civilDate(of: Date())))
                    .map { (reader: reader, nik: $0) }
            }
            useCases = try KioskUseCases(store: store, config: live, devices: devices, workDir: "\(settings.dataDir)/scans-work",
                                         cards: devices.cardEvents, simulatedCard: testCard, trustedKeys: trusted)
        } catch {
            lock.release()
            throw KioskdFailure(73, "folder kerja: \(error)", "work folder: \(error)")
        }
        useCases.discardAllScans()
        var sync: SyncService?
        if let url = settings.dinas.url, let token {
            var options = SyncOptions()
            options.kioskdVersion = KioskVersion.string
            let client = DinasClient(endpoint: DinasEndpoint(baseURL: url, kioskID: kioskID, token: token),
                                     requestTimeout: Double(settings.dinas.requestTimeoutSeconds))
            // "Cek NIK & KK" asks the same Dinas, synchronously, when the bundle offers it.
            useCases.attachRegistry { nik, kk throws(ServiceFailure) in
                do throws(SyncError) {
                    let r = try await client.verify(nik: nik, kk: kk)
                    return RegistryCheck(match: r.match, nameMasked: r.nameMasked)
                } catch {
                    log.warning("registry", "verify failed: \(error)")
                    throw ServiceFailure("dinas_unreachable", LocalizedText(
                        "Dinas belum dapat dihubungi. Coba lagi nanti.", "The Dinas cannot be reached now. Try again later."))
                }
            }
            let engine = SyncEngine(
                store: store,
                client: client,
                trustedKeys: trusted, configStore: config.bundles, options: options,
                log: { log.info("sync", $0) },
                deviceReport: { (try? JSONSerialization.jsonObject(with: (try? KioskJSON.encode(devices.report)) ?? Data())) as? [String: Any] ?? [:] })
            sync = SyncService(engine: engine, store: store, config: config, pollSeconds: Double(settings.dinas.pollSeconds),
                               heartbeatSeconds: Double(settings.dinas.heartbeatSeconds), log: log,
                               onEvent: { name, data in hub.broadcast(stream: "queue", event: name, data: data) })
        } else {
            log.warning("sync", "no dinas.url configured: applications stay queued (USB export still works)")
        }
        let retention = RetentionService(store: store, config: live, interval: Double(settings.retention.purgeIntervalSeconds), log: log)
        let storeHealth = StoreHealthService(store: store)
        let control = ControlService(path: settings.socket, group: settings.control.group,
                                     roles: ControlRoles(adminUser: settings.control.adminUser, staffGroup: settings.control.staffGroup,
                                                         technicianGroup: settings.control.technicianGroup,
                                                         residentGroup: settings.control.residentGroup),
                                     hub: hub, useCases: useCases, log: log)
        live.observe { c in
            hub.broadcast(stream: "config", event: "config.changed",
                          data: .object(["version": .number(Double(c.version)), "source": .string(c.source)]))
        }
        var services: [any KioskdService] = [storeHealth, config, devices]
        if let sync { services.append(sync) }
        services += [retention, control]
        let group = ServiceGroup(services, log: log)
        let kiosk = Kioskd(settings: settings, kioskID: kioskID, log: log, lock: lock, store: store, config: config, devices: devices,
                           useCases: useCases, sync: sync, retention: retention, storeHealth: storeHealth, control: control,
                           group: group, hub: hub)
        control.attach(ControlMethods(kiosk: kiosk))
        return kiosk
    }

    private init(settings: KioskdConfig, kioskID: String, log: KioskLog, lock: DataDirLock, store: KioskStore, config: ConfigService,
                 devices: DeviceSupervisor, useCases: KioskUseCases, sync: SyncService?, retention: RetentionService,
                 storeHealth: StoreHealthService, control: ControlService, group: ServiceGroup, hub: EventHub) {
        self.settings = settings
        self.kioskID = kioskID
        self.log = log
        self.lock = lock
        self.store = store
        self.config = config
        self.devices = devices
        self.useCases = useCases
        self.sync = sync
        self.retention = retention
        self.storeHealth = storeHealth
        self.control = control
        self.group = group
        self.hub = hub
    }

    static func shippedProfile(_ settings: KioskdConfig, environment: [String: String]) throws(KioskdFailure) -> JurisdictionProfile {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments.first
        guard let dir = ProfileSearch.find(explicit: settings.profilesDir ?? environment["KIOSK_PROFILES_DIR"],
                                           currentDirectory: FileManager.default.currentDirectoryPath, executablePath: exe),
              let data = FileManager.default.contents(atPath: "\(dir)/\(settings.profile).json")
        else {
            throw KioskdFailure(78, "profile: profil \(settings.profile) tidak ditemukan (profiles_dir)",
                                "profile: profile \(settings.profile) not found (profiles_dir)")
        }
        do {
            return try JurisdictionProfile.load(data, root: settings.profile)
        } catch {
            throw KioskdFailure(78, "profile: profil \(settings.profile) rusak: \(error)", "profile: profile \(settings.profile) is invalid: \(error)")
        }
    }

    /// Runs until SIGTERM/SIGINT (or a service fails). Returns the exit status: 0 after a clean stop.
    public func run(notifier: SystemdNotifier) async -> Int32 {
        let group = self.group
        let log = self.log
        let signals = StopSignals { sig in
            log.info("kioskd", "signal \(sig): stopping")
            group.shutdown()
        }
        defer { signals.cancel() }
        let watchdog = Watchdog(notifier: notifier, group: group, status: { [weak self] in self?.statusLine ?? "" })
        let outcome = await group.run(
            ready: {
                notifier.notify("READY=1\nSTATUS=\(self.statusLine)")
                log.info("kioskd", "ready: \(self.statusLine)")
                watchdog.start()
            },
            stopping: {
                watchdog.stop()
                notifier.notify("STOPPING=1\nSTATUS=stopping")
            })
        self.useCases.discardAllScans()
        self.lock.release()
        switch outcome {
        case .stopped:
            log.info("kioskd", "stopped")
            return 0
        case .failed(let why):
            log.error("kioskd", "stopped after a failure: \(why)")
            return 1
        }
    }

    /// One line for `STATUS=` and the log.
    public var statusLine: String {
        let live = self.config.live.current
        let depth = (try? self.store.queueStats().queueCounts["pending"]) ?? nil
        let health = self.group.health
        return "config \(live.version), queue \(depth.map(String.init) ?? "?"), " + (health.ok ? "healthy" : "UNHEALTHY: \(health.detail)")
    }

    func status() async -> KioskStatus {
        let live = self.config.live.current
        let store = self.store
        let threshold = live.settings.lowPaperThreshold
        let (queue, paper) = await StoreWork.run { () -> (QueueStats?, PaperStatus?) in
            (try? store.queueStats(), try? store.paperStatus(lowThreshold: threshold))
        }
        var fs = statvfs()
        let free = statvfs(self.settings.dataDir, &fs) == 0 ? Int(fs.f_bavail) * Int(fs.f_frsize) : nil
        let health = self.group.health
        return KioskStatus(
            version: KioskVersion.string, kioskID: self.kioskID, pid: getpid(), startedAt: self.startedAt,
            uptimeSeconds: Int(Date().timeIntervalSince(self.startedAt)), health: health.ok ? "ok" : health.detail,
            config: .init(version: live.version, source: live.source, appliedAt: live.appliedAt,
                          pendingVersion: self.config.live.pending?.version, refused: self.config.refusal,
                          desaName: live.settings.desaName, profile: live.profile.id),
            devices: self.devices.report, present: self.devices.present, queue: queue, paper: paper,
            sync: self.sync?.status, dinas: self.settings.dinas.url?.absoluteString, diskFreeBytes: free)
    }

    /// `kioskctl printer test`: a test page, followed to its end.
    func printTestPage() async throws(ControlError) -> PrintOutcome {
        guard let printer = self.devices.printer else {
            throw ControlError("printer_unavailable", id: "Printer tidak terpasang.", en: "No printer connected.", exit: 69)
        }
        let path = "\(self.settings.dataDir)/scans-work/test-page-\(UUID().uuidString.lowercased()).pdf"
        guard FileManager.default.createFile(atPath: path, contents: TestPage.pdf(kiosk: self.kioskID), attributes: [.posixPermissions: 0o600]) else {
            throw ControlError("io_error", id: "Halaman uji tidak dapat dibuat.", en: "The test page could not be made.")
        }
        defer { unlink(path) }
        do throws(PrinterError) {
            let outcome = try await printer.print(path: path, title: "Halaman uji / test page",
                                                  timeout: Double(self.settings.printer.jobTimeoutSeconds))
            if outcome.printed {
                let store = self.store
                _ = await StoreWork.run { () -> Bool in
                    (try? store.recordPagePrinted(nil, event: "test_page_printed", sheets: outcome.sheets, actor: "kiosk",
                                                  detail: outcome.detail)) != nil
                }
            }
            return outcome
        } catch {
            throw ControlError("printer_error", error.message, exit: 1)
        }
    }
}

/// Feeds systemd's watchdog from its own queue (never from Swift's cooperative pool, which a wedged store call can
/// stall): `WATCHDOG=1` every `WATCHDOG_USEC`/2 while every service is healthy, nothing while one is not.
final class Watchdog: @unchecked Sendable {
    // @unchecked: `timer` (a DispatchSourceTimer, not Sendable) is only touched under `lock`.
    private let lock = NSLock()
    private var timer: (any DispatchSourceTimer)?
    private let notifier: SystemdNotifier
    private let group: ServiceGroup
    private let status: @Sendable () -> String
    private let wasHealthy = Atomic<Bool>(true)

    init(notifier: SystemdNotifier, group: ServiceGroup, status: @escaping @Sendable () -> String) {
        self.notifier = notifier
        self.group = group
        self.status = status
    }

    func start() {
        guard self.notifier.enabled else { return }
        let interval = self.notifier.watchdogInterval ?? 30
        let t = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "kioskd.watchdog"))
        t.schedule(deadline: .now() + interval, repeating: interval, leeway: .milliseconds(Int(interval * 50)))
        t.setEventHandler { [self] in
            let h = self.group.health
            let ping = h.ok && self.notifier.watchdogInterval != nil
            let changed = self.wasHealthy.exchange(h.ok, ordering: .relaxed) != h.ok
            if ping || changed {
                self.notifier.notify((ping ? "WATCHDOG=1\n" : "") + "STATUS=\(h.ok ? "healthy" : "UNHEALTHY: \(h.detail)")")
            }
        }
        t.resume()
        self.lock.withLock { self.timer = t }
    }

    func stop() {
        self.lock.withLock {
            self.timer?.cancel()
            self.timer = nil
        }
    }
}

/// Server events to subscribed connections; set once the socket exists.
final class EventHub: Sendable {
    private let server = Mutex<ControlServer?>(nil)

    func attach(_ s: ControlServer) { self.server.withLock { $0 = s } }

    func broadcast(stream: String, event: String, data: JSONValue) {
        self.server.withLock { $0 }?.broadcast(stream: stream, event: event, data: data)
    }
}

/// The control socket as a service: bound in `start()` (last, so READY=1 means it accepts), closed first on stop.
final class ControlService: KioskdService {
    let name = "control"
    private let path: String
    private let group: String?
    private let roles: ControlRoles
    private let hub: EventHub
    private let useCases: KioskUseCases
    private let log: KioskLog
    private let handler = Mutex<ControlMethods?>(nil)
    private let server = Mutex<ControlServer?>(nil)

    init(path: String, group: String?, roles: ControlRoles, hub: EventHub, useCases: KioskUseCases, log: KioskLog) {
        self.path = path
        self.group = group
        self.roles = roles
        self.hub = hub
        self.useCases = useCases
        self.log = log
    }

    func attach(_ h: ControlMethods) { self.handler.withLock { $0 = h } }

    func start() async throws {
        guard let handler = self.handler.withLock({ $0 }) else { return }
        let log = self.log
        let server = ControlServer(path: self.path, group: self.group, roles: self.roles, handler: handler,
                                   version: KioskVersion.string, log: { log.info("control", $0) })
        try server.start()
        self.server.withLock { $0 = server }
        self.hub.attach(server)
    }

    func run() async {
        let cards = self.useCases.cardEvents()
        let hub = self.hub
        // Card taps go to the subscribed UI. The NIK travels only over this local socket (0660), never to the log.
        for await tap in cards {
            switch tap {
            case .inserted(let nik): hub.broadcast(stream: "card", event: "card.inserted", data: .object(["nik": .string(nik.digits)]))
            case .removed: hub.broadcast(stream: "card", event: "card.removed", data: .object([:]))
            case .unreadable: hub.broadcast(stream: "card", event: "card.unreadable", data: .object([:]))
            }
            if Task.isCancelled { break }
        }
        // The card stream ends with the device supervisor; wait for the stop (a cancelled sleep returns at once).
        while !Task.isCancelled { try? await Task.sleep(nanoseconds: 3_600_000_000_000) }
    }

    func stop() async {
        self.server.withLock { $0 }?.stop()
    }
}
