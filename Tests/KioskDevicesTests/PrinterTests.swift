import Foundation
import KioskCore
import KioskDevices
import Testing

/// Against a real private cupsd and ippeveprinter. Serialized: the tests change the printer's condition.
extension RealPrinter {
@Suite(.timeLimit(.minutes(3))) struct PrinterTests {
    let t: TestPrinter

    init() throws {
        self.t = try #require(TestPrinter.shared, "the test printer could not start")
        try self.t.ctl("online")
        try self.t.ctl("refill")
        try self.t.ctl("toner-ok")
        try self.t.ctl("accept")
        try self.t.ctl("resume")
    }

    func waitFor(_ seconds: Double, _ printer: CUPSPrinter, _ check: (PrinterStatus) -> Bool) async throws -> (PrinterStatus, Double) {
        let start = Date()
        while true {
            let s = try await printer.status()
            if check(s) { return (s, Date().timeIntervalSince(start)) }
            guard Date().timeIntervalSince(start) < seconds else { return (s, Date().timeIntervalSince(start)) }
            try await Task.sleep(nanoseconds: 200_000_000)
        }
    }

    @Test func aPDFPrintsToCompletion() async throws {
        let printer = try await t.printer()
        let before = t.printedFiles
        let outcome = try await printer.print(path: try samplePDF(), title: "test", timeout: 60)
        #expect(outcome.printed, "\(outcome)")
        #expect(outcome.finalState == "completed")
        #expect(outcome.sheets >= 1)
        #expect(t.printedFiles == before + 1)
        let status = try await printer.status()
        #expect(status.state == "idle")
        #expect(status.acceptingJobs)
        #expect(status.problem == nil)
    }

    @Test func mediaEmptyIsSurfacedAndAJobDuringItIsNotCountedThenReprints() async throws {
        let printer = try await t.printer()
        try t.ctl("media-empty")
        let (status, seconds) = try await waitFor(10, printer) { $0.reasons.contains("media-empty") }
        #expect(status.reasons.contains("media-empty"), "\(status.reasons)")
        #expect(seconds <= 10)
        #expect(status.problem?.en?.contains("out of paper") == true)
        // The kiosk does not send a document into an empty printer...
        await #expect(throws: PrinterError.self) { try await printer.print(path: try samplePDF(), title: "blocked") }
        // ...and a job that runs during media-empty is cancelled and not counted as printed.
        let during = try await printer.print(path: try samplePDF(), title: "during", timeout: 30, precheck: false)
        #expect(!during.printed)
        #expect(during.faultsSeen.contains("media-empty"))
        #expect(during.sheets == 0)
        try t.ctl("refill")
        let (after, _) = try await waitFor(10, printer) { $0.problem == nil }
        #expect(after.problem == nil, "\(after.reasons)")
        let reprint = try await printer.print(path: try samplePDF(), title: "reprint", timeout: 60)
        #expect(reprint.printed, "\(reprint)")
    }

    @Test func aQueuePausedByAFaultRecoversOnceTheFaultClears() async throws {
        let printer = try await t.printer()
        try t.ctl("media-empty")
        try t.ctl("pause")
        let (stopped, _) = try await waitFor(10, printer) { $0.state == "stopped" && $0.reasons.contains("media-empty") }
        #expect(stopped.state == "stopped")
        #expect(await printer.recoverIfPossible() == false, "never resumed while paper is out")
        // The daemon's watcher, not the test, brings the queue back once paper is in again.
        let watcher = PrinterWatcher(printer: printer, interval: 1)
        let events = watcher.events()
        try t.ctl("refill")
        let start = Date()
        var resumed = false
        var sawStopped = false
        for await event in events {
            if case .status(let s) = event, s.state == "stopped" { sawStopped = true }
            if event == .resumed { resumed = true; break }
            if Date().timeIntervalSince(start) > 30 { break }
        }
        #expect(sawStopped, "the watcher reported the stopped queue first")
        #expect(resumed)
        #expect(Date().timeIntervalSince(start) < 30)
        #expect(try await printer.status().state != "stopped")
        #expect(try await printer.print(path: try samplePDF(), title: "after recovery", timeout: 60).printed)
    }

    @Test func tonerLowIsSurfacedAsAWarning() async throws {
        let printer = try await t.printer()
        try t.ctl("toner-low")
        let (s, _) = try await waitFor(10, printer) { $0.reasons.contains("toner-low") }
        #expect(s.warnings.contains("toner-low"))
        #expect(s.problem == nil, "toner-low warns but does not block")
    }

    @Test func simulatorKilledIsOffline() async throws {
        let printer = try await t.printer()
        try t.ctl("offline")
        let (s, _) = try await waitFor(10, printer) { $0.reasons.contains("offline") }
        #expect(s.reasons.contains("offline"))
        #expect(!s.deviceReachable)
        #expect(s.problem?.id.contains("tidak tersambung") == true)
        await #expect(throws: PrinterError.self) { try await printer.print(path: try samplePDF(), title: "offline") }
        try t.ctl("online")
        let (back, _) = try await waitFor(10, printer) { $0.deviceReachable }
        #expect(back.deviceReachable)
    }

    @Test func aQueueRejectingJobsGivesAClearError() async throws {
        let printer = try await t.printer()
        try t.ctl("reject")
        let s = try await printer.status()
        #expect(!s.acceptingJobs)
        do {
            _ = try await printer.print(path: try samplePDF(), title: "rejected")
            Issue.record("printing to a rejecting queue succeeded")
        } catch let error as PrinterError {
            guard case .notAccepting = error else { Issue.record("unexpected \(error)"); return }
            #expect(error.message.en?.contains("rejecting jobs") == true)
        }
        await #expect(throws: PrinterError.self) { try await printer.submit(path: try samplePDF(), title: "x", copies: 1) }
    }

    @Test func unknownQueueIsNoPrinter() async throws {
        await #expect(throws: PrinterError.self) {
            _ = try await CUPSPrinter(queue: "no-such-queue", server: self.t.server).status()
        }
    }

