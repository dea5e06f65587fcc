#if canImport(Glibc)
import Glibc
#endif
import Foundation
import KioskCore
import KioskSecurity
import KioskService
import KioskTestSupport
import Testing

/// kioskd as a real process: sd_notify, the socket, the Dinas link, crash safety, the single-owner lock.
@Suite(.serialized, .timeLimit(.minutes(4))) struct KioskdTests {
    @Test func readyThenWatchdogOnlyWhileHealthyThenCleanStop() throws {
        let k = try KioskdProcess(dinas: nil)
        let notify = try NotifyListener(dir: k.dir)
        let started = Date()
        try k.start(notify: notify, watchdogUSec: 1_000_000)
        #expect(notify.wait(for: "READY=1", within: 10), "READY=1 within 10 s; log: \(k.log)")
        let ready = Date().timeIntervalSince(started)
        #expect(ready < 10)
        // READY means the socket accepts.
        let client = try ControlClient.connect(path: k.socket)
        #expect(client.role == .admin)
        // WATCHDOG_USEC=1 s: a ping every 0.5 s while healthy.
        let window = Date()
        usleep(3_000_000)
        let pings = notify.count("WATCHDOG=1", since: window)
        #expect((4...8).contains(pings), "\(pings) pings in 3 s")

        // A wedged store: another process holds the database's write lock. The store probe cannot finish, and
        // the pings stop; when the lock goes, they resume.
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        holder.arguments = ["python3", "-c", """
            import sqlite3, sys, time
            c = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
            c.execute("BEGIN EXCLUSIVE"); print("locked", flush=True); time.sleep(float(sys.argv[2])); c.execute("ROLLBACK")
            """, "\(k.dataDir)/kiosk.sqlite3", "16"]
        let out = Pipe()
        holder.standardOutput = out
        try holder.run()
        _ = out.fileHandleForReading.availableData
        usleep(12_500_000)
        let wedged = Date()
        usleep(2_500_000)
        #expect(notify.count("WATCHDOG=1", since: wedged) == 0, "no pings while the store is wedged")
        #expect(notify.all.contains { $0.text.contains("UNHEALTHY") }, "STATUS says why")
        holder.waitUntilExit()
        #expect(eventually(within: 8) { notify.count("WATCHDOG=1", since: Date().addingTimeInterval(-1)) > 0 }, "pings resume")

        let stop = k.terminate()
        #expect(stop.status == 0, "exit 0 after SIGTERM; log: \(k.log)")
        #expect(stop.seconds < 10)
        #expect(notify.count("STOPPING=1") == 1)
        #expect(!FileManager.default.fileExists(atPath: k.socket), "socket removed")
    }

    @Test func withoutNotifySocketItRunsTheSameAndASecondKioskdIsRefused() throws {
        let k = try KioskdProcess(dinas: nil)
        let client = try k.startAndWait()
        let status = try client.callBlocking("staff.status")
        #expect(status["kiosk_id"]?.stringValue == k.kioskID)
        #expect(status["config"]?["version"]?.intValue == 0, "shipped profile until a bundle is applied")

        let second = Process()
        second.executableURL = URL(fileURLWithPath: builtProduct("kioskd"))
        second.arguments = ["--config", k.configPath]
        let err = Pipe()
        second.standardError = err
        second.standardOutput = FileHandle.nullDevice
        let t0 = Date()
        try second.run()
        let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        second.waitUntilExit()
        #expect(second.terminationStatus == 75, "\(text)")
        #expect(Date().timeIntervalSince(t0) < 5, "refused at once")
        #expect(text.contains("PID \(k.process.processIdentifier)"), "names the holder: \(text)")
        // The first one is unharmed.
        #expect(try client.callBlocking("staff.queue.stats")["queue_counts"] != nil)

        // kioskctl: a writing command goes through the socket; one kioskd does not serve refuses the data directory.
        try randomBytes(3000).write(to: URL(fileURLWithPath: "\(k.dir)/scan.jpg"))
        try Data(#"{"service": "birth", "profile": "kota-kupang", "applicant_nik": "5371011708950003", "event_date": "2024-03-10", "contact": "081234567890", "attachments": [{"requirement": "surat-kelahiran", "path": "scan.jpg"}]}"#.utf8)
            .write(to: URL(fileURLWithPath: "\(k.dir)/app.json"))
        func ctl(_ args: [String]) throws -> (Int32, String, String) {
            try runProgram(builtProduct("kioskctl"), ["--config", k.configPath] + args, in: k.dir)
        }
        let submit = try ctl(["application", "submit", "app.json", "--json"])
        #expect(submit.0 == 0, "\(submit.2)")
        #expect(submit.1.contains("tracking_code"))
        #expect(try client.callBlocking("staff.queue.stats")["queue_counts"]?["pending"]?.intValue == 1, "stored by kioskd")
        // The staff commands run in kioskd too; the JSON has the offline shape.
        let code = try #require(try JSONSerialization.jsonObject(with: Data(submit.1.utf8)) as? [String: Any])["tracking_code"] as? String
        let shownApp = try ctl(["application", "show", try #require(code), "--json"])
        #expect(shownApp.0 == 0, "\(shownApp.2)")
        let detail = try JSONSerialization.jsonObject(with: Data(shownApp.1.utf8)) as? [String: Any]
        #expect((detail?["application"] as? [String: Any])?["state"] != nil && detail?["history"] != nil)
        let quarantined = try ctl(["queue", "quarantine", try #require(code), "--reason", "foto buram", "--json"])
        #expect(quarantined.0 == 0 && quarantined.1.contains("quarantined"), "\(quarantined.2)")
        let retried = try ctl(["queue", "retry", try #require(code), "--json"])
        #expect(retried.0 == 0, "\(retried.2)")
        let restocked = try ctl(["restock", "paper", "--sheets", "120", "--json"])
        #expect(restocked.0 == 0 && restocked.1.contains("\"remaining\" : 120"), "\(restocked.1) \(restocked.2)")
        #expect(try client.callBlocking("staff.status")["paper"]?["remaining"]?.intValue == 120, "kioskd stored it")
        let check = try ctl(["store", "check"])
        #expect(check.0 == 75, "\(check.2)")
        #expect(check.2.contains("PID \(k.process.processIdentifier)"))
        let shown = try ctl(["status", "--json"])
        #expect(shown.0 == 0 && shown.1.contains("\"kiosk_id\""), "\(shown.2)")
        #expect(k.terminate().status == 0)
    }

    @Test func aBadConfigExits78NamingTheKey() throws {
        let k = try KioskdProcess(dinas: nil, extra: ["dinas": ["pol_seconds": 5]])
        try k.start()
        k.process.waitUntilExit()
        #expect(k.process.terminationStatus == 78)
        #expect(k.log.contains("dinas.pol_seconds"), "\(k.log)")
    }

    @Test func aSubmitThroughTheSocketReachesTheDinasAndItsDecisionComesBack() throws {
        let dinas = try DinasServer()
        let k = try KioskdProcess(dinas: dinas)
        let client = try k.startAndWait()
        let id = UUID()
        let submitted = Date()
        let receipt = try client.callBlocking("staff.submit", submissionParams(attachments: 2, id: id))
        #expect(receipt["tracking_code"] != nil)
        // No `sync run`: kioskd forwards on its own, woken by the submit.
        let arrived = try eventually(within: 15) {
            try dinas.applications().contains { ($0["id"] as? String) == id.uuidString.lowercased() &&
                (($0["attachments"] as? [[String: Any]]) ?? []).allSatisfy { $0["complete"] as? Bool == true } }
        }
        #expect(arrived, "complete at the Dinas; log: \(k.log)")
        #expect(Date().timeIntervalSince(submitted) < 10, "forwarding started within seconds of the submit")
        #expect(try eventually(within: 10) {
            try client.callBlocking("staff.application.show", .object(["key": .string(id.uuidString)]))["application"]?["state"]?.stringValue == "delivered"
        })
        // The Dinas decides; the kiosk knows within its poll interval (5 s here).
        try dinas.setState(id, "ready", documents: ["akta-kelahiran"])
        let decided = Date()
        #expect(try eventually(within: 12) {
            try client.callBlocking("staff.application.show", .object(["key": .string(id.uuidString)]))["application"]?["state"]?.stringValue == "ready"
        }, "ready at the kiosk; log: \(k.log)")
        #expect(Date().timeIntervalSince(decided) < 12)
        // The heartbeat carries real device states.
        #expect(try eventually(within: 15) {
            let beats = try dinas.admin("GET", "/admin/heartbeats") as? [[String: Any]] ?? []
            guard let last = beats.last, let devices = last["devices"] as? [String: Any] else { return false }
            return (devices["printer"] as? [String: Any])?["kind"] as? String == "simulated"
        })
        #expect(k.terminate().status == 0)
    }

    @Test func aBundlePublishedAtTheDinasGoesLiveAndATamperedOneIsRefused() throws {
        let dinas = try DinasServer()
        let k = try KioskdProcess(dinas: dinas)
        let client = try k.startAndWait()
        #expect(try client.callBlocking("resident.info")["config_version"]?.intValue == 0)
        try dinas.admin("PUT", "/admin/config", body: try signedBundle(dinas.key, version: 5, desa: "Desa Baru Sekali", kiosk: k.kioskID))
        #expect(try eventually(within: 15) { try client.callBlocking("resident.info")["desa_name"]?.stringValue == "Desa Baru Sekali" },
                "live without a restart; log: \(k.log)")
        #expect(try client.callBlocking("resident.info")["config_version"]?.intValue == 5)

        var tampered = try JSONSerialization.jsonObject(with: try signedBundle(dinas.key, version: 6, desa: "Desa Palsu", kiosk: k.kioskID)) as! [String: Any]
        var payload = try JSONSerialization.jsonObject(with: Data(base64Encoded: tampered["payload"] as! String)!) as! [String: Any]
        var kioskSettings = payload["kiosk"] as! [String: Any]
        kioskSettings["desa_name"] = "Desa Diubah"
        payload["kiosk"] = kioskSettings
        tampered["payload"] = try JSONSerialization.data(withJSONObject: payload).base64EncodedString()
        try dinas.admin("PUT", "/admin/config", body: try JSONSerialization.data(withJSONObject: tampered))
        #expect(try eventually(within: 25) {
            let beats = try dinas.admin("GET", "/admin/heartbeats") as? [[String: Any]] ?? []
            return beats.contains { ($0["config_refused"] as? String)?.isEmpty == false }
        }, "the refusal is in the heartbeat; log: \(k.log)")
        #expect(try client.callBlocking("resident.info")["desa_name"]?.stringValue == "Desa Baru Sekali", "the good one stays")

        // Rollback returns to the shipped... no: to the previous good bundle, which here is none.
        #expect(throws: ControlError.self) { try client.callBlocking("technician.config.rollback") }
        #expect(k.terminate().status == 0)
    }

    @Test func sigkillInTheMiddleOfAnUploadDeliversExactlyOnce() throws {
        let dinas = try DinasServer(faults: ["latency_ms": 25])
        let k = try KioskdProcess(dinas: dinas)
        let client = try k.startAndWait()
        let id = UUID()
        let size = 2_500_000
        _ = try client.callBlocking("staff.submit", submissionParams(attachments: 1, bytes: size, id: id))
        #expect(try eventually(within: 30, every: 0.01) { (try dinas.stats()["upload_bytes_received"] as? Int ?? 0) >= 600_000 })
        k.kill9()
        let before = try dinas.stats()["upload_bytes_received"] as? Int ?? 0
        #expect(before < size, "killed mid-upload (\(before) of \(size))")
        let again = try k.startAndWait()
        #expect(try eventually(within: 30) {
            try again.callBlocking("staff.application.show", .object(["key": .string(id.uuidString)]))["application"]?["state"]?.stringValue == "delivered"
        }, "log: \(k.log)")
        let apps = try dinas.applications().filter { ($0["id"] as? String) == id.uuidString.lowercased() }
        #expect(apps.count == 1, "one application at the Dinas")
        let total = try dinas.stats()["upload_bytes_received"] as? Int ?? 0
        #expect(total - size >= 0 && total - size <= 1 << 20, "resent \(total - size) bytes: at most one chunk")
        #expect(k.terminate().status == 0)
    }
}

