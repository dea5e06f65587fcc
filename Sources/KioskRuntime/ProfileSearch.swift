import Foundation

/// Where jurisdiction profiles are found: an explicit folder (`--profiles-dir` or `$KIOSK_PROFILES_DIR`), else a
/// `Kiosk/profiles` folder above the working directory or the executable (a source checkout), else
/// `/usr/share/kiosk/profiles` (a deployment). Shared by kioskctl, kioskd and kiosk-bench.
public enum ProfileSearch {
    public static func candidates(explicit: String?, currentDirectory: String?, executablePath: String?) -> [String] {
        if let explicit { return [explicit] }
        var out: [String] = []
        for start in [currentDirectory, executablePath.map { ($0 as NSString).deletingLastPathComponent }].compactMap({ $0 }) {
            var dir = (start as NSString).standardizingPath
            while true {
                out.append((dir as NSString).appendingPathComponent("Kiosk/profiles"))
                let parent = (dir as NSString).deletingLastPathComponent
                if parent == dir || parent.isEmpty { break }
                dir = parent
            }
        }
        out.append("/usr/share/kiosk/profiles")
        return out
    }

    /// The first candidate that is a directory.
    public static func find(explicit: String?, currentDirectory: String?, executablePath: String?) -> String? {
        self.candidates(explicit: explicit, currentDirectory: currentDirectory, executablePath: executablePath).first {
            var isDir: ObjCBool = false
            return FileManager.default.fileExists(atPath: $0, isDirectory: &isDir) && isDir.boolValue
        }
    }
}
