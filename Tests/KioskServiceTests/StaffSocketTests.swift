#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import Foundation
import KioskCore
import KioskDevices
import KioskSecurity
import KioskService
import KioskTestSupport
import Testing

/// Issue 17 on a real kioskd over its real socket: staff PIN entry (lockout that survives a restart), the
/// connection's elevation (roles, lock, timeout), assisted submission, the staff reprint, resident calls and the
/// overview. The touchscreen's connection is a real `kiosk-ui` member (a test user through setpriv).
@Suite(.serialized) struct StaffSocketTests {
    static let sariPIN = "2468"
    static let tonoPIN = "135790"

    /// A kioskd whose resident group is a real test group, with a signed bundle carrying two staff PINs applied.
    final class Rig {
        let accounts = TestAccounts()
        let uiGroup: String
        let resident: String
        let k: KioskdProcess
        let root: ControlClient
        let dinas: DinasServer?

        init(dinas: DinasServer? = nil, bundle: ((inout [String: Any]) -> Void)? = nil) throws {
            self.dinas = dinas
            self.uiGroup = try self.accounts.group("ui")
            self.resident = try self.accounts.user("ui", groups: [self.uiGroup])
            var extra: [String: Any] = ["control": ["group": self.uiGroup, "resident_group": self.uiGroup,
                                                    "staff_group": "ktest-nostaff-\(self.accounts.token)",
                                                    "admin_user": "ktest-noadmin-\(self.accounts.token)"]]
            let key: Ed25519PrivateKey
            if let dinas {
                key = dinas.key
            } else {
                key = try Ed25519PrivateKey.generate()
                let dir = try makeTempDir()
                try Data(try key.publicKey.pem().utf8).write(to: URL(fileURLWithPath: "\(dir)/dinas.pub.pem"))
                extra["dinas"] = ["url": NSNull(), "trusted_keys": ["\(dir)/dinas.pub.pem"]]
            }
            self.k = try KioskdProcess(dinas: dinas, extra: extra)
            self.root = try self.k.startAndWait()
            let pins: [[String: Any]] = [
                ["staff_id": "sari", "name": "Ibu Sari", "role": "petugas", "pin_hash": try PBKDF2.hashPIN(StaffSocketTests.sariPIN, iterations: 100_000)],
                ["staff_id": "tono", "name": "Pak Tono", "role": "teknisi", "pin_hash": try PBKDF2.hashPIN(StaffSocketTests.tonoPIN, iterations: 100_000)],
            ]
            let signed = try signedBundle(key, version: 3, desa: "Desa Staf", kiosk: self.k.kioskID) { payload in
                var kiosk = payload["kiosk"] as? [String: Any] ?? [:]
                kiosk["staff_pins"] = pins
                kiosk["staff_timeout_seconds"] = 30
                payload["kiosk"] = kiosk
                bundle?(&payload)
            }
            _ = try self.root.callBlocking("technician.config.apply", .object(["bundle": .string(String(decoding: signed, as: UTF8.self))]))
        }

        /// One connection as the kiosk-ui user: each step a call or a pause (`sleep`); the replies after hello.
        func ui(_ steps: [(String, JSONValue?)]) throws -> (pid: Int32, replies: [ControlReply]) {
            var requests: [JSONValue] = [.object(["id": .number(1), "method": .string("hello")])]
            for (i, (method, params)) in steps.enumerated() {
                if method == "sleep" {
                    requests.append(.object(["sleep": params ?? .number(1)]))
                    continue
                }
                var r: [String: JSONValue] = ["id": .number(Double(i + 2)), "method": .string(method)]
                if let params { r["params"] = params }
                requests.append(.object(r))
            }
            let text = String(decoding: try KioskJSON.encode(JSONValue.array(requests)), as: UTF8.self)
            let lines = try runRaw(as: self.resident, group: "nogroup", path: self.k.socket, requests: text, printPID: true)
            let head = try #require(lines.first)
            let pid = try #require(try KioskJSON.decode(JSONValue.self, from: Data(head.utf8))["pid"]?.intValue)
            let replies = try lines.dropFirst().map { try KioskJSON.decode(ControlReply.self, from: Data($0.utf8)) }
            return (Int32(pid), Array(replies.dropFirst()))
        }

