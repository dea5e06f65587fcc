import Foundation
import KioskCore
import KioskDevices
import KioskService

enum ScannerCommands {
    static func scanner(_ args: Arguments, global: GlobalOptions, context: CLIContext) throws(CLIError) -> SANEScanner {
        let config = try global.config(context: context)
        // The config's scanner section, with `device` already filled from devices.scanner when it names one.
        var settings = config.scanner
        if let device = args.value("device") {
            settings.device = device
        } else if config.devices.scanner == .simulated {
            throw CLIError(.noInput, code: "no_scanner",
                           id: "devices.scanner adalah \"simulated\": kioskctl hanya memakai pemindai SANE sungguhan; pakai --device PERANGKAT.",
                           en: "devices.scanner is \"simulated\": kioskctl drives only a real SANE scanner; use --device DEVICE.",
                           field: "devices.scanner")
        }
        settings.extraOptions += args.values("option")
        let env = context.environment["SANE_CONFIG_DIR"].map { ["SANE_CONFIG_DIR": $0] } ?? [:]
        return SANEScanner(settings: settings, environment: env)
    }

    static func error(_ e: ScanError) -> CLIError {
        let (exit, code): (ExitCode, String) = switch e {
        case .noScanner, .badDevice: (.noInput, "no_scanner")
        case .device: (.failure, "scanner_status")
        case .watchdog: (.tempFail, "scanner_hung")
        case .cancelled: (.failure, "cancelled")
        case .blankPage: (.dataError, "blank_page")
        case .pageTooLarge: (.dataError, "page_too_large")
        case .pageCount: (.dataError, "page_count")
        case .failed: (.failure, "scan_failed")
        }
        return CLIError(exit, code: code, id: "\(e.staff.id) — \(e.resident.id)", en: "\(e.staff.en ?? "") — \(e.resident.en ?? "")")
    }

    static func list(_ raw: [String], global: GlobalOptions, context: CLIContext) throws(CLIError) {
        let args = try Arguments(raw, options: ["device"], flags: ["json"])
        try args.noExtraPositionals(after: 0)
        let scanner = try self.scanner(args, global: global, context: context)
        let result = SyncCommands.blocking { () -> Result<[ScannerDevice], ScanError> in
            do throws(ScanError) { return .success(try await scanner.devices()) } catch { return .failure(error) }
        }
        let devices: [ScannerDevice]
        switch result {
        case .success(let d): devices = d
        case .failure(let e): throw self.error(e)
        }
        if args.has("json") {
            try context.printJSON(devices)
        } else if devices.isEmpty {
            context.print("Tidak ada pemindai / no scanners found")
        } else {
            for d in devices { context.print("\(d.name)\t\(d.vendor) \(d.model) (\(d.type))") }
        }
    }

    static func scan(_ raw: [String], global: GlobalOptions, context: CLIContext) throws(CLIError) {
        let args = try Arguments(raw, options: ["out", "device", "pages", "option"], flags: ["json", "feeder"])
        try args.noExtraPositionals(after: 0)
        let out = context.resolve(try args.required("out"))
        let pages: Int?
        if let p = args.value("pages") {
            guard let n = Int(p), (1...100).contains(n) else {
                throw CLIError(.dataError, code: "bad_pages", id: "--pages harus 1…100.", en: "--pages must be 1…100.", field: "pages")
            }
            pages = n
        } else {
            pages = args.has("feeder") ? nil : 1
        }
        let request = ScanRequest(source: args.has("feeder") ? .feeder : .flatbed, expectedPages: pages)
        let scanner = try self.scanner(args, global: global, context: context)
        let quiet = args.has("json")
        let result = SyncCommands.blocking { () -> Result<[ScannedPage], ScanError> in
            do throws(ScanError) {
                return .success(try await scanner.scan(request, into: out) { event in
                    if !quiet, case .pageDone(let n) = event { context.stderr("Halaman / page \(n) ✓\n") }
                })
            } catch {
                return .failure(error)
            }
        }
        switch result {
        case .failure(let e): throw self.error(e)
        case .success(let scanned):
            if args.has("json") {
                try context.printJSON(["pages": scanned])
            } else {
                for p in scanned {
                    context.print("\(p.path)\t\(p.bytes) bytes\t\(p.width)×\(p.height)\tq\(p.checks.quality)")
                }
            }
        }
    }
}
