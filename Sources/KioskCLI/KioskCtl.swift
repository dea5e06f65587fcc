import Foundation
import KioskCore

/// kioskctl: the staff and technician command line. `run` never exits the process; it returns the exit code.
public enum KioskCtl {
    public static let version = KioskVersion.string

    public static let help = """
        kioskctl \(version) — Kios Pelayanan Adminduk Daring: alat staf dan teknisi / staff and technician tool

        Usage: kioskctl [--profiles-dir DIR] [--data-dir DIR] [--config FILE] [--socket PATH] COMMAND [ARGS] [--json]

        While kioskd runs (its socket: --socket, socket of the config, or /run/kiosk/kioskd.sock), application
        submit/show, queue stats/list/retry/quarantine, restock, printer test, config apply/rollback, devices list,
        sync now and status go through it; the other store commands refuse to open its data directory.

        Commands:
          nik check NIK [--today YYYY-MM-DD]        validate and decode a NIK (masked in human output)
          voice normalize TEXT [--lang id|en]       what the kiosk would say (numbers, dates, codes in words)
          voice render TEXT --out F.wav [--lang id|en] [--volume 0…200]   render it with espeak-ng
          catalog list --profile P                  services of a jurisdiction profile
          catalog show SERVICE --profile P          one service: requirements, products, rules
          rules evaluate --profile P --service S --event-date YYYY-MM-DD --report-date YYYY-MM-DD
                         [--fact KEY=VALUE ...]     deadline, days late, tier, fine, issuance dates
          keys generate --private K.pem --public K.pub.pem [--kind ed25519|x25519] [--force]
                                                    a new key pair (PEM): Ed25519 signing, X25519 USB recipient
          config init --profile P [--desa NAME] [--version N] [--target ID ...]
                                                    print a valid unsigned configuration payload
          config sign PAYLOAD --key K.pem --out BUNDLE
          config verify BUNDLE --trusted-key K.pub.pem [--trusted-key ...]
          config show BUNDLE [--trusted-key K.pub.pem ...]
          application submit FILE.json              store an application durably; prints id and tracking code
          application show ID-OR-TRACKING-CODE      state, history, attachments (NIK masked)
          queue stats                               counts per state, oldest undelivered, bytes pending
          queue list [--state S]                    the upload queue
          queue retry ID                            requeue a quarantined application (or retry now)
          queue quarantine ID --reason TEXT         set an application aside for staff
          store check                               integrity check plus every attachment against its hash
          status                                    kioskd: version, uptime, config, devices, queue, sync, disk
          sync now                                  kioskd: forward, pull and fetch config now
          config rollback                           return to the previous good configuration bundle
          sync run [--dinas URL] [--kiosk-id ID] [--token-file F] [--trusted-key K ...] [--until-idle]
                   [--max-seconds S] [--backoff-base S]  forward the queue, pull status/documents/config
                                                    (defaults: the config's dinas section and kiosk_id)
          sync status                               last pass, alerts, cursor, config version, queue
          sync export --to DIR [--recipient K.pub.pem] [--force]   pending applications sealed to the Dinas's
                                                    recipient key on a mounted USB stick (resumable)
          sync import --from DIR --kiosk-id ID --trusted-key K   receipts, documents, config from a stick
          config apply BUNDLE --kiosk-id ID --trusted-key K      apply a bundle (e.g. from a USB stick)
          provision --dinas URL --kiosk-id ID --token-file F --trusted-key K.pub.pem [--config F] [--data-dir D]
                                                    write kioskd.json, install credential and key, check the link
        The Dinas's tools (run at the Dinas, not on a kiosk):
          dinas usb-import --key R.pem --from DIR --dinas URL --token-file F [--signing-key K.pem]
                                                    open a kiosk's stick, upload it, write the return stick
          dinas publish BUNDLE --dinas URL --token-file F --trusted-key K.pub.pem   publish a newer signed bundle
          dinas fleet --dinas URL --token-file F [--json]   every kiosk's last heartbeat; silent ones first
          printer status [--printer NAME]           state, reasons (IPP keywords), markers, accepting jobs
          printer test                              print a test page and wait for it
          printer recover [--seconds S]             resume a queue stopped by a fault once nothing blocks it
          print FILE.pdf [--copies N] [--wait]      with --wait, exit 0 only when the job completed
          application print ID-OR-TRACKING-CODE     print its ready documents (recorded; reprint limit)
          receipt render --application ID --out FILE.pdf [--lang en]   the tanda terima (PDF with QR)
          restock paper --sheets N                  staff loaded paper
          scanner list                              SANE scanners (scanimage -L)
          devices list                              kiosk devices present, by role (udev, KIOSK_ROLE)
          devices watch [--count N] [--timeout S] [--no-enumerate]
                                                    hotplug events as JSON lines (action, role, devnode)
          scan --out DIR [--device D] [--pages N | --feeder] [--option OPT ...]
                                                    scan, check (blank, size, page count) and store pages

        Staff (kioskd's socket; the caller must be in kiosk-staff, the audit names the unix user):
          staff status                              the kiosk at a glance, what needs action first
          staff restock --sheets N                  paper loaded (the count replaces the estimate)
          staff test-print                          print the test page and follow it
          staff printer-resume                      resume the paused kiosk printer queue
          staff test-scan                           a test scan (pages, preview); nothing is kept
          staff redetect                            enumerate the kiosk devices again
          staff today                               today's applications (NIK masked, who assisted)
          staff quarantined                         quarantined applications with the reason
          staff retry KEY                           requeue a quarantined application
          staff sync                                forward, pull and fetch config now
          staff complaints                          today's complaints (summaries)
          staff calls                               today's "Panggil petugas" calls (marks them seen)
          staff documents TRACKING-CODE             documents of an application, with print counts
          staff reprint DOCUMENT-ID --reason TEXT   reprint beyond the resident limit (audited)
          staff pin-hash --id ID --name NAME --role petugas|teknisi [--iterations N]
                                                    reads a PIN (4…12 digits, one line) from stdin; prints the
                                                    staff_pins entry for a bundle (PBKDF2-SHA256, N ≥ 100000,
                                                    a fresh 16-byte salt per PIN)

        Technician (kiosk-teknisi, or root/the kiosk user):
          config apply BUNDLE, config rollback      through kioskd when it runs (technician.config.*)
          devices redetect                          enumerate the kiosk devices again

        Every command accepts --json. The configuration is kioskd's (--config, $KIOSK_CONFIG, else
        /etc/kiosk/kioskd.json if present, else defaults): sync, printer and scanner options default to its
        dinas, devices, printer and scanner sections. Profiles are read from --profiles-dir,
        $KIOSK_PROFILES_DIR, profiles_dir of the config, Kiosk/profiles of the source tree, or
        /usr/share/kiosk/profiles. The data directory is --data-dir, $KIOSK_DATA_DIR, or data_dir of the
        config (/var/lib/kiosk).

        Exit status: 0 ok, 1 failure (e.g. store check), 64 usage error, 65 invalid data, 66 missing input,
        69 Dinas unreachable, 73 cannot create output (also: export target not a mounted removable filesystem),
        75 still pending (sync), 77 credential refused by the Dinas (staff alert),
        78 invalid configuration file (the field is named).
        """

