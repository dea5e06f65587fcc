import Foundation
import KioskCore
import KioskRuntime

/// Loads jurisdiction profiles from the configured folder or the one `ProfileSearch` finds.
struct ProfileLibrary {
    let directory: String

    /// `--profiles-dir`, else `$KIOSK_PROFILES_DIR`, else the config's `profiles_dir`, else `ProfileSearch`.
    init(global: GlobalOptions, context: CLIContext) throws(CLIError) {
        if let dir = global.profilesDir ?? context.environment["KIOSK_PROFILES_DIR"] {
            self.directory = context.resolve(dir)
            return
        }
        if let dir = try global.config(context: context).profilesDir {
            self.directory = dir
            return
        }
        guard let found = ProfileSearch.find(explicit: nil, currentDirectory: context.currentDirectory,
                                             executablePath: context.executablePath)
        else {
            throw CLIError(.noInput, code: "no_profiles", id: "Folder profil tidak ditemukan; pakai --profiles-dir.",
                           en: "No profiles folder found; use --profiles-dir.")
        }
        self.directory = found
    }

    func available() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: self.directory)) ?? [])
            .filter { $0.hasSuffix(".json") }.map { String($0.dropLast(5)) }.sorted()
    }

    func load(_ id: String) throws(CLIError) -> JurisdictionProfile {
        guard JurisdictionProfileID.isValid(id), self.available().contains(id) else {
            let list = self.available().joined(separator: ", ")
            throw CLIError(.dataError, code: "unknown_profile", id: "Profil \"\(id)\" tidak dikenal (tersedia: \(list)).",
                           en: "Unknown profile \"\(id)\" (available: \(list)).", field: "profile")
        }
        let path = (self.directory as NSString).appendingPathComponent("\(id).json")
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CLIError(.noInput, code: "no_input", id: "Tidak dapat membaca \(path).", en: "Cannot read \(path).")
        }
        do {
            return try JurisdictionProfile.load(data, root: id)
        } catch {
            throw CLIError(.dataError, code: "invalid_profile", id: "Profil \(id) rusak: \(error)",
                           en: "Profile \(id) is invalid: \(error)", field: error.field)
        }
    }
}

enum JurisdictionProfileID {
    static func isValid(_ s: String) -> Bool {
        !s.isEmpty && s.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "-") }
    }
}
