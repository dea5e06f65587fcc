import Foundation
import KioskCore
import KioskStore
import Testing

/// Kills a process that is submitting and transitioning applications with SIGKILL at random moments, then
/// checks that every acknowledged submission is intact and nothing partial exists.
@Suite(.serialized) struct CrashTests {
    static let kills = Int(ProcessInfo.processInfo.environment["KIOSK_CRASH_KILLS"] ?? "") ?? 220

    static func workerPath() -> String {
        if let dir = ProcessInfo.processInfo.environment["KIOSK_BIN_DIR"] { return "\(dir)/kiosk-store-worker" }
        return packageRoot.appendingPathComponent(".build/debug/kiosk-store-worker").path
    }

    struct Ack {
        var id: UUID
        var code: String
        var hashes: [String]
    }

    @Test(.timeLimit(.minutes(5))) func sigkillAtRandomMomentsLosesNothingAcknowledged() async throws {
        let dir = try makeTempDir()
        var acks: [Ack] = []
        var rng = SystemRandomNumberGenerator()
        var killedWhileRunning = 0
        // At least `kills` rounds, and more (up to 3x) while a loaded machine has acknowledged too few to prove
        // anything: the count of kills is fixed, the time each worker gets before its kill is not.
        var round = 0
        while round < Self.kills || (acks.count < 200 && round < 3 * Self.kills) {
            defer { round += 1 }
            let p = Process()
            p.executableURL = URL(fileURLWithPath: Self.workerPath())
            p.arguments = [dir, String(UInt64.random(in: 1...UInt64.max, using: &rng))]
            let out = Pipe()
            p.standardOutput = out
            p.standardError = FileHandle.nullDevice
            try p.run()
            // Anywhere from during open/sweep to well into a burst of submissions and transitions.
            try await Task.sleep(nanoseconds: UInt64.random(in: 2_000_000...160_000_000, using: &rng))
            if p.isRunning { killedWhileRunning += 1 }
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            #expect(!text.contains("OPEN-FAILED"), "round \(round): \(text.prefix(300))")
            // Only complete lines count: a line cut by the kill was never acknowledged.
            for line in text.split(separator: "\n", omittingEmptySubsequences: false).dropLast() where line.hasPrefix("ACK ") {
                let parts = line.split(separator: " ")
                guard parts.count == 4, let id = UUID(uuidString: String(parts[1])) else { continue }
                acks.append(Ack(id: id, code: String(parts[2]), hashes: parts[3].split(separator: ",").map(String.init)))
            }
        }
        #expect(killedWhileRunning * 10 >= round * 9, "only \(killedWhileRunning) of \(round) kills hit a running worker")
        #expect(acks.count >= 200, "too few acknowledged submissions (\(acks.count)) to prove anything")

        let (store, _) = try KioskStore.open(directory: dir, configuration: StoreConfiguration(minFreeBytes: 0, retentionDays: 0))
        for ack in acks {
            let app = try store.application(ack.id.uuidString)
            #expect(app.trackingCode.raw == ack.code)
            #expect(app.attachmentCount == ack.hashes.count)
            #expect(app.attachments.map(\.sha256) == ack.hashes, "attachments of \(ack.id)")
            for a in app.attachments where !a.purged {
                let data = try Data(contentsOf: URL(fileURLWithPath: store.path(of: a)))
                #expect(data.count == a.size)
            }
            // The state is the last audited transition: no state change escaped the audit log.
            let last = try store.history(ack.id).last { $0.event == "transition" }
            #expect(last?.to == app.state, "audit of \(ack.id)")
        }
        let check = try store.check()
        #expect(check.integrity == ["ok"])
        #expect(check.problems.isEmpty, "\(check.problems.prefix(5))")
        #expect(check.ok)
        // Applications that were never acknowledged may exist (killed after commit, before the ACK was written),
        // but each is complete: check() above found no incomplete application, no missing or altered file.
        #expect(check.applications >= acks.count)
        // No leftover files: every file in the spool belongs to a live attachment row.
        let live = Set(try store.queueList().flatMap { try store.application($0.applicationID.uuidString).attachments }
            .filter { !$0.purged }.map(\.file))
        #expect(Set(files(in: "\(dir)/attachments")) == live)
        print("crash test: \(round) SIGKILLs (\(killedWhileRunning) while running), \(acks.count) acknowledged submissions, \(check.applications) applications, \(check.attachmentsChecked) live attachments verified")
    }
}
