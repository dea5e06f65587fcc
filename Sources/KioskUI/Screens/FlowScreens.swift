import KioskCore

extension Screens {
    // MARK: - Ajukan

    func apply(_ f: ApplyFlow) -> Built {
        let step = self.applyStep(f)
        var title = f.correction == nil ? t("Ajukan", "Apply") : t("Perbaiki", "Correct")
        if let s = f.service { title += " — " + t(s.name) }
        return Built(spec: ScreenSpec(key: step.key, title: title, items: step.items, nav: step.nav ?? self.standardNav,
                                      problem: self.problemText(f.problem), reservesProblem: step.nav != []),
                     keys: step.keys, enter: step.enter)
    }

    private struct Step {
        var key: String
        var items: [Item]
        var keys: KeyRoute? = nil
        var enter: UIAction? = nil
        var nav: [Button]? = nil
    }

    private var nextButton: Button { Button(self.nextLabel, .session(.apply(.confirm)), tone: .primary) }

    private func applyStep(_ f: ApplyFlow) -> Step {
        switch f.step {
        case .category:
            let buttons = f.categories.map { Button(t($0.name), .session(.apply(.chooseCategory($0.id)))) }
            return Step(key: "apply-category", items: [.text(t("Pilih jenis layanan:", "Choose a kind of service:")),
                                                       .buttons(buttons, perRow: 1)])
        case .service(let category):
            let buttons = f.services(in: category).map { Button(t($0.name), .session(.apply(.chooseService($0.id)))) }
            return Step(key: "apply-service-\(category)",
                        items: [.text(t("Pilih layanan:", "Choose the service:")), .buttons(buttons, perRow: self.width >= 100 ? 2 : 1)])
        case .identify:
            var items: [Item] = [
                .text(t("Tempelkan KTP-el pada pembaca kartu, atau ketik NIK Anda (16 angka):",
                        "Tap your KTP-el on the card reader, or type your NIK (16 digits):")),
                .text("NIK: " + self.entryDisplay(f.nikEntry.text, length: 16), Theme.strong),
            ]
            items += self.digitPad({ .apply(.key($0)) }, erase: .apply(.backspace), done: .apply(.confirm))
            var nav = self.standardNav
            if self.info.demo { nav.insert(Button(t("Kartu uji", "Test card"), .tapTestCard), at: 2) }
            return Step(key: "apply-identify", items: items, keys: .apply, enter: .session(.apply(.confirm)), nav: nav)
        case .eventDate:
            let event = f.service.map { t($0.event) } ?? ""
            return Step(key: "apply-date", items: [
                .text(self.applicantLine(f.applicant), Theme.dim),
                .text(t("Tanggal peristiwa (", "Date of the event (") + event + "):"),
            ] + self.datePicker(f.datePicker, { .apply(.adjustDate($0, $1)) }, typing: { .apply(.key($0)) }, erase: .apply(.backspace)),
                        keys: .apply, enter: .session(.apply(.confirm)), nav: self.nav([self.nextButton]))
        case .fact(let i):
            return self.factStep(f, i)
        case .deadline:
            return Step(key: "apply-deadline", items: self.deadlineItems(f), enter: f.rulesError == nil ? .session(.apply(.confirm)) : nil,
                        nav: f.rulesError == nil ? self.nav([self.nextButton]) : nil)
        case .form(let i):
            return self.formStep(f, i)
        case .scan(let i), .scanning(let i):
            return self.scanStep(f, i)
        case .contact:
            var items: [Item] = [
                .text(t("Nomor HP/WhatsApp untuk kabar perkembangan (boleh dikosongkan):",
                        "Phone/WhatsApp number for progress news (may be left empty):")),
                .text(t("Nomor: ", "Number: ") + (f.contactEntry.isEmpty ? "_" : f.contactEntry.text), Theme.strong),
            ]
            items += self.digitPad({ .apply(.key($0)) }, erase: .apply(.backspace), done: .apply(.confirm))
            return Step(key: "apply-contact", items: items, keys: .apply, enter: .session(.apply(.confirm)))
        case .notify:
            return Step(key: "apply-notify", items: [
                .text(t("Mau dikabari bila ada perkembangan? Dinas mengirim pesan ke nomor ",
                        "Do you want news when something changes? The Dinas sends a message to ")
                      + PhoneNumber.masked(f.contactEntry.text) + t(" lewat:", " by:")),
                .buttons([Button("WhatsApp", .session(.apply(.chooseNotify("whatsapp"))), tone: f.notify == "whatsapp" ? .primary : .normal),
                          Button("SMS", .session(.apply(.chooseNotify("sms"))), tone: f.notify == "sms" ? .primary : .normal),
                          Button(t("Tidak usah", "No, thanks"), .session(.apply(.chooseNotify(nil))))], perRow: 3),
            ])
        case .consent:
            return Step(key: "apply-consent", items: [
                .text(t("Persetujuan", "Agreement"), Theme.strong),
                .text(t(ApplyFlow.consentClause)),
                .buttons([Button(t("Saya setuju", "I agree"), .session(.apply(.consent(true))), tone: .primary),
                          Button(t("Tidak setuju", "I do not agree"), .session(.apply(.consent(false))))], perRow: 2),
            ])
        case .review:
            return Step(key: "apply-review", items: self.reviewItems(f), enter: .session(.apply(.confirm)),
                        nav: self.nav([Button(t("Kirim ▶", "Send ▶"), .session(.apply(.confirm)), tone: .primary)]))
        case .submitting:
            return Step(key: "apply-submitting", items: [.text(t("Menyimpan permohonan…", "Saving the application…"), Theme.strong)],
                        nav: [])
        case .done(let r):
            var items: [Item] = [
                .text(t("Permohonan tersimpan.", "Application saved."), Theme.good),
                .text(t("Kode pelacakan: ", "Tracking code: ") + r.trackingCode.formatted, Theme.strong),
            ]
            for e in r.expected { items.append(.text("• " + t(e.name) + ": " + t(e.due))) }
            if let p = r.receiptProblem {
                items.append(.text(t("Tanda terima belum tercetak: ", "The receipt did not print: ") + t(p)
                                   + t(" Catat kode di atas.", " Write down the code above."), Theme.problem))
            } else {
                items.append(.text(t("Ambil tanda terima Anda dari printer.", "Take your receipt from the printer.")))
            }
            return Step(key: "apply-done", items: items, enter: .session(.apply(.confirm)),
                        nav: [self.homeButton, self.languageButton, Button(t("Selesai", "Done"), .session(.apply(.confirm)), tone: .primary)])
        }
    }

