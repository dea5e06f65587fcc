import KioskCore

enum CatalogCommands {
    struct Entry: Encodable {
        var id: String
        var name: LocalizedText
        var category: String
        var kioskAvailable: Bool
        var hasDeadlineRule: Bool

        enum CodingKeys: String, CodingKey {
            case id, name, category
            case kioskAvailable = "kiosk_available"
            case hasDeadlineRule = "has_deadline_rule"
        }
    }

    static func list(_ raw: [String], profiles: ProfileLibrary, context: CLIContext) throws(CLIError) {
        let args = try Arguments(raw, options: ["profile"], flags: ["json"])
        try args.noExtraPositionals(after: 0)
        let profile = try profiles.load(try args.required("profile"))
        let entries = profile.services.map {
            Entry(id: $0.id, name: $0.name, category: $0.category, kioskAvailable: $0.kioskAvailable ?? true,
                  hasDeadlineRule: $0.deadline != nil)
        }
        if args.has("json") {
            try context.printJSON(entries)
            return
        }
        context.print("\(profile.name.bilingual) — \(profile.dinas.id)")
        for category in profile.categories {
            let members = entries.filter { $0.category == category.id }
            guard !members.isEmpty else { continue }
            context.print("\n\(category.name.bilingual)")
            for e in members {
                let flag = e.kioskAvailable ? "" : "  [bukan layanan kios / not a kiosk service]"
                context.print("  \(e.id.padding(toLength: 24, withPad: " ", startingAt: 0)) \(e.name.bilingual)\(flag)")
            }
        }
    }

    static func show(_ raw: [String], profiles: ProfileLibrary, context: CLIContext) throws(CLIError) {
        let args = try Arguments(raw, options: ["profile"], flags: ["json"])
        let id = try args.positional(0, "SERVICE")
        try args.noExtraPositionals(after: 1)
        let profile = try profiles.load(try args.required("profile"))
        guard let s = profile.service(id) else {
            throw CLIError(data: RulesError.unknownService(service: id, profile: profile.id).message,
                           code: "unknown_service", field: "service")
        }
        if args.has("json") {
            try context.printJSON(s)
            return
        }
        context.print("\(s.name.bilingual)  [\(s.id), \(profile.id)]")
        if s.kioskAvailable == false { context.print("Bukan layanan kios / Not a kiosk service") }
        context.print("Peristiwa / Event date means: \(s.event.bilingual)")
        context.print("Biaya / Fee: Rp \(profile.feeIDR) (\(profile.feeReference))")
        context.print("\nPersyaratan / Requirements:")
        if s.requirements.isEmpty { context.print("  (tidak tercantum / none listed — lihat catatan / see notes)") }
        for r in s.requirements {
            var line = "  - \(r.name.bilingual)"
            if r.optional == true { line += " [tidak wajib / optional]" }
            if r.appliesWhen != nil { line += " [bersyarat / conditional]" }
            if let ref = r.reference { line += " (\(ref))" }
            line += " — \((r.basis ?? .dinas).label.bilingual)"
            if r.pageLimit != 10 { line += "; ≤ \(r.pageLimit) hlm / pages" }
            context.print(line)
            for a in r.alternatives ?? [] {
                context.print("      atau / or: \(a.name.bilingual)\(a.reference.map { " (\($0))" } ?? "")")
            }
        }
        if let form = s.form, !form.isEmpty {
            context.print("\nFormulir elektronik / Electronic form:")
            for f in form {
                var line = "  - \(f.key) (\(f.kind.rawValue)): \(f.label.bilingual)"
                if !f.isRequired { line += " [tidak wajib / optional]" }
                if f.isProtected { line += " [dilindungi / protected]" }
                if f.appliesWhen != nil { line += " [bersyarat / conditional]" }
                if let ref = f.reference { line += " (\(ref))" }
                context.print(line)
            }
        }
        context.print("\nPelapor / Who reports:")
        for r in s.reporters { context.print("  - \(r.bilingual)") }
        context.print("\nProduk / Products:")
        for p in s.products {
            let print = p.printableAtKiosk ? "dapat dicetak di kios / printable at the kiosk" : "tidak dicetak di kios / not printed at the kiosk"
            let sla = p.sla.map { "\($0.period.label.bilingual) (\($0.reference))" } ?? "tidak ditetapkan / not set"
            context.print("  - \(p.name.bilingual) — \(print)")
            context.print("      Jangka waktu / Issuance time: \(sla)")
            for signer in p.signers ?? [] {
                context.print("      Penandatangan / Signer: \(signer.signer.bilingual)\(signer.reference.map { " (\($0))" } ?? "")")
            }
        }
        context.print("\nBatas waktu lapor / Reporting deadline: " + {
            guard let d = s.deadline else { return "tidak ada aturan dalam profil ini / no rule in this profile" }
            guard let p = d.period else { return "tidak ada / none (\(d.reference))" }
            return "\(p.label.bilingual) (\(d.reference))"
        }())
        for t in s.lateTiers ?? [] {
            let within = t.within.map { " ≤ \($0.label.bilingual)" } ?? ""
            context.print("  Terlambat\(within): \(t.tier.label.bilingual) (\(t.reference))")
        }
        if let f = s.fine { context.print("Denda / Fine: Rp \(f.amountIDR) (\(f.reference))") }
        context.print("Dasar hukum / References: \(s.references.joined(separator: ", "))")
        if let gaps = s.gaps, !gaps.isEmpty {
            context.print("\nCatatan / Notes:")
            for g in gaps { context.print("  - \(g.id)\n    \(g.en ?? "")") }
        }
    }
}
