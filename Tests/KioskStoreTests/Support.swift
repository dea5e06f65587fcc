import Foundation
import KioskCore
import KioskStore
import Synchronization

let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

func makeTempDir() throws -> String {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("kiosk-store-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url.path
}

/// A settable clock for retention and backoff tests.
final class TestClock: Sendable {
    private let value: Mutex<Date>
    init(_ start: Date = Date(timeIntervalSince1970: 1_790_000_000)) { self.value = Mutex(start) }
    var now: Date { self.value.withLock { $0 } }
    func advance(seconds: Double) { self.value.withLock { $0 = $0.addingTimeInterval(seconds) } }
    var closure: @Sendable () -> Date { { self.now } }
}

let testNIK = try! NIK("5371011708950003", today: CivilDate(year: 2026, month: 11, day: 22)!)

func newApplication(_ attachments: [NewAttachment], id: UUID = UUID()) -> NewApplication {
    NewApplication(id: id, service: "birth", profile: "kota-kupang", applicant: testNIK,
                   eventDate: CivilDate(year: 2024, month: 3, day: 10)!, contact: "081234567890",
                   facts: ["citizenship": .string("wni")], attachments: attachments)
}

func bytes(_ n: Int, seed: UInt8 = 1) -> Data { Data((0..<n).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed)) }) }

func files(in dir: String) -> [String] {
    guard let e = FileManager.default.enumerator(atPath: dir) else { return [] }
    return e.compactMap { $0 as? String }.filter {
        var isDir: ObjCBool = false
        FileManager.default.fileExists(atPath: "\(dir)/\($0)", isDirectory: &isDir)
        return !isDir.boolValue
    }.sorted()
}

func mode(_ path: String) -> Int {
    ((try? FileManager.default.attributesOfItem(atPath: path))?[.posixPermissions] as? NSNumber)?.intValue ?? -1
}

/// Runs the sqlite3 command-line shell against a database (a real, independent reader of the file).
func sqlite3(_ db: String, _ sql: String) throws -> (status: Int32, out: String, err: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
    p.arguments = [db, sql]
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: o, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines),
            String(decoding: e, as: UTF8.self))
}
