import KioskCore

enum RulesCommands {
    static func evaluate(_ raw: [String], profiles: ProfileLibrary, context: CLIContext) throws(CLIError) {
        let args = try Arguments(raw, options: ["profile", "service", "event-date", "report-date", "fact"], flags: ["json"])
        try args.noExtraPositionals(after: 0)
        let profileID = try args.required("profile")
        let serviceID = try args.required("service")
        let event = try CivilDate.parse(try args.required("event-date"), option: "event-date")
        let report = try CivilDate.parse(try args.required("report-date"), option: "report-date")
        var facts = Facts()
        for item in args.options["fact"] ?? [] {
            let parts = item.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, !parts[0].isEmpty else { throw .usage("--fact needs KEY=VALUE, got \"\(item)\"") }
            facts[String(parts[0])] = FactValue(parsing: String(parts[1]))
        }
        let profile = try profiles.load(profileID)
        let result: RuleEvaluation
        do {
            result = try RulesEngine(profile: profile).evaluate(
                service: serviceID, eventDate: event, reportDate: report, facts: facts)
        } catch {
            throw CLIError(data: error.message, code: error.code)
        }
        if args.has("json") {
            try context.printJSON(result)
            return
        }
        let service = profile.service(serviceID)!
        context.print("\(service.name.bilingual) — \(profile.name.bilingual)")
        context.print("  Tanggal peristiwa / Event date:   \(result.eventDate) (\(service.event.id))")
        context.print("  Tanggal lapor / Report date:      \(result.reportDate)")
        context.print("  Batas waktu / Deadline:           \(result.deadline?.description ?? "-")")
        context.print("  Hari terlambat / Days late:       \(result.daysLate)")
        context.print("  Kategori / Tier:                  \(result.tier?.label.bilingual ?? "tidak dinilai / not assessed") [\(result.assessment.rawValue)]")
        let fine = result.fineIDR.map { "Rp \($0)" + (result.fineIndicative ? " (indikatif / indicative)" : "") } ?? "-"
        context.print("  Denda / Fine:                     \(fine)")
        context.print("  Penerbitan / Issuance:")
        for i in result.issuance {
            var due = i.dueAt ?? i.due?.description ?? "-"
            if let p = i.pending { due += " (\(p.bilingual))" }
            context.print("    - \(i.name.id): \(due)\(i.reference.map { " [\($0)]" } ?? "")")
            if let v = i.validUntil { context.print("      berlaku sampai / valid until \(v)") }
            if let s = i.signer { context.print("      ditandatangani / signed by: \(s.bilingual)") }
        }
        context.print("  Dasar hukum / References: \(result.references.joined(separator: "; "))")
        for n in result.notes { context.print("  * \(n.id)\n    \(n.en ?? "")") }
    }
}
