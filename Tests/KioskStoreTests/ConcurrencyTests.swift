import Foundation
import KioskCore
import KioskSecurity
import KioskStore
import Testing

/// Several real processes share one data directory: writers submitting at the same time and a reader whose
/// every open runs the sweep. Nothing acknowledged may be lost, no submission may fail, and `check()` passes.
@Suite(.serialized) struct ConcurrencyTests {
    struct Worker {
        let process: Process
        let output: String
    }

    /// Starts `kiosk-store-worker` with its stdout in a file (read after it exits).
    static func start(_ args: [String], output: String) throws -> Worker {
        FileManager.default.createFile(atPath: output, contents: nil)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: CrashTests.workerPath())
        p.arguments = args
        p.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
        FileManager.default.createFile(atPath: output + ".err", contents: nil)
        p.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: output + ".err"))
        try p.run()
        return Worker(process: p, output: output)
    }

    /// Waits (without blocking the cooperative pool) until every worker exits or `seconds` pass.
    static func wait(_ workers: [Worker], seconds: Double) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while workers.contains(where: { $0.process.isRunning }) {
            if Date() > deadline {
                for w in workers where w.process.isRunning { kill(w.process.processIdentifier, SIGKILL) }
                Issue.record("workers did not finish within \(seconds) s")
                break
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        for w in workers { w.process.waitUntilExit() }
    }

    static func lines(_ w: Worker) -> [String] {
        (try? String(contentsOfFile: w.output, encoding: .utf8))?.split(separator: "\n").map(String.init) ?? []
    }

    @Test(.timeLimit(.minutes(2))) func fourWritersAndAReaderLoseNothingAcknowledged() async throws {
        let dir = try makeTempDir()
        let logs = try makeTempDir()
        let writers = 4, submits = 25
        // The data directory exists before the race so every process starts from the same schema.
        _ = try KioskStore.open(directory: dir)
        var workers: [Worker] = []
        for i in 0..<writers {
            workers.append(try Self.start([dir, String(1000 + i), "submit", String(submits)], output: "\(logs)/w\(i)"))
        }
        let reader = try Self.start([dir, "7", "stats", "60"], output: "\(logs)/reader")
        try await Self.wait(workers + [reader], seconds: 90)

        var acks: [(id: UUID, code: String, hashes: [String])] = []
        for (i, w) in workers.enumerated() {
            let err = (try? String(contentsOfFile: w.output + ".err", encoding: .utf8)) ?? ""
            #expect(w.process.terminationStatus == 0, "writer \(i) exited \(w.process.terminationStatus): \(err.prefix(300))")
            let out = Self.lines(w)
            #expect(!out.contains { $0.hasPrefix("SUBMIT-FAILED") || $0.hasPrefix("OPEN-FAILED") },
                    "writer \(i): \(out.filter { !$0.hasPrefix("ACK") }.prefix(3))")
            for line in out where line.hasPrefix("ACK ") {
                let parts = line.split(separator: " ")
                guard parts.count == 4, let id = UUID(uuidString: String(parts[1])) else { continue }
                acks.append((id, String(parts[2]), parts[3].split(separator: ",").map(String.init)))
            }
        }
        let readerLines = Self.lines(reader)
        #expect(reader.process.terminationStatus == 0)
        #expect(readerLines.filter { $0.hasPrefix("STATS ") }.count == 60, "\(readerLines.filter { !$0.hasPrefix("STATS ") }.prefix(3))")
        #expect(acks.count == writers * submits)
        // The race is real only if sweeps ran while writers were spooling (a reader whose sweeps were all skipped
        // would pass with no spool lock at all). A sweep that saw fewer applications than were finally submitted
        // ran while writers were still at work.
        let sweptDuringWrites = readerLines.filter { line in
            let parts = line.split(separator: " ")
            return parts.count == 3 && parts[2] == "swept" && (Int(parts[1]) ?? Int.max) < writers * submits
        }.count
        print("concurrency test: \(acks.count) acknowledged, \(sweptDuringWrites) of the reader's 60 opens swept while writers ran")
        #expect(sweptDuringWrites >= 1, "no reader open swept: the test proved nothing about the sweep")

        let (store, _) = try KioskStore.open(directory: dir)
        for ack in acks {
            let app = try store.application(ack.id.uuidString)
            #expect(app.trackingCode.raw == ack.code)
            #expect(app.attachments.map(\.sha256) == ack.hashes, "rows of \(ack.id)")
            // The files themselves, hashed again from disk: what the worker was told is what is stored.
            let onDisk = try app.attachments.map { SHA256.hex(try Data(contentsOf: URL(fileURLWithPath: store.path(of: $0)))) }
            #expect(onDisk == ack.hashes, "files of \(ack.id)")
        }
        let check = try store.check()
        #expect(check.ok, "\(check.problems.prefix(5))")
        #expect(check.applications == writers * submits)
        #expect(try store.queueStats().counts["submitted"] == writers * submits)
    }

    /// A process's umask does not loosen (or tighten) the spool: folders 0700, files 0600 under umask 0 and 077.
    @Test(arguments: ["000", "077"]) func spoolModesIgnoreTheUmask(_ mask: String) async throws {
        let dir = try makeTempDir()
        let logs = try makeTempDir()
        let w = try Self.start([dir, "3", "submit", "2", mask], output: "\(logs)/w")
        try await Self.wait([w], seconds: 30)
        #expect(w.process.terminationStatus == 0)
        #expect(Self.lines(w).filter { $0.hasPrefix("ACK ") }.count == 2)
        var dirs = [dir, "\(dir)/attachments", "\(dir)/attachments/.tmp", "\(dir)/documents"]
        let spooled = files(in: "\(dir)/attachments")
        #expect(!spooled.isEmpty)
        dirs += Set(spooled.map { "\(dir)/attachments/" + $0.split(separator: "/")[0] })
        for d in dirs { #expect(mode(d) == 0o700, "\(d) under umask \(mask)") }
        for f in spooled { #expect(mode("\(dir)/attachments/\(f)") == 0o600, "\(f) under umask \(mask)") }
        #expect(mode("\(dir)/kiosk.sqlite3") == 0o600)
        let (store, _) = try KioskStore.open(directory: dir)
        #expect(try store.check().ok)
    }
}
