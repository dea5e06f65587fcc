/// One resident's session at the kiosk: which menu is open, its flow, the language, and the idle timer.
/// Pure: the driver feeds events (touches, keys, card taps, service results, clock ticks) and performs the
/// effects. A wipe replaces every flow value, so nothing the resident entered survives it in memory.
public struct KioskSession: Sendable, Equatable {
    public enum Screen: Sendable, Equatable {
        case home
        case info(InfoFlow)
        case apply(ApplyFlow)
        case status(StatusFlow)
        case collect(CollectFlow)
        case complaint(ComplaintFlow)
        case verify(VerifyFlow)
        /// Staff mode: the PIN pad, then the staff menu (only from the home screen).
        case staff(StaffFlow)
    }

    public enum Menu: String, Sendable, Equatable, CaseIterable {
        case info, apply, status, collect, complaint
        /// "Cek NIK & KK": only where the bundle allows it.
        case verify

        public var label: LocalizedText {
            switch self {
            case .info: return LocalizedText("Informasi Layanan", "Service information")
            case .apply: return LocalizedText("Ajukan Permohonan", "Apply")
            case .status: return LocalizedText("Cek Status", "Check status")
            case .collect: return LocalizedText("Ambil Dokumen", "Collect documents")
            case .complaint: return LocalizedText("Pengaduan", "Complaints")
            case .verify: return LocalizedText("Cek NIK & KK", "Check NIK & KK")
            }
        }
    }

    public enum Event: Sendable, Equatable {
        case open(Menu)
        case home
        case toggleLanguage
        case info(InfoFlow.Event)
        case apply(ApplyFlow.Event)
        case status(StatusFlow.Event)
        case collect(CollectFlow.Event)
        case complaint(ComplaintFlow.Event)
        case verify(VerifyFlow.Event)
        case staff(StaffFlow.Event)
        /// The hidden staff gesture (a long press on the title's left corner, or F9): the PIN pad, from home only.
        case openStaff
        /// "Panggil petugas" on the screen with this key.
        case callStaff(screen: String)
        case staffCalled(Result<StaffCallAnswer, ServiceFailure>)
        /// From the card reader, routed to whichever step is waiting for identity.
        case card(CardTap)
        /// "Kembali": back within the open flow.
        case back
        /// The resident pressed "Lanjutkan" on the idle warning (any input also counts).
        case stillHere
    }

    /// What the driver must do besides the flow effects.
    public enum Effect: Sendable, Equatable {
        case flow(FlowEffect)
        /// The session was wiped (idle timeout or Home): drop in-flight work, clear the whole screen.
        case wiped(discardScans: [String])
    }

    public enum IdlePhase: Sendable, Equatable {
        case active
        case warning(secondsLeft: Int)
        case expired
    }

    public let profile: JurisdictionProfile
    public let idleTimeout: Double
    /// Staff mode without a touch for this long ends.
    public let staffTimeout: Double
    /// The bundle lists staff PINs: the hidden gesture opens the PIN pad.
    public let staffEntry: Bool
    /// What "Panggil petugas" answered, shown on the screen for a minute.
    public private(set) var callNotice: LocalizedText?
    private var callNoticeAt: Double = 0
    /// The staff member helping with the open application (assisted mode).
    public private(set) var assisting: StaffIdentity?
    /// How long before the wipe the countdown shows.
    public let warningSeconds: Double
    public private(set) var screen: Screen = .home
    public private(set) var language: Language = .id
    public private(set) var today: CivilDate
    public private(set) var lastActivity: Double

    public init(profile: JurisdictionProfile, today: CivilDate, now: Double, idleTimeout: Double,
                staffTimeout: Double = Double(StaffEntry.defaultTimeoutSeconds), staffEntry: Bool = true) {
        self.staffTimeout = max(10, staffTimeout)
        self.staffEntry = staffEntry
        self.profile = profile
        self.today = today
        self.lastActivity = now
        self.idleTimeout = max(10, idleTimeout)
        self.warningSeconds = min(20, (self.idleTimeout / 3).rounded(.down))
    }

