import Foundation
import KioskCore

/// Staff mode's screens: the PIN pad, the staff menu with what needs action first, and one screen per section.
/// NIKs arrive masked from kioskd; everything from kioskd passes through `TerminalText.clean` like any text.
extension Screens {
    func staff(_ f: StaffFlow, now: Date) -> Built {
        let offset = self.info.profile.conventions.utcOffset
        func clock(_ d: Date) -> String { String(offset.timestamp(of: d).suffix(5)) }
        let exitButton = Button(t("Keluar", "Sign out"), .session(.back))
        let back = Button(t("Kembali", "Back"), .session(.back))
        var items: [Item] = []
        let note = f.message.map { t($0) }
        if f.busy { items.append(.text(t("Mohon tunggu…", "Please wait…"), Theme.banner)) }
        let problem = self.problemText(f.problem)

        switch f.step {
        case .pin:
            items.append(.text(t("Masukkan PIN petugas, lalu tekan Masuk.", "Type the staff PIN, then press Sign in.")))
            let dots = f.pin.text.isEmpty ? "_" : String(repeating: "● ", count: f.pin.text.count).trimmingCharacters(in: .whitespaces)
            items.append(.text("PIN: " + dots, Theme.strong))
            items += self.digitPad({ .staff(.key($0)) }, erase: .staff(.backspace), done: .staff(.submitPIN),
                                   doneLabel: t("Masuk", "Sign in"))
            return Built(spec: ScreenSpec(key: "staff-pin", title: t("Masuk petugas", "Staff sign-in"), items: items,
                                          nav: [Button(t("Batal", "Cancel"), .session(.back)), self.languageButton],
                                          problem: problem, reservesProblem: true, note: note),
                         keys: .staff, enter: .session(.staff(.submitPIN)))

        case .menu:
            let who = f.identity.map { "\($0.name) (\(t($0.role.label)))" } ?? ""
            if let o = f.overview {
                let todo = o.attention(now: now)
                if todo.isEmpty {
                    items.append(.text(t("Semua baik: tidak ada yang perlu ditangani.", "All is well: nothing needs action."), Theme.dim))
                } else {
                    // What needs action first; the whole list is under Status kios.
                    for line in todo.prefix(self.height >= 20 ? 3 : 1) { items.append(.text("! " + t(line), Theme.strong)) }
                }
            } else {
                items.append(.text(t("Memuat status…", "Loading the status…"), Theme.dim))
            }
            var buttons = f.sections.map { Button(t($0.label), .session(.staff(.open($0))), enabled: !f.busy) }
            buttons.append(Button(t("Bantu warga mengajukan", "Apply for a resident"), .session(.staff(.assist)),
                                  tone: .primary, enabled: !f.busy))
            items.append(.buttons(buttons, perRow: self.width >= 100 ? 3 : 2))
            return Built(spec: ScreenSpec(key: "staff-menu", title: t("Petugas: ", "Staff: ") + who, items: items,
                                          nav: [exitButton, self.languageButton], problem: problem, reservesProblem: true, note: note),
                         keys: nil, enter: nil)

        case .section(let section):
            var nav = [back, self.languageButton]
            var keys: KeyRoute?
            var enter: UIAction?
            switch section {
            case .status:
                if let o = f.overview { items += self.statusLines(o, now: now, clock: clock) }
            case .paper:
                if let o = f.overview {
                    items.append(.text(self.paperLine(o), Theme.strong))
                    if let p = o.devices.first(where: { $0.kind == "printer" }) {
                        items.append(.text(t("Printer: ", "Printer: ") + t(p.detail)))
                    }
                }
                items.append(.text(t("Kertas dimuat: ", "Sheets loaded: ") + (f.sheets.text.isEmpty ? "_" : f.sheets.text)
                                   + t(" lembar", " sheets"), Theme.strong))
                items += self.digitPad({ .staff(.key($0)) }, erase: .staff(.backspace), done: .staff(.restock),
                                       doneLabel: t("Catat", "Record"))
                items.append(.buttons([Button(t("Cetak halaman uji", "Print a test page"), .session(.staff(.testPrint)), enabled: !f.busy),
                                       Button(t("Lanjutkan printer", "Resume the printer"), .session(.staff(.resumePrinter)), enabled: !f.busy)],
                                      perRow: 2))
                keys = .staff
                enter = .session(.staff(.restock))
            case .scanner:
                items.append(.buttons([Button(t("Pindai uji", "Test scan"), .session(.staff(.testScan)), tone: .primary, enabled: !f.busy),
                                       Button(t("Deteksi ulang perangkat", "Detect devices again"), .session(.staff(.redetect)), enabled: !f.busy)],
                                      perRow: 2))
                if let s = f.scan {
                    items.append(.text(t("Hasil pindai uji: \(s.pages) halaman.", "Test scan: \(s.pages) page(s)."), Theme.strong))
                    if let p = s.preview { items.append(.preview(p)) }
                }
                if let d = f.detected { items += self.detectedLines(d) }
            case .queue:
                items.append(.buttons([Button(t("Kirim ke Dinas sekarang", "Send to the Dinas now"), .session(.staff(.syncNow)), enabled: !f.busy)],
                                      perRow: 1))
                if !f.quarantined.isEmpty {
                    items.append(.text(t("Tertahan (perlu tindakan):", "Held (need action):"), Theme.strong))
                    for row in f.quarantined {
                        items.append(.text("\(row.trackingCode)  \(row.service)  \(row.nikMasked)"))
                        if let r = row.reason { items.append(.text(t("Alasan: ", "Reason: ") + r, Theme.dim)) }
                        items.append(.buttons([Button(t("Coba kirim lagi ", "Retry ") + row.trackingCode,
                                                      .session(.staff(.retry(row.id))), enabled: !f.busy)], perRow: 1))
                    }
                }
                items.append(.text(t("Permohonan hari ini: \(f.today.count)", "Applications today: \(f.today.count)"), Theme.strong))
                for row in f.today {
                    var line = "\(clock(row.submittedAt)) \(row.trackingCode) \(row.service) · \(t(row.state.label)) · \(row.nikMasked)"
                    if let a = row.assistedBy { line += t(" · dibantu \(a)", " · assisted by \(a)") }
                    items.append(.text(line))
                }
            case .calls:
                items.append(.text(t("Panggilan petugas hari ini: \(f.calls.count)", "Staff calls today: \(f.calls.count)"), Theme.strong))
                for c in f.calls { items.append(.text("\(clock(c.at))  " + t("dari layar ", "from screen ") + c.screen)) }
                items.append(.text(t("Pengaduan hari ini: \(f.complaints.count)", "Complaints today: \(f.complaints.count)"), Theme.strong))
                for c in f.complaints {
                    let state = c.answered ? t("sudah dijawab", "answered") : t("belum dijawab", "not answered yet")
                    items.append(.text("\(clock(c.filedAt)) \(c.reference) · \(state)"))
                    items.append(.text("  " + c.summary, Theme.dim))
                }
            case .documents:
                if let docs = f.documents {
                    if let chosen = f.chosenDocument, let doc = docs.first(where: { $0.id == chosen }) {
                        items.append(.text(t("Alasan cetak ulang \"\(doc.title)\":", "Why reprint \"\(doc.title)\":"), Theme.strong))
                        items.append(.buttons(StaffFlow.reprintReasons.enumerated().map { i, r in
                            Button(t(r), .session(.staff(.reason(i))), enabled: !f.busy)
                        }, perRow: self.width >= 80 ? 2 : 1))
                    } else {
                        items.append(.text(t("Pilih dokumen untuk dicetak ulang (di luar batas warga, dicatat atas nama Anda):",
                                             "Choose the document to reprint (beyond the resident's limit, recorded in your name):")))
                        items.append(.buttons(docs.map { d in
                            Button("\(d.title) (\(d.prints)×)", .session(.staff(.chooseDocument(d.id))), enabled: !f.busy)
                        }, perRow: 1))
                    }
                } else {
                    items.append(.text(t("Kode pelacakan dari tanda terima:", "Tracking code from the receipt:")))
                    items.append(.text(t("Kode: ", "Code: ") + self.entryDisplay(f.code.text, length: TrackingCode.length), Theme.strong))
                    items += self.keyboard(Self.codeAlphabet, { .staff(.key($0)) }, erase: .staff(.backspace), done: .staff(.findDocuments))
                    keys = .staff
                    enter = .session(.staff(.findDocuments))
                }
            case .technician:
                if let o = f.overview {
                    items.append(.text(t("Konfigurasi berlaku: versi \(o.configVersion)", "Configuration in force: version \(o.configVersion)"), Theme.strong))
                    if let p = o.configProblem { items.append(.text(p, Theme.banner)) }
                }
                items.append(.buttons([Button(t("Kembali ke konfigurasi sebelumnya", "Roll back the configuration"),
                                              .session(.staff(.rollback)), enabled: !f.busy),
                                       Button(t("Deteksi ulang perangkat", "Detect devices again"), .session(.staff(.redetect)), enabled: !f.busy)],
                                      perRow: self.width >= 80 ? 2 : 1))
                if let d = f.detected { items += self.detectedLines(d) }
            }
            if nav.isEmpty { nav = [back] }
            return Built(spec: ScreenSpec(key: "staff-\(section.rawValue)", title: t(section.label), items: items, nav: nav,
                                          problem: problem, reservesProblem: true, note: note),
                         keys: keys, enter: enter)
        }
    }

