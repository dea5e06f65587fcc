#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A date on the proleptic Gregorian calendar with no time or zone: the unit every legal deadline is counted in.
///
/// Arithmetic uses Howard Hinnant's days-from-civil algorithm, so it is exact, allocation-free and independent of
/// the host's time zone. Serialised as `YYYY-MM-DD`.
public struct CivilDate: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public let year: Int
    public let month: Int
    public let day: Int

    /// Creates a date, or returns nil when the triple is not a real calendar date (e.g. 2023-02-29).
    public init?(year: Int, month: Int, day: Int) {
        guard (1...9999).contains(year), (1...12).contains(month),
              (1...CivilDate.daysIn(month: month, year: year)).contains(day)
        else { return nil }
        self.year = year
        self.month = month
        self.day = day
    }

    private init(unchecked year: Int, _ month: Int, _ day: Int) {
        self.year = year
        self.month = month
        self.day = day
    }

    /// Parses strict `YYYY-MM-DD`.
    public init?(iso text: some StringProtocol) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
              parts.allSatisfy({ $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }),
              let y = Int(parts[0]), let m = Int(parts[1]), let d = Int(parts[2])
        else { return nil }
        self.init(year: y, month: m, day: d)
    }

    public static func isLeap(_ year: Int) -> Bool {
        (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
    }

    public static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days since 1970-01-01.
    public var dayNumber: Int {
        let y = self.month <= 2 ? self.year - 1 : self.year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (self.month + 9) % 12
        let doy = (153 * mp + 2) / 5 + self.day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// 0001-01-01, the earliest date a `CivilDate` can hold.
    public static let earliest = CivilDate(unchecked: 1, 1, 1)
    /// 9999-12-31, the latest date a `CivilDate` can hold.
    public static let latest = CivilDate(unchecked: 9999, 12, 31)
    /// The day numbers of `earliest` and `latest`; arithmetic saturates at these bounds instead of trapping.
    public static let dayNumbers: ClosedRange<Int> = -719_162...2_932_896

    /// The date `dayNumber` days after 1970-01-01, clamped to 0001-01-01…9999-12-31 (so no value can overflow).
    public init(dayNumber: Int) {
        let n = min(max(dayNumber, CivilDate.dayNumbers.lowerBound), CivilDate.dayNumbers.upperBound)
        let z = n + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        self.init(unchecked: yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    /// `days` later (earlier when negative); saturates at `earliest`/`latest` instead of overflowing.
    public func adding(days: Int) -> CivilDate {
        let (sum, overflow) = self.dayNumber.addingReportingOverflow(days)
        if overflow { return days > 0 ? CivilDate.latest : CivilDate.earliest }
        return CivilDate(dayNumber: sum)
    }

    /// Same month and day `years` later; 29 February maps to 28 February in a common year (domain-brief C2, A-38).
    /// Saturates at `earliest`/`latest`.
    public func adding(years: Int) -> CivilDate {
        let (y, overflow) = self.year.addingReportingOverflow(years)
        if overflow || y > 9999 { return CivilDate.latest }
        if y < 1 { return CivilDate.earliest }
        return CivilDate(unchecked: y, self.month, min(self.day, CivilDate.daysIn(month: self.month, year: y)))
    }

    /// Same day `months` later, clamped to the month's last day. Saturates at `earliest`/`latest`.
    public func adding(months: Int) -> CivilDate {
        let (total, overflow) = (self.year * 12 + (self.month - 1)).addingReportingOverflow(months)
        if overflow { return months > 0 ? CivilDate.latest : CivilDate.earliest }
        let y = total / 12
        guard y <= 9999 else { return CivilDate.latest }
        guard total >= 12 else { return CivilDate.earliest }
        let m = total % 12 + 1
        return CivilDate(unchecked: y, m, min(self.day, CivilDate.daysIn(month: m, year: y)))
    }

    /// Whole days from `self` to `other` (positive when `other` is later).
    public func days(until other: CivilDate) -> Int { other.dayNumber - self.dayNumber }

    /// ISO weekday: 1 = Monday … 7 = Sunday.
    public var isoWeekday: Int {
        let w = (self.dayNumber + 3) % 7  // 1970-01-01 was a Thursday (ISO 4)
        return (w < 0 ? w + 7 : w) + 1
    }

    /// Full years of age on `date` for someone born on `self` (birthday counted on the anniversary date).
    public func age(on date: CivilDate) -> Int {
        var years = date.year - self.year
        if (date.month, date.day) < (self.month, self.day) { years -= 1 }
        return years
    }

    public var description: String {
        let y = String(self.year), m = String(self.month), d = String(self.day)
        return String(repeating: "0", count: max(0, 4 - y.count)) + y + "-"
            + (m.count < 2 ? "0" : "") + m + "-" + (d.count < 2 ? "0" : "") + d
    }

    public static func < (lhs: CivilDate, rhs: CivilDate) -> Bool { lhs.dayNumber < rhs.dayNumber }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let date = CivilDate(iso: text) else {
            throw DecodingError.dataCorrupted(.init(
                codingPath: decoder.codingPath, debugDescription: "not a YYYY-MM-DD calendar date: \(text)"))
        }
        self = date
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(self.description)
    }
}

/// A fixed UTC offset such as WITA (+08:00) or WIB (+07:00). Indonesia has no daylight saving time.
public struct UTCOffset: Hashable, Sendable, Codable, CustomStringConvertible {
    public let seconds: Int

    public init(seconds: Int) { self.seconds = seconds }

    /// Parses `+08:00`, `+0800` or `+08`.
    public init?(_ text: String) {
        let chars = Array(text)
        guard let sign = chars.first, sign == "+" || sign == "-" else { return nil }
        let digits = chars.dropFirst().filter { $0 != ":" }
        guard digits.count == 2 || digits.count == 4, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else {
            return nil
        }
        let h = Int(String(digits.prefix(2)))!
        let m = digits.count == 4 ? Int(String(digits.suffix(2)))! : 0
        guard h <= 14, m < 60 else { return nil }
        self.seconds = (sign == "-" ? -1 : 1) * (h * 3600 + m * 60)
    }

    public var description: String {
        let a = abs(self.seconds)
        let h = a / 3600, m = (a % 3600) / 60
        return (self.seconds < 0 ? "-" : "+") + (h < 10 ? "0" : "") + String(h) + ":" + (m < 10 ? "0" : "") + String(m)
    }

    /// The local calendar date of an instant.
    public func civilDate(of instant: Date) -> CivilDate {
        let local = Int((instant.timeIntervalSince1970).rounded(.down)) + self.seconds
        return CivilDate(dayNumber: Int((Double(local) / 86_400).rounded(.down)))
    }

    /// The local date and time of an instant, "2026-11-22 09:14".
    public func timestamp(of instant: Date) -> String {
        let local = Int((instant.timeIntervalSince1970).rounded(.down)) + self.seconds
        let s = ((local % 86_400) + 86_400) % 86_400
        let hh = s / 3600, mm = (s / 60) % 60
        return "\(self.civilDate(of: instant)) \(hh < 10 ? "0" : "")\(hh):\(mm < 10 ? "0" : "")\(mm)"
    }

    /// The instant at local midnight plus `secondsOfDay` on `date`.
    public func instant(_ date: CivilDate, secondsOfDay: Int = 0) -> Date {
        Date(timeIntervalSince1970: TimeInterval(date.dayNumber * 86_400 + secondsOfDay - self.seconds))
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let v = UTCOffset(text) else {
            throw DecodingError.dataCorrupted(.init(
                codingPath: decoder.codingPath, debugDescription: "not a UTC offset like +08:00: \(text)"))
        }
        self = v
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(self.description)
    }
}