    /// A device or the store is working for the resident: the idle timer waits.
    public var isBusy: Bool {
        switch self.screen {
        case .apply(let f): return f.isBusy
        case .status(let f): return f.isBusy
        case .collect(let f): return f.isBusy
        case .complaint(let f): return f.isBusy
        case .verify(let f): return f.isBusy
        case .staff(let f): return f.isBusy
        case .home, .info: return false
        }
    }

    /// Nothing to protect: the home screen in the default language.
    public var isPristine: Bool { self.screen == .home && self.language == .id }

    public func idlePhase(now: Double) -> IdlePhase {
        guard !self.isPristine, !self.isBusy else { return .active }
        let timeout: Double
        if case .staff = self.screen { timeout = self.staffTimeout } else { timeout = self.idleTimeout }
        let left = timeout - (now - self.lastActivity)
        if left <= 0 { return .expired }
        if left <= self.warningSeconds { return .warning(secondsLeft: Int(left.rounded(.up))) }
        return .active
    }

    /// The clock: wipes an expired session. Call about once a second.
    public mutating func tick(now: Double, today: CivilDate) -> [Effect] {
        self.today = today
        if self.isBusy { self.lastActivity = now }
        if self.callNotice != nil, now - self.callNoticeAt > 60 { self.callNotice = nil }
        if self.idlePhase(now: now) == .expired { return self.wipe(now: now) }
        return []
    }

    public mutating func handle(_ event: Event, now: Double) -> [Effect] {
        let userInput: Bool
        switch event {
        case .apply(.scanFinished), .apply(.submitted), .status(.found), .collect(.found), .collect(.progress),
             .collect(.printFinished), .complaint(.sent), .complaint(.slipPrinted), .status(.complaintFound), .verify(.checked),
             .apply(.receiptPrinted), .card(.removed), .staffCalled:
            userInput = false
        default:
            userInput = true
        }
        if userInput { self.lastActivity = now }
        switch event {
        case .stillHere:
            return []
        case .home:
            // Home ends the resident's business but keeps the language they chose.
            return self.wipe(now: now, keepLanguage: true)
        case .toggleLanguage:
            self.language = self.language == .id ? .en : .id
            self.propagateLanguage()
            return []
        case .open(let menu):
            guard self.screen == .home else { return [] }
            switch menu {
            case .info: self.screen = .info(InfoFlow())
            case .apply: self.screen = .apply(ApplyFlow(profile: self.profile, today: self.today))
            case .status: self.screen = .status(StatusFlow())
            case .collect: self.screen = .collect(CollectFlow(today: self.today))
            case .complaint: self.screen = .complaint(ComplaintFlow())
            case .verify: self.screen = .verify(VerifyFlow(today: self.today))
            }
            self.propagateLanguage()
            return []
        case .openStaff:
            guard self.screen == .home, self.staffEntry else { return [] }
            // Staff are here: the resident's call is answered.
            self.callNotice = nil
            self.screen = .staff(StaffFlow())
            return []
        case .callStaff(let screen):
            if case .staff = self.screen { return [] }
            return [.flow(.callStaff(screen: screen))]
        case .staffCalled(let result):
            self.callNoticeAt = now
            switch result {
            case .success(let answer):
                self.callNotice = answer.recorded
                    ? LocalizedText("Petugas sudah dipanggil. Mohon tunggu sebentar, petugas akan datang membantu.",
                                    "Staff have been called. Please wait a moment; someone will come to help.")
                    : LocalizedText("Petugas sudah dipanggil tadi. Mohon tunggu sebentar.",
                                    "Staff were called already. Please wait a moment.")
            case .failure(let f):
                self.callNotice = f.message
            }
            return []
        case .back:
            return self.route(back: true, event)
        case .card(let tap):
            return self.routeCard(tap)
        default:
            return self.route(back: false, event)
        }
    }

