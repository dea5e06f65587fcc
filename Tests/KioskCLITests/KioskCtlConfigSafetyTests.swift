import Foundation
import KioskCore
import KioskSecurity
import Testing

/// Issue 13 end to end through kioskctl: insane bundles signed with a trusted key are refused by `config apply`,
/// naming the field, and the configuration applied before stays in force.
@Suite struct KioskCtlConfigSafetyTests {
    struct Kiosk {
        let dir: URL
        let key: Ed25519PrivateKey
        let payload: [String: Any]
        var data: String { self.dir.appendingPathComponent("data").path }

        init() throws {
            self.dir = try makeTempDir()
            self.key = try Ed25519PrivateKey.generate()
            try Data(try self.key.publicKey.pem().utf8).write(to: self.dir.appendingPathComponent("dinas.pub.pem"))
            let made = ctl(["config", "init", "--profile", "kota-kupang", "--desa", "Kelurahan Oebobo", "--version", "1",
                            "--profiles-dir", packageRoot.appendingPathComponent("Kiosk/profiles").path], in: self.dir)
            guard made.status == 0 else { throw CocoaError(.featureUnsupported) }
            self.payload = try made.object()
        }

        /// Signs the payload bytes as they are (bypassing `config sign`'s validation, as a compromised build
        /// server might) and writes the bundle file.
        func bundle(_ bytes: Data, name: String) throws -> String {
            let bundle = ConfigBundle(payloadBytes: bytes, signature: try self.key.sign(bytes), keyID: self.key.publicKey.keyID)
            let path = self.dir.appendingPathComponent(name).path
            try KioskJSON.encode(bundle).write(to: URL(fileURLWithPath: path))
            return path
        }

        func bundle(name: String, _ edit: (inout [String: Any]) -> Void) throws -> String {
            var o = self.payload
            edit(&o)
            return try self.bundle(try JSONSerialization.data(withJSONObject: o, options: [.sortedKeys]), name: name)
        }

        func run(_ args: [String]) -> CtlResult {
            ctl(["--data-dir", self.data] + args, in: self.dir)
        }

        func apply(_ path: String) -> CtlResult {
            self.run(["config", "apply", path, "--trusted-key", "dinas.pub.pem", "--kiosk-id", "desa-01", "--json"])
        }

        func appliedVersion() throws -> Int? {
            try self.run(["sync", "status", "--json"]).object()["config_version"] as? Int
        }
    }

    static func edit(_ o: inout [String: Any], _ section: String, _ key: String, _ value: Any) {
        var s = o[section] as! [String: Any]
        s[key] = value
        o[section] = s
    }

    static func editBirth(_ o: inout [String: Any], _ edit: (inout [String: Any]) -> Void) {
        var j = o["jurisdiction"] as! [String: Any]
        var services = j["services"] as! [[String: Any]]
        let i = services.firstIndex { $0["id"] as? String == "birth" }!
        edit(&services[i])
        j["services"] = services
        o["jurisdiction"] = j
    }

    /// (what, edit, expected failing field)
    static let insane: [(String, @Sendable (inout [String: Any]) -> Void, String)] = [
        ("all-week weekend", { o in
            var j = o["jurisdiction"] as! [String: Any]
            var c = j["conventions"] as! [String: Any]
            c["weekend"] = [1, 2, 3, 4, 5, 6, 7]
            j["conventions"] = c
            o["jurisdiction"] = j
        }, "payload.jurisdiction.conventions.weekend"),
        ("Int.max deadline", { o in
            editBirth(&o) { s in s["deadline"] = ["period": ["amount": Int.max, "unit": "days"], "reference": "PK 4"] }
        }, "payload.jurisdiction.services[0].deadline.period.amount"),
        ("Int.max fine", { o in
            editBirth(&o) { s in s["fine"] = ["amount_idr": Int.max, "reference": "PK 144"] }
        }, "payload.jurisdiction.services[0].fine.amount_idr"),
        ("Int.max version", { o in o["version"] = Int.max }, "payload.version"),
        ("issued in 1970", { o in o["issued_at"] = "1970-01-01T00:00:00Z" }, "payload.issued_at"),
        ("issued in 9999", { o in o["issued_at"] = "9999-12-31T23:59:59Z" }, "payload.issued_at"),
        ("issued next week", { o in o["issued_at"] = KioskJSON.timestamp(Date().addingTimeInterval(7 * 86_400)) },
         "payload.issued_at"),
        ("retention 0", { o in edit(&o, "kiosk", "retention_days", 0) }, "payload.kiosk.retention_days"),
        ("ESC in desa name", { o in edit(&o, "kiosk", "desa_name", "Oebobo\u{1B}[2J") }, "payload.kiosk.desa_name"),
        ("CSI in announcement", { o in edit(&o, "kiosk", "announcement", ["id": "Tutup \u{9B}31m", "en": "Closed"]) },
         "payload.kiosk.announcement.id"),
    ]

