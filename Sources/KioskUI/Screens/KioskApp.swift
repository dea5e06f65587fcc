import Foundation
import KioskCore

/// Drives the resident UI: input events and clock ticks go into the session state machine, its effects are
/// performed through `KioskServices`, and every change is drawn with the diff renderer. Holds no durable state:
/// if it dies the resident starts again at Beranda and nothing stored is lost.
@MainActor
public final class KioskApp {
    public let services: any KioskServices
    public private(set) var info: KioskInfo
    public private(set) var notices: [DeviceNotice] = []
    public private(set) var session: KioskSession
    public private(set) var width: Int
    public private(set) var height: Int
    private let output: TerminalOutput
    private let clock: @Sendable () -> Double
    private let today: @Sendable () -> CivilDate
    private var parser = InputParser()
    private var renderer = Renderer()
    private var built: Screens.Built?
    private var laidOut: LaidOut?
    private var page = 0
    private var focus: Int?
    private var pressed: UIAction?
    /// Bumped on every wipe: results of work started before it are dropped.
    private var generation = 0
    private var work: [Task<Void, Never>] = []
    private var scanTask: Task<Void, Never>?
    /// Called when the UI wants to end (demo: Ctrl-C).
    public var onQuit: (() -> Void)?
    /// The kiosk service cannot be reached: the wait screen shows and input is ignored.
    public private(set) var waiting = false
    /// A configuration that arrived mid-session, taken at the home screen.
    private var pendingInfo: KioskInfo?
    /// Whether the session was at the home screen when last looked (session begin/end go to the services).
    private var atHome = true
    private var spinner = 0
    /// Spoken guidance (espeak-ng on a kiosk); nil is a kiosk without a speaker.
    public var voice: (any VoiceOutput)?
    /// The screen and script last spoken ("Dengarkan" says it again).
    public private(set) var spokenKey: String?
    private var spokenScript: String?
    /// The key of the screen on show.
    public var screenKey: String? { self.built?.spec.key }
    /// Staff mode's calls (kiosk-ui's services offer them; without them the staff gesture does nothing).
    private let staffServices: (any StaffServices)?
    /// Where and when the current press began: a long press on the title's left corner opens staff mode.
    private var pressStart: (x: Int, y: Int, at: Double)?
    /// How long the staff gesture holds, and the corner it holds.
    public static let staffGestureSeconds = 2.0
    public static let staffCorner = Rect(x: 0, y: 0, width: 4, height: 1)

    public init(services: any KioskServices, info: KioskInfo, output: TerminalOutput, width: Int, height: Int,
                clock: @escaping @Sendable () -> Double, today: @escaping @Sendable () -> CivilDate) {
        self.services = services
        self.info = info
        self.output = output
        self.width = width
        self.height = height
        self.clock = clock
        self.today = today
        self.staffServices = services as? any StaffServices
        self.session = Self.session(info, today: today(), now: clock(), staff: self.staffServices != nil)
    }

    private static func session(_ info: KioskInfo, today: CivilDate, now: Double, staff: Bool) -> KioskSession {
        KioskSession(profile: info.profile, today: today, now: now, idleTimeout: Double(info.idleTimeoutSeconds),
                     staffTimeout: Double(info.staffTimeoutSeconds), staffEntry: staff && info.staffEntry)
    }

    /// The frame on screen now (tests read it as text).
    public var screenLines: [String] { self.laidOut?.canvas.lines ?? [] }
    public var targets: [Target] { self.laidOut?.targets ?? [] }

    // MARK: - Inputs

    public func input(_ bytes: [UInt8]) {
        for e in self.parser.feed(bytes, now: self.clock()) {
            // While the service is away only the demo's Ctrl-C counts.
            if self.waiting {
                if case .key(.ctrl("c")) = e, self.info.demo { self.onQuit?() }
                continue
            }
            self.handle(e)
        }
        self.draw()
    }

    /// Call `escapeTimeout` after input that left bytes pending (a lone ESC).
    public func flushInput() {
        for e in self.parser.flush(now: self.clock()) { self.handle(e) }
        self.draw()
    }

    public var inputPending: Bool { self.parser.isPending }
    public var escapeTimeout: Double { self.parser.escapeTimeout }

    public func resize(width: Int, height: Int) {
        self.width = width
        self.height = height
        self.renderer.invalidate()
        self.draw()
    }

    /// The clock: idle countdown and wipe. Call about once a second.
    public func tick() {
        if self.waiting {
            self.spinner += 1
            self.draw()
            return
        }
        let effects = self.session.tick(now: self.clock(), today: self.today())
        self.perform(effects)
        self.sessionEdge()
        self.draw()
    }

