import Foundation
import KioskCore
import KioskDevices
import KioskService
import KioskStore

enum PrinterCommands {
    static func printer(_ args: Arguments, global: GlobalOptions, context: CLIContext) throws(CLIError) -> CUPSPrinter {
        let config = try global.config(context: context)
        let q: String?
        switch (args.value("printer"), config.devices.printer) {
        case (let name?, _): q = name
        case (nil, .named(let name)): q = name
        case (nil, .auto): q = nil
        case (nil, .simulated):
            throw CLIError(.noInput, code: "no_printer",
                           id: "devices.printer adalah \"simulated\": kioskctl hanya memakai antrean CUPS sungguhan; pakai --printer ANTREAN.",
                           en: "devices.printer is \"simulated\": kioskctl drives only a real CUPS queue; use --printer QUEUE.",
                           field: "devices.printer")
        }
        switch SyncCommands.blocking({ () -> Result<CUPSPrinter, PrinterError> in
            do throws(PrinterError) { return .success(try await CUPSPrinter(queue: q)) } catch { return .failure(error) }
        }) {
        case .success(let p): return p
        case .failure(let error): throw CLIError(.failure, code: "no_printer", id: error.message.id, en: error.message.en ?? "")
        }
    }

    static func status(_ raw: [String], global: GlobalOptions, context: CLIContext) throws(CLIError) {
        let args = try Arguments(raw, options: ["printer"], flags: ["json"])
        try args.noExtraPositionals(after: 0)
        let p = try self.printer(args, global: global, context: context)
        let status: PrinterStatus
        switch SyncCommands.blocking({ () -> Result<PrinterStatus, PrinterError> in
            do throws(PrinterError) { return .success(try await p.status()) } catch { return .failure(error) }
        }) {
        case .success(let s): status = s
        case .failure(let e): throw CLIError(.failure, code: "printer_unavailable", id: e.message.id, en: e.message.en ?? "")
        }
        if args.has("json") {
            try context.printJSON(status)
            return
        }
        context.print("Printer \(status.queue): \(status.state)\(status.acceptingJobs ? "" : " (menolak pekerjaan / rejecting jobs)")")
        context.print("  Alasan / reasons: \(status.reasons.isEmpty ? "none" : status.reasons.joined(separator: ", "))")
        if !status.message.isEmpty { context.print("  Pesan / message: \(status.message)") }
        for m in status.markers { context.print("  \(m.name): \(m.level.map { "\($0)%" } ?? "?")") }
        if let problem = status.problem { context.print("  ! \(problem.bilingual)") }
    }

    static func runPrint(_ printer: CUPSPrinter, path: String, title: String, copies: Int, timeout: Double)
        -> Result<PrintOutcome, PrinterError>
    {
        SyncCommands.blocking {
            do throws(PrinterError) {
                return .success(try await printer.print(path: path, title: title, copies: copies, timeout: timeout))
            } catch {
                return .failure(error)
            }
        }
    }