    @Test func insaneBundlesAreRefusedNamingTheFieldAndTheOldConfigStays() throws {
        let k = try Kiosk()
        defer { try? FileManager.default.removeItem(at: k.dir) }
        let good = try k.bundle(name: "v1.json") { _ in }
        let applied = k.apply(good)
        #expect(applied.status == 0, "\(applied.out)\(applied.err)")
        #expect(try k.appliedVersion() == 1)
        let current = k.dir.appendingPathComponent("data/config/current.json")
        let before = try Data(contentsOf: current)

        for (i, (what, edit, field)) in Self.insane.enumerated() {
            let path = try k.bundle(name: "insane-\(i).json") { o in
                o["version"] = 2
                edit(&o)
            }
            let r = k.apply(path)
            #expect(r.status == 65, "\(what): \(r.out)")
            let error = try r.object()["error"] as? [String: Any]
            #expect(error?["field"] as? String == field, "\(what): \(r.out)")
            #expect(error?["code"] as? String == "config_rejected", "\(what)")
            #expect(try Data(contentsOf: current) == before, "\(what)")
            #expect(try k.appliedVersion() == 1, "\(what)")
        }
        // Still in force: a sane version 2 applies on top of version 1.
        #expect(k.apply(try k.bundle(name: "v2.json") { $0["version"] = 2 }).status == 0)
        #expect(try k.appliedVersion() == 2)
    }

    @Test func duplicateKeysInThePayloadOrTheBundleAreRefused() throws {
        let k = try Kiosk()
        defer { try? FileManager.default.removeItem(at: k.dir) }
        #expect(k.apply(try k.bundle(name: "v1.json") { _ in }).status == 0)
        var o = k.payload
        o["version"] = 2
        Self.edit(&o, "kiosk", "desa_name", "DESA")
        let text = String(decoding: try JSONSerialization.data(withJSONObject: o, options: [.sortedKeys]), as: UTF8.self)
        // The kiosk would show "Asli", a Python tool "Palsu".
        let twice = text.replacingOccurrences(of: "\"desa_name\":\"DESA\"", with: "\"desa_name\":\"Asli\",\"desa_name\":\"Palsu\"")
        #expect(twice != text)
        let r = k.apply(try k.bundle(Data(twice.utf8), name: "dup-payload.json"))
        #expect(r.status == 65)
        #expect((try r.object()["error"] as? [String: Any])?["field"] as? String == "payload.kiosk.desa_name")

        let escaped = "{\"\\u0076ersion\":3," + text.dropFirst()
        let e = k.apply(try k.bundle(Data(escaped.utf8), name: "dup-escaped.json"))
        #expect((try e.object()["error"] as? [String: Any])?["field"] as? String == "payload.version")

        let sane = String(decoding: try Data(contentsOf: URL(fileURLWithPath: try k.bundle(name: "v2.json") { $0["version"] = 2 })),
                          as: UTF8.self)
        let outer = "{\"key_id\":\"0000000000000000\"," + sane.drop { $0 != "{" }.dropFirst()
        let path = k.dir.appendingPathComponent("dup-bundle.json")
        try Data(outer.utf8).write(to: path)
        let b = k.apply(path.path)
        #expect(b.status == 65)
        #expect((try b.object()["error"] as? [String: Any])?["field"] as? String == "bundle.key_id")
        #expect(try k.appliedVersion() == 1)
    }