    /// Follows the services' updates (kioskd going away and coming back, new configuration) until the stream ends.
    public func followUpdates() async {
        for await update in self.services.updates() {
            self.apply(update)
        }
    }

    /// One update from the services.
    public func apply(_ update: ServiceUpdate) {
        switch update {
        case .unavailable:
            guard !self.waiting else { return }
            // The unfinished session is dropped (kioskd deletes its held scans); stored applications are untouched.
            self.waiting = true
            self.startOver(self.info)
        case .available(let info):
            self.waiting = false
            self.pendingInfo = nil
            self.startOver(info)
            Task { await self.refreshNotices() }
        case .configChanged(let info):
            if self.session.screen == .home {
                self.adopt(info)
            } else {
                self.pendingInfo = info
            }
        case .devicesChanged:
            Task { await self.refreshNotices() }
        }
        self.draw()
    }

    /// A fresh session at the home screen with `info`: in-flight work is dropped, the screen redrawn from blank.
    private func startOver(_ info: KioskInfo) {
        self.generation += 1
        self.scanTask?.cancel()
        self.scanTask = nil
        for t in self.work { t.cancel() }
        self.work = []
        self.info = info
        self.session = Self.session(info, today: self.today(), now: self.clock(), staff: self.staffServices != nil)
        self.atHome = true
        self.renderer.invalidate()
        self.page = 0
        self.focus = nil
        self.pressed = nil
    }

    /// Takes a new configuration at the home screen, keeping the language the resident chose.
    private func adopt(_ info: KioskInfo) {
        let language = self.session.language
        self.pendingInfo = nil
        self.startOver(info)
        if language != self.session.language { _ = self.session.handle(.toggleLanguage, now: self.clock()) }
    }

    /// Tells the services when a resident leaves the home screen and comes back to it; takes a pending configuration
    /// once home.
    private func sessionEdge() {
        // Staff mode is no resident session (kioskd refuses a PIN while one is open); assisted mode is one.
        var staff = false
        if case .staff = self.session.screen { staff = true }
        let home = self.session.screen == .home || staff
        if self.session.screen == .home, let info = self.pendingInfo { self.adopt(info) }
        guard home != self.atHome else { return }
        self.atHome = home
        let services = self.services
        Task { home ? await services.sessionEnded() : await services.sessionBegan() }
    }

    public func refreshNotices() async {
        let n = await self.services.deviceNotices()
        if n != self.notices {
            self.notices = n
            self.draw()
        }
    }

    /// Feeds card taps until the stream ends.
    public func followCards() async {
        for await tap in self.services.cardEvents() {
            self.send(.card(tap))
        }
    }

    func handle(_ e: InputEvent) {
        // Any touch or key silences the voice at once.
        self.voice?.stop()
        // Any input is activity (and dismisses the idle warning).
        _ = self.session.handle(.stillHere, now: self.clock())
        switch e {
        case .press(let x, let y):
            self.pressed = self.target(x: x, y: y).map(\.action)
            if self.pressStart == nil { self.pressStart = (x, y, self.clock()) }
        case .release(let x, let y):
            let hit = self.target(x: x, y: y)?.action
            let wasPressed = self.pressed
            self.pressed = nil
            let start = self.pressStart
            self.pressStart = nil
            // The hidden staff gesture: a long press on the title's left corner of the home screen.
            if let start, Self.staffCorner.contains(x: start.x, y: start.y), Self.staffCorner.contains(x: x, y: y),
               self.clock() - start.at >= Self.staffGestureSeconds {
                self.send(.openStaff)
                return
            }
            if let hit, hit == wasPressed { self.activate(hit) }
        case .key(let k):
            self.key(k)
        }
    }

    private func key(_ k: Key) {
        let enabled = self.targets.indices.filter { self.targets[$0].enabled }
        switch k {
        case .tab, .down, .right:
            guard !enabled.isEmpty else { return }
            let next = enabled.first { $0 > (self.focus ?? -1) } ?? enabled[0]
            self.focus = next
        case .backTab, .up, .left:
            guard !enabled.isEmpty else { return }
            let prev = enabled.last { $0 < (self.focus ?? Int.max) } ?? enabled[enabled.count - 1]
            self.focus = prev
        case .enter:
            if let f = self.focus, self.targets.indices.contains(f), self.targets[f].enabled {
                self.activate(self.targets[f].action)
            } else if let enter = self.built?.enter {
                self.activate(enter)
            }
        case .escape:
            self.send(.back)
        case .pageUp: self.activate(.pageUp)
        case .pageDown: self.activate(.pageDown)
        case .function(2):
            self.activate(.tapTestCard)
        case .function(12):
            self.send(.toggleLanguage)
        case .function(9):
            // Staff with a keyboard: the same as the long press.
            self.send(.openStaff)
        case .ctrl("c"):
            if self.info.demo { self.onQuit?() }
        case .backspace:
            if let route = self.built?.keys { self.send(Self.route(route, backspace: true, nil)) }
        case .char(let c):
            if let route = self.built?.keys { self.send(Self.route(route, backspace: false, c)) }
        default:
            break
        }
    }

