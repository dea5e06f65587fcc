import Foundation
import Testing

@Suite struct KioskCtlStoreCommandTests {
    /// A data dir, a folder of source files and a submission file for them.
    struct Fixture {
        let root: URL
        var data: String { self.root.appendingPathComponent("data").path }

        init() throws {
            self.root = try makeTempDir()
            try Data(repeating: 7, count: 300_000).write(to: self.root.appendingPathComponent("lahir.jpg"))
            try Data(repeating: 9, count: 2_000).write(to: self.root.appendingPathComponent("kk.pdf"))
        }

        func submission(_ overrides: [String: Any] = [:], attachments: [[String: String]]? = nil) throws -> String {
            var object: [String: Any] = [
                "service": "birth", "profile": "kota-kupang", "applicant_nik": "5371011708950003",
                "event_date": "2024-03-10", "contact": "081234567890",
                "attachments": attachments ?? [
                    ["requirement": "surat-kelahiran", "path": self.root.appendingPathComponent("lahir.jpg").path],
                    ["requirement": "kk-orang-tua", "path": self.root.appendingPathComponent("kk.pdf").path],
                ],
            ]
            for (k, v) in overrides { object[k] = v }
            let path = self.root.appendingPathComponent("sub-\(UUID().uuidString).json").path
            try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: path))
            return path
        }

        var profiles: String { packageRoot.appendingPathComponent("Kiosk/profiles").path }

        func run(_ args: [String]) -> CtlResult {
            ctl(["--data-dir", self.data, "--profiles-dir", self.profiles] + args, in: self.root)
        }
    }

    @Test func submitShowQueueAndCheck() throws {
        let f = try Fixture()
        let submit = f.run(["application", "submit", try f.submission(), "--json"])
        #expect(submit.status == 0, "\(submit.err)")
        let receipt = try submit.object()
        let id = try #require(receipt["id"] as? String)
        let code = try #require(receipt["tracking_code"] as? String)
        #expect(code.count == 9 && code.contains("-"))

        let human = f.run(["application", "show", code.lowercased()])
        #expect(human.status == 0)
        #expect(human.out.contains("************0003"))
        #expect(!human.out.contains("5371011708950003"))
        #expect(human.out.contains("draft → submitted"))
        let shown = try f.run(["application", "show", id, "--json"]).object()
        let app = try #require(shown["application"] as? [String: Any])
        #expect(app["state"] as? String == "submitted")
        let attachments = try #require(app["attachments"] as? [[String: Any]])
        #expect(attachments.map { $0["size"] as? Int } == [300_000, 2_000])
        #expect((attachments.first?["sha256"] as? String)?.count == 64)
        #expect(!(String(data: try JSONSerialization.data(withJSONObject: shown), encoding: .utf8)!).contains("5371011708950003"))

        let stats = try f.run(["queue", "stats", "--json"]).object()
        #expect((stats["counts"] as? [String: Int])?["submitted"] == 1)
        #expect(stats["bytes_pending"] as? Int == 302_000)
        #expect(stats["oldest_undelivered_seconds"] as? Int != nil)

        #expect(f.run(["queue", "quarantine", code, "--reason", "HTTP 413 terlalu besar"]).status == 0)
        let quarantined = try #require(try f.run(["queue", "list", "--state", "quarantined", "--json"]).json() as? [[String: Any]])
        #expect(quarantined.first?["quarantine_reason"] as? String == "HTTP 413 terlalu besar")
        #expect(f.run(["queue", "retry", id]).status == 0)
        #expect(try f.run(["application", "show", id, "--json"]).object()["application"].flatMap { ($0 as? [String: Any])?["state"] as? String } == "submitted")
        #expect(f.run(["queue", "list", "--state", "flying"]).status == 65)
        #expect(f.run(["queue", "quarantine", id]).status == 64)

        let check = f.run(["store", "check", "--json"])
        #expect(check.status == 0)
        #expect(try check.object()["ok"] as? Bool == true)
    }

    @Test func invalidSubmissionsExit65AndStoreNothing() throws {
        let f = try Fixture()
        let bad: [String] = [
            try f.submission(["applicant_nik": "5371011708950000"]),
            try f.submission(["applicant_nik": "12345"]),
            try f.submission(["service": "teleport"]),
            try f.submission(["profile": "atlantis"]),
            try f.submission(["event_date": "2024-02-30"]),
            try f.submission(["event_date": "2999-01-01"]),
            try f.submission(attachments: [["requirement": "selfie", "path": f.root.appendingPathComponent("kk.pdf").path]]),
            try f.submission(["service": "ktp-khusus"]),
        ]
        for path in bad {
            let r = f.run(["application", "submit", path])
            #expect(r.status == 65, "\(path): \(r.err)")
            #expect(!r.err.isEmpty)
        }
        try Data("{\"service\": \"birth\"".utf8).write(to: f.root.appendingPathComponent("broken.json"))
        #expect(f.run(["application", "submit", "broken.json"]).status == 65)
        try Data("{\"service\": \"birth\"}".utf8).write(to: f.root.appendingPathComponent("short.json"))
        #expect(f.run(["application", "submit", "short.json"]).status == 65)
        #expect(f.run(["application", "submit", "missing.json"]).status == 66)
        // A missing attachment file is missing input too (EX_NOINPUT, as the README says).
        let missing = f.run(["application", "submit",
                             try f.submission(attachments: [["requirement": "surat-kelahiran", "path": "/nonexistent/x.jpg"]])])
        #expect(missing.status == 66, "\(missing.err)")
        #expect(missing.err.contains("/nonexistent/x.jpg"))
        let stats = try f.run(["queue", "stats", "--json"]).object()
        #expect((stats["counts"] as? [String: Int])?.values.reduce(0, +) == 0)
        #expect(files(in: f.data + "/attachments").isEmpty)
    }

    @Test func oversizedAttachmentIsRefusedPerConfig() throws {
        let f = try Fixture()
        let config = f.root.appendingPathComponent("kioskd.json")
        try Data("{\"store\": {\"max_attachment_bytes\": 100000, \"min_free_bytes\": 0}}".utf8).write(to: config)
        let r = f.run(["--config", config.path, "application", "submit", try f.submission(), "--json"])
        #expect(r.status == 65)
        #expect((try r.object()["error"] as? [String: Any])?["code"] as? String == "attachment_too_large")
        #expect(r.err.contains("terlalu besar"))
        #expect(files(in: f.data + "/attachments").isEmpty)
    }

    @Test func storeCheckFailsOnACorruptedFile() throws {
        let f = try Fixture()
        let id = try #require(try f.run(["application", "submit", try f.submission(), "--json"]).object()["id"] as? String)
        let file = "\(f.data)/attachments/\(id)/2.pdf"
        try Data(repeating: 1, count: 2_000).write(to: URL(fileURLWithPath: file))
        let r = f.run(["store", "check"])
        #expect(r.status == 1)
        #expect(r.out.contains("sha256 mismatch"))
        #expect(f.run(["application", "show", "ZZZZ-ZZZZ"]).status == 65)
        #expect(f.run(["application", "show", UUID().uuidString]).status == 65)
    }

    @Test func residentTextIsCheckedAgainstTheServiceAndNeverEchoedRaw() throws {
        let f = try Fixture()
        let cases: [([String: Any], String, String)] = [
            (["contact": "0812\u{1B}]0;pwned\u{07}"], "invalid_contact", "contact"),
            (["contact": "0812\u{202E}3456"], "invalid_contact", "contact"),
            (["facts": ["citizenship": "w\u{200B}ni"]], "bad_fact", "facts.citizenship"),
            (["facts": ["citizenship": "martian"]], "bad_fact", "facts.citizenship"),
            (["facts": ["shoe_size": 42]], "unknown_fact", "facts.shoe_size"),
        ]
        for (override, code, field) in cases {
            let r = f.run(["application", "submit", try f.submission(override), "--json"])
            #expect(r.status == 65, "\(override): \(r.err)")
            let error = try #require(try r.object()["error"] as? [String: Any])
            #expect(error["code"] as? String == code, "\(override)")
            #expect(error["field"] as? String == field, "\(override)")
            #expect(!Array(r.err.utf8).contains(0x1B))
        }
        let unknown = f.run(["application", "submit", try f.submission(["facts": ["shoe_size": 42]])])
        #expect(unknown.err.contains("tidak dipakai layanan ini") && unknown.err.contains("is not used by this service"))
        #expect(files(in: f.data + "/attachments").isEmpty)
    }

    @Test func anUnknownServiceIdWithEscapeIsNotEchoedRaw() throws {
        let f = try Fixture()
        let r = f.run(["application", "submit", try f.submission(["service": "birth\u{1B}[2J\u{1B}]0;x\u{07}"])])
        #expect(r.status == 65)
        #expect(!Array(r.out.utf8).contains(0x1B) && !Array(r.err.utf8).contains(0x1B))
        #expect(!Array(r.err.utf8).contains(0x07))
        #expect(r.err.contains("birth\\u{1B}[2J"))
    }

    @Test func attachmentsThatAreNotRegularFilesAreRefused() throws {
        let f = try Fixture()
        let link = f.root.appendingPathComponent("shadow.jpg").path
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: "/etc/shadow")
        for (path, words) in [(link, "symbolic link"), ("/proc/self/status", "pseudo-file"), ("/dev/null", "device"),
                              (f.root.path, "folder")] {
            let r = f.run(["application", "submit", try f.submission(attachments: [["requirement": "surat-kelahiran", "path": path]])])
            #expect(r.status == 65, "\(path): \(r.err)")
            #expect(r.err.contains(words), "\(path): \(r.err)")
        }
        #expect(files(in: f.data + "/attachments").isEmpty)
    }

    @Test func aDeletedDatabaseNextToAPopulatedSpoolStopsEveryCommand() throws {
        let f = try Fixture()
        #expect(f.run(["application", "submit", try f.submission()]).status == 0)
        let before = files(in: f.data + "/attachments")
        #expect(before.count == 2)
        for suffix in ["", "-wal", "-shm"] { unlink("\(f.data)/kiosk.sqlite3\(suffix)") }
        for command in [["queue", "stats"], ["store", "check"], ["application", "submit", try f.submission()]] {
            let r = f.run(command)
            #expect(r.status == 1, "\(command): \(r.err)")
            #expect(r.err.contains("backup") && r.err.contains("kioskctl store check"), "\(command)")
            #expect(!r.out.contains("OK"))
        }
        #expect(files(in: f.data + "/attachments") == before)
    }
}

func files(in dir: String) -> [String] {
    guard let e = FileManager.default.enumerator(atPath: dir) else { return [] }
    return e.compactMap { $0 as? String }.filter {
        var isDir: ObjCBool = false
        FileManager.default.fileExists(atPath: "\(dir)/\($0)", isDirectory: &isDir)
        return !isDir.boolValue
    }
}
