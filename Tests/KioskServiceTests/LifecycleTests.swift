#if canImport(Glibc)
import Glibc
#endif
import Foundation
import KioskCore
import KioskService
import KioskTestSupport
import Synchronization
import Testing

/// The in-house lifecycle pieces, in-process: the service group's order, sd_notify's abstract address, the live
/// configuration swapped between sessions.
@Suite struct LifecycleTests {
    final class Recorder: Sendable {
        let events = Mutex<[String]>([])
        func add(_ e: String) { self.events.withLock { $0.append(e) } }
        var all: [String] { self.events.withLock { $0 } }
    }

    struct Step: KioskdService {
        let name: String
        let recorder: Recorder
        var failStart = false
        var returnEarly = false

        struct Refused: Error {}

        func start() async throws {
            if self.failStart { throw Refused() }
            self.recorder.add("start \(self.name)")
        }

        func run() async {
            if self.returnEarly { return }
            while !Task.isCancelled { try? await Task.sleep(nanoseconds: 10_000_000) }
            self.recorder.add("cancelled \(self.name)")
        }

        func stop() async { self.recorder.add("stop \(self.name)") }
    }

    @Test func servicesStartInOrderAndStopInReverse() async {
        let r = Recorder()
        let group = ServiceGroup([Step(name: "store", recorder: r), Step(name: "sync", recorder: r), Step(name: "socket", recorder: r)],
                                 log: KioskLog(level: .error, sink: { _ in }))
        let outcome = await group.run(ready: {
            r.add("ready")
            group.shutdown()
        }, stopping: { r.add("stopping") })
        #expect(outcome == .stopped)
        #expect(r.all == ["start store", "start sync", "start socket", "ready", "stopping",
                          "cancelled socket", "stop socket", "cancelled sync", "stop sync", "cancelled store", "stop store"])
    }

    @Test func aFailedStartStopsWhatStartedAndIsNeverReady() async {
        let r = Recorder()
        let group = ServiceGroup([Step(name: "store", recorder: r), Step(name: "socket", recorder: r, failStart: true)],
                                 log: KioskLog(level: .error, sink: { _ in }))
        let outcome = await group.run(ready: { r.add("ready") }, stopping: { r.add("stopping") })
        guard case .failed(let why) = outcome else { Issue.record("\(outcome)"); return }
        #expect(why.hasPrefix("socket"))
        #expect(r.all == ["start store", "stop store"])
    }

    @Test func aServiceThatEndsOnItsOwnStopsTheGroupAsAFailure() async {
        let r = Recorder()
        let group = ServiceGroup([Step(name: "store", recorder: r), Step(name: "sync", recorder: r, returnEarly: true)],
                                 log: KioskLog(level: .error, sink: { _ in }))
        let outcome = await group.run(ready: {}, stopping: { r.add("stopping") })
        #expect(outcome == .failed("sync"))
        #expect(r.all.contains("stopping") && r.all.last == "stop store")
    }

    @Test func notifyReachesAnAbstractAddress() throws {
        let name = "kiosk-test-notify-\(UUID().uuidString.prefix(8))"
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = [UInt8(0)] + Array(name.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count)
        let bound = withUnsafePointer(to: &address) { p in p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        try #require(bound == 0)
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": "@\(name)", "WATCHDOG_USEC": "4000000"])
        #expect(notifier.watchdogInterval == 2)
        #expect(notifier.notify("READY=1\nSTATUS=ok"))
        var buffer = [UInt8](repeating: 0, count: 256)
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, 256, Int32(MSG_DONTWAIT)) }
        #expect(n > 0 && String(decoding: buffer[0..<max(0, n)], as: UTF8.self) == "READY=1\nSTATUS=ok")
        // Without NOTIFY_SOCKET, or with a watchdog meant for another process, nothing is sent or pinged.
        #expect(!SystemdNotifier(environment: [:]).notify("READY=1"))
        #expect(SystemdNotifier(environment: ["NOTIFY_SOCKET": "@x", "WATCHDOG_USEC": "1000000", "WATCHDOG_PID": "1"]).watchdogInterval == nil)
    }

    @Test func aNewConfigurationWaitsForTheOpenSessionsToEnd() throws {
        let profile = try JurisdictionProfile.load(
            try Data(contentsOf: packageRoot.appendingPathComponent("Kiosk/profiles/kota-kupang.json")), root: "kota-kupang")
        func config(_ v: Int, _ desa: String) -> LiveConfiguration {
            LiveConfiguration(profile: profile, settings: ResidentSettings(desaName: desa), version: v, source: "test \(v)")
        }
        let live = LiveConfig(config(1, "A"), maxDeferral: 60)
        let seen = Mutex<[Int]>([])
        live.observe { c in seen.withLock { $0.append(c.version) } }
        #expect(live.offer(config(2, "B")), "no session open: at once")
        live.beginSession(7)
        live.beginSession(8)
        #expect(!live.offer(config(3, "C")))
        #expect(live.current.version == 2 && live.pending?.version == 3)
        live.endSession(7)
        #expect(live.current.version == 2, "one session still open")
        live.endSession(8)
        #expect(live.current.settings.desaName == "C" && live.pending == nil)
        // A session left open (a crashed UI) holds a new configuration back at most maxDeferral.
        live.beginSession(9)
        let t0 = Date()
        #expect(!live.offer(config(4, "D"), now: t0))
        live.applyOverdue(now: t0.addingTimeInterval(30))
        #expect(live.current.version == 3)
        live.applyOverdue(now: t0.addingTimeInterval(61))
        #expect(live.current.version == 4)
        #expect(seen.withLock { $0 } == [2, 3, 4])
    }
}