    func applicantLine(_ nik: NIK?) -> String {
        guard let nik else { return "" }
        return "NIK " + nik.masked
    }

    /// Digits typed so far, then underscores up to `length`.
    func entryDisplay(_ text: String, length: Int) -> String {
        text + String(repeating: "_", count: max(0, length - text.count))
    }

    /// Day, month and year each stepped by its own − and + (never wrapping, never beyond the picker's range), or
    /// typed as 8 digits on the keypad (shown from 24 rows up) or a keyboard.
    func datePicker(_ p: DatePicker, _ event: @escaping (DatePicker.Field, Int) -> KioskSession.Event,
                    typing: ((Character) -> KioskSession.Event)? = nil, erase: KioskSession.Event? = nil) -> [Item] {
        var items: [Item] = [
            .text(DatePicker.long(p.value, self.language)
                  + (p.typed.isEmpty ? "" : t("   ketik: ", "   typed: ") + p.typedDisplay), Theme.strong),
            .buttons([
                Button(t("−Tgl", "−Day"), .session(event(.day, -1))), Button(t("+Tgl", "+Day"), .session(event(.day, 1))),
                Button(t("−Bln", "−Mon"), .session(event(.month, -1))), Button(t("+Bln", "+Mon"), .session(event(.month, 1))),
                Button(t("−Thn", "−Yr"), .session(event(.year, -1))), Button(t("+Thn", "+Yr"), .session(event(.year, 1))),
            ], perRow: 6),
        ]
        if let typing, let erase, self.height >= 24 {
            items.append(.text(t("Atau ketik tanggal, bulan, tahun (8 angka):", "Or type day, month, year (8 digits):"), Theme.dim))
            items += self.digitPad(typing, erase: erase, done: nil)
        }
        return items
    }

    private func factStep(_ f: ApplyFlow, _ i: Int) -> Step {
        let spec = f.askedFacts[i]
        var items: [Item] = [.text(t(spec.label).capitalizedFirst + (spec.required == true ? "" : t(" (boleh dilewati)", " (may be skipped)")) + ":")]
        let skip = spec.required == true ? [] : [Button(t("Lewati", "Skip"), .session(.apply(.chooseFact(nil))))]
        switch spec.kind {
        case .bool:
            items.append(.buttons([Button(t("Ya", "Yes"), .session(.apply(.chooseFact(.bool(true))))),
                                   Button(t("Tidak", "No"), .session(.apply(.chooseFact(.bool(false)))))] + skip, perRow: 3))
            return Step(key: "apply-fact-\(i)", items: items)
        case .choice:
            let choices = (spec.choices ?? []).map {
                Button(Self.choiceLabel($0, self.language), .session(.apply(.chooseFact(.string($0)))))
            }
            let wide = (choices + skip).allSatisfy { $0.label.count + 2 <= (self.width - 1) / 2 }
            items.append(.buttons(choices + skip, perRow: wide ? 2 : 1))
            return Step(key: "apply-fact-\(i)", items: items)
        case .int:
            items.append(.text(f.factEntry.isEmpty ? "_" : f.factEntry.text, Theme.strong))
            items += self.digitPad({ .apply(.key($0)) }, erase: .apply(.backspace), done: .apply(.confirm))
            return Step(key: "apply-fact-\(i)", items: items, keys: .apply, enter: .session(.apply(.confirm)))
        case .date:
            items += self.datePicker(f.factDate, { .apply(.adjustDate($0, $1)) })
            return Step(key: "apply-fact-\(i)", items: items, enter: .session(.apply(.confirm)), nav: self.nav([self.nextButton]))
        case .text:
            items.append(.text(f.factEntry.isEmpty ? "_" : f.factEntry.text, Theme.strong))
            items += self.keyboard(Self.letters, { .apply(.key($0)) }, erase: .apply(.backspace), done: .apply(.confirm))
            return Step(key: "apply-fact-\(i)", items: items, keys: .apply, enter: .session(.apply(.confirm)))
        }
    }

