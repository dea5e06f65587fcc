import Foundation
import KioskCore
import KioskStore

enum ApplicationCommands {
    /// The submission file of `kioskctl application submit`.
    struct SubmissionFile: Decodable {
        struct Attachment: Decodable {
            var requirement: String
            var path: String
        }

        var service: String
        var profile: String
        var applicantNIK: String
        var eventDate: String
        var contact: String?
        var facts: [String: FactValue]?
        var attachments: [Attachment]

        enum CodingKeys: String, CodingKey {
            case service, profile, contact, facts, attachments
            case applicantNIK = "applicant_nik"
            case eventDate = "event_date"
        }
    }

    static func submit(_ raw: [String], global: GlobalOptions, context: CLIContext) throws(CLIError) {
        let args = try Arguments(raw, options: [], flags: ["json"])
        let path = try args.positional(0, "FILE.json")
        try args.noExtraPositionals(after: 1)
        let file: SubmissionFile
        do {
            file = try StrictJSON.decode(SubmissionFile.self, from: try context.read(path, what: "permohonan / submission"),
                                         root: "submission")
        } catch let e as CLIError {
            throw e
        } catch let e as ValidationError {
            throw CLIError(.dataError, code: "invalid_submission", id: "Berkas permohonan tidak sah: \(e)",
                           en: "Invalid submission file: \(e)", field: e.field)
        } catch {
            throw CLIError(.dataError, code: "invalid_submission", id: "\(error)", en: "\(error)")
        }
        let profile = try ProfileLibrary(global: global, context: context).load(file.profile)
        guard let service = profile.service(file.service) else {
            throw CLIError(data: RulesError.unknownService(service: file.service, profile: profile.id).message,
                           code: "unknown_service", field: "service")
        }
        guard service.kioskAvailable != false else {
            throw CLIError(.dataError, code: "not_a_kiosk_service", id: "Layanan \(service.id) tidak dapat diajukan di kios.",
                           en: "Service \(service.id) cannot be applied for at a kiosk.", field: "service")
        }
        let nik: NIK
        do {
            nik = try NIK(file.applicantNIK, today: context.today)
        } catch {
            throw CLIError(data: error.message, code: "invalid_nik", field: "applicant_nik")
        }
        let event = try CivilDate.parse(file.eventDate, option: "event_date")
        guard event <= context.today else {
            throw CLIError(.dataError, code: "future_event_date", id: "Tanggal peristiwa \(event) belum terjadi.",
                           en: "The event date \(event) is in the future.", field: "event_date")
        }
        let known = Set(service.requirements.flatMap { [$0.id] + ($0.alternatives ?? []).map(\.id) })
        for (i, a) in file.attachments.enumerated() where !known.isEmpty && !known.contains(a.requirement) {
            throw CLIError(.dataError, code: "unknown_requirement",
                           id: "Persyaratan \"\(a.requirement)\" tidak dikenal untuk \(service.id) (dikenal: \(known.sorted().joined(separator: ", "))).",
                           en: "Requirement \"\(a.requirement)\" is not known for \(service.id) (known: \(known.sorted().joined(separator: ", "))).",
                           field: "attachments[\(i)].requirement")
        }
        do throws(RulesError) {
            try service.checkSubmission(facts: file.facts ?? [:], contact: file.contact)
        } catch {
            let field: String
            switch error {
            case .unknownFact(let key, _), .badFact(let key, _), .missingFact(let key, _): field = "facts.\(key)"
            case .invalidText(let name, _): field = name
            default: field = "facts"
            }
            throw CLIError(data: error.message, code: error.code, field: field)
        }
        let store = try global.openStore(context: context)
        let receipt: SubmitReceipt
        do {
            receipt = try store.submit(NewApplication(
                service: service.id, profile: profile.id, applicant: nik, eventDate: event, contact: file.contact,
                facts: file.facts ?? [:],
                attachments: file.attachments.map { NewAttachment(requirement: $0.requirement, path: context.resolve($0.path)) }))
        } catch {
            throw CLIError(store: error)
        }
        if args.has("json") {
            try context.printJSON(receipt)
            return
        }
        context.print("Permohonan tersimpan / Application saved")
        context.print("  Kode pelacakan / Tracking code: \(receipt.trackingCode.formatted)")
        context.print("  ID: \(receipt.id.uuidString.lowercased())")
    }

