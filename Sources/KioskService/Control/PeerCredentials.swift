// Who is on the other end of a control connection: the kernel's word on the peer (SO_PEERCRED, SO_PEERGROUPS),
// and the mapping from those credentials to a control role (architecture.md, "Control API").
#if canImport(Glibc)
@preconcurrency import Glibc
#elseif canImport(Musl)
@preconcurrency import Musl
#endif
import Foundation
import KioskCore

/// The process at the other end of an accepted control connection, and the role its credentials give it.
public struct ControlPeer: Sendable, Equatable {
    public var pid: Int32
    public var uid: UInt32
    public var gid: UInt32
    /// Supplementary groups (the primary group may or may not be among them).
    public var groups: [UInt32]
    public var role: ControlRole

    public init(pid: Int32, uid: UInt32, gid: UInt32, groups: [UInt32], role: ControlRole) {
        self.pid = pid
        self.uid = uid
        self.gid = gid
        self.groups = groups
        self.role = role
    }
}

/// The kernel-reported credentials of a Unix socket peer, captured when it called `connect(2)`.
struct PeerCredentials: Sendable, Equatable {
    var pid: Int32
    var uid: UInt32
    var gid: UInt32
    var groups: [UInt32]

    /// The credentials of the peer of the connected Unix socket `fd`, or nil when the kernel gives none.
    ///
    /// The corresponding C call is `getsockopt(fd, SOL_SOCKET, SO_PEERCRED, …)` (man 7 unix). The groups come from
    /// `SO_PEERGROUPS` (Linux 4.13+, captured at connect time like SO_PEERCRED, so no pid-reuse race), else from
    /// the `Groups:` line of `/proc/PID/status` (only if that process still has the peer's uid and gid), else from
    /// `getgrouplist(3)` of the uid's user name.
    static func of(fd: Int32) -> PeerCredentials? {
        // `struct ucred` needs _GNU_SOURCE, which the Glibc module does not define: read it as three 32-bit words
        // (pid_t, uid_t, gid_t, in that order).
        var raw: [UInt32] = [0, 0, 0]
        var length = socklen_t(12)
        let rc = raw.withUnsafeMutableBytes { getsockopt(fd, SOL_SOCKET, SO_PEERCRED, $0.baseAddress, &length) }
        guard rc == 0, length == 12 else { return nil }
        let pid = Int32(bitPattern: raw[0])
        let uid = raw[1]
        let gid = raw[2]
        let groups = PeerCredentials.socketGroups(fd: fd)
            ?? PeerCredentials.procGroups(pid: pid, uid: uid, gid: gid)
            ?? PeerCredentials.userGroups(uid: uid, gid: gid)
            ?? []
        return PeerCredentials(pid: pid, uid: uid, gid: gid, groups: groups)
    }