    /// One field of the electronic form: its question, then the right input for its kind.
    private func formStep(_ f: ApplyFlow, _ i: Int) -> Step {
        let field = f.formFields[i]
        let key = "apply-form-\(i)"
        var items: [Item] = [
            .text(t("Formulir \(i + 1)/\(f.formFields.count): ", "Form \(i + 1)/\(f.formFields.count): ") + t(field.label).capitalizedFirst
                  + (field.isRequired ? "" : t(" (boleh dilewati)", " (may be skipped)")), Theme.strong),
        ]
        // Help where there is room for it; the smallest screen keeps the keys on one page.
        if let help = field.help, self.height >= 20 { items.append(.text(t(help), Theme.dim)) }
        let skip = field.isRequired ? [] : [Button(t("Lewati", "Skip"), .session(.apply(.skipField)))]
        let entry = f.formEntry.text
        switch field.kind {
        case .choice:
            let buttons = (field.choices ?? []).map { c in
                Button(t(c.label), .session(.apply(.chooseField(c.id))), tone: f.formValues[field.key] == c.id ? .primary : .normal)
            }
            let wide = buttons.allSatisfy { $0.label.count + 2 <= (self.width - 1) / 2 }
            items.append(.buttons(buttons, perRow: wide ? 2 : 1))
            return Step(key: key, items: items, nav: self.nav(skip))
        case .date:
            items += self.datePicker(f.formDate, { .apply(.adjustDate($0, $1)) }, typing: { .apply(.key($0)) }, erase: .apply(.backspace))
            return Step(key: key, items: items, keys: .apply, enter: .session(.apply(.confirm)), nav: self.nav(skip + [self.nextButton]))
        case .nik, .phone, .number, .time:
            let shown: String
            switch field.kind {
            case .nik: shown = self.entryDisplay(entry, length: 16)
            case .time:
                let d = Array(self.entryDisplay(entry, length: 4))
                shown = String(d[0..<2]) + ":" + String(d[2..<4])
            default: shown = entry.isEmpty ? "_" : entry
            }
            items.append(.text("▸ " + shown, Theme.strong))
            items += self.digitPad({ .apply(.key($0)) }, erase: .apply(.backspace), done: nil)
            return Step(key: key, items: items, keys: .apply, enter: .session(.apply(.confirm)), nav: self.nav(skip + [self.nextButton]))
        case .name, .text:
            let visible = String(entry.suffix(max(10, self.width - 6)))
            items.append(.text("▸ " + visible + "_", Theme.strong))
            items += self.keyboard(field.kind == .name ? Self.nameLetters : Self.letters, { .apply(.key($0)) },
                                   erase: .apply(.backspace), done: nil)
            return Step(key: key, items: items, keys: .apply, enter: .session(.apply(.confirm)), nav: self.nav(skip + [self.nextButton]))
        }
    }

    /// Fact choices as residents read them.
    static func choiceLabel(_ code: String, _ language: Language = .id) -> String {
        let known: [String: LocalizedText] = [
            "wni": LocalizedText("Warga negara Indonesia (WNI)", "Indonesian citizen"),
            "wna": LocalizedText("Warga negara asing (WNA)", "Foreign citizen"),
            "belum_kawin": LocalizedText("Belum kawin", "Not married"), "kawin": LocalizedText("Kawin", "Married"),
            "cerai_hidup": LocalizedText("Cerai hidup", "Divorced"), "cerai_mati": LocalizedText("Cerai mati", "Widowed"),
        ]
        if let k = known[code] { return k.text(language) }
        return code.replacingOccurrences(of: "_", with: " ").capitalizedFirst
    }