    struct ShowOutput: Encodable {
        var application: StoredApplication
        var history: [AuditEntry]
    }

    static func show(_ raw: [String], global: GlobalOptions, context: CLIContext) throws(CLIError) {
        let args = try Arguments(raw, options: [], flags: ["json"])
        let key = try args.positional(0, "ID-OR-TRACKING-CODE")
        try args.noExtraPositionals(after: 1)
        let store = try global.openStore(context: context)
        let app: StoredApplication
        let history: [AuditEntry]
        do {
            app = try store.application(key)
            history = try store.history(app.id)
        } catch {
            throw CLIError(store: error)
        }
        if args.has("json") {
            try context.printJSON(ShowOutput(application: app, history: history))
            return
        }
        context.print("Permohonan / Application \(app.trackingCode.formatted)  (\(app.id.uuidString.lowercased()))")
        context.print("  Layanan / Service:   \(SafeText.visible(app.service)) [\(SafeText.visible(app.profile))]")
        context.print("  Pemohon / Applicant: NIK \(app.applicantNIKMasked)")
        context.print("  Status:              \(app.state.rawValue) — \(app.state.label.bilingual)")
        if let reason = app.stateReason { context.print("  Alasan / Reason:     \(SafeText.visible(reason))") }
        context.print("  Dokumen / Attachments (\(app.attachmentCount), \(app.totalBytes) bytes):")
        for a in app.attachments {
            context.print("    \(a.seq). \(SafeText.visible(a.requirement))  \(a.size) bytes  sha256 \(a.sha256)\(a.purged ? "  [dihapus / purged]" : "")")
        }
        context.print("  Riwayat / History:")
        for h in history {
            let change = h.from.map { "\($0.rawValue) → \(h.to?.rawValue ?? "")" } ?? h.event
            context.print("    \(h.at.formatted(.iso8601))  \(change)  (\(SafeText.visible(h.actor)))\(h.detail.map { "  \(SafeText.visible($0))" } ?? "")")
        }
    }
}

enum QueueCommands {
    static func stats(_ raw: [String], global: GlobalOptions, context: CLIContext) throws(CLIError) {
        let args = try Arguments(raw, options: [], flags: ["json"])
        try args.noExtraPositionals(after: 0)
        let stats: QueueStats
        do { stats = try global.openStore(context: context).queueStats() } catch let e as CLIError { throw e } catch {
            throw CLIError(store: error as! StoreError)
        }
        if args.has("json") {
            try context.printJSON(stats)
            return
        }
        context.print("Antrean / Queue")
        for state in ApplicationState.allCases where (stats.counts[state.rawValue] ?? 0) > 0 {
            context.print("  \(state.rawValue.padding(toLength: 24, withPad: " ", startingAt: 0)) \(stats.counts[state.rawValue]!)")
        }
        context.print("  Menunggu kirim / pending bytes: \(stats.bytesPending)")
        context.print("  Tertua belum terkirim / oldest undelivered: \(stats.oldestUndeliveredSeconds.map { "\($0) s" } ?? "-")")
    }

