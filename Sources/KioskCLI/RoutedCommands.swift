import Foundation
import KioskCore
import KioskService
import KioskStore

/// The commands that go through kioskd's socket while it runs. `run` returns false when the command is not one
/// of them, or no kioskd runs and the command works offline (the caller then runs the offline body).
enum RoutedCommands {
    static func run(_ args: [String], global: GlobalOptions, context: CLIContext) throws(CLIError) -> Bool {
        let name = args.first == "status" ? "status" : args.prefix(2).joined(separator: " ")
        let rest = Array(args.dropFirst(2))
        let staff = args.first == "staff" && args.count > 1 && StaffCommands.subcommands.contains(args[1])
        let needsDaemon: Set<String> = ["status", "sync now", "devices redetect"]
        let routed: Set<String> = ["application submit", "printer test", "config apply", "config rollback", "devices list"]
        guard staff || needsDaemon.contains(name) || routed.contains(name) else { return false }
        // One connection for the whole command.
        guard let client = try Remote.client(global, context) else {
            if staff || needsDaemon.contains(name) {
                throw CLIError(.unavailable, code: "not_running",
                               id: "kioskd tidak berjalan (soket \(Remote.socketPath(global, context))).",
                               en: "kioskd is not running (socket \(Remote.socketPath(global, context))).")
            }
            if name == "config rollback" {
                try self.offlineRollback(rest, global: global, context: context)
                return true
            }
            return false
        }
        defer { client.close() }
        let json = args.contains("--json")
        func call(_ method: String, _ params: JSONValue? = nil) throws(CLIError) -> JSONValue {
            do { return try client.callBlocking(method, params) } catch { throw CLIError(control: error) }
        }
        func out(_ value: JSONValue, _ human: () -> Void) throws(CLIError) {
            if json { try context.printJSON(value) } else { human() }
        }
        if staff {
            try StaffCommands.routed(args[1], rest, context: context, call: call)
            return true
        }
        switch name {
        case "status":
            let v = try call("staff.status")
            try out(v) {
                context.print("kioskd \(v["version"]?.stringValue ?? "?")  kios / kiosk \(v["kiosk_id"]?.stringValue ?? "?")  PID \(v["pid"]?.intValue ?? 0)  uptime \(v["uptime_seconds"]?.intValue ?? 0) s  health \(SafeText.visible(v["health"]?.stringValue ?? "?"))")
                let c = v["config"]
                context.print("Konfigurasi / config: versi \(c?["version"]?.intValue ?? 0) (\(SafeText.visible(c?["source"]?.stringValue ?? ""))), desa \(SafeText.visible(c?["desa_name"]?.stringValue ?? ""))"
                              + (c?["refused"]?.stringValue.map { "; DITOLAK / REFUSED: \(SafeText.visible($0))" } ?? ""))
                let d = v["devices"]
                context.print("Printer: \(d?["printer"]?["kind"]?.stringValue ?? "?") \(d?["printer"]?["state"]?.stringValue ?? "?") \((d?["printer"]?["problem"]?.stringValue).map(SafeText.visible) ?? "")")
                context.print("Pemindai / scanner: \(d?["scanner"]?["present"]?.boolValue == true ? "ada / present" : "tidak ada / absent")  Pembaca kartu / card reader: \(d?["card_reader"]?["present"]?.boolValue == true ? "ada / present" : "tidak ada / absent")")
                let q = v["queue"]?["queue_counts"]
                context.print("Antrean / queue: pending \(q?["pending"]?.intValue ?? 0), quarantined \(q?["quarantined"]?.intValue ?? 0); kertas / paper \(v["paper"]?["remaining"]?.intValue ?? 0)")
                let s = v["sync"]
                context.print("Sinkron / sync: last success \(s?["last_success"]?.stringValue ?? "-"), last error \((s?["last_error"]?.stringValue).map(SafeText.visible) ?? "-"), next \(s?["next_attempt"]?.stringValue ?? "-")  Dinas \(v["dinas"]?.stringValue ?? "tidak ada / none")")
                context.print("Disk bebas / free: \(v["disk_free_bytes"]?.intValue ?? 0) bytes")
            }
        case "sync now":
            let v = try call("staff.sync.now")
            try out(v) { context.print("Sinkronisasi dimulai / sync started") }
        case "application submit":
            let args = try Arguments(rest, options: [], flags: ["json"])
            let path = try args.positional(0, "FILE.json")
            var submission = try ApplicationCommands.readSubmission(path, context: context)
            // kioskd opens no path a client names: the files travel as their bytes, read with this user's rights.
            for (i, a) in submission.attachments.enumerated() {
                guard let p = a.path else { continue }
                let data: Data
                do {
                    data = try Data(contentsOf: URL(fileURLWithPath: context.resolve(p)))
                } catch {
                    throw CLIError(.noInput, code: "attachment_missing", id: "Lampiran \(p) tidak dapat dibaca.",
                                   en: "Attachment \(p) cannot be read.", field: "attachments[\(i)].path")
                }
                submission.attachments[i] = AssistedSubmission.Attachment(
                    requirement: a.requirement, dataBase64: data.base64EncodedString(), fileExtension: (p as NSString).pathExtension)
            }
            let params: JSONValue
            do { params = .object(["submission": try JSONValue(encoding: submission)]) } catch {
                throw CLIError(.failure, code: "encode", id: "\(error)", en: "\(error)")
            }
            let v = try call("staff.submit", params)
            try out(v) {
                context.print("Permohonan tersimpan / Application saved")
                context.print("  Kode pelacakan / Tracking code: \(v["tracking_code"]?.stringValue ?? "?")")
                context.print("  ID: \(v["id"]?.stringValue ?? "?")")
            }
        case "printer test":
            let v = try call("staff.printer.test")
            try out(v) { context.print(v["printed"]?.boolValue == true ? "Halaman uji tercetak / test page printed" : "Halaman uji TIDAK tercetak / test page NOT printed: \(SafeText.visible(v["detail"]?.stringValue ?? ""))") }
            if v["printed"]?.boolValue != true { throw CLIError(.failure, code: "not_printed", id: "Tidak tercetak.", en: "Not printed.") }
        case "config apply":
            let args = try Arguments(rest, options: ["kiosk-id", "trusted-key"], flags: ["json"])
            let data = try context.read(try args.positional(0, "BUNDLE"), what: "bundel / bundle")
            let v = try call("technician.config.apply", .object(["bundle": .string(String(decoding: data, as: UTF8.self))]))
            try out(.object(["version": v["version"] ?? .null])) {
                context.print("Konfigurasi versi / config version \(v["version"]?.intValue ?? 0) diterapkan / applied"
                              + (v["live"]?.boolValue == true ? "" : " (berlaku setelah sesi warga selesai / in force when the resident session ends)"))
            }
        case "config rollback":
            let v = try call("technician.config.rollback")
            try out(v) { context.print("Konfigurasi kembali ke versi / config rolled back to version \(v["to"]?.intValue ?? 0) (dari / from \(v["from"]?.intValue ?? 0))") }
        case "devices redetect":
            let v = try call("technician.devices.redetect")
            try out(v) {
                if case .array(let items)? = v["devices"] { for i in items { context.print(SafeText.visible(i.stringValue ?? "")) } }
            }
        case "devices list":
            let v = try call("staff.devices.list")
            try out(v) {
                if case .array(let items) = v {
                    for i in items { context.print(SafeText.visible("\(i["role"]?.stringValue ?? "?")  \(i["devnode"]?.stringValue ?? "-")  \(i["syspath"]?.stringValue ?? "")")) }
                }
            }
        default:
            return false
        }
        return true
    }

    static func offlineRollback(_ raw: [String], global: GlobalOptions, context: CLIContext) throws(CLIError) {
        let args = try Arguments(raw, options: ["trusted-key"], flags: ["json"])
        let config = try global.config(context: context)
        let trusted = try SyncCommands.trustedKeys(args, config: config, context: context)
        guard !trusted.isEmpty else { throw .usage("--trusted-key is required") }
        do {
            let store = try ConfigBundleStore(dataDirectory: try global.dataDirectory(context: context))
            let (from, to) = try store.rollback(trusted: trusted)
            if args.has("json") { try context.printJSON(["from": from, "to": to.payload.version]) } else {
                context.print("Konfigurasi kembali ke versi / config rolled back to version \(to.payload.version) (dari / from \(from))")
            }
        } catch let e as ConfigRollbackError {
            throw CLIError(.dataError, code: "rollback_failed", id: "Tidak dapat kembali: \(e)", en: "Cannot roll back: \(e)")
        } catch let e as CLIError {
            throw e
        } catch {
            throw CLIError(.failure, code: "rollback_failed", id: "\(error)", en: "\(error)")
        }
    }
}