    /// The complaint keyboard: letters, digits (dates, amounts, numbers residents quote) and a little punctuation.
    static let letters: [Character] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,?")
    /// Names: letters and the marks names carry (30 keys with erase: three rows on the smallest screen; a comma
    /// or an apostrophe can still come from a keyboard).
    static let nameLetters: [Character] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ .-")
    static let codeAlphabet: [Character] = TrackingCode.alphabet

    private func deadlineItems(_ f: ApplyFlow) -> [Item] {
        var items: [Item] = [.text(self.applicantLine(f.applicant) + " · " + DatePicker.long(f.datePicker.value, self.language), Theme.dim)]
        if let err = f.rulesError {
            items.append(.text(t("Permohonan ini tidak dapat diajukan di kios:", "This application cannot be made at the kiosk:"), Theme.strong))
            items.append(.text(t(err), Theme.problem))
            items.append(.text(t("Silakan hubungi petugas desa.", "Please ask the desa staff.")))
            return items
        }
        guard let e = f.evaluation else { return items }
        switch e.assessment {
        case .assessed:
            let tier = e.tier ?? .onTime
            let style = tier == .onTime ? Theme.good : Theme.banner
            items.append(.text(t("Hasil: ", "Result: ") + t(tier.label), style))
            if let deadline = e.deadline {
                items.append(.text(t("Batas lapor: ", "Reporting deadline: ") + DatePicker.long(deadline, self.language)
                                   + (e.daysLate > 0 ? t(" (terlambat \(e.daysLate) hari)", " (\(e.daysLate) days late)") : "")))
            }
            if tier == .headApproval {
                items.append(.text(t("Pencatatan memerlukan persetujuan Kepala Dinas. Permohonan tetap dapat diajukan.",
                                     "Registration needs the head of the Dinas's approval. You can still apply.")))
            } else if tier == .courtOrder {
                items.append(.text(t("Pencatatan memerlukan penetapan Pengadilan Negeri. Permohonan tetap dapat diajukan; petugas akan membantu.",
                                     "Registration needs a district court order. You can still apply; the staff will help.")))
            }
        case .noDeadline, .exempt, .indeterminate, .notDefined:
            items.append(.text(t("Tidak ada batas waktu pelaporan yang berlaku.", "No reporting deadline applies."), Theme.good))
        }
        if let fine = e.fineIDR, fine > 0 {
            items.append(.text(t("Denda keterlambatan (perkiraan, Dinas yang menetapkan): ", "Late fine (an estimate; the Dinas decides): ")
                               + self.rupiah(fine), Theme.banner))
        }
        for i in e.issuance {
            if let due = i.due {
                items.append(.text("• " + t(i.name) + t(" selesai paling lambat ", " ready by ") + DatePicker.long(due, self.language)))
            }
        }
        var todo: [String] = []
        if !f.formFields.isEmpty {
            todo.append(t("isi formulir", "fill in the form"))
        }
        if !f.requirements.isEmpty { todo.append(t("pindai \(f.requirements.count) dokumen", "scan \(f.requirements.count) document(s)")) }
        if !todo.isEmpty { items.append(.text(t("Berikutnya: ", "Next: ") + todo.joined(separator: t(", lalu ", ", then ")) + ".")) }
        return items
    }

    private func scanStep(_ f: ApplyFlow, _ i: Int) -> Step {
        let req = f.requirements[i]
        var items: [Item] = [
            .text(t("Dokumen \(i + 1) dari \(f.requirements.count):", "Document \(i + 1) of \(f.requirements.count):"), Theme.dim),
            .text(t(req.name) + (req.optional == true ? t(" (jika ada)", " (if any)") : ""), Theme.strong),
        ]
        if case .scanning = f.step {
            items.append(.text(t("Memindai… letakkan dokumen menghadap ke bawah.", "Scanning… place the document face down."), Theme.banner))
            items.append(.buttons([Button(t("Batalkan pindai", "Cancel scan"), .session(.apply(.cancelScan)))], perRow: 1))
            return Step(key: "apply-scanning-\(i)", items: items, nav: [])
        }
        let pages = f.pages(req.id)
        let skip = req.optional == true ? [Button(t("Lewati", "Skip"), .session(.apply(.skipRequirement)))] : []
        if pages > 0 {
            items.append(.text(t("Terpindai: \(pages) halaman", "Scanned: \(pages) page(s)")
                               + (pages >= req.pageLimit ? t(" (batas)", " (the limit)") : ""), Theme.good))
            items.append(.buttons([Button(t("+ Tambah halaman", "+ Add a page"), .session(.apply(.startScan)), enabled: pages < req.pageLimit),
                                   Button(t("Ulangi", "Retake"), .session(.apply(.retakeScan)))], perRow: 2))
            if let p = f.scans[req.id]?.last?.preview { items.append(.preview(p)) }
            return Step(key: "apply-scan-\(i)", items: items, enter: .session(.apply(.confirm)), nav: self.nav([self.nextButton]))
        }
        items.append(.text(t("Letakkan dokumen asli di pemindai, lalu tekan Pindai.", "Place the original on the scanner, then press Scan.")))
        items.append(.buttons([Button(t("Pindai", "Scan"), .session(.apply(.startScan)), tone: .primary)], perRow: 1))
        return Step(key: "apply-scan-\(i)", items: items, enter: .session(.apply(.startScan)), nav: self.nav(skip))
    }

