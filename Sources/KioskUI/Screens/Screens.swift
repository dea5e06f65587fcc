import Foundation
import KioskCore

/// Which flow receives typed characters on the current screen.
public enum KeyRoute: Sendable, Equatable { case apply, status, collect, complaint, verify, staff }

/// Builds the screen for a session state. Pure: the same state, size and language give the same screen.
/// Every string from configuration or the Dinas passes through `TerminalText.clean` (in `Button`, `ScreenSpec`
/// and `Layout`) before it reaches the terminal.
public struct Screens {
    public var info: KioskInfo
    public var notices: [DeviceNotice]
    public var width: Int
    public var height: Int
    public var language: Language
    /// Voice guidance is on: every resident screen has "Dengarkan".
    public var voice = false

    public init(info: KioskInfo, notices: [DeviceNotice], width: Int, height: Int = 24, language: Language) {
        self.info = info
        self.notices = notices
        self.width = width
        self.height = height
        self.language = language
    }

    func t(_ id: String, _ en: String) -> String { self.language == .id ? id : en }
    func t(_ text: LocalizedText) -> String { text.text(self.language) }

    public struct Built: Sendable, Equatable {
        public var spec: ScreenSpec
        public var keys: KeyRoute?
        /// What Enter does when no target has focus.
        public var enter: UIAction?
    }

    public func build(_ session: KioskSession, idle: KioskSession.IdlePhase, now: Date = Date()) -> Built {
        var built = self.screen(session, idle: idle, now: now)
        if case .staff = session.screen { return built }
        // Every resident screen: "Panggil petugas" in the title row, and what it answered under the title.
        if self.voice { built.spec.corners.append(Button(self.width >= 60 ? t("Dengarkan", "Listen") : t("Dengar", "Listen"), .listen)) }
        built.spec.corners.append(self.callButton(built.spec.key))
        if let notice = session.callNotice { built.spec.banners.insert(TerminalText.clean(t(notice)), at: 0) }
        if let who = session.assisting {
            let role = self.width >= 60 ? " (\(t(who.role.label)))" : ""
            built.spec.banners.insert(TerminalText.clean(t("Dibantu oleh \(who.name)\(role)", "Assisted by \(who.name)\(role)")), at: 0)
        }
        return built
    }

    /// "Panggil petugas": a calm call for help, from any resident screen.
    func callButton(_ screen: String) -> Button {
        Button(self.width >= 60 ? t("Panggil petugas", "Call staff") : t("Petugas", "Staff"),
               .session(.callStaff(screen: String(screen.prefix(64)))))
    }

    func screen(_ session: KioskSession, idle: KioskSession.IdlePhase, now: Date) -> Built {
        if case .warning(let left) = idle {
            let spec = ScreenSpec(
                key: "idle", title: t("Masih di sana?", "Still there?"),
                items: [
                    .text(t("Sesi ini akan dihapus dalam \(left) detik demi menjaga data Anda.",
                            "This session will be erased in \(left) seconds to protect your data."), Theme.banner),
                    .blank,
                    .buttons([Button(t("Lanjutkan", "Continue"), .session(.stillHere), tone: .primary)], perRow: 1),
                ],
                nav: [self.homeButton])
            return Built(spec: spec, keys: nil, enter: .session(.stillHere))
        }
        switch session.screen {
        case .home: return Built(spec: self.home(), keys: nil, enter: nil)
        case .info(let f): return Built(spec: self.info(f, session.profile), keys: nil, enter: nil)
        case .apply(let f): return self.apply(f)
        case .status(let f): return self.status(f)
        case .collect(let f): return self.collect(f)
        case .complaint(let f): return self.complaint(f)
        case .verify(let f): return self.verify(f)
        case .staff(let f): return self.staff(f, now: now)
        }
    }

