import Foundation

/// A product of this package's debug build (`kioskd`, `kioskctl`, ...), or of `$KIOSK_BIN_DIR` when set.
public func builtProduct(_ name: String) -> String {
    if let dir = ProcessInfo.processInfo.environment["KIOSK_BIN_DIR"] { return "\(dir)/\(name)" }
    return packageRoot.appendingPathComponent(".build/debug/\(name)").path
}

/// Runs a program to its end: exit status, stdout and stderr (both read at once, so neither pipe fills up).
public func runProgram(_ path: String, _ args: [String], in directory: String? = nil) throws -> (status: Int32, out: String, err: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: path)
    p.arguments = args
    if let directory { p.currentDirectoryURL = URL(fileURLWithPath: directory) }
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    let errData = ResultBox()
    let done = DispatchSemaphore(value: 0)
    DispatchQueue.global().async {
        errData.set(err.fileHandleForReading.readDataToEndOfFile(), nil, nil)
        done.signal()
    }
    let o = out.fileHandleForReading.readDataToEndOfFile()
    done.wait()
    p.waitUntilExit()
    let e = errData.get().0 ?? Data()
    return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
}