    /// A typed character (nil: backspace) for the flow the screen routes keys to.
    static func route(_ r: KeyRoute, backspace: Bool, _ c: Character?) -> KioskSession.Event {
        let key = backspace ? nil : c
        switch r {
        case .apply: return key.map { .apply(.key($0)) } ?? .apply(.backspace)
        case .status: return key.map { .status(.key($0)) } ?? .status(.backspace)
        case .collect: return key.map { .collect(.key($0)) } ?? .collect(.backspace)
        case .complaint: return key.map { .complaint(.key($0)) } ?? .complaint(.backspace)
        case .verify: return key.map { .verify(.key($0)) } ?? .verify(.backspace)
        case .staff: return key.map { .staff(.key($0)) } ?? .staff(.backspace)
        }
    }

    private func target(x: Int, y: Int) -> Target? {
        self.targets.first { $0.enabled && $0.rect.contains(x: x, y: y) }
    }

    func activate(_ action: UIAction) {
        switch action {
        case .session(let e): self.send(e)
        case .pageUp: self.page = max(0, self.page - 1)
        case .pageDown: self.page += 1
        case .tapTestCard:
            let services = self.services
            self.work.append(Task { _ = await services.tapTestCard() })
        case .listen:
            if let script = self.spokenScript { self.voice?.speak(script, language: self.session.language, volume: self.info.voiceVolume) }
        }
    }

    /// Feeds a session event and performs what it asks for.
    public func send(_ event: KioskSession.Event) {
        guard !self.waiting else { return }
        let effects = self.session.handle(event, now: self.clock())
        self.perform(effects)
        self.sessionEdge()
        self.draw()
    }

    // MARK: - Effects

    private func perform(_ effects: [KioskSession.Effect]) {
        for effect in effects {
            switch effect {
            case .wiped(let scans):
                self.generation += 1
                self.scanTask?.cancel()
                self.scanTask = nil
                for t in self.work { t.cancel() }
                self.work = []
                self.discard(scans)
                // The whole screen is redrawn from blank: nothing of the last resident stays on it.
                self.renderer.invalidate()
                self.page = 0
                self.focus = nil
            case .flow(let f):
                self.perform(f)
            }
        }
    }

    private func discard(_ tokens: [String]) {
        guard !tokens.isEmpty else { return }
        let services = self.services
        Task { for t in tokens { await services.discardScan(t) } }
    }

