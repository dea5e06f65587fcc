#if canImport(Glibc)
import Glibc
#endif
import Foundation
import KioskCore
import KioskDevices
import KioskService
import KioskStore
import KioskTestSupport
import Testing

/// What kioskd promises, shown on real processes: a Dinas back after an outage gets the backed-off applications
/// within a minute; a rolled-back bundle stays refused until a newer one; roles of real users on the real socket,
/// with every state-changing staff call audited; a printer queue a fault paused is resumed by kioskd itself.
@Suite(.serialized, .timeLimit(.minutes(5))) struct KioskdProofTests {
    // MARK: 1. the Dinas comes back

    @Test func aDinasBackAfterAnOutageGetsTheBackedOffApplicationsWithinAMinute() throws {
        let dinas = try DinasServer()
        let k = try KioskdProcess(dinas: dinas)
        let client = try k.startAndWait()
        defer { _ = k.terminate() }

        // The Dinas stops answering: every /v1 request (the ping included) gets 503; its data directory stays.
        try dinas.setFaults(["fail_rate": 1.0])
        let ids = [UUID(), UUID()]
        let keys = Set(ids.map { $0.uuidString.lowercased() })
        func atDinas() throws -> [[String: Any]] { try dinas.applications().filter { keys.contains(($0["id"] as? String) ?? "") } }
        for id in ids { _ = try client.callBlocking("staff.submit", submissionParams(id: id)) }
        func item(_ id: UUID) throws -> QueueItem? {
            try client.callBlocking("staff.queue.list").decode([QueueItem].self).first { $0.applicationID == id }
        }
        // Each failed attempt doubles the backoff (30 s base). Staff pressing retry during the outage runs the
        // attempts now, so the backoff passes a minute in seconds instead of minutes of waiting.
        for id in ids {
            var seen = 0
            while true {
                var current: QueueItem?
                try #require(try eventually(within: 20, every: 0.1) {
                    current = try item(id)
                    return (current?.attempts ?? 0) > seen
                }, "attempt \(seen + 1) of \(id) failed; log: \(k.log)")
                let now = try #require(current)
                seen = now.attempts
                if now.nextAttemptAt.timeIntervalSinceNow > 65 { break }
                try #require(seen < 8, "backoff never grew: \(now)")
                _ = try client.callBlocking("staff.queue.retry", .object(["key": .string(id.uuidString)]))
            }
        }
        let waits = try ids.map { try #require(try item($0)).nextAttemptAt.timeIntervalSinceNow }
        #expect(waits.allSatisfy { $0 > 60 }, "at the return each application waits over a minute by its backoff: \(waits)")
        #expect(try atDinas().isEmpty, "nothing reached the Dinas while it was down")
        // While they back off kioskd probes the Dinas (GET /v1/ping, every 30 s): one probe fails during the outage,
        // so the return is seen by a later one, not by luck of timing.
        func pings() throws -> Int { ((try dinas.stats()["by_endpoint"] as? [String: Any])?["GET /v1/ping"] as? Int) ?? 0 }
        let pinged = try pings()
        #expect(try eventually(within: 40, every: 0.25) { try pings() > pinged }, "a probe during the outage; log: \(k.log)")

        // The Dinas returns: the next probe answers and makes them due at once.
        try dinas.setFaults(["fail_rate": 0.0])
        let back = Date()
        let delivered = try eventually(within: 75, every: 0.5) {
            try ids.allSatisfy { try item($0)?.queueState == .delivered }
        }
        let seconds = Date().timeIntervalSince(back)
        #expect(delivered, "delivered after the return; log: \(k.log)")
        #expect(seconds < 60, "delivered \(seconds) s after the Dinas returned")
        let remote = try atDinas()
        #expect(remote.count == 2)
        #expect(remote.allSatisfy { (($0["attachments"] as? [[String: Any]]) ?? []).allSatisfy { $0["complete"] as? Bool == true } })
    }

    // MARK: 2. rollback of a real bundle

    @Test func aRolledBackBundleStaysRefusedUntilANewerOneIsPublished() throws {
        let dinas = try DinasServer()
        let k = try KioskdProcess(dinas: dinas)
        let client = try k.startAndWait()
        defer { _ = k.terminate() }
        let pid = k.process.processIdentifier
        func live() throws -> String {
            let info = try client.callBlocking("resident.info")
            return "\(info["desa_name"]?.stringValue ?? "?") v\(info["config_version"]?.intValue ?? -1)"
        }
        func publish(_ version: Int, _ desa: String) throws {
            try dinas.admin("PUT", "/admin/config", body: try signedBundle(dinas.key, version: version, desa: desa, kiosk: k.kioskID))
        }
        func configFetches() throws -> Int {
            ((try dinas.stats()["by_endpoint"] as? [String: Any])?["GET /v1/kiosks/\(k.kioskID)/config"] as? Int) ?? 0
        }

        try publish(5, "Desa Alfa")
        #expect(try eventually(within: 15, every: 0.25) { try live() == "Desa Alfa v5" }, "log: \(k.log)")
        try publish(6, "Desa Beta")
        #expect(try eventually(within: 15, every: 0.25) { try live() == "Desa Beta v6" }, "log: \(k.log)")

        let rolled = try client.callBlocking("technician.config.rollback")
        #expect(rolled["from"]?.intValue == 6)
        #expect(rolled["to"]?.intValue == 5)
        #expect(try live() == "Desa Alfa v5", "v5 live at once, without a restart")

        // The Dinas still offers v6: fetched again on the next polls (every 5 s here) and refused.
        let fetches = try configFetches()
        #expect(try eventually(within: 15, every: 0.25) { try configFetches() >= fetches + 2 }, "polled again")
        #expect(try live() == "Desa Alfa v5", "v6 stays refused")
        #expect(try client.callBlocking("staff.status")["config"]?["version"]?.intValue == 5)

        try publish(7, "Desa Gamma")
        #expect(try eventually(within: 15, every: 0.25) { try live() == "Desa Gamma v7" }, "a newer one is accepted; log: \(k.log)")

        // kioskctl while kioskd runs: through the socket (the admin call is audited with kioskctl's pid).
        let ctl = try kioskctl(["--config", k.configPath, "config", "rollback", "--json"])
        #expect(ctl.status == 0, "\(ctl.err)")
        let answer = try KioskJSON.decode(JSONValue.self, from: Data(ctl.out.utf8))
        #expect(answer["from"]?.intValue == 7)
        #expect(answer["to"]?.intValue == 5)
        #expect(try live() == "Desa Alfa v5")
        let audited = try sqliteRows("\(k.dataDir)/kiosk.sqlite3", "SELECT actor, detail FROM audit_log WHERE event = 'control'")
        #expect(audited.contains { $0[0] == "admin:user=root:uid=0 pid=\(ctl.pid)" && $0[1] == "technician.config.rollback: ok" }, "\(audited)")
        let rollbacks = try sqliteRows("\(k.dataDir)/kiosk.sqlite3", "SELECT detail FROM audit_log WHERE event = 'config_rolled_back' ORDER BY seq")
        #expect(rollbacks.map { $0[0] } == ["from 6 to 5", "from 7 to 5"])
        #expect(k.process.isRunning && k.process.processIdentifier == pid, "never restarted")
    }

    // MARK: 3. roles of real users on a real kioskd

    @Test func realUsersGetTheirRolesAndEveryStaffChangeIsAudited() throws {
        let accounts = TestAccounts()
        defer { accounts.remove() }
        let uiGroup = try accounts.group("ui")
        let staffGroup = try accounts.group("st")
        let resident = try accounts.user("ui", groups: [uiGroup])
        let staff = try accounts.user("st", primary: staffGroup, groups: [uiGroup])
        let outsider = try accounts.user("out")

        let k = try KioskdProcess(dinas: nil, extra: ["control": [
            "group": uiGroup, "resident_group": uiGroup, "staff_group": staffGroup, "admin_user": "ktest-noadmin-\(accounts.token)",
        ]])
        _ = try k.startAndWait()
        defer { _ = k.terminate() }
        var st = stat()
        #expect(lstat(k.socket, &st) == 0)
        #expect(st.st_mode & 0o7777 == 0o660)
        #expect(st.st_gid == groupID(uiGroup))

        let ui = try runClient(as: resident, group: "nogroup", path: k.socket,
                               calls: [("resident.info", nil), ("staff.queue.stats", nil), ("technician.config.rollback", nil)])
        try #require(ui.replies.count == 4, "\(ui.replies)")
        #expect(ui.replies[0].result?["role"] == .string("resident"))
        #expect(ui.replies[1].result?["config_version"]?.intValue == 0, "resident.info is the resident's")
        #expect(ui.replies[2].error?.code == "forbidden")
        #expect(ui.replies[3].error?.code == "forbidden")

        let desk = try runClient(as: staff, group: staffGroup, path: k.socket,
                                 calls: [("staff.queue.stats", nil), ("technician.config.rollback", nil),
                                         ("staff.restock", .object(["sheets": .number(100)]))])
        try #require(desk.replies.count == 4, "\(desk.replies)")
        #expect(desk.replies[0].result?["role"] == .string("staff"))
        #expect(desk.replies[1].result?["queue_counts"] != nil)
        #expect(desk.replies[2].error?.code == "forbidden")
        #expect(desk.replies[3].error == nil)
        #expect(desk.replies[3].result?["remaining"]?.intValue == 100)

        // Not in the socket's group: the kernel refuses the connect.
        #expect(try runRaw(as: outsider, group: "nogroup", path: k.socket) == ["EACCES"])

        // The store's audit names the method, role, uid and pid; refused calls never reached a method.
        let uid = try #require(userID(staff))
        let rows = try sqliteRows("\(k.dataDir)/kiosk.sqlite3", "SELECT actor, detail FROM audit_log WHERE event = 'control' ORDER BY seq")
        #expect(rows.count == 1, "\(rows)")
        #expect(rows.first == ["staff:user=\(staff):uid=\(uid) pid=\(desk.pid)", "staff.restock: ok"], "\(rows)")
    }

    // MARK: 4. the printer watcher on the production path

    @Test func kioskdResumesAPrinterQueueAFaultPausedOnceTheFaultClears() throws {
        let env = ProcessInfo.processInfo.environment
        let dir = try #require(env["KIOSK_TEST_PRINTER_DIR"],
                               "the test printer's env is absent: run Hardware/printer/start-test-printer.sh DIR and source DIR/env (as .ci/run does)")
        let server = try #require(env["CUPS_SERVER"], "CUPS_SERVER (from the test printer's env) is absent")
        let queue = env["KIOSK_TEST_PRINTER_QUEUE"] ?? "kiosk"
        func ctl(_ action: String) throws {
            let r = try ChildProcess.run(["bash", packageRoot.appendingPathComponent("Hardware/printer/printer-ctl.sh").path, dir, action])
            guard r.status == 0 else { throw NSError(domain: "printer-ctl \(action): \(r.output)", code: Int(r.status)) }
        }
        var lpEnv = env
        lpEnv["CUPS_SERVER"] = server
        lpEnv["LANG"] = "C"
        lpEnv["LC_ALL"] = "C"
        func lpstat(_ args: [String]) -> String { (try? ChildProcess.run(["lpstat"] + args, environment: lpEnv).output) ?? "" }
        func condition() throws {
            for action in ["online", "refill", "toner-ok", "accept", "resume"] { try ctl(action) }
        }
        try condition()
        defer { try? condition() }  // the shared test printer is left as the other suites expect it

        let k = try KioskdProcess(dinas: nil, devices: ["printer": queue, "scanner": "simulated", "card_reader": "simulated"])
        let client = try k.startAndWait(environment: ["CUPS_SERVER": server])
        defer { _ = k.terminate() }
        func printer() throws -> JSONValue? { try client.callBlocking("staff.status")["devices"]?["printer"] }
        func reasons(_ p: JSONValue?) -> [String] {
            guard case .array(let a)? = p?["reasons"] else { return [] }
            return a.compactMap(\.stringValue)
        }
        #expect(try eventually(within: 15, every: 0.5) { try printer()?["state"]?.stringValue == "idle" }, "log: \(k.log)")
        #expect(try printer()?["kind"]?.stringValue == "cups")
        #expect(try printer()?["queue"]?.stringValue == queue)

        // Out of paper, and CUPS's stop-printer policy pauses the queue.
        try ctl("media-empty")
        try ctl("pause")
        #expect(try eventually(within: 20, every: 0.5) {
            let p = try printer()
            return p?["state"]?.stringValue == "stopped" && reasons(p).contains("media-empty")
        }, "staff.status shows the fault; log: \(k.log)")
        // A poll later (every 5 s) it is still paused: nothing is resumed while paper is out.
        usleep(6_000_000)
        #expect(lpstat(["-p", queue]).contains("disabled"), "\(lpstat(["-p", queue]))")

        try ctl("refill")
        let refilled = Date()
        let resumed = eventually(within: 30, every: 0.5) {
            let p = lpstat(["-p", queue])
            return p.contains("is idle") && p.contains("enabled")
        }
        let seconds = Date().timeIntervalSince(refilled)
        #expect(resumed, "the queue is resumed by kioskd: \(lpstat(["-p", queue])); log: \(k.log)")
        #expect(seconds < 30, "resumed \(seconds) s after the refill")
        #expect(lpstat(["-a", queue]).contains("accepting"), "\(lpstat(["-a", queue]))")
        var shown: JSONValue?
        #expect(try eventually(within: 10, every: 0.5) {
            shown = try printer()
            return shown?["state"]?.stringValue == "idle" && !reasons(shown).contains("media-empty")
        }, "staff.status shows the recovery: \(String(describing: shown))")
        #expect(k.log.contains("printer queue resumed after the fault cleared"), "\(k.log)")
        let events = try sqliteRows("\(k.dataDir)/kiosk.sqlite3", "SELECT actor FROM audit_log WHERE event = 'printer_resumed'")
        #expect(events.count >= 1 && events.allSatisfy { $0[0] == "kiosk" }, "\(events)")
    }
}

