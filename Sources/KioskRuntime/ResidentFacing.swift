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

    /// The rules' issuance for a stored application, reported on the day it was submitted (the Dinas's own
    /// facts, such as an approval date, refine it when they arrive).
    public static func issuance(of app: StoredApplication, store: KioskStore, profile: JurisdictionProfile)
        -> [RuleEvaluation.Issuance]
    {
        let submitted = profile.conventions.utcOffset.civilDate(of: app.submittedAt ?? app.createdAt)
        let facts = (try? store.manifestSource(app.id).facts) ?? [:]
        return (try? RulesEngine(profile: profile).evaluate(
            service: app.service, eventDate: app.eventDate, reportDate: max(submitted, app.eventDate), facts: facts))?
            .issuance ?? []
    }

    public static func receipt(_ app: StoredApplication, store: KioskStore, profile: JurisdictionProfile,
                               kioskName: String, language: Language, statusURL: String?) -> ReceiptContent {
        var names: [String: String] = [:]
        for r in profile.service(app.service)?.requirements ?? [] {
            names[r.id] = r.name.text(language)
            for a in r.alternatives ?? [] { names[a.id] = a.name.text(language) }
        }
        let expected = self.issuance(of: app, store: store, profile: profile).map { i in
            (i.name.text(language), i.dueAt ?? i.due?.description ?? i.pending?.text(language) ?? "-")
        }
        return ReceiptContent(
            dinasName: profile.dinas.text(language), kioskName: kioskName,
            serviceName: self.serviceName(app.service, profile: profile).text(language),
            trackingCode: app.trackingCode, submittedAt: app.submittedAt ?? app.createdAt,
            utcOffset: profile.conventions.utcOffset, timeZoneName: profile.conventions.timeZoneName,
            requirements: app.attachments.map { names[$0.requirement] ?? $0.requirement },
            expected: expected,
            complaintChannels: profile.complaintChannels.map { "\($0.label.text(language)): \($0.value)" },
            feeIDR: profile.feeIDR,
            qrText: statusURL.map { "\($0)\($0.contains("?") ? "&" : "?")code=\(app.trackingCode.raw)" } ?? app.trackingCode.formatted)
    }
}
