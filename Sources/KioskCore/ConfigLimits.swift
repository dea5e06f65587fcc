#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The documented ranges of every configuration bundle field (Kiosk/CONFIG-SCHEMA.md). A signed bundle is trusted
/// for where it came from, not for being sane: each value is checked against these before it is applied.
public enum ConfigLimits {
    /// `version`: 1…10⁹, so a later bundle can always be newer.
    public static let version: ClosedRange<Int> = 1...1_000_000_000
    /// `issued_at`: within 2020-01-01T00:00:00Z…2100-12-31T23:59:59Z…
    public static let issuedAt: ClosedRange<Date> =
        Date(timeIntervalSince1970: 1_577_836_800)...Date(timeIntervalSince1970: 4_133_980_799)
    /// …and at most this far ahead of the kiosk's clock when it is applied.
    public static let issuedAtFutureSlack: TimeInterval = 86_400
    /// `targets`: 1…1000 entries, each `*` or a kiosk id of 1…64 of `A-Z a-z 0-9 . _ -`.
    public static let targets = 1...1000
    public static let kioskIDLength = 1...64

    /// `kiosk.desa_name`: 1…100 characters.
    public static let desaNameLength = 100
    /// `kiosk.idle_timeout_seconds`: 30…3600.
    public static let idleTimeoutSeconds: ClosedRange<Int> = 30...3600
    /// `kiosk.retention_days`: 1…3650 (ten years).
    public static let retentionDays: ClosedRange<Int> = 1...3650
    /// `kiosk.opening_hours`: at most 14 entries.
    public static let openingHours = 14
    /// `kiosk.announcement.id` / `.en`: at most 500 characters each.
    public static let announcementLength = 500
    /// `kiosk.printer_queue`, `kiosk.scanner_device`: 1…255 printable ASCII characters, no spaces.
    public static let deviceNameLength = 255
    /// `kiosk.staff_pins`: at most 200; `staff_id` 1…64 of `a-z 0-9 . _ -`; `name` 1…100 characters.
    public static let staffPins = 200
    public static let staffIDLength = 64
    public static let staffNameLength = 100
    /// PBKDF2 iterations in a `pin_hash`: 100 000…10 000 000 (one PIN check costs tens of milliseconds).
    public static let pinIterations: ClosedRange<Int> = StaffEntry.minimumIterations...10_000_000
    /// `kiosk.staff_timeout_seconds`: 30…3600.
    public static let staffTimeoutSeconds: ClosedRange<Int> = 30...3600

    /// Any other text in a bundle (profile names, notes, references, …): at most 4000 characters, and no text
    /// anywhere may hold a `SafeText.isUnsafe` scalar (controls including newlines, DEL, C1, bidi, zero-width).
    public static let textLength = 4000

    /// `jurisdiction.fee_idr` and `services[].fine.amount_idr`: Rp 0…100 000 000.
    public static let rupiah: ClosedRange<Int> = 0...100_000_000
    /// `jurisdiction.conventions.weekend`: 0…6 distinct ISO weekdays (1 = Monday … 7 = Sunday).
    public static let weekendDays = 6
    /// `jurisdiction.conventions.holidays`: at most 2000 dates, each in 2000…2100.
    public static let holidays = 2000
    public static let holidayYears: ClosedRange<Int> = 2000...2100
    /// `eligibility.minimum_age`: 0…150.
    public static let minimumAge: ClosedRange<Int> = 0...150

    /// Every period (deadline, late tier, SLA, validity): amount 1…the unit's cap.
    public static func periodAmount(_ unit: Period.Unit) -> ClosedRange<Int> {
        switch unit {
        case .days: return 1...36_525  // 100 years
        case .workingDays: return 1...3_650
        case .hours: return 1...8_784  // 366 days
        case .months: return 1...1_200
        case .years: return 1...100
        }
    }

    /// `ValidationError` for a period outside its unit's range, or nil.
    static func check(_ period: Period, field: String) -> ValidationError? {
        let range = ConfigLimits.periodAmount(period.unit)
        guard range.contains(period.amount) else {
            return ValidationError(
                field: "\(field).amount",
                reason: "must be \(range.lowerBound)…\(range.upperBound) for unit \(period.unit.rawValue), got \(period.amount)")
        }
        return nil
    }

    /// Refuses unsafe or over-long text anywhere in `value`, naming the field by its JSON path under `root`.
    static func checkText(_ value: some Encodable, root: String) throws(ValidationError) {
        guard let data = try? KioskJSON.encode(value) else {
            throw ValidationError(field: root, reason: "cannot be encoded")
        }
        if let (path, reason) = KioskJSON.firstUnsafeText(in: data, maxLength: ConfigLimits.textLength) {
            throw ValidationError(field: path.isEmpty ? root : (path.hasPrefix("[") ? root + path : "\(root).\(path)"),
                                  reason: reason)
        }
    }

    /// A kiosk id: 1…64 of `A-Z a-z 0-9 . _ -` (bundle targets, kioskd.json's `kiosk_id`, `--kiosk-id`).
    public static func isKioskID(_ s: String) -> Bool {
        ConfigLimits.kioskIDLength.contains(s.utf8.count)
            && s.utf8.allSatisfy { b in
                (b >= 65 && b <= 90) || (b >= 97 && b <= 122) || (b >= 48 && b <= 57) || b == 46 || b == 95 || b == 45
            }
    }
}