    /// `SO_PEERGROUPS`: the peer's supplementary groups at connect time; nil when the kernel lacks it.
    static func socketGroups(fd: Int32) -> [UInt32]? {
        var count = 64
        // Linux caps a process at NGROUPS_MAX (65536) groups; ERANGE reports the length needed.
        while count <= 65_536 {
            var groups = [UInt32](repeating: 0, count: count)
            var length = socklen_t(count * 4)
            let rc = groups.withUnsafeMutableBytes { getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, $0.baseAddress, &length) }
            if rc == 0 {
                return Array(groups.prefix(min(count, Int(length) / 4)))
            }
            guard errno == ERANGE, Int(length) / 4 > count else { return nil }
            count = Int(length) / 4
        }
        return nil
    }

    /// The `Groups:` line of `/proc/PID/status`, provided the process there still runs with euid `uid` and egid
    /// `gid` (a pid can be reused once the peer exits).
    static func procGroups(pid: Int32, uid: UInt32, gid: UInt32) -> [UInt32]? {
        guard pid > 0, let status = PeerCredentials.readSmallFile("/proc/\(pid)/status") else { return nil }
        var groups: [UInt32]?
        var uidMatches = false
        var gidMatches = false
        for line in status.split(separator: "\n") {
            let fields = line.split(whereSeparator: { $0 == "\t" || $0 == " " })
            guard let key = fields.first else { continue }
            let values = fields.dropFirst().compactMap { UInt32($0) }
            switch key {
            // Real, effective, saved, filesystem; SO_PEERCRED reports the effective ids.
            case "Uid:": uidMatches = values.count >= 2 && values[1] == uid
            case "Gid:": gidMatches = values.count >= 2 && values[1] == gid
            case "Groups:": groups = values
            default: continue
            }
        }
        guard uidMatches, gidMatches else { return nil }
        return groups
    }

    /// The groups of the user with `uid` from the group database (`getgrouplist(3)`), including `gid`.
    static func userGroups(uid: UInt32, gid: UInt32) -> [UInt32]? {
        guard let name = SystemAccounts.userName(uid: uid) else { return nil }
        var count: Int32 = 64
        while count <= 65_536 {
            var groups = [gid_t](repeating: 0, count: Int(count))
            var n = count
            if getgrouplist(name, gid, &groups, &n) >= 0 {
                return Array(groups.prefix(Int(max(0, n))))
            }
            guard n > count else { return nil }
            count = n
        }
        return nil
    }

    /// A procfs file's text, at most 64 KiB.
    private static func readSmallFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while bytes.count < 65_536 {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            bytes += chunk.prefix(n)
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// Look-ups in the user and group databases with the reentrant calls (`getpwnam_r`, `getgrnam_r`, …).
enum SystemAccounts {
    /// Runs a `get*_r` call with a buffer that grows on ERANGE (up to 1 MiB); nil when the entry does not exist.
    private static func withBuffer<T>(_ body: (UnsafeMutablePointer<CChar>, Int) -> (rc: Int32, value: T?)) -> T? {
        var size = max(Int(sysconf(Int32(_SC_GETPW_R_SIZE_MAX))), 16_384)
        while size <= 1 << 20 {
            let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: size)
            defer { buffer.deallocate() }
            let (rc, value) = body(buffer, size)
            if rc == ERANGE {
                size *= 2
                continue
            }
            return rc == 0 ? value : nil
        }
        return nil
    }

    /// The uid of user `name`. The corresponding C function is `getpwnam_r`.
    static func userID(_ name: String) -> UInt32? {
        self.withBuffer { buffer, size in
            var entry = passwd()
            var result: UnsafeMutablePointer<passwd>?
            let rc = getpwnam_r(name, &entry, buffer, size, &result)
            return (rc, result == nil ? nil : entry.pw_uid)
        }
    }

    /// The name of the user with `uid`. The corresponding C function is `getpwuid_r`.
    static func userName(uid: UInt32) -> String? {
        self.withBuffer { buffer, size in
            var entry = passwd()
            var result: UnsafeMutablePointer<passwd>?
            let rc = getpwuid_r(uid, &entry, buffer, size, &result)
            guard result != nil, let name = entry.pw_name else { return (rc, nil) }
            return (rc, String(cString: name))
        }
    }

    /// The gid of group `name`. The corresponding C function is `getgrnam_r`.
    static func groupID(_ name: String) -> UInt32? {
        self.withBuffer { buffer, size in
            var entry = group()
            var result: UnsafeMutablePointer<group>?
            let rc = getgrnam_r(name, &entry, buffer, size, &result)
            return (rc, result == nil ? nil : entry.gr_gid)
        }
    }

    /// The name of the group with `gid`. The corresponding C function is `getgrgid_r`.
    static func groupName(gid: UInt32) -> String? {
        self.withBuffer { buffer, size in
            var entry = group()
            var result: UnsafeMutablePointer<group>?
            let rc = getgrgid_r(gid, &entry, buffer, size, &result)
            guard result != nil, let name = entry.gr_name else { return (rc, nil) }
            return (rc, String(cString: name))
        }
    }
}

/// Which role a peer's credentials give it (architecture.md, "Control API"):
///
/// - uid 0, the configured admin user (when it exists) and the daemon's own euid → `.admin`;
/// - a member of the technician group (`kiosk-teknisi`), as primary or supplementary group → `.technician`;
/// - a member of the staff group → `.staff`;
/// - a member of the resident group → `.resident`;
/// - anyone else → nil: the connection is refused.
///
/// Names are resolved when the value is made; `ControlServer.start()` resolves them again (`resolved()`), so
/// accounts created in between count.
public struct ControlRoles: Sendable, Equatable {
    public let adminUser: String
    public let staffGroup: String
    public let technicianGroup: String
    public let residentGroup: String
    /// The resolved ids; nil when the user or group does not exist.
    public let adminUID: UInt32?
    public let staffGID: UInt32?
    public let technicianGID: UInt32?
    public let residentGID: UInt32?

    public init(adminUser: String = "kiosk", staffGroup: String = "kiosk-staff", technicianGroup: String = "kiosk-teknisi",
                residentGroup: String = "kiosk-ui") {
        self.adminUser = adminUser
        self.staffGroup = staffGroup
        self.technicianGroup = technicianGroup
        self.residentGroup = residentGroup
        self.adminUID = SystemAccounts.userID(adminUser)
        self.staffGID = SystemAccounts.groupID(staffGroup)
        self.technicianGID = SystemAccounts.groupID(technicianGroup)
        self.residentGID = SystemAccounts.groupID(residentGroup)
    }

    /// The same names, looked up again in the user and group databases.
    public func resolved() -> ControlRoles {
        ControlRoles(adminUser: self.adminUser, staffGroup: self.staffGroup, technicianGroup: self.technicianGroup,
                     residentGroup: self.residentGroup)
    }

    /// The role of a peer with effective `uid`, `gid` and supplementary `groups`; nil when it has none.
    public func role(uid: UInt32, gid: UInt32, groups: [UInt32]) -> ControlRole? {
        if uid == 0 || uid == self.adminUID || uid == geteuid() { return .admin }
        func member(_ wanted: UInt32?) -> Bool {
            guard let wanted else { return false }
            return gid == wanted || groups.contains(wanted)
        }
        if member(self.technicianGID) { return .technician }
        if member(self.staffGID) { return .staff }
        if member(self.residentGID) { return .resident }
        return nil
    }
}