        func audit(_ sql: String) throws -> [[String]] { try sqliteRows("\(self.k.dataDir)/kiosk.sqlite3", sql) }

        deinit {
            _ = self.k.terminate()
            self.accounts.remove()
        }
    }

    static func unlock(_ pin: String) -> (String, JSONValue?) { ("resident.staff.unlock", .object(["pin": .string(pin)])) }

    @Test func wrongPINsCountDownLockTheKioskAndTheLockSurvivesARestart() throws {
        let rig = try Rig()
        let first = try rig.ui([Self.unlock("12ab"), Self.unlock("0000"), Self.unlock("0000"), Self.unlock("0000"),
                                Self.unlock("0000"), Self.unlock("0000"), Self.unlock(Self.sariPIN), ("staff.overview", nil)])
        let r = first.replies
        try #require(r.count == 8, "\(r)")
        #expect(r[0].error?.code == "bad_params", "not digits: refused, not counted")
        #expect((1...4).map { r[$0].result?["attempts_left"]?.intValue } == [4, 3, 2, 1])
        #expect(r[5].result?["result"]?.stringValue == "locked")
        let until = try #require(r[5].result?["until"]?.stringValue)
        #expect(r[6].result?["result"]?.stringValue == "locked", "the right PIN is refused during the lock")
        #expect(r[7].error?.code == "forbidden")

        // kioskd restarts: the lock holds, for every connection.
        #expect(rig.k.terminate().status == 0)
        _ = try rig.k.startAndWait()
        let after = try rig.ui([Self.unlock(Self.sariPIN)])
        #expect(after.replies.first?.result?["result"]?.stringValue == "locked", "\(after.replies)")
        #expect(after.replies.first?.result?["until"]?.stringValue == until)

        let rows = try rig.audit("SELECT event, actor, coalesce(detail, '') FROM audit_log WHERE event LIKE 'staff_unlock%' ORDER BY seq")
        #expect(rows.filter { $0[0] == "staff_unlock_failed" }.count == 5)
        #expect(rows.filter { $0[0] == "staff_unlock_refused" }.count == 2)
        #expect(rows.allSatisfy { $0[1].hasPrefix("resident:user=\(rig.resident):uid=") }, "\(rows)")
        let all = try rig.audit("SELECT coalesce(detail, '') || actor FROM audit_log")
        #expect(!all.contains { $0[0].contains(Self.sariPIN) }, "the PIN is never recorded")
    }