extension KioskdTests {
    /// Retention on the production path: kioskd purges a delivered application's protected data and files when it
    /// starts, once retention (1 day here) has passed since the Dinas confirmed it.
    @Test func retentionPurgesDeliveredApplicationsAtStart() throws {
        let dinas = try DinasServer()
        let k = try KioskdProcess(dinas: dinas, extra: ["store": ["min_free_bytes": 0, "retention_days": 1]])
        var client = try k.startAndWait()
        let id = UUID()
        _ = try client.callBlocking("staff.submit", submissionParams(id: id))
        func app() throws -> JSONValue? {
            try client.callBlocking("staff.application.show", .object(["key": .string(id.uuidString)]))["application"]
        }
        #expect(try eventually(within: 15) { try app()?["state"]?.stringValue == "delivered" }, "log: \(k.log)")
        #expect(try app()?["purged_at"] == nil, "kept while retention runs")
        #expect(k.terminate().status == 0)
        // Two days pass (the confirmation is moved back in the stopped kiosk's database).
        let aged = try runProgram("/usr/bin/env", ["python3", "-c", """
            import sqlite3, sys
            c = sqlite3.connect(sys.argv[1]); c.execute("UPDATE applications SET delivered_at = delivered_at - 2*86400000"); c.commit()
            """, "\(k.dataDir)/kiosk.sqlite3"])
        #expect(aged.status == 0, "\(aged.err)")
        client = try k.startAndWait()
        #expect(try eventually(within: 10) { try app()?["purged_at"] != nil }, "purged at start; log: \(k.log)")
        let spool = (try? FileManager.default.contentsOfDirectory(atPath: "\(k.dataDir)/attachments/\(id.uuidString.lowercased())")) ?? []
        #expect(spool.isEmpty, "attachment files gone: \(spool)")
        #expect(k.terminate().status == 0)
    }
}

