import Foundation

/// Whether a `sync export` target is on a mounted removable filesystem (a USB stick), decided from
/// `/proc/self/mountinfo` and sysfs. Today a missing stick left `/media/usb` a plain folder on the root disk and the
/// export went there silently; `sync export` now refuses that unless `--force`.
public enum RemovableTarget {
    public struct Mount: Sendable, Equatable {
        public var mountPoint: String
        public var device: String  // "major:minor"
        public var fsType: String
        public var source: String
    }

    public enum Decision: Sendable, Equatable {
        case removable(Mount)
        case refused(id: String, en: String)
    }

    /// Parses mountinfo (proc(5)); malformed lines are skipped. Mount points are unescaped (`\040` is a space).
    public static func mounts(_ mountinfo: String) -> [Mount] {
        mountinfo.split(separator: "\n").prefix(10_000).compactMap { line in
            let f = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            guard f.count >= 10, let dash = f.firstIndex(of: "-"), dash >= 6, dash + 2 < f.count else { return nil }
            return Mount(mountPoint: unescape(f[4]), device: f[2], fsType: f[dash + 1], source: f[dash + 2])
        }
    }

    /// The decision for `target` (an absolute path, resolved through symlinks where it exists).
    /// `sysfsPath` resolves `/sys/dev/block/MAJ:MIN` to its real path; `readFile` reads a sysfs file.
    public static func decide(target: String, mountinfo: String, sysfsPath: (String) -> String?,
                              readFile: (String) -> String?) -> Decision {
        let all = mounts(mountinfo)
        guard let root = all.last(where: { $0.mountPoint == "/" }) else {
            return .refused(id: "tabel mount tidak terbaca", en: "the mount table cannot be read")
        }
        // The mount holding the target: the longest mount point that is a path prefix (the last one mounted wins).
        let holder = all.enumerated().filter { contains($0.element.mountPoint, target) }
            .max { a, b in (a.element.mountPoint.count, a.offset) < (b.element.mountPoint.count, b.offset) }?.element
        guard let m = holder, m.mountPoint != "/", m.device != root.device else {
            return .refused(id: "\(target) ada di sistem berkas root, bukan di flashdisk yang terpasang",
                            en: "\(target) is on the root filesystem, not on a mounted USB stick")
        }
        guard let sys = sysfsPath(m.device) else {
            return .refused(id: "\(target) (\(m.mountPoint), \(m.fsType)) bukan perangkat blok",
                            en: "\(target) (\(m.mountPoint), \(m.fsType)) is not on a block device")
        }
        // `removable` is on the whole disk; a partition's sysfs folder sits inside its disk's.
        let own = readFile("\(sys)/removable"), parent = readFile("\((sys as NSString).deletingLastPathComponent)/removable")
        let removable = [own, parent].contains { $0?.trimmingCharacters(in: .whitespacesAndNewlines) == "1" }
        if removable || sys.contains("/usb") { return .removable(m) }
        return .refused(id: "\(target) (\(m.mountPoint), \(m.source)) bukan media lepasan",
                        en: "\(target) (\(m.mountPoint), \(m.source)) is not removable media")
    }

    /// The real system: this process's mountinfo and sysfs.
    public static func decide(target: String) -> Decision {
        var probe = target
        while !FileManager.default.fileExists(atPath: probe), probe != "/" { probe = (probe as NSString).deletingLastPathComponent }
        let resolved = (try? URL(fileURLWithPath: probe).resolvingSymlinksInPath().path) ?? probe
        let info = (try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? ""
        return decide(target: resolved, mountinfo: info,
                      sysfsPath: { dev in
                          let link = "/sys/dev/block/\(dev)"
                          guard FileManager.default.fileExists(atPath: link) else { return nil }
                          return URL(fileURLWithPath: link).resolvingSymlinksInPath().path
                      },
                      readFile: { try? String(contentsOfFile: $0, encoding: .utf8) })
    }

    static func contains(_ mountPoint: String, _ path: String) -> Bool {
        mountPoint == "/" || path == mountPoint || path.hasPrefix(mountPoint + "/")
    }

    static func unescape(_ s: String) -> String {
        guard s.contains("\\") else { return s }
        var out: [UInt8] = []
        let b = Array(s.utf8)
        var i = 0
        while i < b.count {
            if b[i] == 92, i + 3 < b.count, let v = UInt8(String(decoding: b[(i + 1)...(i + 3)], as: UTF8.self), radix: 8) {
                out.append(v)
                i += 4
            } else {
                out.append(b[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