    private func perform(_ effect: FlowEffect) {
        let services = self.services
        let generation = self.generation
        switch effect {
        case .scan(let requirement, let pages):
            self.scanTask = Task {
                let result = await Self.result { () async throws(ServiceFailure) in
                    try await services.scan(requirement: requirement, expectedPages: pages)
                }
                if Task.isCancelled || generation != self.generation {
                    if case .success(let s) = result { await services.discardScan(s.token) }
                    return
                }
                self.send(.apply(.scanFinished(result)))
            }
        case .cancelScan:
            self.scanTask?.cancel()
            self.scanTask = nil
        case .discardScan(let token):
            self.discard([token])
        case .submit(let draft):
            self.run(generation, toTheEnd: true) {
                .apply(.submitted(await Self.result { () async throws(ServiceFailure) in try await services.submit(draft) }))
            }
        case .resubmit(let draft):
            self.run(generation, toTheEnd: true) {
                .apply(.submitted(await Self.result { () async throws(ServiceFailure) in try await services.resubmit(draft) }))
            }
        case .startCorrection:
            break  // the session opened the correction
        case .printReceipt(let code, let language):
            self.run(generation, toTheEnd: true) {
                .apply(.receiptPrinted(await services.printReceipt(trackingCode: code, language: language)))
            }
        case .lookupStatus(let code):
            self.run(generation) {
                .status(.found(await Self.result { () async throws(ServiceFailure) in [try await services.status(trackingCode: code)] }))
            }
        case .lookupApplications(let nik):
            self.run(generation) {
                .status(.found(await Self.result { () async throws(ServiceFailure) in try await services.applications(of: nik) }))
            }
        case .findDocuments(let nik, let code):
            self.run(generation) {
                .collect(.found(await Self.result { () async throws(ServiceFailure) in
                    try await services.readyDocuments(nik: nik, trackingCode: code)
                }))
            }
        case .printDocument(let id):
            self.run(generation, toTheEnd: true) {
                .collect(.printFinished(await Self.result { () async throws(ServiceFailure) in
                    try await services.printDocument(id) { p in
                        Task { @MainActor in
                            guard generation == self.generation else { return }
                            self.send(.collect(.progress(p)))
                        }
                    }
                }))
            }
        case .fileComplaint(let c):
            self.run(generation, toTheEnd: true) {
                .complaint(.sent(await Self.result { () async throws(ServiceFailure) in try await services.fileComplaint(c) }))
            }
        case .printComplaintSlip(let reference, let language):
            self.run(generation, toTheEnd: true) {
                .complaint(.slipPrinted(await services.printComplaintSlip(reference: reference, language: language)))
            }
        case .verifyRegistration(let nik, let kk):
            self.run(generation) {
                .verify(.checked(await Self.result { () async throws(ServiceFailure) in
                    try await services.verifyRegistration(nik: nik, kk: kk)
                }))
            }
        case .lookupComplaint(let reference):
            self.run(generation) {
                .status(.complaintFound(await Self.result { () async throws(ServiceFailure) in
                    try await services.complaintStatus(reference: reference)
                }))
            }
        case .callStaff(let screen):
            guard let staff = self.staffServices else {
                self.send(.staffCalled(.failure(ServiceFailure("no_staff", LocalizedText(
                    "Petugas tidak dapat dipanggil dari kios ini; silakan ke meja pelayanan.",
                    "Staff cannot be called from this kiosk; please go to the service desk."))))) 
                return
            }
            self.run(generation, toTheEnd: true) {
                let answer = await Self.result { () async throws(ServiceFailure) in try await staff.callStaff(screen: screen) }
                if case .success(let a) = answer, a.bell { await MainActor.run { self.output.write("\u{07}") } }
                return .staffCalled(answer)
            }
        case .staff(let effect):
            self.perform(effect, generation)
        case .exit:
            break
        }
    }

    private func perform(_ effect: StaffEffect, _ generation: Int) {
        guard let staff = self.staffServices else { return }
        func done(_ ok: LocalizedText, _ call: @escaping @Sendable () async throws(ServiceFailure) -> Void) {
            self.run(generation) {
                .staff(.done(await Self.result { () async throws(ServiceFailure) in
                    try await call()
                    return ok
                }))
            }
        }
        switch effect {
        case .unlock(let pin):
            self.run(generation) {
                .staff(.unlocked(await Self.result { () async throws(ServiceFailure) in try await staff.unlockStaff(pin: pin) }))
            }
        case .lock:
            // Runs whatever happens to the screen: the staff rights must end at kioskd.
            Task { await staff.lockStaff() }
        case .loadOverview:
            self.run(generation) {
                .staff(.overviewLoaded(await Self.result { () async throws(ServiceFailure) in try await staff.overview() }))
            }
        case .restock(let sheets):
            done(LocalizedText("Tercatat: \(sheets) lembar dimuat.", "Recorded: \(sheets) sheets loaded.")) {
                () async throws(ServiceFailure) in _ = try await staff.restockPaper(sheets: sheets)
            }
        case .testPrint:
            self.run(generation) {
                .staff(.done(await Self.result { () async throws(ServiceFailure) -> LocalizedText in
                    if let problem = try await staff.printTestPage() {
                        throw ServiceFailure("test_print_failed", problem)
                    }
                    return LocalizedText("Halaman uji tercetak.", "The test page printed.")
                }))
            }
        case .resumePrinter:
            done(LocalizedText("Printer dilanjutkan.", "The printer was resumed.")) {
                () async throws(ServiceFailure) in try await staff.resumePrinter()
            }
        case .testScan:
            self.run(generation) {
                .staff(.scanned(await Self.result { () async throws(ServiceFailure) in try await staff.testScan() }))
            }
        case .redetect:
            self.run(generation) {
                .staff(.detectedDevices(await Self.result { () async throws(ServiceFailure) in try await staff.redetectDevices() }))
            }
        case .loadQueue:
            self.run(generation) {
                .staff(.queueLoaded(await Self.result { () async throws(ServiceFailure) in
                    StaffFlow.Queue(today: try await staff.todaysApplications(), held: try await staff.quarantined())
                }))
            }
        case .retry(let id):
            done(LocalizedText("Dimasukkan lagi ke antrean kirim.", "Put back in the sending queue.")) {
                () async throws(ServiceFailure) in try await staff.retry(id)
            }
        case .syncNow:
            done(LocalizedText("Pengiriman ke Dinas dimulai.", "Sending to the Dinas has started.")) {
                () async throws(ServiceFailure) in try await staff.syncNow()
            }
        case .loadCalls:
            self.run(generation) {
                .staff(.callsLoaded(await Self.result { () async throws(ServiceFailure) in
                    StaffFlow.Calls(calls: try await staff.todaysCalls(), complaints: try await staff.todaysComplaints())
                }))
            }
        case .findDocuments(let code):
            self.run(generation) {
                .staff(.documentsFound(await Self.result { () async throws(ServiceFailure) in try await staff.documents(trackingCode: code) }))
            }
        case .reprint(let id, let reason):
            self.run(generation, toTheEnd: true) {
                .staff(.done(await Self.result { () async throws(ServiceFailure) -> LocalizedText in
                    let report = try await staff.reprint(documentID: id, reason: reason)
                    if let problem = report.problem, !report.printed { throw ServiceFailure("reprint_failed", problem) }
                    return LocalizedText("Dokumen dicetak ulang (\(report.sheets) lembar).", "The document was reprinted (\(report.sheets) sheet(s)).")
                }))
            }
        case .rollback:
            self.run(generation) {
                .staff(.done(await Self.result { () async throws(ServiceFailure) -> LocalizedText in
                    let v = try await staff.rollbackConfig()
                    return LocalizedText("Konfigurasi kembali ke versi \(v). Berlaku di layar beranda.",
                                         "The configuration is back at version \(v), in force at the home screen.")
                }))
            }
        case .assist:
            break  // the session opened the assisted application
        }
    }

