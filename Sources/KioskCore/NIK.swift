#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A validated Nomor Induk Kependudukan: `PP RR DD DDMMYY SSSS`.
///
/// Layout (gen.; PK 97(4) delegates NIK rules to a Peraturan Walikota): two digits province, two regency, two
/// district, the holder's birth date as `DDMMYY` with 40 added to the day for women, and a four-digit serial.
/// A NIK is protected personal data (PK 113(4)(b)); `description` is masked so it never leaks into logs.
public struct NIK: Hashable, Sendable, CustomStringConvertible {
    public enum Sex: String, Sendable, Codable {
        case male
        case female

        public var label: LocalizedText {
            switch self {
            case .male: return LocalizedText("laki-laki", "male")
            case .female: return LocalizedText("perempuan", "female")
            }
        }
    }

    /// The 16 digits. Handle with care: protected personal data.
    public let digits: String
    public let provinceCode: String
    public let regencyCode: String
    public let districtCode: String
    public let birthDate: CivilDate
    public let sex: Sex
    public let serial: Int

    public var province: Province { Province.byCode[self.provinceCode]! }

    /// Parses and validates. The century of the birth year is resolved against `today`: the latest year that
    /// does not put the birth date in the future.
    public init(_ text: String, today: CivilDate) throws(NIKError) {
        let trimmed = text.filter { $0 != " " && $0 != "-" && $0 != "." }
        guard !trimmed.isEmpty else { throw .empty }
        guard trimmed.allSatisfy({ $0.isASCII && $0.isNumber }) else { throw .notDigits }
        guard trimmed.count == 16 else { throw .wrongLength(trimmed.count) }
        let d = Array(trimmed.utf8).map { Int($0) - 48 }
        func num(_ range: Range<Int>) -> Int { range.reduce(0) { $0 * 10 + d[$1] } }

        let province = String(trimmed.prefix(2))
        guard Province.byCode[province] != nil else { throw .unknownProvince(province) }
        guard num(2..<4) != 0 else { throw .zeroRegency }
        guard num(4..<6) != 0 else { throw .zeroDistrict }

        var day = num(6..<8)
        let month = num(8..<10)
        let yy = num(10..<12)
        var sex = Sex.male
        if day > 40 {
            day -= 40
            sex = .female
        }
        guard (1...31).contains(day) else { throw .invalidBirthDay(num(6..<8)) }
        guard (1...12).contains(month) else { throw .invalidBirthMonth(month) }
        // The latest century that keeps the birth date on or before today.
        let century = today.year / 100 * 100
        let resolved = [century, century - 100].lazy
            .compactMap { CivilDate(year: $0 + yy, month: month, day: day) }
            .first { $0 <= today }
        guard let birthDate = resolved else {
            throw .invalidBirthDate(String(trimmed.dropFirst(6).prefix(6)))
        }
        let serial = num(12..<16)
        guard serial != 0 else { throw .zeroSerial }

        self.digits = trimmed
        self.provinceCode = province
        self.regencyCode = String(trimmed.dropFirst(2).prefix(2))
        self.districtCode = String(trimmed.dropFirst(4).prefix(2))
        self.birthDate = birthDate
        self.sex = sex
        self.serial = serial
    }

    /// The form shown on screens, receipts and in human CLI output: only the last four digits are visible.
    public var masked: String { NIK.mask(self.digits) }

    /// Masks any identifier-like digit string, keeping the last four characters.
    public static func mask(_ text: String) -> String {
        let keep = min(4, text.count)
        return String(repeating: "*", count: text.count - keep) + text.suffix(keep)
    }

    public var description: String { self.masked }
}

/// Why a NIK was rejected. Each case has its own message in Bahasa Indonesia and English.
public enum NIKError: Error, Hashable, Sendable, CustomStringConvertible {
    case empty
    case notDigits
    case wrongLength(Int)
    case unknownProvince(String)
    case zeroRegency
    case zeroDistrict
    case invalidBirthDay(Int)
    case invalidBirthMonth(Int)
    case invalidBirthDate(String)
    case zeroSerial

