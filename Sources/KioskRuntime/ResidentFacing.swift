import Foundation
import KioskCore
import KioskDevices
import KioskStore

/// What the kiosk tells a resident about a stored application, shared by the resident UI and kioskctl: the
/// service name as it may be shown (PK 120), the expected issuance, and the receipt's content.
public enum ResidentFacing {
    /// Services whose very name reveals protected vital-event details (PK 120): screens and receipts name the category.
    public static let sensitiveServices: Set<String> = ["child-recognition", "child-adoption", "child-legitimation"]

    public static func serviceName(_ serviceID: String, profile: JurisdictionProfile) -> LocalizedText {
        let service = profile.service(serviceID)
        if self.sensitiveServices.contains(serviceID),
           let category = profile.categories.first(where: { $0.id == service?.category })?.name {
            return category
        }
        return service?.name ?? LocalizedText(serviceID, serviceID)
    }

    /// When a product is expected, in words: a date, or a date and time for a service level in hours (with the
    /// zone), or what it waits for.
    public static func due(_ i: RuleEvaluation.Issuance, conventions: Conventions) -> LocalizedText {
        if let at = i.dueAt, let t = LocalDateTime(String(at.prefix(16))) {
            let hm = String(format: "%02d.%02d", t.minuteOfDay / 60, t.minuteOfDay % 60)
            let zone = conventions.timeZoneName
            // The Dinas's working hours, where the profile states them: the resident knows when it is open.
            let hours = conventions.workingHours.map { h in
                LocalizedText(" (jam kerja Dinas \(h.opens.replacingOccurrences(of: ":", with: "."))–\(h.closes.replacingOccurrences(of: ":", with: ".")))",
                              " (Dinas working hours \(h.opens)–\(h.closes))")
            }
            return LocalizedText("\(DatePicker.long(t.date, .id)) pukul \(hm) \(zone)" + (hours?.id ?? ""),
                                 "\(DatePicker.long(t.date, .en)) at \(hm.replacingOccurrences(of: ".", with: ":")) \(zone)"
                                    + (hours?.text(.en) ?? ""))
        }
        if let d = i.due { return LocalizedText(DatePicker.long(d, .id), DatePicker.long(d, .en)) }
        return i.pending ?? LocalizedText("menunggu keputusan Dinas", "waiting for the Dinas's decision")
    }

    /// The rules' issuance for a stored application, reported on the day it was submitted (the Dinas's own
    /// facts, such as an approval date, refine it when they arrive).
    public static func issuance(of app: StoredApplication, store: KioskStore, profile: JurisdictionProfile)
        -> [RuleEvaluation.Issuance]
    {
        let at = app.submittedAt ?? app.createdAt
        let submitted = profile.conventions.utcOffset.civilDate(of: at)
        var facts = (try? store.manifestSource(app.id).facts) ?? [:]
        // A service level in hours runs from the moment the requirements were complete: at the kiosk, the
        // moment the application was stored with every requirement scanned.
        if facts["requirements_complete_at"] == nil,
           profile.service(app.service)?.products.contains(where: { $0.sla?.period.unit == .hours }) == true {
            facts["requirements_complete_at"] = .string(profile.conventions.utcOffset.timestamp(of: at).replacingOccurrences(of: " ", with: "T"))
        }
        return (try? RulesEngine(profile: profile).evaluate(
            service: app.service, eventDate: app.eventDate, reportDate: max(submitted, app.eventDate), facts: facts))?
            .issuance ?? []
    }

    public static func receipt(_ app: StoredApplication, store: KioskStore, profile: JurisdictionProfile,
                               kioskName: String, language: Language, statusURL: String?,
                               assistedBy: String? = nil) -> ReceiptContent {
        var names: [String: String] = [:]
        for r in profile.service(app.service)?.requirements ?? [] {
            names[r.id] = r.name.text(language)
            for a in r.alternatives ?? [] { names[a.id] = a.name.text(language) }
        }
        let expected = self.issuance(of: app, store: store, profile: profile).map { i in
            (i.name.text(language), self.due(i, conventions: profile.conventions).text(language))
        }
        // One line per requirement, with its page count when it has several.
        var pages: [(String, Int)] = []
        for a in app.attachments {
            let name = names[a.requirement] ?? a.requirement
            if let i = pages.firstIndex(where: { $0.0 == name }) { pages[i].1 += 1 } else { pages.append((name, 1)) }
        }
        let requirements = pages.map { name, n in
            n > 1 ? name + (language == .id ? " (\(n) halaman)" : " (\(n) pages)") : name
        }
        return ReceiptContent(
            dinasName: profile.dinas.text(language), kioskName: kioskName,
            serviceName: self.serviceName(app.service, profile: profile).text(language),
            trackingCode: app.trackingCode, submittedAt: app.submittedAt ?? app.createdAt,
            utcOffset: profile.conventions.utcOffset, timeZoneName: profile.conventions.timeZoneName,
            requirements: requirements,
            expected: expected,
            complaintChannels: profile.complaintChannels.map { $0.residentLine(language) },
            feeIDR: profile.feeIDR,
            qrText: statusURL.map { "\($0)\($0.contains("?") ? "&" : "?")code=\(app.trackingCode.raw)" } ?? app.trackingCode.formatted,
            assistedBy: assistedBy)
    }
}
