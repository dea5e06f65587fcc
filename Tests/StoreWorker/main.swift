// kiosk-store-worker: a test helper.
//   kiosk-store-worker DATA_DIR SEED                  the crash test kills it with SIGKILL at random moments: it
//                                                     submits and moves applications along as fast as it can
//   kiosk-store-worker DATA_DIR SEED submit N [UMASK] N submissions, then exit 0 (several run at once)
//   kiosk-store-worker DATA_DIR SEED stats N          opens the store and reads queue stats N times (a reader
//                                                     whose open-time sweep races the writers)
// It prints "ACK <id> <tracking-code> <sha256,sha256,...>" only after a submission has returned (is durable).
import Foundation
import KioskCore
import KioskSecurity
import KioskStore

/// One unbuffered write(2) per line, so a line is in the pipe before the next statement runs.
func emit(_ line: String) { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }
let args = CommandLine.arguments
guard args.count >= 3, let seed = UInt64(args[2]) else {
    FileHandle.standardError.write(Data("usage: kiosk-store-worker DATA_DIR SEED [submit N [UMASK] | stats N]\n".utf8))
    exit(64)
}
let mode = args.count >= 5 ? args[3] : "crash"
let rounds = args.count >= 5 ? Int(args[4]) ?? 1 : Int.max
if args.count >= 6, let mask = UInt32(args[5], radix: 8) { umask(mode_t(mask)) }

struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        var z = self.state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

var rng = SplitMix(state: seed)
let config = StoreConfiguration(maxAttachmentBytes: 1 << 20, maxApplicationBytes: 4 << 20, minFreeBytes: 1 << 20, retentionDays: 0)
if mode == "stats" {
    for _ in 0..<rounds {
        do {
            let (reader, report) = try KioskStore.open(directory: args[1], configuration: config)
            let stats = try reader.queueStats()
            emit("STATS \(stats.counts.values.reduce(0, +)) \(report.sweepSkipped ? "skipped" : "swept")")
        } catch {
            emit("STATS-FAILED \(error)")
        }
    }
    exit(0)
}
let store: KioskStore
do {
    store = try KioskStore.open(directory: args[1], configuration: config).0
} catch {
    emit("OPEN-FAILED \(error)")
    exit(1)
}
let nik = try! NIK("5371011708950003", today: CivilDate(year: 2026, month: 11, day: 22)!)
emit("READY")
var known: [UUID] = []
var submitted = 0
while true {
    if mode == "submit" && submitted >= rounds { exit(0) }
    submitted += 1
    let count = Int.random(in: 1...4, using: &rng)
    var attachments: [NewAttachment] = []
    var hashes: [String] = []
    for i in 0..<count {
        let size = Int.random(in: 1...48_000, using: &rng)
        let data = Data((0..<size).map { _ in UInt8.random(in: 0...255, using: &rng) })
        hashes.append(SHA256.hex(data))
        attachments.append(NewAttachment(requirement: "req-\(i)", data: data, fileExtension: "jpg"))
    }
    do {
        let receipt = try store.submit(NewApplication(
            service: "birth", profile: "kota-kupang", applicant: nik, eventDate: CivilDate(year: 2024, month: 3, day: 10)!,
            contact: "0812", attachments: attachments))
        emit("ACK \(receipt.id.uuidString.lowercased()) \(receipt.trackingCode.raw) \(hashes.joined(separator: ","))")
        known.append(receipt.id)
    } catch {
        emit("SUBMIT-FAILED \(error)")
    }
    if mode == "submit" { continue }
    // Move a random earlier application along; illegal moves are rejected by the store and ignored here.
    guard let id = known.randomElement(using: &rng) else { continue }
    switch Int.random(in: 0..<8, using: &rng) {
    case 0: try? store.markUploading(id)
    case 1: try? store.markDelivered(id)
    case 2: try? store.quarantine(id, reason: "worker", actor: "worker")
    case 3: try? store.requeue(id, actor: "worker")
    case 4: try? store.recordAttempt(id, error: "timeout", retryAt: Date().addingTimeInterval(30))
    case 5: try? store.transition(id, to: .ready, actor: "dinas")
    case 6: try? store.transition(id, to: .inReview, actor: "dinas")
    default: _ = try? store.purgeExpired()
    }
}