    private func reviewItems(_ f: ApplyFlow) -> [Item] {
        var items: [Item] = [.text(t("Periksa kembali sebelum mengirim:", "Check before sending:"), Theme.strong)]
        if let s = f.service { items.append(.text(t("Layanan: ", "Service: ") + t(s.name))) }
        items.append(.text(self.applicantLine(f.applicant)))
        if f.correction != nil {
            items.append(.text(t("Yang diperbaiki:", "What is corrected:"), Theme.strong))
        } else {
            items.append(.text(t("Tanggal peristiwa: ", "Event date: ") + DatePicker.long(f.datePicker.value, self.language)))
        }
        for spec in f.askedFacts where f.correction == nil {
            if let v = f.facts[spec.key] {
                let value: String
                switch v {
                case .string(let s): value = Self.choiceLabel(s, self.language)
                case .bool(let b): value = b ? t("ya", "yes") : t("tidak", "no")
                default: value = v.description
                }
                items.append(.text(t(spec.label).capitalizedFirst + ": " + value))
            }
        }
        for field in f.formFields {
            let value = f.formValues[field.key].map { field.display($0, self.language) } ?? "-"
            items.append(.text(t(field.label).capitalizedFirst + ": " + value))
        }
        let pages = f.scans.values.joined().reduce(0) { $0 + $1.pages }
        let documents = f.scans.values.filter { !$0.isEmpty }.count
        items.append(.text(t("Dokumen: \(documents), \(pages) halaman", "Documents: \(documents), \(pages) page(s)")))
        if f.correction != nil {
            items.append(.text(t("Permohonan dikirim lagi ke Dinas dengan kode pelacakan yang sama.",
                                 "The application goes to the Dinas again with the same tracking code.")))
            return items
        }
        var contact = f.contactEntry.isEmpty ? "-" : PhoneNumber.masked(f.contactEntry.text)
        if let n = f.notify { contact += t(" (dikabari lewat ", " (news by ") + (n == "sms" ? "SMS" : "WhatsApp") + ")" }
        items.append(.text(t("Kontak: ", "Contact: ") + contact))
        items.append(.text(t("Biaya: Rp 0 (gratis)", "Fee: Rp 0 (free)")))
        return items
    }

    // MARK: - Cek Status

    func status(_ f: StatusFlow) -> Built {
        let title = t("Cek Status", "Check status")
        switch f.step {
        case .ask, .looking:
            var items: [Item] = [
                .text(t("Tempelkan KTP-el, atau ketik kode dari tanda terima atau bukti pengaduan:",
                        "Tap your KTP-el, or type the code from your receipt or complaint slip:")),
                .text(t("Kode: ", "Code: ") + self.entryDisplay(f.codeEntry.text, length: TrackingCode.length), Theme.strong),
            ]
            if f.step == .looking { items.append(.text(t("Mencari…", "Looking…"), Theme.banner)) }
            items += self.keyboard(Self.codeAlphabet, { .status(.key($0)) }, erase: .status(.backspace), done: .status(.confirm))
            var nav = self.standardNav
            if self.info.demo { nav.insert(Button(t("Kartu uji", "Test card"), .tapTestCard), at: 2) }
            return Built(spec: ScreenSpec(key: "status-ask", title: title, items: items, nav: nav, problem: self.problemText(f.problem), reservesProblem: true), keys: .status,
                         enter: .session(.status(.confirm)))
        case .results(let list):
            let s = list[min(f.selected, list.count - 1)]
            var items: [Item] = []
            if list.count > 1 {
                items.append(.buttons(list.enumerated().map { i, a in
                    Button(a.trackingCode.formatted, .session(.status(.select(i))), tone: i == f.selected ? .primary : .normal)
                }, perRow: 3))
            }
            items += self.statusItems(s)
            var nav = self.standardNav
            if s.correction != nil {
                nav.append(Button(t("Perbaiki ▶", "Correct ▶"), .session(.status(.correct)), tone: .primary))
            }
            return Built(spec: ScreenSpec(key: "status-result", title: title, items: items, nav: nav),
                         keys: nil, enter: s.correction != nil ? .session(.status(.correct)) : nil)
        case .complaint(let c):
            var items: [Item] = [
                .text(t("Pengaduan ", "Complaint ") + c.reference, Theme.strong),
                .text(t("Tentang: ", "About: ") + t(c.category.label)),
                .text(t("Diajukan: ", "Filed: ") + c.filedAt),
            ]
            if let answer = c.answer {
                items.append(.text(t("Jawaban Dinas", "The Dinas's answer") + (c.answeredAt.map { " (\($0))" } ?? "") + ":", Theme.good))
                items.append(.text(answer))
            } else {
                items.append(.text(c.sent ? t("Sudah diterima Dinas. Jawaban belum ada; silakan cek lagi nanti.",
                                              "The Dinas has it. No answer yet; please check again later.")
                                          : t("Tersimpan di kios dan akan dikirim ke Dinas saat jaringan tersedia.",
                                              "Stored at the kiosk; it goes to the Dinas when the network is available."), Theme.banner))
            }
            return Built(spec: ScreenSpec(key: "status-complaint", title: title, items: items, nav: self.standardNav),
                         keys: nil, enter: nil)
        }
    }