    static func list(_ raw: [String], global: GlobalOptions, context: CLIContext) throws(CLIError) {
        let args = try Arguments(raw, options: ["state"], flags: ["json"])
        try args.noExtraPositionals(after: 0)
        var state: ApplicationState?
        if let s = args.value("state") {
            guard let parsed = ApplicationState(rawValue: s) else {
                throw CLIError(.dataError, code: "unknown_state", id: "Status \"\(s)\" tidak dikenal.",
                               en: "Unknown state \"\(s)\" (one of \(ApplicationState.allCases.map(\.rawValue).joined(separator: ", "))).",
                               field: "state")
            }
            state = parsed
        }
        let items: [QueueItem]
        do { items = try global.openStore(context: context).queueList(state: state) } catch let e as CLIError { throw e } catch {
            throw CLIError(store: error as! StoreError)
        }
        if args.has("json") {
            try context.printJSON(items)
            return
        }
        for i in items {
            var line = "\(i.trackingCode.formatted)  \(i.applicationID.uuidString.lowercased())  \(SafeText.visible(i.service))  \(i.applicationState.rawValue)  attempts=\(i.attempts)"
            if let r = i.quarantineReason { line += "  reason=\(SafeText.visible(r))" } else if let e = i.lastError { line += "  last_error=\(SafeText.visible(e))" }
            context.print(line)
        }
        if items.isEmpty { context.print("(kosong / empty)") }
    }

    static func retry(_ raw: [String], global: GlobalOptions, context: CLIContext) throws(CLIError) {
        let args = try Arguments(raw, options: ["actor"], flags: ["json"])
        let key = try args.positional(0, "ID")
        try args.noExtraPositionals(after: 1)
        let store = try global.openStore(context: context)
        do {
            let app = try store.application(key)
            try store.requeue(app.id, actor: args.value("actor") ?? "staff")
            let now = try store.application(key)
            if args.has("json") { try context.printJSON(["id": now.id.uuidString.lowercased(), "state": now.state.rawValue]) }
            else { context.print("Dikirim ulang / requeued: \(now.trackingCode.formatted) → \(now.state.rawValue)") }
        } catch let e as CLIError { throw e } catch {
            throw CLIError(store: error as! StoreError)
        }
    }

    static func quarantine(_ raw: [String], global: GlobalOptions, context: CLIContext) throws(CLIError) {
        let args = try Arguments(raw, options: ["reason", "actor"], flags: ["json"])
        let key = try args.positional(0, "ID")
        try args.noExtraPositionals(after: 1)
        let reason = try args.required("reason")
        guard !reason.trimmingCharacters(in: .whitespaces).isEmpty else { throw .usage("--reason must not be empty") }
        let store = try global.openStore(context: context)
        do {
            let app = try store.application(key)
            try store.quarantine(app.id, reason: reason, actor: args.value("actor") ?? "staff")
            if args.has("json") { try context.printJSON(["id": app.id.uuidString.lowercased(), "state": "quarantined"]) }
            else { context.print("Ditahan / quarantined: \(app.trackingCode.formatted) (\(SafeText.visible(reason)))") }
        } catch let e as CLIError { throw e } catch {
            throw CLIError(store: error as! StoreError)
        }
    }
}

enum StoreCommands {
    static func check(_ raw: [String], global: GlobalOptions, context: CLIContext) throws(CLIError) {
        let args = try Arguments(raw, options: [], flags: ["json"])
        try args.noExtraPositionals(after: 0)
        let report: CheckReport
        do { report = try global.openStore(context: context).check() } catch let e as CLIError { throw e } catch {
            throw CLIError(store: error as! StoreError)
        }
        if args.has("json") {
            try context.printJSON(report)
        } else {
            context.print("integrity_check: \(report.integrity.joined(separator: "; "))")
            context.print("permohonan / applications: \(report.applications), berkas diperiksa / attachments checked: \(report.attachmentsChecked)")
            for p in report.problems {
                context.print("  MASALAH / PROBLEM \(SafeText.visible(p.applicationID)) \(SafeText.visible(p.file ?? "")): \(p.issue)")
            }
            context.print(report.ok ? "OK" : "GAGAL / FAILED")
        }
        if !report.ok {
            throw CLIError(.failure, code: "check_failed", id: "Pemeriksaan penyimpanan gagal.", en: "Store check failed.")
        }
    }
}
