/// What the kiosk says on each resident screen (issue 19): what the screen is, what to touch, what happens next, in
/// plain words. Built from the session's state, never from what the resident typed: a NIK, a KK number, a name or a
/// date of birth is never part of a script ("Nomor NIK sudah diterima" instead). Texts go through
/// `SpeechNormalizer` before the synthesizer.
public enum SpokenScript {
    /// The script of the screen `session` is on, in its language; nil on staff screens (staff read them).
    public static func script(_ session: KioskSession, info: KioskInfo, idle: KioskSession.IdlePhase = .active) -> String? {
        let l = session.language
        func t(_ id: String, _ en: String) -> String { l == .id ? id : en }
        if case .warning(let left) = idle {
            return t("Masih di sana? Sentuh Lanjutkan dalam \(left) detik, atau sesi ini dihapus demi menjaga data Anda.",
                     "Still there? Touch Continue within \(left) seconds, or this session is erased to protect your data.")
        }
        let call = t(" Perlu bantuan? Sentuh Panggil petugas di pojok kanan atas.", " Need help? Touch Call staff at the top right.")
        switch session.screen {
        case .home:
            return t("Selamat datang di kios layanan kependudukan \(info.desaName). Sentuh Ajukan Permohonan untuk mengurus "
                     + "dokumen, Cek Status untuk melihat permohonan, atau Ambil Dokumen bila dokumen Anda sudah siap.",
                     "Welcome to the population services kiosk of \(info.desaName). Touch Apply to request a document, "
                     + "Check status to follow an application, or Collect documents when yours are ready.") + call
        case .info(let f):
            guard let id = f.selected, let s = session.profile.service(id) else {
                return t("Informasi layanan. Sentuh sebuah layanan untuk mendengar persyaratannya.",
                         "Service information. Touch a service to hear what it needs.") + call
            }
            let reqs = s.requirements.map { $0.name.text(l) }.joined(separator: ", ")
            let fee = session.profile.feeIDR == 0 ? t("Layanan ini gratis.", "This service is free.")
                : t("Biaya Rp \(session.profile.feeIDR).", "The fee is Rp \(session.profile.feeIDR).")
            return t("\(s.name.text(l)). Persyaratan: \(reqs). \(fee) Sentuh Kembali untuk layanan lain.",
                     "\(s.name.text(l)). Requirements: \(reqs). \(fee) Touch Back for other services.")
        case .apply(let f): return self.apply(f, l) + call
        case .status(let f):
            switch f.step {
            case .ask: return t("Cek status. Tempelkan KTP-el, atau ketik kode dari tanda terima, lalu sentuh Lanjut.",
                                "Check status. Tap your KTP-el, or type the code from your receipt, then touch Next.") + call
            case .looking: return t("Mencari, mohon tunggu.", "Looking, please wait.")
            case .results(let list):
                guard let a = list.first else { return t("Tidak ada permohonan.", "No application.") }
                return t("Permohonan \(a.trackingCode.formatted): \(a.state.label.text(l)). Sentuh Beranda bila selesai.",
                         "Application \(a.trackingCode.formatted): \(a.state.label.text(l)). Touch Home when you are done.") + call
            case .complaint(let c):
                return (c.answer == nil
                    ? t("Pengaduan \(c.reference) sudah diterima dan belum dijawab.", "Complaint \(c.reference) was received and has no answer yet.")
                    : t("Pengaduan \(c.reference) sudah dijawab. Jawabannya ada di layar; minta petugas membacakannya bila perlu.",
                        "Complaint \(c.reference) has an answer on the screen; ask the staff to read it if you need.")) + call
            }
        case .collect(let f):
            switch f.step {
            case .identify: return t("Ambil dokumen. Tempelkan KTP-el, atau ketik NIK Anda.", "Collect documents. Tap your KTP-el, or type your NIK.") + call
            case .code: return t("Nomor NIK sudah diterima. Ketik kode pelacakan dari tanda terima.",
                                 "The NIK was received. Type the tracking code from your receipt.") + call
            case .looking: return t("Mencari dokumen, mohon tunggu.", "Looking for your documents, please wait.")
            case .documents: return t("Dokumen siap dicetak. Sentuh dokumen yang ingin dicetak.", "Documents ready to print. Touch the one to print.") + call
            case .printing: return t("Sedang mencetak, mohon tunggu.", "Printing, please wait.")
            case .printed: return t("Selesai dicetak. Silakan ambil dokumen Anda dari printer.", "Printed. Please take your document from the printer.")
            case .printFailed: return t("Dokumen belum tercetak. Dokumen tetap tersimpan; minta bantuan petugas.",
                                        "The document did not print. It is kept; please ask the staff.") + call
            }
        case .complaint(let f):
            switch f.step {
            case .category: return t("Pengaduan. Sentuh jenis pengaduan Anda.", "Complaints. Touch the kind of complaint.") + call
            case .text: return t("Ketik pengaduan Anda dengan papan ketik di layar, lalu sentuh Lanjut. Petugas dapat membantu menulis.",
                                 "Type your complaint on the screen keyboard, then touch Next. The staff can help you write.") + call
            case .contact: return t("Nomor HP untuk jawaban, boleh dikosongkan. Lalu sentuh Lanjut.", "A phone number for the answer, may be left empty. Then touch Next.")
            case .review: return t("Periksa pengaduan Anda, lalu sentuh Kirim.", "Check your complaint, then touch Send.")
            case .sending: return t("Mengirim, mohon tunggu.", "Sending, please wait.")
            case .sent(let reference): return t("Pengaduan tersimpan dengan nomor \(reference). Bukti pengaduan dicetak.",
                                                "Your complaint is stored under number \(reference). A slip is printed.")
            }
        case .verify(let f):
            switch f.step {
            case .nik: return t("Cek NIK dan KK. Tempelkan KTP-el atau ketik NIK.", "Check NIK and KK. Tap your KTP-el or type the NIK.") + call
            case .kk: return t("Nomor NIK sudah diterima. Ketik nomor Kartu Keluarga.", "The NIK was received. Type the family card number.") + call
            case .checking: return t("Memeriksa dengan Dinas, mohon tunggu.", "Checking with the Dinas, please wait.")
            case .result(let r): return r.match
                ? t("Data cocok dengan catatan Dinas.", "The numbers match the Dinas's records.")
                : t("Data tidak cocok. Minta bantuan petugas atau datang ke Dinas.", "The numbers do not match. Ask the staff or visit the Dinas.")
            }
        case .staff:
            return nil
        }
    }

