import Foundation
import KioskCore
import KioskService

/// kioskctl and a running kioskd (architecture.md, "Processes"): while kioskd holds the data directory, commands
/// that read or change the store go through its socket, so kioskd stays the only writer and audits who did what.
/// With no kioskd they run on the data directory itself (offline maintenance), holding its lock meanwhile.
enum Remote {
    /// `--socket PATH`, else `socket` of the config, else /run/kiosk/kioskd.sock.
    static func socketPath(_ global: GlobalOptions, _ context: CLIContext) -> String {
        if let s = global.socketPath { return context.resolve(s) }
        return (try? global.config(context: context).socket) ?? KioskdConfig().socket
    }

    /// A connection to kioskd when one runs for this kiosk; nil when none does (the caller works offline).
    /// Refuses when kioskd holds the data directory but its socket cannot be used.
    static func client(_ global: GlobalOptions, _ context: CLIContext) throws(CLIError) -> ControlClient? {
        let path = self.socketPath(global, context)
        let dataDir = try? global.dataDirectory(context: context)
        let holder = dataDir.flatMap { DataDirLock.currentHolder(dataDir: $0) }
        do {
            return try ControlClient.connect(path: path)
        } catch {
            if error.code == "not_running" && holder == nil { return nil }
            if let holder {
                let who = "\(holder.owner ?? "process") PID \(holder.pid.map(String.init) ?? "?")"
                if error.code == "not_running" {
                    throw CLIError(.tempFail, code: "data_dir_busy",
                                   id: "Direktori data dipakai \(who), dan soket \(path) tidak menjawab; perintah ini tidak membuka penyimpanan langsung. Coba lagi nanti, atau pakai --socket.",
                                   en: "The data directory is held by \(who) and the socket \(path) does not answer; this command does not open the store directly. Try again later, or give --socket.")
                }
            }
            throw CLIError(control: error)
        }
    }

    /// Calls `method` when kioskd runs and decodes its result; nil when no kioskd runs.
    static func call<T: Decodable>(_ global: GlobalOptions, _ context: CLIContext, _ method: String, _ params: JSONValue? = nil,
                                   as type: T.Type) throws(CLIError) -> T? {
        guard let client = try self.client(global, context) else { return nil }
        defer { client.close() }
        let value: JSONValue
        do {
            value = try client.callBlocking(method, params)
        } catch {
            throw CLIError(control: error)
        }
        do {
            return try value.decode(T.self)
        } catch {
            throw CLIError(.failure, code: "bad_reply", id: "Jawaban kioskd tidak dapat dibaca: \(error)",
                           en: "Cannot read kioskd's reply: \(error)")
        }
    }

    /// A staff use case: through kioskd when it runs (it audits the caller), else on the data directory.
    static func staff<T: Decodable & Sendable>(_ global: GlobalOptions, _ context: CLIContext, _ method: String,
                                               _ params: JSONValue? = nil,
                                               offline: (StaffUseCases) throws(ControlError) -> T) throws(CLIError) -> T {
        if let value = try self.call(global, context, method, params, as: T.self) { return value }
        let store = try global.openStore(context: context)
        do {
            return try offline(StaffUseCases(store: store))
        } catch {
            throw CLIError(control: error)
        }
    }
}

extension CLIError {
    init(control error: ControlError) {
        let exit = error.exit.flatMap { ExitCode(rawValue: $0) } ?? (error.code == "forbidden" || error.code == "permission_denied" || error.code == "not_permitted" ? .noPermission : .failure)
        self.init(exit, code: error.code, id: error.message.id, en: error.message.en ?? error.message.id, field: error.field)
    }
}
