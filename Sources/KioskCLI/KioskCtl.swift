import Foundation
import KioskCore

/// kioskctl: the staff and technician command line. `run` never exits the process; it returns the exit code.
public enum KioskCtl {
    public static let version = "0.1.0"

    public static let help = """
        kioskctl \(version) — Kios Pelayanan Adminduk Daring: alat staf dan teknisi / staff and technician tool

        Usage: kioskctl [--profiles-dir DIR] COMMAND [ARGS] [--json]

        Commands:
          nik check NIK [--today YYYY-MM-DD]        validate and decode a NIK (masked in human output)
          catalog list --profile P                  services of a jurisdiction profile
          catalog show SERVICE --profile P          one service: requirements, products, rules
          rules evaluate --profile P --service S --event-date YYYY-MM-DD --report-date YYYY-MM-DD
                         [--fact KEY=VALUE ...]     deadline, days late, tier, fine, issuance dates
          keys generate --private K.pem --public K.pub.pem [--force]
                                                    a new Ed25519 signing key pair (PEM)
          config init --profile P [--desa NAME] [--version N] [--target ID ...]
                                                    print a valid unsigned configuration payload
          config sign PAYLOAD --key K.pem --out BUNDLE
          config verify BUNDLE --trusted-key K.pub.pem [--trusted-key ...]
          config show BUNDLE [--trusted-key K.pub.pem ...]

        Every command accepts --json. Profiles are read from --profiles-dir, $KIOSK_PROFILES_DIR,
        Kiosk/profiles of the source tree, or /usr/share/kiosk/profiles.

        Exit status: 0 ok, 64 usage error, 65 invalid data, 66 missing input, 73 cannot create output.
        """

    public static func run(_ arguments: [String], context: CLIContext) -> Int32 {
        var args = arguments
        var profilesDir: String?
        let json = args.contains("--json")
        if let i = args.firstIndex(where: { $0 == "--profiles-dir" || $0.hasPrefix("--profiles-dir=") }) {
            if args[i].contains("=") {
                profilesDir = String(args[i].split(separator: "=", maxSplits: 1)[1])
                args.remove(at: i)
            } else if i + 1 < args.count {
                profilesDir = args[i + 1]
                args.removeSubrange(i...(i + 1))
            }
        }
        do {
            try dispatch(args, profilesDir: profilesDir, context: context)
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
        let text = error.messageID == error.messageEN ? error.messageEN : "\(error.messageID)\n  \(error.messageEN)"
        context.stderr("kioskctl: \(text)\n")
        if error.exit == .usage { context.stderr("Lihat / see: kioskctl --help\n") }
    }

    static func dispatch(_ args: [String], profilesDir: String?, context: CLIContext) throws(CLIError) {
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
        let profiles = { () throws(CLIError) -> ProfileLibrary in try ProfileLibrary(option: profilesDir, context: context) }
        switch (first, args.count > 1 ? args[1] : "") {
        case ("nik", "check"): try NIKCommands.check(rest, context: context)
        case ("catalog", "list"): try CatalogCommands.list(rest, profiles: try profiles(), context: context)
        case ("catalog", "show"): try CatalogCommands.show(rest, profiles: try profiles(), context: context)
        case ("rules", "evaluate"): try RulesCommands.evaluate(rest, profiles: try profiles(), context: context)
        case ("keys", "generate"): try KeyCommands.generate(rest, context: context)
        case ("config", "init"): try ConfigCommands.initPayload(rest, profiles: try profiles(), context: context)
        case ("config", "sign"): try ConfigCommands.sign(rest, context: context)
        case ("config", "verify"): try ConfigCommands.verify(rest, context: context)
        case ("config", "show"): try ConfigCommands.show(rest, context: context)
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