    static func print(_ raw: [String], global: GlobalOptions, context: CLIContext) throws(CLIError) {
        let args = try Arguments(raw, options: ["printer", "copies", "timeout"], flags: ["json", "wait"])
        let path = context.resolve(try args.positional(0, "FILE.pdf"))
        try args.noExtraPositionals(after: 1)
        guard let copies = Int(args.value("copies") ?? "1"), (1...20).contains(copies) else { throw .usage("--copies must be 1…20") }
        let p = try self.printer(args, global: global, context: context)
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw CLIError(.noInput, code: "no_input", id: "Tidak dapat membaca \(path).", en: "Cannot read \(path).")
        }
        if !args.has("wait") {
            let r = SyncCommands.blocking { () -> Result<Int, PrinterError> in
                do throws(PrinterError) { return .success(try await p.submit(path: path, title: (path as NSString).lastPathComponent, copies: copies)) } catch { return .failure(error) }
            }
            switch r {
            case .success(let id):
                if args.has("json") { try context.printJSON(["job_id": id]) } else { context.print("Pekerjaan cetak / print job \(id) diterima / accepted") }
                return
            case .failure(let e): throw CLIError(.failure, code: "print_failed", id: e.message.id, en: e.message.en ?? "")
            }
        }
        let configured = Double(try global.config(context: context).printer.jobTimeoutSeconds)
        let timeout = Double(args.value("timeout") ?? "") ?? configured
        switch self.runPrint(p, path: path, title: (path as NSString).lastPathComponent, copies: copies, timeout: timeout) {
        case .success(let o):
            if args.has("json") { try context.printJSON(o) } else {
                context.print(o.printed ? "Tercetak / printed (job \(o.jobID), \(o.sheets) lembar / sheets)" : "GAGAL CETAK / print failed: \(o.detail)")
            }
            if !o.printed {
                throw CLIError(.failure, code: "print_failed", id: "Cetak gagal (\(o.detail)); dokumen disimpan, hubungi petugas.",
                               en: "Printing failed (\(o.detail)); the document is kept, ask staff.")
            }
        case .failure(let e): throw CLIError(.failure, code: "print_failed", id: e.message.id, en: e.message.en ?? "")
        }
    }

    /// Prints the ready documents of an application, recording each print (or failure) in the store.
    static func printApplication(_ raw: [String], global: GlobalOptions, context: CLIContext) throws(CLIError) {
        let args = try Arguments(raw, options: ["printer", "product", "trusted-key"], flags: ["json"])
        let key = try args.positional(0, "ID-OR-TRACKING-CODE")
        try args.noExtraPositionals(after: 1)
        let config = try global.config(context: context)
        let store = try global.openStore(context: context)
        let app: StoredApplication
        let docs: [StoredDocument]
        do {
            app = try store.application(key)
            docs = try store.documents(app.id).filter { args.value("product") == nil || $0.product == args.value("product") }
        } catch { throw CLIError(store: error) }
        guard !docs.isEmpty else {
            throw CLIError(.dataError, code: "no_documents", id: "Belum ada dokumen siap untuk \(app.trackingCode.formatted).",
                           en: "No documents are ready for \(app.trackingCode.formatted).")
        }
        let p = try self.printer(args, global: global, context: context)
        let trusted = try SyncCommands.trustedKeys(args, config: config, context: context)
        var outcomes: [[String: String]] = []
        var failed = false
        for doc in docs {
            do {
                guard try store.mayPrint(documentID: doc.documentID, reprintLimit: config.printer.reprintLimit) else {
                    throw CLIError(.dataError, code: "reprint_limit", id: "Batas cetak ulang \(doc.product) tercapai; hubungi petugas.",
                                   en: "The reprint limit for \(doc.product) is reached; ask staff.")
                }
                // Verified again (hash and Dinas signature) immediately before printing; a refusal is recorded.
                guard case .verified(let path) = try store.verifyForPrint(documentID: doc.documentID, trusted: trusted, actor: "kiosk") else {
                    failed = true
                    outcomes.append(["product": doc.product, "printed": "false", "detail": "verification failed"])
                    if !args.has("json") {
                        context.print("TIDAK DICETAK — dokumen tidak lolos verifikasi, hubungi petugas / NOT PRINTED — document failed verification, ask staff: \(SafeText.visible(doc.product))")
                    }
                    continue
                }
                let result = self.runPrint(p, path: path, title: "\(app.trackingCode.formatted) \(doc.product)", copies: 1,
                                           timeout: Double(config.printer.jobTimeoutSeconds))
                let (printed, sheets, detail): (Bool, Int, String) = switch result {
                case .success(let o): (o.printed, o.sheets, o.detail)
                case .failure(let e): (false, 0, e.message.en ?? e.message.id)
                }
                try store.recordPrint(documentID: doc.documentID, printed: printed, sheets: sheets, detail: detail, actor: "kiosk")
                failed = failed || !printed
                outcomes.append(["product": doc.product, "printed": String(printed), "detail": detail])
                if !args.has("json") {
                    context.print(printed ? "Tercetak / printed: \(doc.product)" : "GAGAL CETAK — hubungi petugas / PRINT FAILED — ask staff: \(doc.product) (\(detail))")
                }
            } catch let e as CLIError { throw e } catch let e as StoreError { throw CLIError(store: e) } catch {
                throw CLIError(.failure, code: "print_failed", id: "\(error)", en: "\(error)")
            }
        }
        if args.has("json") { try context.printJSON(outcomes) }
        if failed {
            throw CLIError(.failure, code: "print_failed", id: "Sebagian dokumen gagal dicetak; dokumen disimpan.",
                           en: "Some documents failed to print; they are kept for a reprint.")
        }
    }

    static func recover(_ raw: [String], global: GlobalOptions, context: CLIContext) throws(CLIError) {
        let args = try Arguments(raw, options: ["printer", "seconds", "interval"], flags: ["json"])
        try args.noExtraPositionals(after: 0)
        let p = try self.printer(args, global: global, context: context)
        let seconds = Double(args.value("seconds") ?? "0") ?? 0
        let interval = Double(args.value("interval") ?? "2") ?? 2
        let resumed = SyncCommands.blocking { () -> Bool in
            let end = Date().addingTimeInterval(seconds)
            repeat {
                if await p.recoverIfPossible() { return true }
                // Nothing to wait for when the queue is not paused.
                if let s = try? await p.status(), s.state != "stopped" { return false }
                try? await Task.sleep(nanoseconds: UInt64(interval * 1e9))
            } while Date() < end
            return false
        }
        if args.has("json") { try context.printJSON(["resumed": resumed]) } else {
            context.print(resumed ? "Antrean dilanjutkan / queue resumed" : "Tidak ada yang dilanjutkan / nothing resumed")
        }
    }

    static func restock(_ raw: [String], global: GlobalOptions, context: CLIContext) throws(CLIError) {
        let args = try Arguments(raw, options: ["sheets", "actor"], flags: ["json"])
        guard args.positionals == ["paper"] else { throw .usage("usage: kioskctl restock paper --sheets N") }
        guard let n = Int(try args.required("sheets")), (1...5000).contains(n) else {
            throw CLIError(.dataError, code: "bad_sheets", id: "--sheets harus 1…5000.", en: "--sheets must be 1…5000.", field: "sheets")
        }
        let threshold = try global.config(context: context).printer.lowPaperThreshold
        let actor = args.value("actor") ?? "staff"
        let status = try Remote.staff(global, context, "staff.restock", .object(["sheets": .number(Double(n))])) {
            (s) throws(ControlError) in try s.restock(sheets: n, actor: actor, lowThreshold: threshold)
        }
        if args.has("json") { try context.printJSON(status) } else { context.print("Kertas / paper: \(status.remaining) lembar / sheets") }
    }

    static func testPage(_ raw: [String], global: GlobalOptions, context: CLIContext) throws(CLIError) {
        let args = try Arguments(raw, options: ["printer"], flags: ["json"])
        try args.noExtraPositionals(after: 0)
        let path = NSTemporaryDirectory() + "kiosk-test-page-\(getpid()).pdf"
        try FileWriter.writeAtomically(TestPage.pdf(kiosk: try? global.config(context: context).kioskID), to: path, mode: 0o644)
        defer { unlink(path) }
        try self.print([path, "--wait"] + (args.value("printer").map { ["--printer", $0] } ?? []) + (args.has("json") ? ["--json"] : []),
                       global: global, context: context)
    }
}