    func statusItems(_ s: ApplicationStatus) -> [Item] {
        var items: [Item] = [
            .text(s.trackingCode.formatted + " · " + t(s.serviceName), Theme.strong),
            .text(t("Status: ", "Status: ") + t(s.state.label), s.state == .ready ? Theme.good : Theme.banner),
        ]
        if let reason = s.reason, !reason.isEmpty {
            items.append(.text(t("Alasan Dinas: ", "Dinas's reason: ") + reason, Theme.problem))
        }
        if s.correction != nil {
            items.append(.text(t("Anda dapat memperbaikinya sekarang: tekan Perbaiki.", "You can correct it now: press Correct."), Theme.strong))
        }
        for e in s.expected { items.append(.text(t("Perkiraan selesai ", "Expected ") + t(e.name) + ": " + t(e.due))) }
        if s.state == .ready {
            items.append(.text(t("Dokumen siap: pilih Beranda → Ambil Dokumen.", "Documents ready: choose Home → Collect documents.")))
        }
        items.append(.text(t("Riwayat:", "History:"), Theme.strong))
        for h in s.history.suffix(8) { items.append(.text(h.at + "  " + t(h.state.label))) }
        return items
    }

    // MARK: - Ambil Dokumen

    func collect(_ f: CollectFlow) -> Built {
        let title = t("Ambil Dokumen", "Collect documents")
        var nav = self.standardNav
        switch f.step {
        case .identify:
            var items: [Item] = [
                .text(t("Tempelkan KTP-el, atau ketik NIK Anda:", "Tap your KTP-el, or type your NIK:")),
                .text("NIK: " + self.entryDisplay(f.nikEntry.text, length: 16), Theme.strong),
            ]
            items += self.digitPad({ .collect(.key($0)) }, erase: .collect(.backspace), done: .collect(.confirm))
            if self.info.demo { nav.insert(Button(t("Kartu uji", "Test card"), .tapTestCard), at: 2) }
            return Built(spec: ScreenSpec(key: "collect-identify", title: title, items: items, nav: nav, problem: self.problemText(f.problem), reservesProblem: true), keys: .collect,
                         enter: .session(.collect(.confirm)))
        case .code, .looking:
            var items: [Item] = [
                .text(self.applicantLine(f.applicant), Theme.dim),
                .text(t("Ketik kode pelacakan dari tanda terima:", "Type the tracking code from your receipt:")),
                .text(t("Kode: ", "Code: ") + self.entryDisplay(f.codeEntry.text, length: TrackingCode.length), Theme.strong),
            ]
            if f.step == .looking { items.append(.text(t("Mencari…", "Looking…"), Theme.banner)) }
            items += self.keyboard(Self.codeAlphabet, { .collect(.key($0)) }, erase: .collect(.backspace), done: .collect(.confirm))
            return Built(spec: ScreenSpec(key: "collect-code", title: title, items: items, nav: nav, problem: self.problemText(f.problem), reservesProblem: true), keys: .collect,
                         enter: .session(.collect(.confirm)))
        case .documents:
            var items: [Item] = [.text(t("Dokumen siap dicetak:", "Documents ready to print:"), Theme.strong)]
            // A document past its print limit stays touchable: the touch says why it does not print.
            items.append(.buttons(f.documents.map { d in
                Button(t("Cetak ", "Print ") + t(d.name), .session(.collect(.print(d.id))), tone: d.printsLeft > 0 ? .primary : .normal)
            }, perRow: 1))
            items.append(.text(t("Setiap dokumen dapat dicetak terbatas; cetak ulang dicatat.",
                                 "Each document can be printed a limited number of times; reprints are logged."), Theme.dim))
            return Built(spec: ScreenSpec(key: "collect-documents", title: title, items: items, nav: nav, problem: self.problemText(f.problem), reservesProblem: true), keys: nil, enter: nil)
        case .printing(let d, let progress):
            let items: [Item] = [
                .text(t("Mencetak ", "Printing ") + t(d.name) + "…", Theme.strong),
                .progress(progress, "\(Int((progress * 100).rounded()))%"),
                .text(t("Mohon tunggu di dekat printer.", "Please wait by the printer.")),
            ]
            return Built(spec: ScreenSpec(key: "collect-printing", title: title, items: items, nav: []), keys: nil, enter: nil)
        case .printed(let d, let sheets):
            let items: [Item] = [
                .text(t("Selesai dicetak: ", "Printed: ") + t(d.name) + t(" (\(sheets) lembar)", " (\(sheets) sheet(s))"), Theme.good),
                .text(t("Silakan ambil dokumen Anda dari printer.", "Please take your document from the printer."), Theme.strong),
                .buttons([Button(t("Selesai", "Done"), .session(.collect(.confirm)), tone: .primary)], perRow: 1),
            ]
            nav[0] = Button(t("Dokumen lain", "Other documents"), .session(.back))
            return Built(spec: ScreenSpec(key: "collect-printed", title: title, items: items, nav: nav), keys: nil,
                         enter: .session(.collect(.confirm)))
        case .printFailed(let d, let message):
            let items: [Item] = [
                .text(t("Belum tercetak: ", "Not printed: ") + t(d.name), Theme.problem),
                .text(t(message)),
                .text(t("Dokumen Anda tetap tersimpan dan dapat dicetak nanti.", "Your document is kept and can be printed later."), Theme.strong),
                .buttons([Button(t("Coba lagi", "Try again"), .session(.collect(.confirm)), tone: .primary)], perRow: 1),
            ]
            return Built(spec: ScreenSpec(key: "collect-failed", title: title, items: items, nav: nav), keys: nil,
                         enter: .session(.collect(.confirm)))
        }
    }