/// kioskctl as a process (its own pid, so the audit can be matched): status, stdout, stderr and pid.
private func kioskctl(_ args: [String]) throws -> (status: Int32, out: String, err: String, pid: Int32) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: builtProduct("kioskctl"))
    p.arguments = args
    let o = Pipe(), e = Pipe()
    p.standardOutput = o
    p.standardError = e
    try p.run()
    let pid = p.processIdentifier
    let out = String(decoding: o.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    let err = String(decoding: e.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    p.waitUntilExit()
    return (p.terminationStatus, out, err, pid)
}

/// Rows of `sql` on the SQLite database at `path`, opened read-only by python3's sqlite3 (kioskd keeps it open);
/// every value as text (NULL as "").
func sqliteRows(_ path: String, _ sql: String) throws -> [[String]] {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
    p.arguments = ["-I", "-c", """
        import json, sqlite3, sys
        c = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True, timeout=10)
        print(json.dumps([["" if v is None else str(v) for v in row] for row in c.execute(sys.argv[2])]))
        """, path, sql]
    let out = Pipe()
    p.standardOutput = out
    p.standardError = FileHandle.nullDevice
    try p.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    guard p.terminationStatus == 0, let rows = try JSONSerialization.jsonObject(with: data) as? [[String]] else {
        throw NSError(domain: "sqlite3 \(sql) on \(path) failed", code: 1)
    }
    return rows
}