    @Test func syncStatusShowsTheVersionAppliedByConfigApply() throws {
        let k = try Kiosk()
        defer { try? FileManager.default.removeItem(at: k.dir) }
        #expect(try k.appliedVersion() == nil)
        #expect(k.apply(try k.bundle(name: "v4.json") { $0["version"] = 4 }).status == 0)
        #expect(try k.appliedVersion() == 4)
        let human = k.run(["sync", "status"])
        #expect(human.status == 0)
        #expect(human.out.contains("config version: 4"), "\(human.out)")
    }
}

@Suite struct KioskCtlTokenAndOutputTests {
    @Test func tokenReadableByOthersIsRefusedWithTheChmodToRun() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let token = dir.appendingPathComponent("token")
        try Data("secret-token\n".utf8).write(to: token)
        let args = ["--data-dir", dir.appendingPathComponent("data").path, "sync", "run", "--dinas", "http://127.0.0.1:9",
                    "--kiosk-id", "desa-01", "--token-file", "token", "--request-timeout", "2"]
        for mode in [0o644, 0o640, 0o604, 0o660, 0o602] {
            try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: token.path)
            let r = ctl(args, in: dir)
            #expect(r.status == 77, "mode \(String(mode, radix: 8)): \(r.err)")
            #expect(r.err.contains("chmod 600 \(token.path)"), "\(r.err)")
            // Bahasa Indonesia first, then English.
            let id = try #require(r.err.range(of: "dapat dibaca grup atau pengguna lain"))
            let en = try #require(r.err.range(of: "is accessible by group or others"))
            #expect(id.lowerBound < en.lowerBound)
        }
        let json = ctl(args + ["--json"], in: dir)
        #expect((try json.object()["error"] as? [String: Any])?["field"] as? String == "token-file")

        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: token.path)
        let ok = ctl(args, in: dir)
        #expect(ok.status != 77, "\(ok.err)")
        #expect(!ok.err.contains("chmod"), "\(ok.err)")
        #expect(ok.status == 0, "\(ok.err)")  // the Dinas is unreachable: nothing sent, not an error
        try FileManager.default.setAttributes([.posixPermissions: 0o400], ofItemAtPath: token.path)
        #expect(ctl(args, in: dir).status == 0)
    }

    @Test func rulesEvaluateJSONAlwaysHasFineIDR() throws {
        let onTime = ctl(["rules", "evaluate", "--profile", "kota-kupang", "--service", "birth", "--event-date", "2024-03-10",
                          "--report-date", "2024-03-20", "--json"])
        #expect(onTime.status == 0, "\(onTime.err)")
        let j = try onTime.object()
        #expect(j["tier"] as? String == "on_time")
        #expect(j["fine_idr"] as? Int == 0)
        let noFineRule = ctl(["rules", "evaluate", "--profile", "kota-kupang", "--service", "birth-foundling",
                              "--event-date", "2023-03-10", "--report-date", "2024-03-20", "--json"])
        #expect(noFineRule.status == 0, "\(noFineRule.err)")
        #expect(try noFineRule.object()["fine_idr"] as? Int == 0)
    }

    @Test func everyInstantInJSONOutputIsISO8601WithOffset() throws {
        let f = try KioskCtlStoreCommandTests.Fixture()
        defer { try? FileManager.default.removeItem(at: f.root) }
        let submit = f.run(["application", "submit", try f.submission(), "--json"])
        #expect(submit.status == 0, "\(submit.err)")
        let id = try #require(try submit.object()["id"] as? String)
        let iso = /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)/

        let shown = f.run(["application", "show", id, "--json"])
        #expect(shown.status == 0)
        let app = try #require(try shown.object()["application"] as? [String: Any])
        let created = try #require(app["created_at"] as? String, "created_at is \(String(describing: app["created_at"]))")
        #expect(created.wholeMatch(of: iso) != nil, "\(created)")

        let listed = try #require(try f.run(["queue", "list", "--json"]).json() as? [[String: Any]])
        let first = try #require(listed.first)
        let instants = first.filter { $0.key.hasSuffix("_at") && !($0.value is NSNull) }
        #expect(instants.keys.contains("enqueued_at"), "\(first)")
        for (key, value) in instants {
            #expect((value as? String)?.wholeMatch(of: iso) != nil, "\(key): \(value)")
        }

        // No number that looks like seconds since 2001 anywhere in the output.
        #expect(shown.out.wholeMatch(of: /(?s).*"[a-z_]+_at"\s*:\s*[0-9].*/) == nil, "\(shown.out)")
    }
}
