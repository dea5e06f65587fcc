import Foundation
import KioskCore
import KioskStore

/// Percentile of sorted samples (nearest rank).
func percentile(_ sorted: [Double], _ p: Double) -> Double {
    guard !sorted.isEmpty else { return .nan }
    return sorted[min(sorted.count - 1, Int((p / 100 * Double(sorted.count)).rounded(.up)) - 1)]
}

func peakRSSMiB() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_maxrss) / 1024
}

func ms(_ seconds: Double) -> String { String(format: "%.2f ms", seconds * 1000) }

func benchStore() throws {
    let base = ProcessInfo.processInfo.environment["KIOSK_BENCH_DIR"] ?? NSTemporaryDirectory()
    let dir = "\(base)/kiosk-bench-store-\(getpid())"
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try FileManager.default.createDirectory(atPath: "\(dir)/src", withIntermediateDirectories: true)
    var rng = SystemRandomNumberGenerator()
    for i in 1...5 {
        let data = Data((0..<300_000).map { _ in UInt8.random(in: 0...255, using: &rng) })
        try data.write(to: URL(fileURLWithPath: "\(dir)/src/page\(i).jpg"))
    }
    let nik = try NIK("5371011708950003", today: CivilDate(year: 2026, month: 11, day: 22)!)
    let config = StoreConfiguration(minFreeBytes: 64 << 20)

    // 1. Submit latency: 5 attachments of 300 KB copied from disk, each submission durable (FULL commit + fsyncs).
    var (store, _) = try KioskStore.open(directory: "\(dir)/data", configuration: config)
    var submits: [Double] = []
    for _ in 0..<200 {
        let app = NewApplication(
            service: "birth", profile: "kota-kupang", applicant: nik, eventDate: CivilDate(year: 2024, month: 3, day: 10)!,
            contact: "0812", attachments: (1...5).map { NewAttachment(requirement: "r\($0)", path: "\(dir)/src/page\($0).jpg") })
        let t0 = monotonicSeconds()
        _ = try store.submit(app)
        submits.append(monotonicSeconds() - t0)
    }
    submits.sort()
    print("store: submit 5 x 300 KB (n=\(submits.count)): p50 \(ms(percentile(submits, 50))), p99 \(ms(percentile(submits, 99))), max \(ms(submits.last!))  [goal p99 <= 30 ms]")
    let submitRSS = peakRSSMiB()

    // 2. Lookup by tracking code with 100,000 applications. The bulk rows are written through the sqlite3
    // shell (as a Dinas import would be), each a delivered application whose attachment was purged.
    let target = 100_000
    var codes: [TrackingCode] = []
    var sql = "BEGIN;\n"
    sql.reserveCapacity(target * 420)
    let t = Int(Date().timeIntervalSince1970 * 1000)
    var seen = Set<String>()
    while codes.count < target - submits.count {
        let code = TrackingCode(using: &rng)
        guard seen.insert(code.raw).inserted else { continue }
        codes.append(code)
        let id = UUID().uuidString.lowercased()
        sql += "INSERT INTO applications (id, tracking_code, service, profile, applicant_nik_masked, event_date, state, attachment_count, total_bytes, created_at, updated_at, submitted_at, delivered_at, purged_at) VALUES ('\(id)','\(code.raw)','birth','kota-kupang','************0003','2024-03-10','delivered',1,300000,\(t),\(t),\(t),\(t),\(t));\n"
        sql += "INSERT INTO attachments (application_id, seq, requirement, file, media_type, sha256, size, purged_at) VALUES ('\(id)',1,'r1','\(id)/1.jpg','image/jpeg','\(String(repeating: "ab", count: 32))',300000,\(t));\n"
        sql += "INSERT INTO upload_queue (application_id, state, enqueued_at, next_attempt_at) VALUES ('\(id)','delivered',\(t),\(t));\n"
    }
    sql += "COMMIT;\n"
    store = try KioskStore.open(directory: "\(dir)/data", configuration: config).0  // release our handle's cache
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
    p.arguments = ["\(dir)/data/kiosk.sqlite3"]
    let input = Pipe()
    p.standardInput = input
    try p.run()
    input.fileHandleForWriting.write(Data(sql.utf8))
    try input.fileHandleForWriting.close()
    p.waitUntilExit()
    guard p.terminationStatus == 0 else { throw NSError(domain: "sqlite3", code: Int(p.terminationStatus)) }
    sql = ""
    (store, _) = try KioskStore.open(directory: "\(dir)/data", configuration: config)
    let total = try store.queueStats().counts.values.reduce(0, +)
    var lookups: [Double] = []
    for _ in 0..<20_000 {
        let code = codes.randomElement(using: &rng)!.formatted
        let t0 = monotonicSeconds()
        _ = try store.application(code)
        lookups.append(monotonicSeconds() - t0)
    }
    lookups.sort()
    print("store: lookup by tracking code with \(total) applications (n=\(lookups.count)): p50 \(ms(percentile(lookups, 50))), p99 \(ms(percentile(lookups, 99)))  [goal p99 <= 1 ms]")

    let attrs = try FileManager.default.attributesOfItem(atPath: "\(dir)/data/kiosk.sqlite3")
    let wal = (try? FileManager.default.attributesOfItem(atPath: "\(dir)/data/kiosk.sqlite3-wal"))?[.size] as? Int ?? 0
    print("store: database size \(String(format: "%.1f", Double((attrs[.size] as? Int ?? 0) + wal) / 1_048_576)) MiB for \(total) applications (incl. WAL \(wal / 1024) KiB)")
    print("store: peak memory (max RSS) \(String(format: "%.1f", submitRSS)) MiB after the submits; \(String(format: "%.1f", peakRSSMiB())) MiB overall (includes the bench's own 100k-row SQL fixture text)")
}
