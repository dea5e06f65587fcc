// Real users and groups for the role tests (groupadd/useradd), and a minimal Python client run as one of them
// through setpriv. Shared by ControlSocketTests (the socket server alone) and KioskdProofTests (a real kioskd).
#if canImport(Glibc)
@preconcurrency import Glibc
#elseif canImport(Musl)
@preconcurrency import Musl
#endif
import Foundation
import KioskCore
import Testing

/// Runs a command (no shell), its output discarded; the exit status.
@discardableResult
func run(_ arguments: [String]) -> Int32 {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    do { try process.run() } catch { return -1 }
    process.waitUntilExit()
    return process.terminationStatus
}

func groupID(_ name: String) -> UInt32? {
    guard let entry = getgrnam(name) else { return nil }
    return entry.pointee.gr_gid
}

func userID(_ name: String) -> UInt32? {
    guard let entry = getpwnam(name) else { return nil }
    return entry.pointee.pw_uid
}

/// System groups and users made for one test (`ktest-<what>-<token>`); `remove()` deletes them, users first.
final class TestAccounts {
    let token = String(UInt32.random(in: 0..<UInt32.max), radix: 36)
    private var users: [String] = []
    private var groups: [String] = []

    func group(_ what: String) throws -> String {
        let name = "ktest-\(what)-\(self.token)"
        guard run(["groupadd", "--system", name]) == 0 else { throw NSError(domain: "groupadd \(name) failed", code: 1) }
        self.groups.append(name)
        return name
    }

    /// A system user without a home or login shell, with primary group `primary` and supplementary `groups`.
    func user(_ what: String, primary: String = "nogroup", groups: [String] = []) throws -> String {
        let name = "ktest-\(what)-\(self.token)"
        var args = ["useradd", "--system", "--no-create-home", "--no-user-group", "--shell", "/usr/sbin/nologin", "-g", primary]
        if !groups.isEmpty { args += ["-G", groups.joined(separator: ",")] }
        guard run(args + [name]) == 0 else { throw NSError(domain: "useradd \(name) failed", code: 1) }
        self.users.append(name)
        return name
    }

    func remove() {
        for user in self.users { run(["userdel", user]) }
        for group in self.groups { run(["groupdel", group]) }
        self.users = []
        self.groups = []
    }

    deinit { self.remove() }
}

/// A minimal client in Python, so it can run as another user. argv: socket path, then optionally the requests as
/// a JSON array (default: hello, staff.x, admin.y; an item `{"sleep": S}` waits S seconds) and "pid" (print `{"pid": N}`
/// first). Prints each reply line, or
/// EACCES when the connect is refused.
private let pythonClient = """
    import json, os, socket, sys
    requests = json.loads(sys.argv[2]) if len(sys.argv) > 2 else [
        {"id": 1, "method": "hello", "params": {"protocol": "kioskd/1"}},
        {"id": 2, "method": "staff.x"}, {"id": 3, "method": "admin.y"}]
    if len(sys.argv) > 3 and sys.argv[3] == "pid":
        print(json.dumps({"pid": os.getpid()}), flush=True)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    try:
        s.connect(sys.argv[1])
    except PermissionError:
        print("EACCES")
        sys.exit(0)
    f = s.makefile("rwb")
    for r in requests:
        if "sleep" in r:
            import time
            time.sleep(r["sleep"])
            continue
        try:
            f.write((json.dumps(r) + "\\n").encode())
            f.flush()
        except OSError:
            pass  # refused: the server may hang up first; its error line is still there to read
        try:
            line = f.readline()
        except OSError:
            break
        if not line:
            break
        print(line.decode().strip(), flush=True)
    """

/// The Python client's output lines, run as `user` with primary group `group` and the user's supplementary groups.
func runRaw(as user: String, group: String, path: String, requests: String? = nil, printPID: Bool = false) throws -> [String] {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
    var args = ["--reuid=\(user)", "--regid=\(group)", "--init-groups", "/usr/bin/python3", "-I", "-c", pythonClient, path]
    if requests != nil || printPID { args.append(requests ?? "null") }
    if printPID { args.append("pid") }
    process.arguments = args
    process.currentDirectoryURL = URL(fileURLWithPath: "/")
    let output = Pipe()
    process.standardOutput = output
    process.standardError = FileHandle.nullDevice
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    #expect(process.terminationStatus == 0)
    return String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
}

func runClient(as user: String, group: String, path: String) throws -> [ControlReply] {
    try runRaw(as: user, group: group, path: path).map { try KioskJSON.decode(ControlReply.self, from: Data($0.utf8)) }
}

/// `hello`, then each call in turn (ids 2, 3, …), as `user`: the client's pid and every reply (hello's first).
func runClient(as user: String, group: String, path: String, calls: [(method: String, params: JSONValue?)]) throws
    -> (pid: Int32, replies: [ControlReply])
{
    var requests: [JSONValue] = [.object(["id": .number(1), "method": .string("hello"),
                                          "params": .object(["protocol": .string("kioskd/1")])])]
    for (i, call) in calls.enumerated() {
        var r: [String: JSONValue] = ["id": .number(Double(i + 2)), "method": .string(call.method)]
        if let params = call.params { r["params"] = params }
        requests.append(.object(r))
    }
    let text = String(decoding: try KioskJSON.encode(JSONValue.array(requests)), as: UTF8.self)
    let lines = try runRaw(as: user, group: group, path: path, requests: text, printPID: true)
    guard let first = lines.first, let pid = try KioskJSON.decode(JSONValue.self, from: Data(first.utf8))["pid"]?.intValue else {
        throw NSError(domain: "python client printed no pid: \(lines)", code: 1)
    }
    return (Int32(pid), try lines.dropFirst().map { try KioskJSON.decode(ControlReply.self, from: Data($0.utf8)) })
}