/// A config bundle signed with `key`, from `kioskctl config init` + `config sign` (the real tools).
func signedBundle(_ key: Ed25519PrivateKey, version: Int, desa: String, kiosk: String,
                  edit: ((inout [String: Any]) -> Void)? = nil) throws -> Data {
    let dir = try makeTempDir()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try Data(try key.pem().utf8).write(to: URL(fileURLWithPath: "\(dir)/k.pem"))
    func ctl(_ args: [String]) throws -> Data {
        let r = try runProgram(builtProduct("kioskctl"), ["--profiles-dir", packageRoot.appendingPathComponent("Kiosk/profiles").path] + args)
        guard r.status == 0 else { throw NSError(domain: "kioskctl \(args) exited \(r.status): \(r.err)", code: 1) }
        return Data(r.out.utf8)
    }
    var payload = try ctl(["config", "init", "--profile", "kota-kupang", "--desa", desa, "--version", String(version), "--target", kiosk])
    if let edit, var object = try JSONSerialization.jsonObject(with: payload) as? [String: Any] {
        edit(&object)
        payload = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    }
    try payload.write(to: URL(fileURLWithPath: "\(dir)/payload.json"))
    _ = try ctl(["config", "sign", "\(dir)/payload.json", "--key", "\(dir)/k.pem", "--out", "\(dir)/bundle.json"])
    return try Data(contentsOf: URL(fileURLWithPath: "\(dir)/bundle.json"))
}