    static func apply(_ f: ApplyFlow, _ l: Language) -> String {
        func t(_ id: String, _ en: String) -> String { l == .id ? id : en }
        let service = f.service?.name.text(l) ?? ""
        switch f.step {
        case .category:
            return t("Ajukan permohonan. Sentuh kelompok layanan yang Anda perlukan.", "Apply. Touch the group of services you need.")
        case .service:
            return t("Sentuh layanan yang ingin diajukan.", "Touch the service you want to apply for.")
        case .identify:
            return t("\(service). Tempelkan KTP-el pada pembaca kartu, atau ketik NIK dengan tombol angka, lalu sentuh Lanjut.",
                     "\(service). Tap your KTP-el on the card reader, or type the NIK on the keypad, then touch Next.")
        case .eventDate:
            return t("Nomor NIK sudah diterima. Atur tanggal peristiwa dengan tombol tambah dan kurang, lalu sentuh Lanjut.",
                     "The NIK was received. Set the date of the event with the plus and minus buttons, then touch Next.")
        case .fact:
            return t("Jawab pertanyaan di layar dengan menyentuh salah satu pilihan.", "Answer the question on the screen by touching a choice.")
        case .deadline:
            guard let e = f.evaluation else {
                return t("Permohonan ini tidak dapat diajukan di kios. Silakan hubungi petugas desa.",
                         "This application cannot be made at the kiosk. Please ask the desa staff.")
            }
            var s = e.assessment == .assessed ? t("Hasil pemeriksaan: \((e.tier ?? .onTime).label.text(l)).", "Result: \((e.tier ?? .onTime).label.text(l)).")
                : t("Tidak ada batas waktu pelaporan.", "No reporting deadline applies.")
            if let fine = e.fineIDR, fine > 0 { s += t(" Perkiraan denda Rp \(fine).", " Estimated fine Rp \(fine).") }
            return s + t(" Sentuh Lanjut.", " Touch Next.")
        case .form(let i):
            guard f.formFields.indices.contains(i) else { return t("Isi formulir, lalu sentuh Lanjut.", "Fill in the form, then touch Next.") }
            let field = f.formFields[i]
            return t("Formulir, pertanyaan \(i + 1) dari \(f.formFields.count): \(field.label.text(l)). Isi lalu sentuh Lanjut.",
                     "Form, question \(i + 1) of \(f.formFields.count): \(field.label.text(l)). Answer, then touch Next.")
        case .scan(let i):
            let name = f.requirements.indices.contains(i) ? f.requirements[i].name.text(l) : ""
            return t("Letakkan \(name) di pemindai, menghadap ke bawah, lalu sentuh Pindai.",
                     "Place the \(name) on the scanner, face down, then touch Scan.")
        case .scanning:
            return t("Sedang memindai, jangan buka tutup pemindai.", "Scanning, do not open the scanner lid.")
        case .contact:
            return t("Ketik nomor HP atau WhatsApp untuk kabar perkembangan, boleh dikosongkan, lalu sentuh Lanjut.",
                     "Type a phone or WhatsApp number for progress news, or leave it empty, then touch Next.")
        case .notify:
            return t("Mau dikabari lewat WhatsApp atau SMS? Sentuh pilihan Anda.", "Do you want news by WhatsApp or SMS? Touch your choice.")
        case .consent:
            return ApplyFlow.consentClause.text(l) + t(" Bila setuju, sentuh Saya setuju.", " If you agree, touch I agree.")
        case .review:
            return t("Periksa ringkasan permohonan \(service), lalu sentuh Kirim.", "Check the summary of your \(service) application, then touch Send.")
        case .submitting:
            return t("Menyimpan permohonan, mohon tunggu.", "Storing your application, please wait.")
        case .done(let r):
            return t("Permohonan tersimpan. Kode pelacakan Anda \(r.trackingCode.formatted). Simpan tanda terima yang tercetak. "
                     + "Dinas akan memproses permohonan ini.",
                     "Your application is stored. Your tracking code is \(r.trackingCode.formatted). Keep the printed receipt. "
                     + "The Dinas will process it.")
        }
    }
}