    @Test func theUnlockElevatesOnlyThatConnectionUntilLockOrTimeout() throws {
        let rig = try Rig()
        let petugas = try rig.ui([
            ("resident.session.begin", nil), Self.unlock(Self.sariPIN), ("resident.session.end", nil),
            ("staff.overview", nil), Self.unlock(Self.sariPIN), ("staff.overview", nil),
            ("staff.restock", .object(["sheets": .number(300)])), ("technician.config.rollback", nil),
            ("resident.staff.lock", nil), ("staff.overview", nil),
        ])
        let r = petugas.replies
        try #require(r.count == 10, "\(r)")
        #expect(r[1].error?.code == "session_open")
        #expect(r[3].error?.code == "forbidden", "no staff.* for kiosk-ui without a PIN")
        #expect(r[4].result?["result"]?.stringValue == "unlocked")
        #expect(r[4].result?["staff"]?["staff_id"]?.stringValue == "sari")
        #expect(r[4].result?["staff"]?["role"]?.stringValue == "petugas")
        #expect(r[4].result?["timeout_seconds"]?.intValue == 30)
        #expect(r[5].result?["config_version"]?.intValue == 3)
        #expect(r[6].result?["remaining"]?.intValue == 300)
        #expect(r[7].error?.code == "forbidden", "petugas may not call technician.*")
        #expect(r[9].error?.code == "forbidden", "resident.staff.lock ends it")
        let uid = try #require(userID(rig.resident))
        let restock = try rig.audit("SELECT actor FROM audit_log WHERE event = 'control' AND detail = 'staff.restock: ok'")
        #expect(restock == [["petugas:sari:uid=\(uid) pid=\(petugas.pid)"]], "audited as the staff member")

        // A teknisi may roll back (nothing to roll back to here: refused by the use case, not by the role).
        let teknisi = try rig.ui([Self.unlock(Self.tonoPIN), ("technician.config.rollback", nil), ("staff.overview", nil)])
        try #require(teknisi.replies.count == 3, "\(teknisi.replies)")
        #expect(teknisi.replies[0].result?["staff"]?["role"]?.stringValue == "teknisi")
        #expect(teknisi.replies[1].error?.code == "rollback_failed")
        #expect(teknisi.replies[2].error == nil)

        // Silence longer than staff_timeout_seconds (30, the minimum) ends it on the server.
        let idle = try rig.ui([Self.unlock(Self.sariPIN), ("staff.calls.today", nil), ("sleep", .number(31)), ("staff.calls.today", nil)])
        try #require(idle.replies.count == 3, "\(idle.replies)")
        #expect(idle.replies[1].error == nil)
        #expect(idle.replies[2].error?.code == "staff_locked")
    }

    @Test func callsOverviewAndAssistedSubmissionRecordTheStaffMember() async throws {
        let rig = try Rig()
        let calls = try rig.ui([("resident.staff.call", .object(["screen": .string("apply.scan")])),
                                ("resident.staff.call", .object(["screen": .string("home")])),
                                ("resident.staff.call", .object(["screen": .string("a\u{1B}[2J")])),
                                Self.unlock(Self.sariPIN), ("staff.overview", nil), ("staff.calls.today", nil), ("staff.overview", nil)])
        let r = calls.replies
        try #require(r.count == 7, "\(r)")
        #expect(r[0].result == .object(["recorded": .bool(true), "bell": .bool(true)]))
        #expect(r[1].result?["recorded"] == .bool(false), "a repeat within two minutes")
        #expect(r[2].error?.code == "bad_params")
        #expect(r[4].result?["open_calls"]?.intValue == 1)
        #expect(try r[5].result?.decode([StaffCallRow].self).map(\.screen) == ["apply.scan"])
        #expect(r[6].result?["open_calls"]?.intValue == 0, "listing marks them seen")
        let overview = try #require(try r[4].result?.decode(StaffOverview.self))
        #expect(overview.devices.map(\.kind) == ["printer", "scanner", "card_reader"])
        #expect(overview.devices.allSatisfy { $0.health == .ok }, "\(overview.devices)")
        #expect(overview.configVersion == 3 && overview.link.configured == false)
        #expect(overview.diskFreeBytes.map { $0 > 0 } == true && overview.paperSheets == nil)

        // Assisted submission: only on a connection unlocked by that staff member (root's connection here).
        let c = rig.root
        let draft = { (token: String) throws -> JSONValue in
            var d = try ResidentSocketTests().draft(scans: ["surat-kelahiran": [token]])
            if case .object(var o) = d, case .object(var inner)? = o["draft"] {
                inner["assisted_by"] = .string("sari")
                o["draft"] = .object(inner)
                d = .object(o)
            }
            return d
        }
        let token = try #require(try await c.call("resident.scan", .object(["requirement": .string("surat-kelahiran")]))["token"]?.stringValue)
        let assisted = try draft(token)
        do {
            _ = try await c.call("resident.submit", assisted)
            Issue.record("an assisted submission without the staff PIN was accepted")
        } catch {
            #expect(error.code == "not_assisting")
        }
        #expect(try await c.call("resident.staff.unlock", .object(["pin": .string(Self.sariPIN)]))["result"]?.stringValue == "unlocked")
        let receipt = try await c.call("resident.submit", assisted).decode(ResidentWire.Receipt.self)
        let today = try await c.call("staff.applications.today").decode([StaffApplicationRow].self)
        #expect(today.map(\.trackingCode) == [receipt.trackingCode.formatted])
        #expect(today.first?.assistedBy == "sari" && today.first?.nikMasked.hasSuffix(String(SimulatedCardReader.testCardDigits.suffix(4))) == true)
        let history = try rig.audit("SELECT a.actor, a.detail FROM audit_log a JOIN applications p ON p.id = a.application_id WHERE a.event = 'assisted'")
        #expect(history.map { $0[1] } == ["assisted by sari"])
        let control = try rig.audit("SELECT actor FROM audit_log WHERE event = 'control' AND detail = 'resident.submit: ok'")
        #expect(control.count == 1 && control.first?.first?.hasPrefix("petugas:sari:uid=0 pid=") == true, "\(control)")
    }