    public static func run(_ arguments: [String], context: CLIContext) -> Int32 {
        var args = arguments
        let json = args.contains("--json")
        do {
            let global = try GlobalOptions.extract(&args)
            try dispatch(args, global: global, context: context)
            return ExitCode.ok.rawValue
        } catch {
            report(error, json: json, context: context)
            return error.exit.rawValue
        }
    }

    static func report(_ error: CLIError, json: Bool, context: CLIContext) {
        if json {
            struct Body: Encodable {
                struct Err: Encodable {
                    var code: String
                    var message: LocalizedText
                    var field: String?
                }
                var error: Err
            }
            try? context.printJSON(Body(error: .init(code: error.code, message: LocalizedText(error.messageID, error.messageEN),
                                                     field: error.field)))
        }
        // Messages can quote what the user gave (an unknown service id, a path): never let it drive the terminal.
        func clean(_ text: String) -> String {
            text.split(separator: "\n", omittingEmptySubsequences: false).map { SafeText.visible(String($0)) }
                .joined(separator: "\n")
        }
        let id = clean(error.messageID), en = clean(error.messageEN)
        let text = id == en ? en : "\(id)\n  \(en)"
        context.stderr("kioskctl: \(text)\n")
        if error.exit == .usage { context.stderr("Lihat / see: kioskctl --help\n") }
    }