    /// The process's thread count (`Threads:` of /proc/self/status).
    static func threadCount() -> Int {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("Threads:") } ?? ""
        return Int(line.dropFirst("Threads:".count).trimmingCharacters(in: .whitespaces)) ?? -1
    }

    /// Threads named like the CUPS worker (/proc/self/task/*/comm).
    static func cupsThreads() -> Int {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
        return tasks.filter { tid in
            (try? String(contentsOfFile: "/proc/self/task/\(tid)/comm", encoding: .utf8))?
                .trimmingCharacters(in: .whitespacesAndNewlines) == "kiosk.cups"
        }.count
    }

    /// A daemon re-creates printers on every hotplug: that must not add a thread each time (libcups runs on one).
    @Test func fiftyPrintersShareTheProcesssOneCUPSThread() async throws {
        // The shared worker and the concurrency pool exist before the baseline is taken.
        _ = try await t.printer().status()
        let before = Self.threadCount()
        var printers: [CUPSPrinter] = []
        for _ in 0..<50 {
            let printer = try await t.printer()
            #expect(try await printer.status().state == "idle")
            printers.append(printer)
        }
        var after = Self.threadCount()
        // Dispatch may start a worker for a moment; give transient threads a chance to end before judging.
        for _ in 0..<30 where after > before + 2 {
            try await Task.sleep(nanoseconds: 100_000_000)
            after = Self.threadCount()
        }
        #expect(before > 0 && after <= before + 2, "threads before \(before), after 50 printers \(after)")
        #expect(Self.cupsThreads() == 1)
    }

    /// The one thread switches schedulers per operation: an explicit server, then CUPS_SERVER (nil), then another.
    @Test func eachPrinterKeepsItsOwnServerOnTheSharedThread() async throws {
        setenv("CUPS_SERVER", self.t.server, 1)  // what every test in this process uses (see PrinterCLITests)
        let explicit = try await t.printer()
        let fromEnvironment = try await CUPSPrinter(queue: t.queue)
        #expect(fromEnvironment.server == nil && explicit.server == t.server)
        let nowhere = try await CUPSPrinter(queue: t.queue, server: "/nonexistent/kiosk-cups.sock")
        for _ in 0..<3 {
            await #expect(throws: PrinterError.self) { try await nowhere.status() }
            #expect(try await explicit.status().queue == t.queue)
            await #expect(throws: PrinterError.self) { try await nowhere.status() }
            #expect(try await fromEnvironment.status().queue == t.queue)
        }
    }
}
}
