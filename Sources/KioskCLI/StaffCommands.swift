import Foundation
import KioskCore
import KioskSecurity
import KioskService

/// `kioskctl staff …` (issue 17): the staff screen's actions on the command line, each one `staff.*` call through
/// kioskd's socket (the caller must be in `kiosk-staff`; kioskd audits the unix user). `staff pin-hash` works
/// offline: it makes a `staff_pins` entry for a bundle.
enum StaffCommands {
    /// The subcommand, its method, the valued options it takes and how it builds the params from the arguments.
    private struct Route: Sendable {
        var method: String
        var options: Set<String> = []
        var positionals = 0
        var params: @Sendable (Arguments) throws(CLIError) -> JSONValue? = { _ in nil }
    }

    private static let routes: [String: Route] = [
        "status": Route(method: "staff.overview"),
        "restock": Route(method: "staff.restock", options: ["sheets"]) { (a) throws(CLIError) in
            guard let n = Int(try a.required("sheets")), (1...5000).contains(n) else {
                throw CLIError(.dataError, code: "bad_sheets", id: "--sheets harus 1…5000.", en: "--sheets must be 1…5000.", field: "sheets")
            }
            return .object(["sheets": .number(Double(n))])
        },
        "test-print": Route(method: "staff.printer.test"),
        "printer-resume": Route(method: "staff.printer.resume"),
        "test-scan": Route(method: "staff.scanner.test"),
        "redetect": Route(method: "staff.devices.redetect"),
        "today": Route(method: "staff.applications.today"),
        "quarantined": Route(method: "staff.queue.quarantined"),
        "retry": Route(method: "staff.queue.retry", positionals: 1) { (a) throws(CLIError) in
            .object(["key": .string(try a.positional(0, "KEY"))])
        },
        "sync": Route(method: "staff.sync.now"),
        "complaints": Route(method: "staff.complaints.today"),
        "calls": Route(method: "staff.calls.today"),
        "documents": Route(method: "staff.documents", positionals: 1) { (a) throws(CLIError) in
            .object(["tracking_code": .string(try a.positional(0, "TRACKING-CODE"))])
        },
        "reprint": Route(method: "staff.document.reprint", options: ["reason"], positionals: 1) { (a) throws(CLIError) in
            .object(["document_id": .string(try a.positional(0, "DOCUMENT-ID")), "reason": .string(try a.required("reason"))])
        },
    ]

    static let subcommands: Set<String> = Set(routes.keys)

    /// Runs `kioskctl staff SUB …` over `call`; prints JSON with --json, else plain lines.
    static func routed(_ sub: String, _ raw: [String], context: CLIContext,
                       call: (String, JSONValue?) throws(CLIError) -> JSONValue) throws(CLIError) {
        guard let route = self.routes[sub] else { throw .usage("unknown command: staff \(sub)") }
        let args = try Arguments(raw, options: route.options, flags: ["json"])
        try args.noExtraPositionals(after: route.positionals)
        let value = try call(route.method, try route.params(args))
        if args.has("json") {
            try context.printJSON(value)
        } else {
            self.human(sub, value, context: context)
        }
        if sub == "test-print", value["printed"]?.boolValue != true {
            throw CLIError(.failure, code: "not_printed", id: "Halaman uji tidak tercetak.", en: "The test page did not print.")
        }
    }

    private static func text(_ v: JSONValue?) -> String { SafeText.visible(v?.stringValue ?? "-") }

    private static func localized(_ v: JSONValue?) -> String {
        guard let id = v?["id"]?.stringValue else { return "-" }
        let en = v?["en"]?.stringValue ?? id
        return SafeText.visible(id == en ? id : "\(id) / \(en)")
    }

