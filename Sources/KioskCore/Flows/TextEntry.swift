/// Text typed on an on-screen keypad or keyboard (or a physical keyboard). Rejects characters outside its
/// kind and stops at `maxLength`, so a flow never holds input it could not use.
public struct TextEntry: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// 0–9 only (NIK, phone, numbers).
        case digits
        /// The tracking-code alphabet; lower case is folded to upper, dashes are ignored.
        case trackingCode
        /// Letters, digits, space and simple punctuation.
        case free
        /// A person's or place's name: letters, space, `.`, `,`, `'`, `-`.
        case name
    }

    public var kind: Kind
    public var maxLength: Int
    public private(set) var text: String = ""

    public init(_ kind: Kind, maxLength: Int) {
        self.kind = kind
        self.maxLength = maxLength
    }

    public static let punctuation: Set<Character> = [" ", ".", ",", "?", "!", "-", "/", ":", "(", ")"]

    /// Adds one character if allowed; returns whether it was taken.
    @discardableResult
    public mutating func type(_ c: Character) -> Bool {
        guard self.text.count < self.maxLength else { return false }
        let ch: Character
        switch self.kind {
        case .digits:
            guard c.isASCII, c.isNumber else { return false }
            ch = c
        case .trackingCode:
            let up = Character(c.uppercased())
            guard TrackingCode.alphabet.contains(up) else { return false }
            ch = up
        case .free:
            guard (c.isASCII && (c.isLetter || c.isNumber)) || TextEntry.punctuation.contains(c) else { return false }
            if c == " ", self.text.isEmpty || self.text.last == " " { return false }
            ch = c
        case .name:
            guard (c.isLetter && SafeText.firstUnsafe(in: String(c)) == nil) || FormField.nameMarks.contains(c) else { return false }
            if c == " ", self.text.isEmpty || self.text.last == " " { return false }
            ch = c
        }
        self.text.append(ch)
        return true
    }

    public mutating func backspace() {
        if !self.text.isEmpty { self.text.removeLast() }
    }

    public mutating func clear() { self.text = "" }

    public var isEmpty: Bool { self.text.isEmpty }
}

/// A touch date picker: day, month and year stepped with − and +, always a real date within `range`.
public struct DatePicker: Sendable, Equatable {
    public enum Field: String, Sendable, Equatable, CaseIterable { case day, month, year }

    public private(set) var value: CivilDate
    public let earliest: CivilDate
    public let latest: CivilDate
    /// Digits typed on a keypad or keyboard, day-month-year (`DDMMYYYY`); taken as the value at 8 digits.
    public private(set) var typed = ""

    public init(value: CivilDate, earliest: CivilDate, latest: CivilDate) {
        self.earliest = earliest
        self.latest = latest
        self.value = min(max(value, earliest), latest)
    }

    /// Steps one field, as a calendar does: the day moves across month ends, the month across year ends (never
    /// wrapping around within its field); the day is kept within the month's length and the result within
    /// `earliest…latest` (so a past event never goes beyond today).
    public mutating func adjust(_ field: Field, by delta: Int) {
        self.typed = ""
        let delta = max(-1200, min(1200, delta))
        var y = self.value.year, m = self.value.month, d = self.value.day
        switch field {
        case .day:
            self.value = min(max(self.value.adding(days: delta), self.earliest), self.latest)
            return
        case .month:
            let months = y * 12 + (m - 1) + delta
            y = months >= 0 ? months / 12 : (months - 11) / 12
            m = months - y * 12 + 1
        case .year:
            y += delta
        }
        d = min(d, CivilDate.daysIn(month: m, year: y))
        guard let next = CivilDate(year: y, month: m, day: d) else { return }
        self.value = min(max(next, self.earliest), self.latest)
    }

    /// Takes one typed digit (others are ignored); at the eighth the date becomes the value when it is real and
    /// within range (`typingProblem` says why not).
    public mutating func type(_ c: Character) {
        guard c.isASCII, c.isNumber else { return }
        if self.typed.count >= 8 { self.typed = "" }
        self.typed.append(c)
        if self.typed.count == 8, self.typingProblem == nil, let d = self.typedDate { self.value = d }
    }

    public mutating func erase() {
        if !self.typed.isEmpty { self.typed.removeLast() }
    }

    private var typedDate: CivilDate? {
        let t = Array(self.typed)
        guard t.count == 8, let d = Int(String(t[0..<2])), let m = Int(String(t[2..<4])), let y = Int(String(t[4..<8]))
        else { return nil }
        return CivilDate(year: y, month: m, day: d)
    }

    /// Why the typed digits are not a date to take (nil when nothing is typed or they are fine).
    public var typingProblem: LocalizedText? {
        guard !self.typed.isEmpty else { return nil }
        guard self.typed.count == 8 else {
            return LocalizedText("Ketik 8 angka: tanggal, bulan, tahun (misalnya 01032024).",
                                 "Type 8 digits: day, month, year (e.g. 01032024).")
        }
        guard let d = self.typedDate else {
            return LocalizedText("Tanggal itu tidak ada di kalender.", "That date does not exist.")
        }
        if d > self.latest {
            return LocalizedText("Tanggal tidak boleh setelah \(DatePicker.long(self.latest, .id)).",
                                 "The date cannot be after \(DatePicker.long(self.latest, .en)).")
        }
        if d < self.earliest {
            return LocalizedText("Tanggal tidak boleh sebelum \(DatePicker.long(self.earliest, .id)).",
                                 "The date cannot be before \(DatePicker.long(self.earliest, .en)).")
        }
        return nil
    }

    /// The typed digits shown as "01-03-20__".
    public var typedDisplay: String {
        let t = Array(self.typed + String(repeating: "_", count: max(0, 8 - self.typed.count)))
        return String(t[0..<2]) + "-" + String(t[2..<4]) + "-" + String(t[4..<8])
    }

    public static let monthNames: [LocalizedText] = [
        ("Januari", "January"), ("Februari", "February"), ("Maret", "March"), ("April", "April"), ("Mei", "May"),
        ("Juni", "June"), ("Juli", "July"), ("Agustus", "August"), ("September", "September"),
        ("Oktober", "October"), ("November", "November"), ("Desember", "December"),
    ].map { LocalizedText($0.0, $0.1) }

    /// "10 Maret 2024" / "10 March 2024".
    public static func long(_ date: CivilDate, _ language: Language) -> String {
        "\(date.day) \(DatePicker.monthNames[date.month - 1].text(language)) \(date.year)"
    }
}

/// A phone or WhatsApp number as residents type it: 0812…, 62812… or +62812…; 9–15 digits.
public enum PhoneNumber {
    public static func check(_ digits: String) -> LocalizedText? {
        guard digits.allSatisfy({ $0.isASCII && $0.isNumber }), (9...15).contains(digits.count),
              digits.hasPrefix("0") || digits.hasPrefix("62")
        else {
            return LocalizedText(
                "Nomor HP/WhatsApp tidak valid: 9–15 angka, diawali 0 atau 62.",
                "Invalid phone/WhatsApp number: 9–15 digits starting with 0 or 62.")
        }
        return nil
    }

    /// For an optional contact field: nil when empty or valid, else why not.
    public static func problem(_ entry: TextEntry) -> LocalizedText? {
        entry.isEmpty ? nil : self.check(entry.text)
    }

    /// Shows only the last 3 digits: "0812******789".
    public static func masked(_ digits: String) -> String {
        guard digits.count > 7 else { return String(repeating: "*", count: digits.count) }
        return String(digits.prefix(4)) + String(repeating: "*", count: digits.count - 7) + String(digits.suffix(3))
    }
}
