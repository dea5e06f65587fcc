import Foundation
import KioskCLI
import KioskCore
import KioskService
import Synchronization
import Testing

private let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

/// `/etc/kiosk/kioskd.json`: the shipped file, the strict reader's rules, and kioskctl's use of it.
@Suite struct KioskdConfigTests {
    func parse(_ json: String) throws(KioskdConfigError) -> KioskdConfig {
        try KioskdConfig.parse(Data(json.utf8), source: "test.json")
    }

    /// The error `json` is refused with (a failure when it is accepted).
    func refusal(_ json: String, sourceLocation: SourceLocation = #_sourceLocation) -> KioskdConfigError? {
        do {
            let c = try self.parse(json)
            Issue.record("accepted: \(json) → \(c)", sourceLocation: sourceLocation)
            return nil
        } catch {
            return error
        }
    }

    /// Every value's dotted path in a JSON object (arrays and nulls are values).
    func leafPaths(_ object: [String: Any], prefix: String = "") -> [String] {
        object.flatMap { key, value -> [String] in
            let path = prefix.isEmpty ? key : "\(prefix).\(key)"
            if let nested = value as? [String: Any] { return self.leafPaths(nested, prefix: path) }
            return [path]
        }
    }

    @Test func theShippedFileParsesAndIsTheDefaultsButForTheKioskID() throws {
        let path = packageRoot.appendingPathComponent("Kiosk/config/kioskd.json").path
        var shipped = try KioskdConfig.load(path: path)
        #expect(shipped.kioskID == "desa-contoh-01")
        #expect(try shipped.requireKioskID() == "desa-contoh-01")
        shipped.kioskID = nil
        #expect(shipped == KioskdConfig())
    }

    @Test func theShippedFileHasEveryKeyAndEveryKeyIsDocumented() throws {
        let data = try Data(contentsOf: packageRoot.appendingPathComponent("Kiosk/config/kioskd.json"))
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let shipped = Set(self.leafPaths(object))
        #expect(shipped == Set(KioskdConfig.leafKeys), "the shipped file lists every key the reader knows")
        let doc = try String(contentsOf: packageRoot.appendingPathComponent("Kiosk/config/README.md"), encoding: .utf8)
        for key in shipped.sorted() {
            #expect(doc.contains("`\(key)`"), "\(key) is documented in Kiosk/config/README.md")
        }
    }

    @Test func anEmptyFileTakesEveryDefault() throws {
        let c = try self.parse("{}")
        #expect(c == KioskdConfig())
        #expect(c.kioskID == nil && c.dinas.url == nil && c.profilesDir == nil)
        #expect(c.dataDir == "/var/lib/kiosk" && c.socket == "/run/kiosk/kioskd.sock" && c.logLevel == .info)
        #expect(c.dinas.pollSeconds == 60 && c.dinas.trustedKeys == ["/etc/kiosk/dinas.pub.pem"])
        #expect(c.devices == KioskdConfig.Devices() && c.devices.printer == .auto)
        // kioskctl's offline commands run without a kiosk id; kioskd cannot.
        #expect(throws: KioskdConfigError.self) { try c.requireKioskID() }
        do {
            _ = try c.requireKioskID()
        } catch {
            #expect(error.field == "kiosk_id")
            #expect(error.message.id.contains("kiosk_id") && error.message.en?.contains("1…64") == true)
        }
        #expect(KioskdConfigError.exitCode == 78)
    }

    @Test func givenValuesAreRead() throws {
        let c = try self.parse("""
            {"kiosk_id": "desa-oebelo-02", "log_level": "debug", "profile": "kab-kupang", "profiles_dir": "/srv/profiles",
             "dinas": {"url": "https://adminduk.kupangkota.go.id/kiosk/", "poll_seconds": 5, "heartbeat_seconds": 86400},
             "devices": {"printer": "Epson_L3210", "scanner": "pixma:04A91913", "card_reader": "simulated"},
             "control": {"admin_user": "kioskd", "staff_group": "petugas"},
             "scanner": {"watchdog_seconds": 1.5, "width_mm": 210, "extra_options": ["--source=ADF Duplex"]}}
            """)
        #expect(c.kioskID == "desa-oebelo-02" && c.logLevel == .debug && c.profile == "kab-kupang")
        #expect(c.profilesDir == "/srv/profiles")
        #expect(c.dinas.url == URL(string: "https://adminduk.kupangkota.go.id/kiosk/"))
        #expect(c.dinas.pollSeconds == 5 && c.dinas.heartbeatSeconds == 86400)
        #expect(c.devices.printer == .named("Epson_L3210") && c.devices.cardReader == .simulated)
        #expect(c.scanner.device == "pixma:04A91913", "the runtime field is filled from devices.scanner")
        #expect(c.control.adminUser == "kioskd" && c.control.staffGroup == "petugas" && c.control.group == "kiosk-ui")
        #expect(c.scanner.watchdogSeconds == 1.5 && c.scanner.widthMM == 210 && c.scanner.heightMM == nil)
        #expect(c.scanner.extraOptions == ["--source=ADF Duplex"])
    }

