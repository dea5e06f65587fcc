import Foundation
import KioskCore
import KioskService
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

    /// Reads and strictly decodes a submission file into the use case's input.
    static func readSubmission(_ path: String, context: CLIContext) throws(CLIError) -> AssistedSubmission {
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
        return AssistedSubmission(service: file.service, profile: file.profile, applicantNIK: file.applicantNIK,
                                  eventDate: file.eventDate, contact: file.contact, facts: file.facts,
                                  attachments: file.attachments.map { .init(requirement: $0.requirement, path: $0.path) })
    }

    /// Offline (no kioskd): the one submit use case on the data directory.
    static func submit(_ raw: [String], global: GlobalOptions, context: CLIContext) throws(CLIError) {
        let args = try Arguments(raw, options: [], flags: ["json"])
        let path = try args.positional(0, "FILE.json")
        try args.noExtraPositionals(after: 1)
        let submission = try self.readSubmission(path, context: context)
        let profile = try ProfileLibrary(global: global, context: context).load(submission.profile)
        let store = try global.openStore(context: context)
        let receipt: SubmitReceipt
        do {
            receipt = try StaffUseCases(store: store).submit(submission, profile: profile, today: context.today, actor: "resident",
                                                             resolvePath: context.resolve)
        } catch {
            throw CLIError(control: error)
        }
        if args.has("json") {
            try context.printJSON(receipt)
            return
        }
        context.print("Permohonan tersimpan / Application saved")
        context.print("  Kode pelacakan / Tracking code: \(receipt.trackingCode.formatted)")
        context.print("  ID: \(receipt.id.uuidString.lowercased())")
    }

    static func show(_ raw: [String], global: GlobalOptions, context: CLIContext) throws(CLIError) {
        let args = try Arguments(raw, options: [], flags: ["json"])
        let key = try args.positional(0, "ID-OR-TRACKING-CODE")
        try args.noExtraPositionals(after: 1)
        let detail = try Remote.staff(global, context, "staff.application.show", .object(["key": .string(key)])) {
            (s) throws(ControlError) in try s.show(key)
        }
        if args.has("json") {
            try context.printJSON(detail)
            return
        }
        self.printDetail(detail, context: context)
    }

    static func printDetail(_ d: ApplicationDetail, context: CLIContext) {
        let app = d.application
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
        for h in d.history {
            let change = h.from.map { "\($0.rawValue) → \(h.to?.rawValue ?? "")" } ?? h.event
            context.print("    \(KioskJSON.timestamp(h.at))  \(change)  (\(SafeText.visible(h.actor)))\(h.detail.map { "  \(SafeText.visible($0))" } ?? "")")
        }
    }
}

enum QueueCommands {
    static func stats(_ raw: [String], global: GlobalOptions, context: CLIContext) throws(CLIError) {
        let args = try Arguments(raw, options: [], flags: ["json"])
        try args.noExtraPositionals(after: 0)
        let stats = try Remote.staff(global, context, "staff.queue.stats") { (s) throws(ControlError) in try s.queueStats() }
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
        let items = try Remote.staff(global, context, "staff.queue.list", state.map { .object(["state": .string($0.rawValue)]) }) {
            (s) throws(ControlError) in try s.queueList(state: state)
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
        let actor = args.value("actor") ?? "staff"
        let app = try Remote.staff(global, context, "staff.queue.retry", .object(["key": .string(key)])) {
            (s) throws(ControlError) in try s.retry(key, actor: actor)
        }
        if args.has("json") { try context.printJSON(["id": app.id.uuidString.lowercased(), "state": app.state.rawValue]) }
        else { context.print("Dikirim ulang / requeued: \(app.trackingCode.formatted) → \(app.state.rawValue)") }
    }

    static func quarantine(_ raw: [String], global: GlobalOptions, context: CLIContext) throws(CLIError) {
        let args = try Arguments(raw, options: ["reason", "actor"], flags: ["json"])
        let key = try args.positional(0, "ID")
        try args.noExtraPositionals(after: 1)
        let reason = try args.required("reason")
        guard !reason.trimmingCharacters(in: .whitespaces).isEmpty else { throw .usage("--reason must not be empty") }
        let actor = args.value("actor") ?? "staff"
        let app = try Remote.staff(global, context, "staff.queue.quarantine", .object(["key": .string(key), "reason": .string(reason)])) {
            (s) throws(ControlError) in try s.quarantine(key, reason: reason, actor: actor)
        }
        if args.has("json") { try context.printJSON(["id": app.id.uuidString.lowercased(), "state": app.state.rawValue]) }
        else { context.print("Ditahan / quarantined: \(app.trackingCode.formatted) (\(SafeText.visible(reason)))") }
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