    /// The calm full screen while the kiosk service is away (stopped or restarting): both languages, since the
    /// resident's choice went with the session. `frame` turns the spinner.
    public static func waiting(frame: Int, demo: Bool = false) -> ScreenSpec {
        let spinner = ["◐", "◓", "◑", "◒"][((frame % 4) + 4) % 4]
        var items: [Item] = [
            .blank,
            .text("\(spinner)  Mohon tunggu sebentar", Theme.strong),
            .text("   Please wait a moment", Theme.dim),
            .blank,
            .text("Kios sedang bersiap kembali. Permohonan yang sudah diterima tetap aman.", Theme.text),
            .text("The kiosk is getting ready again. Applications already accepted are safe.", Theme.dim),
        ]
        if demo { items.append(.text("DEMO: Ctrl-C", Theme.dim)) }
        return ScreenSpec(key: "waiting", title: "Mohon tunggu sebentar / Please wait a moment", items: items, nav: [])
    }

    // MARK: - Common parts

    var homeButton: Button { Button(t("Beranda", "Home"), .session(.home)) }
    var backButton: Button { Button(t("Kembali", "Back"), .session(.back)) }
    /// The language toggle shows the language it switches to; on a narrow bar it is the first to go.
    var languageButton: Button {
        let wide = self.width >= 60
        return Button(self.language == .id ? (wide ? "English" : "EN") : (wide ? "Bahasa" : "ID"), .session(.toggleLanguage),
                      droppable: true)
    }
    var standardNav: [Button] { [self.backButton, self.homeButton, self.languageButton] }
    var nextLabel: String { t("Lanjut ▶", "Next ▶") }

    /// The standard bar with the step's own buttons at its right end (its primary action last).
    func nav(_ extra: [Button]) -> [Button] { self.standardNav + extra }

    func problemText(_ p: LocalizedText?) -> String? { p.map { t($0) } }

    /// The phone keypad residents know: 1 2 3 / 4 5 6 / 7 8 9 / erase 0 next, in a 3×4 grid.
    func digitPad(_ route: (Character) -> KioskSession.Event, erase: KioskSession.Event, done: KioskSession.Event?,
                  doneLabel: String? = nil) -> [Item] {
        var rows: [[Button]] = ["123", "456", "789"].map { $0.map { Button(String($0), .session(route($0))) } }
        var last = [Button(t("⌫ Hapus", "⌫ Erase"), .session(erase)), Button("0", .session(route("0")))]
        if let done { last.append(Button(doneLabel ?? self.nextLabel, .session(done), tone: .primary)) }
        rows.append(last)
        return rows.map { .buttons($0, perRow: 3) }
    }

    /// Keyboard over an alphabet, `perRow` keys a band; without `done` (the screen's bar has "Lanjut"), erase is
    /// the last key.
    func keyboard(_ alphabet: [Character], _ route: (Character) -> KioskSession.Event, erase: KioskSession.Event,
                  done: KioskSession.Event?) -> [Item] {
        let perRow = self.width >= 80 ? 16 : 10
        let keys = alphabet.map { Button($0 == " " ? "␣" : String($0), .session(route($0))) }
        guard let done else { return [.buttons(keys + [Button("⌫", .session(erase))], perRow: perRow)] }
        return [.buttons(keys, perRow: perRow),
                .buttons([Button(t("⌫ Hapus", "⌫ Erase"), .session(erase)),
                          Button(self.nextLabel, .session(done), tone: .primary)], perRow: 2)]
    }

    func rupiah(_ amount: Int) -> String {
        var digits = String(amount)
        var out = ""
        while digits.count > 3 {
            out = "." + digits.suffix(3) + out
            digits = String(digits.dropLast(3))
        }
        return "Rp " + digits + out
    }

    // MARK: - Beranda

