/// Turns screen text into what a synthesizer should say (issue 19): rupiah amounts, dates, times, tracking codes and
/// long numbers as words, in Bahasa Indonesia or English. It is also the last guard for privacy: a run of 8 or
/// more digits (a NIK, a KK number, a birth date written as digits) or a masked number ("5371********0003") is
/// never read out; it becomes "nomor dirahasiakan / a private number".
public enum SpeechNormalizer {
    public static func normalize(_ text: String, language: Language) -> String {
        var out = ""
        let chars = Array(text.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7F }.map(Character.init))
        var i = 0
        func word(_ w: String) {
            if let last = out.last, !last.isWhitespace, !"([".contains(last) { out += " " }
            out += w
        }
        while i < chars.count {
            // "Rp 1.000.000", "Rp1.000"
            if chars[i] == "R", i + 1 < chars.count, chars[i + 1] == "p",
               let (amount, end) = Self.number(chars, from: Self.skipSpaces(chars, i + 2), grouped: true), end > i + 2 {
                word(Self.words(amount, language) + " rupiah")
                i = end
                continue
            }
            // A tracking code or a complaint number: letter by letter.
            if let (code, end) = Self.trackingCode(chars, at: i) {
                word(Self.spell(code, language))
                i = end
                continue
            }
            // A masked number: never read.
            if chars[i].isNumber || chars[i] == "*" || chars[i] == "•",
               let end = Self.maskedEnd(chars, at: i) {
                word(Self.privateNumber(language))
                i = end
                continue
            }
            if chars[i].isASCII, chars[i].isNumber, i == 0 || !(chars[i - 1].isLetter) {
                // ISO date 2026-12-03
                if let (d, end) = Self.isoDate(chars, at: i) {
                    word(Self.date(d, language))
                    i = end
                    continue
                }
                // Time 10.15 / 10:15 after "pukul"/"at", or HH:MM anywhere.
                if let (h, m, end) = Self.time(chars, at: i, afterPukul: out.hasSuffix("pukul ") || out.hasSuffix("at ")) {
                    word(Self.words(h, language) + (m == 0 ? (language == .id ? " tepat" : " o'clock") : " " + Self.words(m, language)))
                    i = end
                    continue
                }
                var end = i
                while end < chars.count, chars[end].isASCII, chars[end].isNumber { end += 1 }
                let digits = String(chars[i..<end])
                if digits.count >= 8, !(digits.hasPrefix("0") && (9...13).contains(digits.count)) {
                    // A NIK or a KK number (16 digits), a date of birth as digits, any other long number: private.
                    word(Self.privateNumber(language))
                } else if digits.count >= 5 {
                    // A phone number (0…, 9–13 digits) or a 5–7 digit number: digit by digit, in groups of four.
                    word(Self.groups(digits, language))
                } else if let (n, e) = Self.number(chars, from: i, grouped: true) {
                    word(Self.words(n, language))
                    end = e
                }
                i = end
                continue
            }
            let c = chars[i]
            if c == "—" || c == "–" || c == "·" || c == "•" || c == "|" || c == "▶" || c == "◀" {
                out += ","
            } else if c == "%" {
                word(language == .id ? "persen" : "percent")
            } else if c == "/" {
                out += " "
            } else {
                out.append(c)
            }
            i += 1
        }
        // One space between words, no space before punctuation.
        var clean = ""
        for c in out {
            if c.isWhitespace {
                if let l = clean.last, !l.isWhitespace { clean.append(" ") }
            } else if ",.;:!?".contains(c), clean.last == " " {
                clean.removeLast()
                clean.append(c)
            } else {
                clean.append(c)
            }
        }
        while clean.hasPrefix(",") || clean.hasPrefix(" ") { clean.removeFirst() }
        return clean.trimmingTrailing()
    }

    public static func privateNumber(_ language: Language) -> String {
        language == .id ? "nomor dirahasiakan" : "a private number"
    }

    // MARK: - Numbers

    static let ones = ["nol", "satu", "dua", "tiga", "empat", "lima", "enam", "tujuh", "delapan", "sembilan"]
    static let onesEN = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
                         "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]
    static let tensEN = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]

    /// 0…999 999 999 999 999 in words; larger amounts digit by digit.
    public static func words(_ n: Int, _ language: Language) -> String {
        guard n >= 0, n < 1_000_000_000_000_000 else { return Self.groups(String(n.magnitude), language) }
        return language == .id ? Self.indonesian(n) : Self.english(n)
    }

    static func indonesian(_ n: Int) -> String {
        switch n {
        case 0..<10: return ones[n]
        case 10: return "sepuluh"
        case 11: return "sebelas"
        case 12..<20: return ones[n - 10] + " belas"
        case 20..<100: return ones[n / 10] + " puluh" + (n % 10 == 0 ? "" : " " + ones[n % 10])
        case 100..<200: return "seratus" + (n == 100 ? "" : " " + indonesian(n - 100))
        case 200..<1000: return ones[n / 100] + " ratus" + (n % 100 == 0 ? "" : " " + indonesian(n % 100))
        case 1000..<2000: return "seribu" + (n == 1000 ? "" : " " + indonesian(n - 1000))
        case 2000..<1_000_000: return indonesian(n / 1000) + " ribu" + (n % 1000 == 0 ? "" : " " + indonesian(n % 1000))
        case 1_000_000..<1_000_000_000:
            return indonesian(n / 1_000_000) + " juta" + (n % 1_000_000 == 0 ? "" : " " + indonesian(n % 1_000_000))
        case 1_000_000_000..<1_000_000_000_000:
            return indonesian(n / 1_000_000_000) + " miliar" + (n % 1_000_000_000 == 0 ? "" : " " + indonesian(n % 1_000_000_000))
        default:
            return indonesian(n / 1_000_000_000_000) + " triliun"
                + (n % 1_000_000_000_000 == 0 ? "" : " " + indonesian(n % 1_000_000_000_000))
        }
    }

    static func english(_ n: Int) -> String {
        switch n {
        case 0..<20: return onesEN[n]
        case 20..<100: return tensEN[n / 10] + (n % 10 == 0 ? "" : "-" + onesEN[n % 10])
        case 100..<1000: return onesEN[n / 100] + " hundred" + (n % 100 == 0 ? "" : " " + english(n % 100))
        default:
            for (size, name) in [(1_000_000_000_000, "trillion"), (1_000_000_000, "billion"), (1_000_000, "million"), (1000, "thousand")]
            where n >= size {
                return english(n / size) + " " + name + (n % size == 0 ? "" : " " + english(n % size))
            }
            return String(n)
        }
    }

    /// Digit by digit in groups of four: "0812 3456 7890" → "nol delapan satu dua, tiga empat lima enam, …".
    static func groups(_ digits: String, _ language: Language) -> String {
        let names = language == .id ? ones : Array(onesEN.prefix(10))
        var parts: [String] = []
        var chunk: [String] = []
        for c in digits {
            guard let d = c.wholeNumberValue, (0...9).contains(d) else { continue }
            chunk.append(names[d])
            if chunk.count == 4 {
                parts.append(chunk.joined(separator: " "))
                chunk = []
            }
        }
        if !chunk.isEmpty { parts.append(chunk.joined(separator: " ")) }
        return parts.joined(separator: ", ")
    }

    /// A number written with dot thousands separators ("1.000.000") or plain digits, from `start`.
    static func number(_ c: [Character], from start: Int, grouped: Bool) -> (Int, Int)? {
        var i = start
        var digits = ""
        while i < c.count, c[i].isASCII, c[i].isNumber { digits.append(c[i]); i += 1 }
        guard !digits.isEmpty, digits.count <= 15 else { return nil }
        if grouped, digits.count <= 3 {
            while digits.count <= 12, i + 3 < c.count, c[i] == ".",
                  (1...3).allSatisfy({ c[i + $0].isASCII && c[i + $0].isNumber }),
                  !(i + 4 < c.count && c[i + 4].isASCII && c[i + 4].isNumber) {
                digits += String(c[(i + 1)...(i + 3)])
                i += 4
            }
        }
        guard let n = Int(digits) else { return nil }
        return (n, i)
    }

    static func skipSpaces(_ c: [Character], _ i: Int) -> Int {
        var i = i
        while i < c.count, c[i] == " " { i += 1 }
        return i
    }

    // MARK: - Codes, masks, dates, times

    /// `XXXX-XXXX` of the tracking-code alphabet, optionally after `PGD-`, not inside a longer word.
    static func trackingCode(_ c: [Character], at i: Int) -> (String, Int)? {
        guard i == 0 || !(c[i - 1].isLetter || c[i - 1].isNumber) else { return nil }
        var j = i
        var prefix = ""
        if j + 4 <= c.count, String(c[j..<j + 4]) == "PGD-" {
            prefix = "PGD-"
            j += 4
        }
        guard j + 9 <= c.count, c[j + 4] == "-" else { return nil }
        let a = c[j..<j + 4], b = c[(j + 5)..<(j + 9)]
        let alphabet = Set(TrackingCode.alphabet)
        guard (a + b).allSatisfy({ alphabet.contains($0) }), (a + b).contains(where: { $0.isLetter }) else { return nil }
        if j + 9 < c.count, c[j + 9].isLetter || c[j + 9].isNumber { return nil }
        return (prefix + String(a) + "-" + String(b), j + 9)
    }

    static let letterNamesID: [Character: String] = [
        "A": "a", "B": "be", "C": "ce", "D": "de", "E": "e", "F": "ef", "G": "ge", "H": "ha", "I": "i", "J": "je",
        "K": "ka", "L": "el", "M": "em", "N": "en", "O": "o", "P": "pe", "Q": "ki", "R": "er", "S": "es", "T": "te",
        "U": "u", "V": "fe", "W": "we", "X": "eks", "Y": "ye", "Z": "zet",
    ]

    /// Letter by letter, each group of four a breath: "5Q75-9W9Z" → "lima, ki, tujuh, lima; sembilan, we, …".
    public static func spell(_ code: String, _ language: Language) -> String {
        code.split(separator: "-").map { part in
            part.map { ch -> String in
                if let d = ch.wholeNumberValue { return language == .id ? ones[d] : onesEN[d] }
                return language == .id ? (letterNamesID[ch] ?? String(ch)) : String(ch)
            }.joined(separator: ", ")
        }.joined(separator: "; ")
    }

    /// The end of a masked number (digits and at least three `*`/`•` mixed, e.g. "5371********0003").
    static func maskedEnd(_ c: [Character], at i: Int) -> Int? {
        var j = i
        var stars = 0
        while j < c.count, (c[j].isASCII && c[j].isNumber) || c[j] == "*" || c[j] == "•" {
            if c[j] == "*" || c[j] == "•" { stars += 1 }
            j += 1
        }
        return stars >= 3 ? j : nil
    }

    static func isoDate(_ c: [Character], at i: Int) -> (CivilDate, Int)? {
        guard i + 10 <= c.count, let d = CivilDate(iso: String(c[i..<i + 10])) else { return nil }
        if i + 10 < c.count, c[i + 10].isNumber { return nil }
        return (d, i + 10)
    }

    static func time(_ c: [Character], at i: Int, afterPukul: Bool) -> (Int, Int, Int)? {
        guard i + 5 <= c.count, c[i + 2] == ":" || (afterPukul && c[i + 2] == "."),
              let h = Int(String(c[i..<i + 2])), let m = Int(String(c[(i + 3)..<(i + 5)])), (0..<24).contains(h), (0..<60).contains(m)
        else { return nil }
        if i + 5 < c.count, c[i + 5].isNumber { return nil }
        return (h, m, i + 5)
    }

    public static func date(_ d: CivilDate, _ language: Language) -> String {
        "\(words(d.day, language)) \(DatePicker.monthNames[d.month - 1].text(language)) \(words(d.year, language))"
    }
}

extension String {
    func trimmingTrailing() -> String {
        var s = self
        while let l = s.last, l.isWhitespace || l == "," { s.removeLast() }
        return s
    }
}
