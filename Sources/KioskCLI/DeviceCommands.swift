import Foundation
import KioskCore
import KioskDevices

enum DeviceCommands {
    struct EventLine: Encodable {
        var action: String
        var role: String
        var devnode: String?
        var syspath: String
        var vendorID: String?
        var modelID: String?
        var serial: String?
        var enumerated: Bool
        var seqnum: UInt64

        enum CodingKeys: String, CodingKey {
            case action, role, devnode, syspath, serial, enumerated, seqnum
            case vendorID = "vendor_id"
            case modelID = "model_id"
        }
    }

    static func list(_ raw: [String], context: CLIContext) throws(CLIError) {
        let args = try Arguments(raw, options: [], flags: ["json"])
        try args.noExtraPositionals(after: 0)
        let devices = UdevMonitor.enumerate()
        if args.has("json") {
            try context.printJSON(devices)
            return
        }
        for role in KioskDevice.Role.allCases {
            let here = devices.filter { $0.role == role }
            context.print("\(role.rawValue): \(here.isEmpty ? "tidak ada / none" : here.map { $0.devnode ?? $0.syspath }.joined(separator: ", "))")
        }
    }

    /// Events as JSON lines until --count events or --timeout seconds.
    static func watch(_ raw: [String], context: CLIContext) throws(CLIError) {
        let args = try Arguments(raw, options: ["count", "timeout"], flags: ["json", "no-enumerate"])
        try args.noExtraPositionals(after: 0)
        let count = Int(args.value("count") ?? "0") ?? 0
        let timeout = Double(args.value("timeout") ?? "0") ?? 0
        let json = args.has("json")
        let skipEnumeration = args.has("no-enumerate")
        let encoder = KioskJSON.encoder(pretty: false)
        let seen = SyncCommands.blocking { () -> Int in
            let monitor = UdevMonitor()
            let stream = monitor.events()
            let deadline = timeout > 0 ? Task { try? await Task.sleep(nanoseconds: UInt64(timeout * 1e9)); monitor.stop() } : nil
            defer { deadline?.cancel(); monitor.stop() }
            var n = 0
            for await e in stream {
                if skipEnumeration && e.fromEnumeration { continue }
                let line = EventLine(action: e.action.rawValue, role: e.device.role.rawValue, devnode: e.device.devnode,
                                     syspath: e.device.syspath, vendorID: e.device.vendorID, modelID: e.device.modelID,
                                     serial: e.device.serial, enumerated: e.fromEnumeration, seqnum: e.seqnum)
                if json, let data = try? encoder.encode(line) {
                    context.stdout(String(decoding: data, as: UTF8.self) + "\n")
                } else {
                    context.stdout("\(line.action)\t\(line.role)\t\(line.devnode ?? line.syspath)\n")
                }
                n += 1
                if count > 0 && n >= count { break }
            }
            return n
        }
        if count > 0 && seen < count {
            throw CLIError(.tempFail, code: "timeout", id: "Hanya \(seen) dari \(count) peristiwa dalam \(timeout) detik.",
                           en: "Only \(seen) of \(count) events within \(timeout) s.")
        }
    }
}