    /// A stable machine-readable code for `--json` output and tests.
    public var code: String {
        switch self {
        case .empty: return "empty"
        case .notDigits: return "not_digits"
        case .wrongLength: return "wrong_length"
        case .unknownProvince: return "unknown_province"
        case .zeroRegency: return "zero_regency"
        case .zeroDistrict: return "zero_district"
        case .invalidBirthDay: return "invalid_birth_day"
        case .invalidBirthMonth: return "invalid_birth_month"
        case .invalidBirthDate: return "invalid_birth_date"
        case .zeroSerial: return "zero_serial"
        }
    }

    public var message: LocalizedText {
        switch self {
        case .empty:
            return LocalizedText("NIK belum diisi.", "The NIK is empty.")
        case .notDigits:
            return LocalizedText("NIK hanya boleh berisi angka.", "A NIK may contain digits only.")
        case .wrongLength(let n):
            return LocalizedText("NIK harus 16 angka (terisi \(n)).", "A NIK has 16 digits (got \(n)).")
        case .unknownProvince(let p):
            return LocalizedText(
                "Kode provinsi \(p) pada NIK tidak dikenal.", "Province code \(p) in the NIK is not known.")
        case .zeroRegency:
            return LocalizedText(
                "Kode kabupaten/kota pada NIK tidak boleh 00.", "The regency/city code in a NIK cannot be 00.")
        case .zeroDistrict:
            return LocalizedText("Kode kecamatan pada NIK tidak boleh 00.", "The district code in a NIK cannot be 00.")
        case .invalidBirthDay(let d):
            return LocalizedText(
                "Tanggal lahir pada NIK tidak sah (hari \(d); perempuan ditambah 40).",
                "The birth day in the NIK is invalid (day \(d); women add 40).")
        case .invalidBirthMonth(let m):
            return LocalizedText(
                "Bulan lahir pada NIK tidak sah (\(m)).", "The birth month in the NIK is invalid (\(m)).")
        case .invalidBirthDate:
            return LocalizedText(
                "Tanggal lahir pada NIK bukan tanggal yang ada di kalender.",
                "The birth date in the NIK is not a real calendar date.")
        case .zeroSerial:
            return LocalizedText("Nomor urut pada NIK tidak boleh 0000.", "The serial number in a NIK cannot be 0000.")
        }
    }

    public var description: String { self.message.bilingual }
}

/// Indonesian province codes as used in the first two digits of a NIK (Kemendagri area codes, gen.).
public struct Province: Hashable, Sendable {
    public let code: String
    public let name: String

    public static let all: [Province] = [
        ("11", "Aceh"), ("12", "Sumatera Utara"), ("13", "Sumatera Barat"), ("14", "Riau"), ("15", "Jambi"),
        ("16", "Sumatera Selatan"), ("17", "Bengkulu"), ("18", "Lampung"), ("19", "Kepulauan Bangka Belitung"),
        ("21", "Kepulauan Riau"), ("31", "DKI Jakarta"), ("32", "Jawa Barat"), ("33", "Jawa Tengah"),
        ("34", "DI Yogyakarta"), ("35", "Jawa Timur"), ("36", "Banten"), ("51", "Bali"),
        ("52", "Nusa Tenggara Barat"), ("53", "Nusa Tenggara Timur"), ("61", "Kalimantan Barat"),
        ("62", "Kalimantan Tengah"), ("63", "Kalimantan Selatan"), ("64", "Kalimantan Timur"),
        ("65", "Kalimantan Utara"), ("71", "Sulawesi Utara"), ("72", "Sulawesi Tengah"),
        ("73", "Sulawesi Selatan"), ("74", "Sulawesi Tenggara"), ("75", "Gorontalo"), ("76", "Sulawesi Barat"),
        ("81", "Maluku"), ("82", "Maluku Utara"), ("91", "Papua"), ("92", "Papua Barat"),
        ("93", "Papua Selatan"), ("94", "Papua Tengah"), ("95", "Papua Pegunungan"), ("96", "Papua Barat Daya"),
    ].map { Province(code: $0.0, name: $0.1) }

    public static let byCode: [String: Province] = Dictionary(uniqueKeysWithValues: all.map { ($0.code, $0) })
}