    @Test(arguments: [
        (#"{"colour": "blue"}"#, "colour"),
        (#"{"dinas": {"pol_seconds": 60}}"#, "dinas.pol_seconds"),
        (#"{"control": {"group": "kiosk-ui", "admin": "root"}}"#, "control.admin"),
        (#"{"store": {"max_attachment_bytes": 100000, "retention": 3}}"#, "store.retention"),
        (#"{"scanner": {"resolution": 200, "dpi": 300}}"#, "scanner.dpi"),
        (#"{"devices": {"printer": "auto", "camera": "auto"}}"#, "devices.camera"),
    ])
    func anUnknownKeyAnywhereIsNamed(json: String, field: String) throws {
        let e = try #require(self.refusal(json))
        #expect(e.field == field)
        #expect(e.message.id.contains(field) && e.message.id.contains("tidak dikenal"), "\(e)")
        #expect(e.message.en?.contains("\(field): unknown key") == true, "\(e)")
        #expect(e.source == "test.json" && e.description.hasPrefix("test.json: "))
    }

    @Test(arguments: [
        (#"{"printer": {"queue": "kiosk"}}"#, "printer.queue", "devices.printer"),
        (#"{"scanner": {"device": "test"}}"#, "scanner.device", "devices.scanner"),
        (#"{"dinas_url": "https://dinas.example"}"#, "dinas_url", "dinas.url"),
        (#"{"token_file": "/etc/kiosk/dinas.token"}"#, "token_file", "dinas.token_file"),
        (#"{"trusted_keys": []}"#, "trusted_keys", "dinas.trusted_keys"),
    ])
    func aMovedKeyNamesItsNewPlace(json: String, field: String, target: String) throws {
        let e = try #require(self.refusal(json))
        #expect(e.field == field)
        #expect(e.message.en?.contains("moved to \(target)") == true && e.message.id.contains(target), "\(e)")
    }

    /// One case per rule: the JSON, the field named, and a piece of the message saying what is allowed.
    @Test(arguments: [
        // absolute paths
        (#"{"data_dir": "var/lib/kiosk"}"#, "data_dir", "absolute path"),
        (#"{"socket": "/run/\#(String(repeating: "s", count: 120)).sock"}"#, "socket", "1…107 bytes"),
        (#"{"dinas": {"token_file": "dinas.token"}}"#, "dinas.token_file", "absolute path"),
        (#"{"dinas": {"trusted_keys": ["/etc/kiosk/a.pem", "b.pem"]}}"#, "dinas.trusted_keys[1]", "absolute path"),
        (#"{"dinas": {"trusted_keys": "/etc/kiosk/a.pem"}}"#, "dinas.trusted_keys", "array of 0…16"),
        (#"{"profiles_dir": "Kiosk/profiles"}"#, "profiles_dir", "null or an absolute path"),
        (#"{"data_dir": "/var/lib/kiosk\u0007"}"#, "data_dir", "without control characters"),
        // kiosk id
        (#"{"kiosk_id": "desa 01"}"#, "kiosk_id", "1…64 characters of A-Z a-z 0-9 . _ -"),
        (#"{"kiosk_id": "\#(String(repeating: "a", count: 65))"}"#, "kiosk_id", "1…64"),
        (#"{"kiosk_id": ""}"#, "kiosk_id", "1…64"),
        // the Dinas URL
        (#"{"dinas": {"url": "ftp://dinas.example/"}}"#, "dinas.url", "http:// or https:// URL"),
        (#"{"dinas": {"url": "https://kiosk:secret@dinas.example/"}}"#, "dinas.url", "no user-info"),
        (#"{"dinas": {"url": "https://dinas.example/?kiosk=1"}}"#, "dinas.url", "query"),
        (#"{"dinas": {"url": "https://dinas.example/#top"}}"#, "dinas.url", "fragment"),
        (#"{"dinas": {"url": "https:///kiosk"}}"#, "dinas.url", "with a host"),
        (#"{"dinas": {"url": 443}}"#, "dinas.url", "null or an http"),
        // intervals
        (#"{"dinas": {"poll_seconds": 4}}"#, "dinas.poll_seconds", "integer 5…86400"),
        (#"{"dinas": {"poll_seconds": 86401}}"#, "dinas.poll_seconds", "integer 5…86400"),
        (#"{"dinas": {"heartbeat_seconds": 9}}"#, "dinas.heartbeat_seconds", "integer 10…86400"),
        (#"{"dinas": {"request_timeout_seconds": 601}}"#, "dinas.request_timeout_seconds", "integer 1…600"),
        (#"{"dinas": {"request_timeout_seconds": 0}}"#, "dinas.request_timeout_seconds", "integer 1…600"),
        (#"{"retention": {"purge_interval_seconds": 59}}"#, "retention.purge_interval_seconds", "integer 60…86400"),
        // POSIX names
        (#"{"control": {"group": "-staff"}}"#, "control.group", "POSIX"),
        (#"{"control": {"staff_group": "1000"}}"#, "control.staff_group", "not all digits"),
        (#"{"control": {"admin_user": "kiosk user"}}"#, "control.admin_user", "1…32 characters"),
        (#"{"control": {"resident_group": "\#(String(repeating: "u", count: 33))"}}"#, "control.resident_group", "1…32"),
        // device names
        (#"{"devices": {"printer": "Epson L3210"}}"#, "devices.printer", "printable ASCII characters without spaces"),
        (#"{"devices": {"scanner": ""}}"#, "devices.scanner", "1…255"),
        (#"{"devices": {"card_reader": "/dev/tty\u001b[2J"}}"#, "devices.card_reader", "printable ASCII"),
        (#"{"devices": {"printer": "\#(String(repeating: "p", count: 256))"}}"#, "devices.printer", "1…255"),
        (#"{"devices": {"printer": null}}"#, "devices.printer", "\"auto\", \"simulated\""),
        // choices and types
        (#"{"log_level": "verbose"}"#, "log_level", "one of \"debug\", \"info\", \"warning\", \"error\""),
        (#"{"profile": "Kota_Kupang"}"#, "profile", "a-z 0-9 -"),
        (#"{"dinas": {"poll_seconds": "60"}}"#, "dinas.poll_seconds", "must be an integer"),
        (#"{"dinas": {"poll_seconds": null}}"#, "dinas.poll_seconds", "must be an integer"),
        (#"{"printer": {"reprint_limit": true}}"#, "printer.reprint_limit", "integer 0…10"),
        (#"{"store": {"max_attachments": 1.5}}"#, "store.max_attachments", "integer 1…1000"),
        (#"{"control": "kiosk-ui"}"#, "control", "JSON object"),
        (#"{"dinas": null}"#, "dinas", "JSON object"),
        // printer
        (#"{"printer": {"job_timeout_seconds": 5}}"#, "printer.job_timeout_seconds", "integer 10…3600"),
        (#"{"printer": {"low_paper_threshold": -1}}"#, "printer.low_paper_threshold", "integer 0…5000"),
        // store (StoreConfiguration's ranges)
        (#"{"store": {"max_attachment_bytes": 10}}"#, "store.max_attachment_bytes", "integer 1024…1073741824"),
        (#"{"store": {"retention_days": 0}}"#, "store.retention_days", "integer 1…3650"),
        (#"{"store": {"min_free_bytes": -1}}"#, "store.min_free_bytes", "integer 0…"),
        (#"{"store": {"max_attachment_bytes": 2000000, "max_application_bytes": 1000000}}"#,
         "store.max_application_bytes", "at least store.max_attachment_bytes"),
        // scanner (ScanSettings' ranges)
        (#"{"scanner": {"resolution": 20}}"#, "scanner.resolution", "integer 50…600"),
        (#"{"scanner": {"mode": "Colour"}}"#, "scanner.mode", "one of \"Gray\", \"Color\""),
        (#"{"scanner": {"format": "png"}}"#, "scanner.format", "one of \"jpeg\", \"pdf\""),
        (#"{"scanner": {"jpeg_quality": 100}}"#, "scanner.jpeg_quality", "integer 20…95"),
        (#"{"scanner": {"max_page_bytes": 1000}}"#, "scanner.max_page_bytes", "integer 50000…50000000"),
        (#"{"scanner": {"watchdog_seconds": 0}}"#, "scanner.watchdog_seconds", "number 1…600 s"),
        (#"{"scanner": {"width_mm": 5}}"#, "scanner.width_mm", "null or a number 10…1000 mm"),
        (#"{"scanner": {"extra_options": ["source=ADF"]}}"#, "scanner.extra_options[0]", "starting with -"),
    ])
    func aBadValueIsRefusedNamingTheFieldAndTheRange(json: String, field: String, allowed: String) throws {
        let e = try #require(self.refusal(json))
        #expect(e.field == field, "\(e)")
        let en = e.message.en ?? ""
        #expect(en.hasPrefix("\(field): ") && en.contains(allowed), "\(e)")
        #expect(e.message.id.hasPrefix("\(field): ") && e.message.id != en, "Indonesian first: \(e)")
    }

    @Test func aDuplicateKeyIsRefused() throws {
        let e = try #require(self.refusal(#"{"dinas": {"poll_seconds": 60, "heartbeat_seconds": 300, "poll_seconds": 5}}"#))
        #expect(e.field == "dinas.poll_seconds")
        #expect(e.message.en == "dinas.poll_seconds: duplicate key" && e.message.id.contains("ganda"))
        // Compared after unescaping, as the bundle reader does.
        #expect(self.refusal(#"{"kiosk_id": "a", "kiosk\u005fid": "b"}"#)?.field == "kiosk_id")
    }

    @Test func notJSONOrNotAnObjectIsRefused() throws {
        #expect(self.refusal(#"{"dinas": {"#)?.message.en == "not valid JSON")
        let array = try #require(self.refusal("[]"))
        #expect(array.field == nil && array.message.en?.contains("must be a JSON object") == true)
        do {
            _ = try KioskdConfig.load(path: "/nonexistent/kioskd.json")
            Issue.record("a missing file loaded")
        } catch {
            #expect(error.source == "/nonexistent/kioskd.json" && error.message.en == "the file does not exist")
        }
    }

    // MARK: kioskctl

    struct Run {
        var status: Int32
        var out: String
        var err: String
    }

    func kioskctl(_ args: [String], in dir: URL, environment: [String: String] = [:]) -> Run {
        let out = Mutex(""), err = Mutex("")
        let context = CLIContext(
            stdout: { s in out.withLock { $0 += s } }, stderr: { s in err.withLock { $0 += s } },
            environment: environment, currentDirectory: dir.path, executablePath: nil)
        let status = KioskCtl.run(args, context: context)
        return Run(status: status, out: out.withLock { $0 }, err: err.withLock { $0 })
    }

    func tempDir() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("kioskd-config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @Test func kioskctlExits78OnABadConfigNamingTheField() throws {
        let dir = try self.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let bad = dir.appendingPathComponent("kioskd.json")
        try Data(#"{"data_dir": "\#(dir.path)/data", "dinas": {"pol_seconds": 60}}"#.utf8).write(to: bad)
        let r = self.kioskctl(["--config", bad.path, "queue", "stats"], in: dir)
        #expect(r.status == 78)
        #expect(r.err.contains("dinas.pol_seconds") && r.err.contains("unknown key") && r.err.contains(bad.path), "\(r.err)")
        // $KIOSK_CONFIG is read the same way, and --json reports the field.
        let viaEnvironment = self.kioskctl(["sync", "status", "--json"], in: dir, environment: ["KIOSK_CONFIG": bad.path])
        #expect(viaEnvironment.status == 78)
        let body = try #require(try JSONSerialization.jsonObject(with: Data(viaEnvironment.out.utf8)) as? [String: Any])
        let error = try #require(body["error"] as? [String: Any])
        #expect(error["code"] as? String == "invalid_config" && error["field"] as? String == "dinas.pol_seconds")
        try Data(#"{"store": {"retention_days": 0}}"#.utf8).write(to: bad)
        let range = self.kioskctl(["--config=\(bad.path)", "store", "check"], in: dir)
        #expect(range.status == 78 && range.err.contains("store.retention_days") && range.err.contains("1…3650"), "\(range.err)")
        // A named file that is not there is missing input, as before.
        #expect(self.kioskctl(["--config", "\(dir.path)/none.json", "queue", "stats"], in: dir).status == 66)
        #expect(KioskCtl.help.contains("78"))
    }

    @Test func kioskctlTakesItsDefaultsFromTheConfig() throws {
        let dir = try self.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = dir.appendingPathComponent("kioskd.json")
        try Data("""
            {"data_dir": "\(dir.path)/data", "kiosk_id": "desa-01",
             "dinas": {"url": "http://127.0.0.1:9/", "token_file": "\(dir.path)/no-token", "trusted_keys": []}}
            """.utf8).write(to: config)
        // sync run: the URL, kiosk id and token file come from the dinas section (the token file is then missing)...
        let run = self.kioskctl(["--config", config.path, "sync", "run", "--json"], in: dir)
        #expect(run.status == 66, "\(run.err)")
        #expect(run.err.contains("\(dir.path)/no-token"), "\(run.err)")
        #expect(run.out.contains("\"field\" : \"dinas.token_file\""), "\(run.out)")
        // ...and a flag still overrides it.
        let flag = self.kioskctl(["--config", config.path, "sync", "run", "--token-file", "\(dir.path)/other", "--json"], in: dir)
        #expect(flag.status == 66 && flag.err.contains("\(dir.path)/other") && flag.out.contains("\"field\" : \"token-file\""))
        // data_dir comes from the config too.
        #expect(self.kioskctl(["--config", config.path, "queue", "stats"], in: dir).status == 0)
        #expect(FileManager.default.fileExists(atPath: "\(dir.path)/data"))
    }
}