    func home() -> ScreenSpec {
        // The menu first: on the smallest screen it is all the resident needs to see.
        var buttons = KioskSession.Menu.allCases.filter { $0 != .verify || self.info.registryCheck }.map {
            Button(t($0.label), .session(.open($0)), tone: $0 == .apply ? .primary : .normal)
        }
        buttons.append(self.languageButton)
        let perRow = self.width >= 100 ? 3 : 2
        var items: [Item] = [.buttons(buttons, perRow: perRow)]
        // Information lines only as far as they fit under the menu: the menu never moves to a second page.
        var extra: [(String, Style)] = []
        if let a = self.info.announcement { extra.append((t("Pengumuman: ", "Announcement: ") + t(a), Theme.strong)) }
        let hours = self.info.openingHours.joined(separator: "; ")
        if !hours.isEmpty { extra.append((t("Jam layanan: ", "Opening hours: ") + hours, Theme.dim)) }
        if self.info.demo {
            extra.append((t("DEMO: tekan F2 untuk menempelkan kartu uji.", "DEMO: press F2 to tap the test card."), Theme.dim))
            if let d = self.info.deviceSummary { extra.append((d, Theme.dim)) }
        }
        let bannerRows = self.notices.reduce(0) { $0 + min(3, TerminalText.wrap(TerminalText.clean(t($1.message)), width: self.width - 2).count) }
        // The title band is as high as a button: it holds "Panggil petugas".
        var budget = self.height - Layout.bandHeight(self.height) - bannerRows - Layout.bandHeight(self.height) * ((buttons.count + perRow - 1) / perRow)
        for (text, style) in extra {
            let rows = TerminalText.wrap(TerminalText.clean(text), width: self.width - 2).count
            guard rows <= budget else { break }
            items.append(.text(text, style))
            budget -= rows
        }
        return ScreenSpec(
            key: "home",
            title: "\(self.info.desaName) — \(t("Kios Layanan Adminduk", "Population Services Kiosk"))",
            banners: self.notices.map { t($0.message) }, items: items, nav: [])
    }

    // MARK: - Informasi Layanan

    func info(_ f: InfoFlow, _ profile: JurisdictionProfile) -> ScreenSpec {
        guard let id = f.selected, let s = profile.service(id) else {
            let buttons = profile.services.filter { $0.kioskAvailable != false }
                .map { Button(t($0.name), .session(.info(.show($0.id)))) }
            return ScreenSpec(key: "info", title: t("Informasi Layanan", "Service information"),
                              items: [.text(t("Pilih layanan:", "Choose a service:")), .buttons(buttons, perRow: self.width >= 100 ? 2 : 1)],
                              nav: self.standardNav)
        }
        var items: [Item] = []
        if let summary = s.summary { items.append(.text(t(summary))) }
        items.append(.text(t("Persyaratan:", "Requirements:"), Theme.strong))
        for r in s.requirements {
            items.append(.text("• " + t(r.name) + (r.optional == true ? t(" (jika ada)", " (if any)") : "")))
        }
        items.append(.text(t("Dokumen yang diterbitkan:", "Documents issued:"), Theme.strong))
        for p in s.products {
            var line = "• " + t(p.name)
            if let sla = p.sla { line += t(" — selesai ", " — within ") + t(sla.period.label) }
            items.append(.text(line))
        }
        if let d = s.deadline, let period = d.period {
            let from = d.from.map { t(" sejak ", " from the ") + t($0) } ?? ""
            items.append(.text(t("Batas lapor: ", "Reporting deadline: ") + t(period.label) + from))
        }
        items.append(.text(t("Biaya: ", "Fee: ") + (profile.feeIDR == 0 ? t("gratis", "free") : self.rupiah(profile.feeIDR)), Theme.strong))
        items.append(.text(t("Pengaduan:", "Complaints:"), Theme.strong))
        for c in profile.complaintChannels { items.append(.text("• " + c.residentLine(self.language))) }
        return ScreenSpec(key: "info-\(id)", title: t(s.name), items: items, nav: self.standardNav)
    }
}