    // MARK: - Pengaduan

    func complaint(_ f: ComplaintFlow) -> Built {
        let title = t("Pengaduan", "Complaints")
        switch f.step {
        case .category:
            let items: [Item] = [
                .text(t("Tentang apa pengaduan Anda?", "What is your complaint about?")),
                .buttons(ComplaintCategory.allCases.map { Button(t($0.label), .session(.complaint(.choose($0)))) }, perRow: 2),
            ]
            return Built(spec: ScreenSpec(key: "complaint-category", title: title, items: items, nav: self.standardNav), keys: nil, enter: nil)
        case .text:
            var items: [Item] = [
                .text(t("Tulis pengaduan (\(f.textEntry.text.count)/\(ComplaintFlow.maxLength)):",
                        "Write your complaint (\(f.textEntry.text.count)/\(ComplaintFlow.maxLength)):")),
                .text(String(f.textEntry.text.suffix(max(10, self.width * 2 - 8))) + "_", Theme.strong),
            ]
            items += self.keyboard(Self.letters, { .complaint(.key($0)) }, erase: .complaint(.backspace), done: .complaint(.confirm))
            return Built(spec: ScreenSpec(key: "complaint-text", title: title, items: items, nav: self.standardNav, problem: self.problemText(f.problem), reservesProblem: true),
                         keys: .complaint, enter: .session(.complaint(.confirm)))
        case .contact:
            var items: [Item] = [
                .text(t("Nomor HP/WhatsApp untuk jawaban (boleh dikosongkan):", "Phone/WhatsApp for the answer (may be empty):")),
                .text(f.contactEntry.isEmpty ? "_" : f.contactEntry.text, Theme.strong),
            ]
            items += self.digitPad({ .complaint(.key($0)) }, erase: .complaint(.backspace), done: .complaint(.confirm))
            return Built(spec: ScreenSpec(key: "complaint-contact", title: title, items: items, nav: self.standardNav, problem: self.problemText(f.problem), reservesProblem: true),
                         keys: .complaint, enter: .session(.complaint(.confirm)))
        case .review, .sending:
            var items: [Item] = [
                .text(t(f.category?.label ?? LocalizedText("", "")), Theme.strong),
                .text(f.textEntry.text),
                .text(t("Kontak: ", "Contact: ") + (f.contactEntry.isEmpty ? "-" : PhoneNumber.masked(f.contactEntry.text))),
            ]
            if f.step == .sending {
                items.append(.text(t("Mengirim…", "Sending…"), Theme.banner))
            } else {
                items.append(.buttons([Button(t("Kirim ke Dinas", "Send to the Dinas"), .session(.complaint(.confirm)), tone: .primary)], perRow: 1))
            }
            return Built(spec: ScreenSpec(key: "complaint-review", title: title, items: items, nav: self.standardNav, problem: self.problemText(f.problem), reservesProblem: true), keys: nil,
                         enter: .session(.complaint(.confirm)))
        case .sent(let reference):
            let items: [Item] = [
                .text(t("Pengaduan tercatat dan akan dikirim ke Dinas.", "Your complaint is recorded and will be sent to the Dinas."), Theme.good),
                .text(t("Nomor pengaduan: ", "Complaint number: ") + reference, Theme.strong),
                .text(self.slipLine(f.slip), f.slip.map { if case .failed = $0 { return Theme.problem } else { return Theme.text } } ?? Theme.dim),
                .text(t("Jawaban Dinas dapat dilihat di Cek Status dengan nomor ini.", "See the Dinas's answer at Check status with this number.")),
                .buttons([Button(t("Selesai", "Done"), .session(.complaint(.confirm)), tone: .primary)], perRow: 1),
            ]
            return Built(spec: ScreenSpec(key: "complaint-sent", title: title, items: items, nav: [self.homeButton, self.languageButton]),
                         keys: nil, enter: .session(.complaint(.confirm)))
        }
    }
}