    private mutating func routeCard(_ tap: CardTap) -> [Effect] {
        switch (self.screen, tap) {
        case (.apply, .inserted(let nik)): return self.route(back: false, .apply(.card(nik)))
        case (.apply, .unreadable): return self.route(back: false, .apply(.cardUnreadable))
        case (.status, .inserted(let nik)): return self.route(back: false, .status(.card(nik)))
        case (.status, .unreadable): return self.route(back: false, .status(.cardUnreadable))
        case (.collect, .inserted(let nik)): return self.route(back: false, .collect(.card(nik)))
        case (.collect, .unreadable): return self.route(back: false, .collect(.cardUnreadable))
        case (.verify, .inserted(let nik)): return self.route(back: false, .verify(.card(nik)))
        case (.verify, .unreadable): return self.route(back: false, .verify(.cardUnreadable))
        default: return []
        }
    }

    private mutating func route(back: Bool, _ event: Event) -> [Effect] {
        var effects: [FlowEffect] = []
        switch (self.screen, event) {
        case (.info(var f), _):
            if back { effects = f.handle(.back) } else if case .info(let e) = event { effects = f.handle(e) }
            self.screen = .info(f)
        case (.apply(var f), _):
            if back { effects = f.handle(.back) } else if case .apply(let e) = event { effects = f.handle(e) }
            self.screen = .apply(f)
        case (.status(var f), _):
            if back { effects = f.handle(.back) } else if case .status(let e) = event { effects = f.handle(e) }
            self.screen = .status(f)
        case (.collect(var f), _):
            if back { effects = f.handle(.back) } else if case .collect(let e) = event { effects = f.handle(e) }
            self.screen = .collect(f)
        case (.complaint(var f), _):
            if back { effects = f.handle(.back) } else if case .complaint(let e) = event { effects = f.handle(e) }
            self.screen = .complaint(f)
        case (.verify(var f), _):
            if back { effects = f.handle(.back) } else if case .verify(let e) = event { effects = f.handle(e) }
            self.screen = .verify(f)
        case (.staff(var f), _):
            let offset = self.profile.conventions.utcOffset
            if back { effects = f.handle(.back, offset: offset) } else if case .staff(let e) = event { effects = f.handle(e, offset: offset) }
            self.screen = .staff(f)
        case (.home, _):
            return []
        }
        if case .startCorrection(let request)? = effects.first {
            self.screen = .apply(ApplyFlow(profile: self.profile, today: self.today, correcting: request))
            self.propagateLanguage()
            return []
        }
        if case .staff(.assist(let who))? = effects.first {
            self.assisting = who
            self.screen = .apply(ApplyFlow(profile: self.profile, today: self.today, assistedBy: who))
            self.propagateLanguage()
            return []
        }
        if effects.contains(.exit) {
            // Leaving a flow keeps the language but drops everything the resident entered.
            let held = self.heldScans
            self.screen = .home
            var out = effects.filter { $0 != .exit }.map(Effect.flow)
            if self.assisting != nil {
                // The assisted application is over: staff mode ends at kioskd too.
                self.assisting = nil
                out.append(.flow(.staff(.lock)))
            }
            out += held.map { .flow(.discardScan(token: $0)) }
            return out
        }
        return effects.map(Effect.flow)
    }

    private var heldScans: [String] {
        if case .apply(let f) = self.screen { return f.heldScans }
        return []
    }

    private mutating func wipe(now: Double, keepLanguage: Bool = false) -> [Effect] {
        let held = self.heldScans
        var unlocked = self.assisting != nil
        if case .staff(let f) = self.screen, f.identity != nil { unlocked = true }
        self.screen = .home
        self.assisting = nil
        self.callNotice = nil
        if !keepLanguage { self.language = .id }
        self.lastActivity = now
        // Staff mode never outlives the screen: kioskd drops the connection's staff rights as well.
        return [.wiped(discardScans: held)] + (unlocked ? [.flow(.staff(.lock))] : [])
    }

    private mutating func propagateLanguage() {
        switch self.screen {
        case .apply(var f):
            f.language = self.language
            self.screen = .apply(f)
        case .complaint(var f):
            f.language = self.language
            self.screen = .complaint(f)
        default:
            break
        }
    }
}
