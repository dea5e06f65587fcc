import Foundation
import KioskCore
import KioskDevices
import KioskRuntime
import KioskService
import KioskStore

enum ReceiptCommands {
    static func content(_ app: StoredApplication, store: KioskStore, profile: JurisdictionProfile, kioskName: String,
                        language: Language, statusURL: String?) -> ReceiptContent {
        ResidentFacing.receipt(app, store: store, profile: profile, kioskName: kioskName, language: language,
                               statusURL: statusURL)
    }

    static func render(_ raw: [String], global: GlobalOptions, context: CLIContext) throws(CLIError) {
        let args = try Arguments(raw, options: ["application", "out", "lang", "desa", "status-url"], flags: ["json"])
        guard args.positionals == ["render"] else { throw .usage("usage: kioskctl receipt render --application ID --out FILE.pdf") }
        let key = try args.required("application")
        let out = context.resolve(try args.required("out"))
        guard let language = Language(rawValue: args.value("lang") ?? "id") else { throw .usage("--lang is id or en") }
        let store = try global.openStore(context: context)
        let app: StoredApplication
        do { app = try store.application(key) } catch { throw CLIError(store: error) }
        let profile = try ProfileLibrary(global: global, context: context).load(app.profile)
        let config = try global.config(context: context)
        let kioskName = args.value("desa") ?? config.kioskID ?? "Kios Adminduk"
        let pdf = ReceiptRenderer.render(
            self.content(app, store: store, profile: profile, kioskName: kioskName, language: language,
                         statusURL: args.value("status-url")),
            language: language)
        try FileWriter.writeAtomically(pdf, to: out, mode: 0o600)
        if args.has("json") { try context.printJSON(["out": out, "tracking_code": app.trackingCode.formatted]) } else {
            context.print("Tanda terima / receipt: \(out)")
        }
    }
}