    @Test func staffReprintsBeyondTheResidentLimitWithTheReasonAudited() async throws {
        let dinas = try DinasServer()
        let rig = try Rig(dinas: dinas)
        let c = rig.root
        var scans: [String: [String]] = [:]
        for req in ["surat-kelahiran"] {
            scans[req] = [try #require(try await c.call("resident.scan", .object(["requirement": .string(req)]))["token"]?.stringValue)]
        }
        let receipt = try await c.call("resident.submit", try ResidentSocketTests().draft(scans: scans)).decode(ResidentWire.Receipt.self)
        _ = try await c.call("staff.sync.now")
        #expect(try await eventuallyAsync(within: 30) { try dinas.applications().contains { ($0["state"] as? String) == "delivered" } },
                "log: \(rig.k.log)")
        let id = try #require(try dinas.applications().first?["id"] as? String)
        try dinas.admin("POST", "/admin/applications/\(id)/state", json: ["state": "ready"])
        var docs: [StaffDocumentRow] = []
        #expect(try await eventuallyAsync(within: 30) {
            _ = try? await c.call("staff.sync.now")
            docs = (try? await c.call("staff.documents", .object(["tracking_code": .string(receipt.trackingCode.raw)])).decode([StaffDocumentRow].self)) ?? []
            return !docs.isEmpty
        }, "log: \(rig.k.log)")
        let doc = try #require(docs.first)
        // The resident's allowance: the first print and two reprints (printer.reprint_limit 2).
        for _ in 0..<3 {
            #expect(try await c.call("resident.document.print", .object(["document_id": .string(doc.id)]))["printed"] == .bool(true))
        }
        do {
            _ = try await c.call("resident.document.print", .object(["document_id": .string(doc.id)]))
            Issue.record("a fourth resident print")
        } catch {
            #expect(error.code == "reprint_limit")
        }
        // Staff, unlocked on this connection (print progress events come to it too).
        #expect(try await c.call("resident.staff.unlock", .object(["pin": .string(Self.sariPIN)]))["result"]?.stringValue == "unlocked")
        for reason in ["", "rusak\u{7}", String(repeating: "x", count: 201)] {
            do {
                _ = try await c.call("staff.document.reprint", .object(["document_id": .string(doc.id), "reason": .string(reason)]))
                Issue.record("reason \(reason.debugDescription) accepted")
            } catch {
                #expect(error.code == "bad_params")
            }
        }
        let reprint = try await c.call("staff.document.reprint", .object(["document_id": .string(doc.id), "reason": .string("Kertas pertama sobek")]))
        #expect(reprint["printed"] == .bool(true), "\(reprint)")
        let listed = try await c.call("staff.documents", .object(["tracking_code": .string(receipt.trackingCode.raw)])).decode([StaffDocumentRow].self)
        #expect(listed.first?.prints == 4)
        let rows = try rig.audit("SELECT actor, detail FROM audit_log WHERE event = 'staff_reprint'")
        #expect(rows == [["petugas:sari:uid=0", "\(doc.id): Kertas pertama sobek"]], "\(rows)")
        let printed = try rig.audit("SELECT actor FROM audit_log WHERE event = 'print' ORDER BY seq")
        #expect(printed.map { $0[0] } == ["resident", "resident", "resident", "petugas:sari:uid=0"])
    }

    @Test func theTestPrintPrintsOrSaysWhyNot() throws {
        let rig = try Rig()
        // The simulated printer prints; the answer carries printed and problem for the staff screen.
        let r = try rig.ui([Self.unlock(Self.sariPIN), ("staff.printer.test", nil), ("staff.printer.resume", nil),
                            ("staff.scanner.test", nil), ("staff.devices.redetect", nil), ("staff.queue.quarantined", nil),
                            ("staff.complaints.today", nil)]).replies
        try #require(r.count == 7, "\(r)")
        #expect(r[1].result?["printed"] == .bool(true) && r[1].result?["problem"] == .null, "\(r[1])")
        #expect(r[2].error == nil, "\(r[2])")
        #expect(r[3].result?["pages"]?.intValue == 1 && r[3].result?["preview"] != nil)
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: "\(rig.k.dataDir)/scans-work")) ?? []).isEmpty, "the test scan is deleted")
        #expect(r[4].result?["devices"] != nil)
        #expect(r[5].result == .array([]) && r[6].result == .array([]))
    }
    @Test func kioskctlStaffCommandsGoThroughTheSocketAndAuditTheUnixUser() throws {
        let accounts = TestAccounts()
        defer { accounts.remove() }
        let uiGroup = try accounts.group("ui")
        let staffGroup = try accounts.group("st")
        let budi = try accounts.user("st", primary: staffGroup, groups: [uiGroup])
        let k = try KioskdProcess(dinas: nil, extra: ["control": [
            "group": uiGroup, "resident_group": uiGroup, "staff_group": staffGroup, "admin_user": "ktest-noadmin-\(accounts.token)",
        ]])
        _ = try k.startAndWait()
        defer { _ = k.terminate() }
        func kioskctlAs(_ user: String, _ args: [String]) throws -> (status: Int32, out: String) {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
            p.arguments = ["--reuid=\(user)", "--regid=\(staffGroup)", "--init-groups", builtProduct("kioskctl"), "--socket", k.socket] + args
            p.currentDirectoryURL = URL(fileURLWithPath: "/")
            let out = Pipe()
            p.standardOutput = out
            p.standardError = FileHandle.nullDevice
            try p.run()
            let data = out.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            return (p.terminationStatus, String(decoding: data, as: UTF8.self))
        }
        let restock = try kioskctlAs(budi, ["staff", "restock", "--sheets", "50", "--json"])
        #expect(restock.status == 0, "\(restock.out)")
        #expect(try KioskJSON.decode(JSONValue.self, from: Data(restock.out.utf8))["remaining"]?.intValue == 50)
        let status = try kioskctlAs(budi, ["staff", "status"])
        #expect(status.status == 0 && status.out.contains("printer:"), "\(status.out)")
        #expect(try kioskctlAs(budi, ["config", "rollback"]).status == 77, "technician.* is not for kiosk-staff")
        let uid = try #require(userID(budi))
        let rows = try sqliteRows("\(k.dataDir)/kiosk.sqlite3", "SELECT actor FROM audit_log WHERE event = 'paper_restock'")
        #expect(rows == [["staff:user=\(budi):uid=\(uid)"]], "\(rows)")
    }
}