extension Screens {
    // MARK: - Cek NIK & KK

    func verify(_ f: VerifyFlow) -> Built {
        let title = t("Cek NIK & KK", "Check NIK & KK")
        var nav = self.standardNav
        switch f.step {
        case .nik:
            var items: [Item] = [
                .text(t("Tempelkan KTP-el, atau ketik NIK Anda (16 angka):", "Tap your KTP-el, or type your NIK (16 digits):")),
                .text("NIK: " + self.entryDisplay(f.nikEntry.text, length: 16), Theme.strong),
            ]
            items += self.digitPad({ .verify(.key($0)) }, erase: .verify(.backspace), done: .verify(.confirm))
            if self.info.demo { nav.insert(Button(t("Kartu uji", "Test card"), .tapTestCard), at: 2) }
            return Built(spec: ScreenSpec(key: "verify-nik", title: title, items: items, nav: nav,
                                          problem: self.problemText(f.problem), reservesProblem: true),
                         keys: .verify, enter: .session(.verify(.confirm)))
        case .kk, .checking:
            var items: [Item] = [
                .text(self.applicantLine(f.nik), Theme.dim),
                .text(t("Ketik nomor Kartu Keluarga (16 angka):", "Type the family card (KK) number (16 digits):")),
                .text("KK: " + self.entryDisplay(f.kkEntry.text, length: 16), Theme.strong),
            ]
            if f.step == .checking {
                items.append(.text(t("Menanyakan ke Dinas…", "Asking the Dinas…"), Theme.banner))
                return Built(spec: ScreenSpec(key: "verify-checking", title: title, items: items, nav: []), keys: nil, enter: nil)
            }
            items += self.digitPad({ .verify(.key($0)) }, erase: .verify(.backspace), done: .verify(.confirm))
            return Built(spec: ScreenSpec(key: "verify-kk", title: title, items: items, nav: nav,
                                          problem: self.problemText(f.problem), reservesProblem: true),
                         keys: .verify, enter: .session(.verify(.confirm)))
        case .result(let r):
            var items: [Item] = []
            if r.match {
                items.append(.text(t("Terdaftar: NIK dan nomor KK Anda cocok di data Dinas.",
                                     "Registered: your NIK and KK number match the Dinas's records."), Theme.good))
                if let name = r.nameMasked { items.append(.text(t("Nama: ", "Name: ") + name)) }
            } else {
                items.append(.text(t("Tidak cocok: NIK dan nomor KK ini tidak ditemukan bersama di data Dinas.",
                                     "No match: this NIK and KK number are not found together in the Dinas's records."), Theme.problem))
                items.append(.text(t("Periksa nomornya, atau tanyakan ke petugas desa atau Dinas.",
                                     "Check the numbers, or ask the desa staff or the Dinas.")))
            }
            return Built(spec: ScreenSpec(key: "verify-result", title: title, items: items,
                                          nav: [self.homeButton, self.languageButton,
                                                Button(t("Selesai", "Done"), .session(.verify(.confirm)), tone: .primary)]),
                         keys: nil, enter: .session(.verify(.confirm)))
        }
    }

    func slipLine(_ slip: ComplaintFlow.SlipOutcome?) -> String {
        switch slip {
        case nil: return t("Mencetak bukti pengaduan…", "Printing the complaint slip…")
        case .printed: return t("Ambil bukti pengaduan Anda dari printer.", "Take your complaint slip from the printer.")
        case .failed(let p): return t("Bukti belum tercetak: ", "The slip did not print: ") + t(p) + t(" Catat nomor di atas.", " Write down the number above.")
        }
    }
}

extension String {
    var capitalizedFirst: String { self.prefix(1).uppercased() + self.dropFirst() }
}
