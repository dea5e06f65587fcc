import Foundation
import KioskCore
import KioskDevices
import KioskStore

enum ReceiptCommands {
    /// Services whose very name reveals protected vital-event details (PK 120): the receipt names the category.
    static let sensitive: Set<String> = ["child-recognition", "child-adoption", "child-legitimation"]

    static func content(_ app: StoredApplication, store: KioskStore, profile: JurisdictionProfile, kioskName: String,
                        language: Language, statusURL: String?) -> ReceiptContent {
        let service = profile.service(app.service)
        let category = profile.categories.first { $0.id == service?.category }?.name
        let serviceName = Self.sensitive.contains(app.service) ? (category?.text(language) ?? app.service)
            : (service?.name.text(language) ?? app.service)
        var names: [String: String] = [:]
        for r in service?.requirements ?? [] {
            names[r.id] = r.name.text(language)
            for a in r.alternatives ?? [] { names[a.id] = a.name.text(language) }
        }
        let conventions = profile.conventions
        let submitted = app.submittedAt ?? app.createdAt
        let reportDate = conventions.utcOffset.civilDate(of: submitted)
        let facts = (try? store.manifestSource(app.id).facts) ?? [:]
        var expected: [(product: String, due: String)] = []
        if let r = try? RulesEngine(profile: profile).evaluate(service: app.service, eventDate: app.eventDate,
                                                                reportDate: max(reportDate, app.eventDate), facts: facts) {
            for i in r.issuance {
                let due = i.dueAt ?? i.due?.description ?? i.pending?.text(language) ?? "-"
                expected.append((i.name.text(language), due))
            }
        }
        return ReceiptContent(
            dinasName: profile.dinas.text(language), kioskName: kioskName, serviceName: serviceName,
            trackingCode: app.trackingCode, submittedAt: submitted, utcOffset: conventions.utcOffset,
            timeZoneName: conventions.timeZoneName,
            requirements: app.attachments.map { names[$0.requirement] ?? $0.requirement },
            expected: expected,
            complaintChannels: profile.complaintChannels.map { "\($0.label.text(language)): \($0.value)" },
            feeIDR: profile.feeIDR,
            qrText: statusURL.map { "\($0)\($0.contains("?") ? "&" : "?")code=\(app.trackingCode.raw)" } ?? app.trackingCode.formatted)
    }

    static func render(_ raw: [String], global: GlobalOptions, context: CLIContext) throws(CLIError) {
        let args = try Arguments(raw, options: ["application", "out", "lang", "desa", "status-url"], flags: ["json"])
        guard args.positionals == ["render"] else { throw .usage("usage: kioskctl receipt render --application ID --out FILE.pdf") }
        let key = try args.required("application")
        let out = context.resolve(try args.required("out"))
        guard let language = Language(rawValue: args.value("lang") ?? "id") else { throw .usage("--lang is id or en") }
        let store = try global.openStore(context: context)
        let app: StoredApplication
        do { app = try store.application(key) } catch { throw CLIError(store: error) }
        let profile = try ProfileLibrary(option: global.profilesDir, context: context).load(app.profile)
        let config = try global.localConfig(context: context)
        let kioskName = args.value("desa") ?? config.kioskID ?? "Kios Adminduk"
        let pdf = ReceiptRenderer.render(
            self.content(app, store: store, profile: profile, kioskName: kioskName, language: language,
                         statusURL: args.value("status-url")),
            language: language)
        try FileWriter.writeAtomically(pdf, to: out, mode: 0o600)
        if args.has("json") { try context.printJSON(["out": out, "tracking_code": app.trackingCode.formatted]) } else {
            context.print("Tanda terima / receipt: \(out)")
        }
    }
}