    func paperLine(_ o: StaffOverview) -> String {
        guard let n = o.paperSheets else { return t("Kertas: jumlah belum dicatat", "Paper: not counted yet") }
        return t("Kertas: sekitar \(n) lembar", "Paper: about \(n) sheets") + (o.paperLow ? t(" (hampir habis)", " (low)") : "")
    }

    func detectedLines(_ d: [String]) -> [Item] {
        [.text(t("Perangkat terdeteksi: \(d.count)", "Devices found: \(d.count)"), Theme.strong)] + d.prefix(20).map { .text("• " + $0) }
    }

    /// The whole status: what needs action first, then each device, the Dinas link, the queue, the configuration.
    func statusLines(_ o: StaffOverview, now: Date, clock: (Date) -> String) -> [Item] {
        var items: [Item] = []
        let todo = o.attention(now: now)
        if todo.isEmpty {
            items.append(.text(t("Semua baik: tidak ada yang perlu ditangani.", "All is well: nothing needs action."), Theme.dim))
        } else {
            items.append(.text(t("Perlu tindakan lebih dulu:", "Needs action first:"), Theme.strong))
            for line in todo { items.append(.text("! " + t(line))) }
        }
        items.append(.text(t("Perangkat:", "Devices:"), Theme.strong))
        for d in o.devices { items.append(.text("• \(t(StaffOverview.deviceName(d.kind))): \(t(d.detail))")) }
        items.append(.text("• " + self.paperLine(o)))
        for (marker, level) in o.toner.sorted(by: { $0.key < $1.key }) {
            items.append(.text("• " + t("Tinta/toner ", "Ink/toner ") + marker + ": " + (level < 0 ? "?" : "\(level)%")))
        }
        items.append(.text("Dinas:", Theme.strong))
        if !o.link.configured {
            items.append(.text(t("• Tidak ada alamat Dinas (kirim lewat USB).", "• No Dinas address (transfer by USB).")))
        } else {
            let date = { (d: Date) in self.info.profile.conventions.utcOffset.timestamp(of: d) }
            items.append(.text(t("• Kontak terakhir: ", "• Last contact: ") + (o.link.lastContact.map(date) ?? t("belum pernah", "never"))))
            if let e = o.link.lastError { items.append(.text(t("• Kesalahan terakhir: ", "• Last error: ") + e)) }
            if let n = o.link.nextAttempt { items.append(.text(t("• Coba lagi pukul ", "• Next attempt at ") + clock(n))) }
        }
        items.append(.text(t("Antrean:", "Queue:"), Theme.strong))
        let counts = ApplicationState.allCases.compactMap { s in o.queue[s.rawValue].map { "\(t(s.label)) \($0)" } }
        items.append(.text("• " + (counts.isEmpty ? t("kosong", "empty") : counts.joined(separator: ", "))))
        if let oldest = o.oldestUndelivered {
            items.append(.text(t("• Belum terkirim sejak ", "• Undelivered since ") + self.info.profile.conventions.utcOffset.timestamp(of: oldest)))
        }
        items.append(.text(t("Konfigurasi versi \(o.configVersion)", "Configuration version \(o.configVersion)"), Theme.strong))
        if let p = o.configProblem { items.append(.text("• " + p)) }
        if let free = o.diskFreeBytes {
            let gib = Double(free) / Double(1 << 30)
            items.append(.text(t("Disk: ", "Disk: ") + String(format: "%.1f GiB ", gib) + t("bebas", "free")))
        }
        return items
    }
}
