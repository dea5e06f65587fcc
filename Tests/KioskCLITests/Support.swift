import Foundation
import KioskCLI
import Synchronization

let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

/// The result of one in-process kioskctl run.
struct CtlResult {
    var status: Int32
    var out: String
    var err: String

    func json() throws -> Any { try JSONSerialization.jsonObject(with: Data(self.out.utf8)) }
    func object() throws -> [String: Any] { (try self.json() as? [String: Any]) ?? [:] }
}

/// Runs kioskctl in-process with captured output, in `directory` (default: the package root).
func ctl(_ args: [String], in directory: URL = packageRoot, now: Date = Date(), environment: [String: String] = [:]) -> CtlResult {
    let out = Mutex(""), err = Mutex("")
    let context = CLIContext(
        stdout: { s in out.withLock { $0 += s } }, stderr: { s in err.withLock { $0 += s } },
        environment: environment, currentDirectory: directory.path, executablePath: nil, now: { now })
    let status = KioskCtl.run(args, context: context)
    return CtlResult(status: status, out: out.withLock { $0 }, err: err.withLock { $0 })
}

func makeTempDir() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("kioskctl-test-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// The built products live next to each other in the build folder.
func builtProduct(_ name: String) -> String {
    if let dir = ProcessInfo.processInfo.environment["KIOSK_BIN_DIR"] { return "\(dir)/\(name)" }
    return packageRoot.appendingPathComponent(".build/debug/\(name)").path
}

func runProcess(_ path: String, _ args: [String], cwd: URL = packageRoot) throws -> CtlResult {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: path)
    p.arguments = args
    p.currentDirectoryURL = cwd
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return CtlResult(status: p.terminationStatus, out: String(decoding: o, as: UTF8.self), err: String(decoding: e, as: UTF8.self))
}
