/// The one check of an electronic-form value (`FormField`), used by the apply flow as the resident types and by
/// kioskd on every submission (the draft comes from a client). Values are strings: NIKs as 16 digits, dates
/// `YYYY-MM-DD`, times `HH:MM`, numbers in decimal, choices by id.
extension FormField {
    /// Characters a name may hold besides letters: "Maria Goreti Ndun", "St. Yosef", "O'Neil", "Nusa-Tenggara".
    static let nameMarks: Set<Character> = [" ", ".", ",", "'", "-"]

    /// Why `value` is not acceptable for this field (nil: it is), in plain words for the resident.
    public func problem(_ value: String, today: CivilDate) -> LocalizedText? {
        guard SafeText.firstUnsafe(in: value) == nil, value.count <= 200 else {
            return LocalizedText("Isian memuat karakter yang tidak dikenal.", "The answer holds characters that are not allowed.")
        }
        switch self.kind {
        case .nik:
            do throws(NIKError) {
                _ = try NIK(value, today: today)
            } catch {
                return error.message
            }
        case .name, .text:
            let trimmed = value.trimmingSpaces
            guard !trimmed.isEmpty else { return FormField.emptyAnswer }
            guard trimmed.count <= self.lengthLimit else {
                return LocalizedText("Terlalu panjang: paling banyak \(self.lengthLimit) huruf.",
                                     "Too long: at most \(self.lengthLimit) characters.")
            }
            if self.kind == .name,
               !trimmed.allSatisfy({ $0.isLetter || FormField.nameMarks.contains($0) }) || !trimmed.contains(where: \.isLetter) {
                return LocalizedText("Nama hanya boleh berisi huruf, spasi, titik, koma, petik atau tanda hubung.",
                                     "A name may hold only letters, spaces, full stops, commas, apostrophes or hyphens.")
            }
        case .choice:
            guard (self.choices ?? []).contains(where: { $0.id == value }) else {
                return LocalizedText("Pilih salah satu pilihan yang ada.", "Choose one of the options shown.")
            }
        case .date:
            guard let date = CivilDate(iso: value) else {
                return LocalizedText("Tanggal tidak ada di kalender.", "That date does not exist.")
            }
            if self.past == true, date > today {
                return LocalizedText("Tanggal tidak boleh setelah hari ini.", "The date cannot be after today.")
            }
            if date < today.adding(years: -150) {
                return LocalizedText("Tanggal terlalu lama.", "The date is too long ago.")
            }
        case .time:
            guard FormField.time(value) != nil else {
                return LocalizedText("Jam tidak sah: tulis 4 angka, misalnya 0930 untuk pukul 09.30.",
                                     "Invalid time: type 4 digits, e.g. 0930 for 09:30.")
            }
        case .number:
            guard value.count <= 9, value.allSatisfy({ $0.isASCII && $0.isNumber }), let n = Int(value) else {
                return LocalizedText("Isi dengan angka.", "Enter a number.")
            }
            let low = self.min ?? 0, high = self.max ?? 999_999_999
            guard (low...Swift.max(low, high)).contains(n) else {
                return LocalizedText("Angka harus antara \(low) dan \(high).", "The number must be between \(low) and \(high).")
            }
        case .phone:
            return PhoneNumber.check(value)
        }
        return nil
    }

    static let emptyAnswer = LocalizedText("Isi jawaban terlebih dahulu.", "Enter an answer first.")

    /// "0930" or "09:30" → (9, 30); nil unless a real time of day.
    public static func time(_ text: String) -> (hour: Int, minute: Int)? {
        let digits = text.filter { $0 != ":" }
        guard digits.count == 4, digits.allSatisfy({ $0.isASCII && $0.isNumber }),
              text.count == 4 || (text.count == 5 && text.dropFirst(2).first == ":"),
              let h = Int(digits.prefix(2)), let m = Int(digits.suffix(2)), (0...23).contains(h), (0...59).contains(m)
        else { return nil }
        return (h, m)
    }

    /// How the value shows on a screen or a receipt: protected values masked, choices by their label.
    public func display(_ value: String, _ language: Language) -> String {
        if self.isProtected {
            return self.kind == .date ? "**-**-****" : NIK.mask(value)
        }
        switch self.kind {
        case .choice:
            return self.choices?.first(where: { $0.id == value })?.label.text(language) ?? SafeText.visible(value)
        case .date:
            return CivilDate(iso: value).map { DatePicker.long($0, language) } ?? SafeText.visible(value)
        case .phone:
            return PhoneNumber.masked(value)
        default:
            return SafeText.visible(value)
        }
    }
}

extension Service {
    /// The form fields asked for these facts (a field's `applies_when` over the case's facts).
    public func formFields(for facts: Facts) -> [FormField] {
        (self.form ?? []).filter { $0.appliesWhen?.holds(facts) ?? true }
    }

    /// Checks a submitted form: every key is a field asked for these facts, every value passes its field's check,
    /// and every required field is present. Refusals name the field by its resident label.
    public func checkForm(_ values: [String: String], facts: Facts, today: CivilDate) throws(RulesError) {
        guard values.count <= 60 else {
            throw .invalidText(field: "form", reason: LocalizedText("Formulir terlalu banyak isian.", "The form has too many answers."))
        }
        let fields = self.formFields(for: facts)
        for (key, value) in values.sorted(by: { $0.key < $1.key }) {
            guard let field = fields.first(where: { $0.key == key }) else {
                throw .invalidText(field: "form", reason: LocalizedText(
                    "Isian \"\(SafeText.visible(String(key.prefix(40))))\" tidak ada di formulir layanan ini.",
                    "Answer \"\(SafeText.visible(String(key.prefix(40))))\" is not on this service's form."))
            }
            if let reason = field.problem(value, today: today) {
                throw .invalidText(field: "form", reason: LocalizedText(
                    field.label.id + ": " + reason.id, field.label.text(.en) + ": " + reason.text(.en)))
            }
        }
        for field in fields where field.isRequired && values[field.key] == nil {
            throw .invalidText(field: "form", reason: LocalizedText(
                field.label.id + ": belum diisi.", field.label.text(.en) + ": not filled in."))
        }
    }
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while s.first == " " { s.removeFirst() }
        while s.last == " " { s.removeLast() }
        return String(s)
    }
}