    /// Runs a service call and feeds its answer back as an event, unless the session was wiped meanwhile.
    /// Lookups are cancelled by a wipe; a submission, a print or a complaint (`toTheEnd`) runs to its end, since the
    /// store records it, and only its answer is dropped.
    private func run(_ generation: Int, toTheEnd: Bool = false, _ body: @escaping @Sendable () async -> KioskSession.Event) {
        let task = Task {
            let event = await body()
            guard !Task.isCancelled, generation == self.generation else { return }
            self.send(event)
        }
        if !toTheEnd { self.work.append(task) }
    }

    private static func result<T>(_ call: () async throws(ServiceFailure) -> T) async -> Result<T, ServiceFailure> {
        do throws(ServiceFailure) { return .success(try await call()) } catch { return .failure(error) }
    }

    // MARK: - Voice

    var voiceOn: Bool { self.voice != nil && self.info.voiceEnabled && !self.waiting }

    /// Says the screen's script when the screen changes (the idle countdown once, not every second).
    private func speak(_ key: String, idle: KioskSession.IdlePhase) {
        guard self.voiceOn, let voice = self.voice else { return }
        guard let raw = SpokenScript.script(self.session, info: self.info, idle: idle) else {
            if self.spokenKey != nil { voice.stop() }
            self.spokenKey = nil
            self.spokenScript = nil
            return
        }
        let script = SpeechNormalizer.normalize(raw, language: self.session.language)
        guard key != self.spokenKey || (key != "idle" && script != self.spokenScript) else { return }
        self.spokenKey = key
        self.spokenScript = script
        voice.speak(script, language: self.session.language, volume: self.info.voiceVolume)
    }

    // MARK: - Drawing

    public func draw() {
        let now = self.clock()
        var screens = Screens(info: self.info, notices: self.notices, width: self.width, height: self.height,
                              language: self.session.language)
        screens.voice = self.voiceOn
        let built = self.waiting ? Screens.Built(spec: Screens.waiting(frame: self.spinner, demo: self.info.demo), keys: nil, enter: nil)
            : screens.build(self.session, idle: self.session.idlePhase(now: now), now: Date())
        if built.spec.key != self.built?.spec.key {
            self.page = 0
            self.focus = nil
        }
        self.built = built
        self.speak(built.spec.key, idle: self.session.idlePhase(now: now))
        var laid = Layout.render(built.spec, width: self.width, height: self.height, page: self.page, focus: self.focus,
                                 pressed: self.pressed)
        if self.page >= laid.pages {
            self.page = laid.pages - 1
            laid = Layout.render(built.spec, width: self.width, height: self.height, page: self.page, focus: self.focus,
                                 pressed: self.pressed)
        }
        if let f = self.focus, f >= laid.targets.count { self.focus = nil }
        self.laidOut = laid
        let out = self.renderer.render(laid.canvas)
        if !out.isEmpty { self.output.write(out) }
    }
}