    private static func human(_ sub: String, _ v: JSONValue, context: CLIContext) {
        let rows: [JSONValue] = if case .array(let items) = v { items } else { [] }
        switch sub {
        case "status":
            // What needs action first: faults, then warnings, then the rest.
            var first: [String] = []
            if case .array(let devices)? = v["devices"] {
                for d in devices where ["fault", "warning"].contains(d["health"]?.stringValue ?? "") {
                    first.append("\(self.text(d["kind"])): \(self.localized(d["detail"]))")
                }
            }
            if v["paper_low"]?.boolValue == true { first.append("Kertas hampir habis / paper low: \(v["paper_sheets"]?.intValue ?? 0)") }
            if let q = v["queue"]?["quarantined"]?.intValue, q > 0 { first.append("Dikarantina / quarantined: \(q)") }
            if let calls = v["open_calls"]?.intValue, calls > 0 { first.append("Panggilan warga / resident calls: \(calls)") }
            if let problem = v["config_problem"]?.stringValue { first.append("Konfigurasi / config: \(SafeText.visible(problem))") }
            context.print(first.isEmpty ? "Tidak ada yang perlu ditangani / nothing needs action" : "Perlu ditangani / needs action:")
            for line in first { context.print("  ! \(line)") }
            if case .array(let devices)? = v["devices"] {
                for d in devices { context.print("\(self.text(d["kind"])): \(self.text(d["health"])) — \(self.localized(d["detail"]))") }
            }
            context.print("Kertas / paper: \(v["paper_sheets"]?.intValue.map(String.init) ?? "-")  konfigurasi / config v\(v["config_version"]?.intValue ?? 0)  disk \(v["disk_free_bytes"]?.intValue ?? 0) B")
            context.print("Dinas: kontak terakhir / last contact \(self.text(v["link"]?["last_contact"]))  galat / error \(self.text(v["link"]?["last_error"]))")
        case "restock":
            context.print("Kertas / paper: \(v["remaining"]?.intValue ?? 0) lembar / sheets")
        case "test-print":
            context.print(v["printed"]?.boolValue == true ? "Halaman uji tercetak / test page printed"
                                                         : "Halaman uji TIDAK tercetak / test page NOT printed: \(self.localized(v["problem"]))")
        case "printer-resume":
            context.print("Antrean printer dilanjutkan / printer queue resumed")
        case "test-scan":
            context.print("Pindai uji: \(v["pages"]?.intValue ?? 0) halaman / test scan: \(v["pages"]?.intValue ?? 0) pages (dihapus / deleted)")
        case "redetect":
            if case .array(let devices)? = v["devices"] { for d in devices { context.print(self.text(d)) } }
        case "today", "quarantined":
            if rows.isEmpty { context.print("Tidak ada / none") }
            for r in rows {
                context.print("\(self.text(r["tracking_code"]))  \(self.text(r["service"]))  \(self.text(r["state"]))  NIK \(self.text(r["nik_masked"]))"
                              + (r["reason"]?.stringValue.map { "  (\(SafeText.visible($0)))" } ?? "")
                              + (r["assisted_by"]?.stringValue.map { "  dibantu / assisted: \(SafeText.visible($0))" } ?? ""))
            }
        case "retry":
            context.print("Diantrekan ulang / requeued: \(self.text(v["tracking_code"])) (\(self.text(v["state"])))")
        case "sync":
            context.print("Sinkronisasi dimulai / sync started")
        case "complaints":
            if rows.isEmpty { context.print("Tidak ada / none") }
            for r in rows { context.print("\(self.text(r["reference"]))  \(self.text(r["filed_at"]))  \(self.text(r["summary"]))") }
        case "calls":
            if rows.isEmpty { context.print("Tidak ada / none") }
            for r in rows { context.print("\(self.text(r["at"]))  layar / screen \(self.text(r["screen"]))") }
        case "documents":
            if rows.isEmpty { context.print("Tidak ada / none") }
            for r in rows { context.print("\(self.text(r["id"]))  \(self.text(r["title"]))  dicetak / printed \(r["prints"]?.intValue ?? 0)×") }
        case "reprint":
            context.print(v["printed"]?.boolValue == true ? "Tercetak / printed (\(v["sheets"]?.intValue ?? 0) lembar / sheets)"
                                                         : "Tidak tercetak / not printed: \(self.localized(v["problem"]))")
        default:
            break
        }
    }

    // MARK: pin-hash

    /// `kioskctl staff pin-hash --id ID --name NAME --role petugas|teknisi [--iterations N]`: reads one line of
    /// 4…12 digits from stdin and prints the `staff_pins` entry (PBKDF2-SHA256, a fresh 16-byte salt per PIN).
    static func pinHash(_ raw: [String], context: CLIContext) throws(CLIError) {
        let args = try Arguments(raw, options: ["id", "name", "role", "iterations"], flags: ["json"])
        try args.noExtraPositionals(after: 0)
        let id = try args.required("id")
        let name = try args.required("name")
        guard let role = StaffRole(rawValue: try args.required("role")) else {
            throw CLIError(.usage, code: "bad_role", id: "--role harus petugas atau teknisi.", en: "--role must be petugas or teknisi.",
                           field: "role")
        }
        let iterations = try args.value("iterations").map { (text) throws(CLIError) -> Int in
            guard let n = Int(text), ConfigLimits.pinIterations.contains(n) else {
                throw CLIError(.dataError, code: "bad_iterations",
                               id: "--iterations harus \(ConfigLimits.pinIterations.lowerBound)…\(ConfigLimits.pinIterations.upperBound).",
                               en: "--iterations must be \(ConfigLimits.pinIterations.lowerBound)…\(ConfigLimits.pinIterations.upperBound).",
                               field: "iterations")
            }
            return n
        } ?? StaffEntry.minimumIterations
        guard let line = context.readLine() else {
            throw CLIError(.noInput, code: "no_pin", id: "PIN dibaca dari stdin (satu baris).", en: "The PIN is read from stdin (one line).")
        }
        let pin = line.hasSuffix("\r") ? String(line.dropLast()) : line
        guard StaffEntry.pinLength.contains(pin.utf8.count), pin.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else {
            throw CLIError(.dataError, code: "bad_pin", id: "PIN harus 4…12 angka.", en: "The PIN must be 4…12 digits.", field: "pin")
        }
        let entry: KioskSettings.StaffPIN
        do {
            entry = KioskSettings.StaffPIN(staffID: id, name: name, role: role, pinHash: try PBKDF2.hashPIN(pin, iterations: iterations))
        } catch {
            throw CLIError(.failure, code: "crypto", id: "\(error)", en: "\(error)")
        }
        // The same checks a bundle's staff_pins get.
        var settings = KioskSettings.defaults(desaName: "x")
        settings.staffPins = [entry]
        do {
            try settings.validate(root: "kiosk")
        } catch {
            throw CLIError(.dataError, code: "invalid_entry", id: "\(error)", en: "\(error)")
        }
        try context.printJSON(entry)
    }
}