    static func dispatch(_ args: [String], global: GlobalOptions, context: CLIContext) throws(CLIError) {
        guard let first = args.first else { throw .usage("missing command") }
        if first == "--help" || first == "-h" || first == "help" {
            context.print(help)
            return
        }
        if first == "--version" {
            context.print("kioskctl \(version)")
            return
        }
        let rest = Array(args.dropFirst(2))
        // While kioskd runs, these go through its socket (it stays the only writer and audits the call).
        if try RoutedCommands.run(args, global: global, context: context) { return }
        let profiles = { () throws(CLIError) -> ProfileLibrary in try ProfileLibrary(global: global, context: context) }
        switch (first, args.count > 1 ? args[1] : "") {
        case ("nik", "check"): try NIKCommands.check(rest, context: context)
        case ("voice", "normalize"): try VoiceCommands.normalize(rest, context: context)
        case ("voice", "render"): try VoiceCommands.render(rest, context: context)
        case ("catalog", "list"): try CatalogCommands.list(rest, profiles: try profiles(), context: context)
        case ("catalog", "show"): try CatalogCommands.show(rest, profiles: try profiles(), context: context)
        case ("rules", "evaluate"): try RulesCommands.evaluate(rest, profiles: try profiles(), context: context)
        case ("keys", "generate"): try KeyCommands.generate(rest, context: context)
        case ("config", "init"): try ConfigCommands.initPayload(rest, profiles: try profiles(), context: context)
        case ("config", "sign"): try ConfigCommands.sign(rest, context: context)
        case ("config", "verify"): try ConfigCommands.verify(rest, context: context)
        case ("config", "show"): try ConfigCommands.show(rest, context: context)
        case ("application", "submit"): try ApplicationCommands.submit(rest, global: global, context: context)
        case ("application", "show"): try ApplicationCommands.show(rest, global: global, context: context)
        case ("queue", "stats"): try QueueCommands.stats(rest, global: global, context: context)
        case ("queue", "list"): try QueueCommands.list(rest, global: global, context: context)
        case ("queue", "retry"): try QueueCommands.retry(rest, global: global, context: context)
        case ("queue", "quarantine"): try QueueCommands.quarantine(rest, global: global, context: context)
        case ("store", "check"): try StoreCommands.check(rest, global: global, context: context)
        case ("sync", "run"): try SyncCommands.run(rest, global: global, context: context)
        case ("sync", "status"): try SyncCommands.status(rest, global: global, context: context)
        case ("sync", "export"): try SyncCommands.export(rest, global: global, context: context)
        case ("sync", "import"): try SyncCommands.importCommand(rest, global: global, context: context)
        case ("config", "apply"): try SyncCommands.applyConfig(rest, global: global, context: context)
        case ("printer", "status"): try PrinterCommands.status(rest, global: global, context: context)
        case ("printer", "test"): try PrinterCommands.testPage(rest, global: global, context: context)
        case ("printer", "recover"): try PrinterCommands.recover(rest, global: global, context: context)
        case ("print", _): try PrinterCommands.print(Array(args.dropFirst()), global: global, context: context)
        case ("application", "print"): try PrinterCommands.printApplication(rest, global: global, context: context)
        case ("receipt", _): try ReceiptCommands.render(Array(args.dropFirst()), global: global, context: context)
        case ("devices", "list"): try DeviceCommands.list(rest, context: context)
        case ("devices", "watch"): try DeviceCommands.watch(rest, context: context)
        case ("scanner", "list"): try ScannerCommands.list(rest, global: global, context: context)
        case ("scan", _): try ScannerCommands.scan(Array(args.dropFirst()), global: global, context: context)
        case ("provision", _): try ProvisionCommands.run(Array(args.dropFirst()), global: global, context: context)
        case ("dinas", "usb-import"): try DinasCommands.usbImport(rest, context: context)
        case ("dinas", "publish"): try DinasCommands.publish(rest, context: context)
        case ("dinas", "fleet"): try DinasCommands.fleet(rest, context: context)
        case ("staff", "pin-hash"): try StaffCommands.pinHash(rest, context: context)
        case ("restock", _): try PrinterCommands.restock(Array(args.dropFirst()), global: global, context: context)
        default:
            throw .usage("unknown command: \(args.prefix(2).joined(separator: " "))")
        }
    }
}

extension CivilDate {
    static func parse(_ text: String, option: String) throws(CLIError) -> CivilDate {
        guard let d = CivilDate(iso: text) else {
            throw CLIError(.dataError, code: "bad_date",
                           id: "--\(option): \"\(text)\" bukan tanggal YYYY-MM-DD yang sah.",
                           en: "--\(option): \"\(text)\" is not a valid YYYY-MM-DD date.", field: option)
        }
        return d
    }
}

extension CLIError {
    init(data message: LocalizedText, code: String, field: String? = nil) {
        self.init(.dataError, code: code, id: message.id, en: message.en ?? message.id, field: field)
    }
}
