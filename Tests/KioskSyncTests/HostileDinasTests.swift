import Foundation
import KioskCore
import KioskSecurity
import KioskStore
import KioskSync
import KioskTestSupport
import Testing
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Tests/HostileDinas/hostile_server.py on free loopback ports: a Dinas that lies (issue 13), plus a second
/// listener standing for "another origin" that records whether it ever saw the token or the scans.
final class HostileDinas: @unchecked Sendable {
    // @unchecked: the process handle is only used by the owning test.
    let token = "hostile-\(UUID().uuidString.prefix(8))"
    let process = Process()
    let port: Int
    let foreignPort: Int
    var url: URL { URL(string: "http://127.0.0.1:\(self.port)")! }
    var foreign: String { "http://127.0.0.1:\(self.foreignPort)" }

    init(mode: String, appID: UUID? = nil) throws {
        let line = try startPython(self.process, "Tests/HostileDinas/hostile_server.py",
                                   ["--token", self.token, "--mode", mode] + (appID.map { ["--app-id", $0.uuidString.lowercased()] } ?? []))
        let ports = line.split(separator: " ").compactMap { $0.split(separator: ":").last.flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) } }
        guard ports.count == 2 else { throw NSError(domain: "hostile server: \(line)", code: 2) }
        (self.port, self.foreignPort) = (ports[0], ports[1])
    }

    deinit {
        kill(self.process.processIdentifier, SIGKILL)
        self.process.waitUntilExit()
    }

    func stats() throws -> [String: Any] { (try self.call("GET", "/hostile/stats") as? [String: Any]) ?? [:] }
    func setup(_ json: [String: Any]) throws { _ = try self.call("POST", "/hostile/setup", json: json) }

    private func call(_ method: String, _ path: String, json: Any? = nil) throws -> Any? {
        try adminRequest(method, URL(string: "http://127.0.0.1:\(self.port)\(path)")!, json: json, timeout: 10,
                         requireSuccess: false)
    }
}

/// A kiosk data folder with submitted applications and a token file, for `kioskctl` subprocesses.
struct KioskFolder {
    let dir: String
    let ids: [UUID]

    init(token: String, applications: Int = 1, size: Int = 200_000) throws {
        self.dir = try makeTempDir()
        let store = try KioskStore.open(directory: self.dir, configuration: StoreConfiguration(minFreeBytes: 0)).0
        self.ids = try (0..<applications).map { _ in
            try store.submit(NewApplication(
                service: "birth", profile: "kota-kupang", applicant: testNIK, eventDate: CivilDate(year: 2024, month: 3, day: 10)!,
                contact: nil, attachments: [NewAttachment(requirement: "r", data: randomBytes(size), fileExtension: "jpg")])).id
        }
        try Data("\(token)\n".utf8).write(to: URL(fileURLWithPath: "\(self.dir)/token"))
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: "\(self.dir)/token")
    }

    func syncArgs(_ server: HostileDinas, _ extra: [String] = []) -> [String] {
        ["--data-dir", self.dir, "sync", "run", "--dinas", server.url.absoluteString, "--kiosk-id", "desa-01",
         "--token-file", "\(self.dir)/token", "--backoff-base", "0.05", "--quick-retry-delay", "0.01"] + extra
    }

    func store() throws -> KioskStore { try KioskStore.open(directory: self.dir, configuration: StoreConfiguration(minFreeBytes: 0)).0 }
}

/// A `kioskctl` subprocess with a wall-clock limit (a process still running then is SIGKILLed and reported as
/// such), its peak RSS sampled from /proc, and its output in files (no pipe can fill up).
final class KioskctlRun: @unchecked Sendable {
    // @unchecked: used by one test; fields are written before `wait` returns.
    let process = Process()
    let outPath: String, errPath: String
    let started = Date()

    init(_ args: [String]) throws {
        let base = try makeTempDir()
        (self.outPath, self.errPath) = ("\(base)/out", "\(base)/err")
        _ = FileManager.default.createFile(atPath: self.outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: self.errPath, contents: nil)
        self.process.executableURL = URL(fileURLWithPath: kioskctlPath())
        self.process.arguments = args
        self.process.standardOutput = FileHandle(forWritingAtPath: self.outPath)
        self.process.standardError = FileHandle(forWritingAtPath: self.errPath)
        try self.process.run()
    }

    struct Outcome {
        var status: Int32
        var killed: Bool
        var seconds: Double
        var peakRSSKiB: Int
        var out: Data
        var err: Data
        var trapped: Bool { self.status == 132 || self.status == 128 + SIGILL || self.status == SIGILL || self.status == SIGTRAP }
    }

    /// Waits (with Task.sleep) until the process ends or `limit` seconds pass.
    func wait(limit: Double) async throws -> Outcome {
        var peak = 0
        var killed = false
        while self.process.isRunning {
            if let status = try? String(contentsOfFile: "/proc/\(self.process.processIdentifier)/status", encoding: .utf8),
               let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
               let kib = Int(line.split(separator: " ").dropFirst().first ?? "") {
                peak = max(peak, kib)
            }
            if Date().timeIntervalSince(self.started) > limit {
                kill(self.process.processIdentifier, SIGKILL)
                killed = true
                break
            }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        self.process.waitUntilExit()
        let seconds = Date().timeIntervalSince(self.started)
        let signalled = self.process.terminationReason == .uncaughtSignal
        return Outcome(status: signalled ? 128 + self.process.terminationStatus : self.process.terminationStatus,
                       killed: killed, seconds: seconds, peakRSSKiB: peak,
                       out: FileManager.default.contents(atPath: self.outPath) ?? Data(),
                       err: FileManager.default.contents(atPath: self.errPath) ?? Data())
    }
}

private func int(_ v: Any?) -> Int { (v as? Int) ?? (v as? NSNumber)?.intValue ?? -1 }

@Suite(.serialized, .timeLimit(.minutes(3))) struct HostileDinasTests {
    /// Negative and Int.max offsets and `received` used to trap (exit 132), again on every rerun. Now each is a
    /// bad answer: the application waits for a retry, the process exits normally, twice.
    @Test func outOfRangeNumbersAreErrorsNotTraps() async throws {
        let modes = ["received-negative", "received-intmax", "offset-negative", "offset-intmax", "conflict-negative"]
        let servers = try modes.map { try HostileDinas(mode: $0) }
        let folders = try servers.map { try KioskFolder(token: $0.token) }
        for round in 1...2 {
            let runs = try zip(servers, folders).map { try KioskctlRun($0.1.syncArgs($0.0)) }
            for (i, run) in runs.enumerated() {
                let o = try await run.wait(limit: 30)
                let err = String(decoding: o.err, as: UTF8.self)
                #expect(!o.trapped && !o.killed && o.status == 0, "\(modes[i]) round \(round): exit \(o.status) \(err.suffix(400))")
                if round == 1 { #expect(err.contains("outside 0…"), "\(modes[i]): \(err.suffix(400))") }
            }
        }
        // A lying `received` is never believed; an offset that lies after the bytes arrived may still end in a
        // delivery confirmed by hashes (the Dinas did get them).
        for folder in folders.prefix(2) {
            #expect(try folder.store().application(folder.ids[0].uuidString).state != .delivered)
        }
    }

    /// A 307 to another origin is not followed: the other origin never sees the token or a byte of a scan.
    @Test func redirectToAnotherOriginCarriesNothing() async throws {
        let server = try HostileDinas(mode: "redirect")
        let folder = try KioskFolder(token: server.token)
        let o = try await KioskctlRun(folder.syncArgs(server)).wait(limit: 30)
        #expect(!o.trapped && !o.killed)
        let s = try server.stats()
        #expect(int(s["foreign_requests"]) == 0, "\(s["foreign_paths"] ?? "")")
        #expect(int(s["foreign_with_auth"]) == 0)
        #expect(int(s["foreign_body_bytes"]) == 0)
        #expect(try folder.store().application(folder.ids[0].uuidString).state != .delivered)
    }

    /// An absolute upload_url or document url on another origin receives neither the token nor the scans.
    @Test func urlsOnAnotherOriginAreRefused() async throws {
        let server = try HostileDinas(mode: "foreign-upload-url")
        let folder = try KioskFolder(token: server.token)
        let key = try Ed25519PrivateKey.generate()
        try Data(try key.publicKey.pem().utf8).write(to: URL(fileURLWithPath: "\(folder.dir)/dinas.pub.pem"))
        let pdf = Data("%PDF-1.4 akta".utf8)
        let id = folder.ids[0]
        try server.setup(["events": [[
            "seq": 1, "type": "document", "application_id": id.uuidString.lowercased(), "product": "akta",
            "document_id": "aaaaaaaa-0000-4000-8000-000000000001", "url": "\(server.foreign)/v1/documents/aaaaaaaa-0000-4000-8000-000000000001",
            "sha256": SHA256.hex(pdf), "size": pdf.count, "key_id": key.publicKey.keyID,
            "signature": try DocumentSignature.sign(document: pdf, applicationID: id, product: "akta", with: key),
        ]]])
        let o = try await KioskctlRun(folder.syncArgs(server, ["--trusted-key", "\(folder.dir)/dinas.pub.pem"])).wait(limit: 30)
        #expect(!o.trapped && !o.killed)
        let s = try server.stats()
        #expect(int(s["foreign_requests"]) == 0, "\(s["foreign_paths"] ?? "")")
        #expect(int(s["foreign_with_auth"]) == 0)
        #expect(int(s["foreign_body_bytes"]) == 0)
        let store = try folder.store()
        #expect(try store.application(id.uuidString).state != .delivered)
        #expect(try store.documents(id).isEmpty)
        #expect(try store.history(id).contains { $0.event == "document_rejected" })
    }

    /// The signature binds the document to its application and product: a document validly signed for A (or for
    /// another product, or in the old digest-only format) is refused for B; the one for A is stored.
    @Test func documentSignedForOneApplicationIsRefusedForAnother() async throws {
        let server = try HostileDinas(mode: "ok")
        let kiosk = try TestKioskOn(server: server)
        let a = try kiosk.submit(), b = try kiosk.submit()
        let key = try Ed25519PrivateKey.generate()
        let pdf = Data("%PDF-1.4 kutipan akta kelahiran".utf8)
        let forA = try DocumentSignature.sign(document: pdf, applicationID: a, product: "akta", with: key)
        let forOtherProduct = try DocumentSignature.sign(document: pdf, applicationID: b, product: "kk", with: key)
        let digestOnly = try key.sign(SHA256.hash(pdf)).base64EncodedString()
        func event(_ seq: Int, _ app: UUID, _ product: String, _ signature: String) -> [String: Any] {
            ["seq": seq, "type": "document", "application_id": app.uuidString.lowercased(), "product": product,
             "document_id": "bbbbbbbb-0000-4000-8000-00000000000\(seq)", "url": "/v1/documents/pdf",
             "sha256": SHA256.hex(pdf), "size": pdf.count, "signature": signature, "key_id": key.publicKey.keyID]
        }
        try server.setup(["documents": ["pdf": pdf.base64EncodedString()],
                          "events": [event(1, b, "akta", forA), event(2, b, "akta", forOtherProduct),
                                     event(3, b, "akta", digestOnly), event(4, a, "akta", forA)]])
        let engine = kiosk.engine(trusted: [key.publicKey])
        let r = await engine.pass()
        #expect(r.documentsRejected == 3)
        #expect(r.documentsStored == 1)
        #expect(try kiosk.store.documents(b).isEmpty)
        #expect(try kiosk.store.documents(a).map(\.product) == ["akta"])
        #expect(try kiosk.store.history(b).filter { $0.event == "document_rejected" }.count == 3)
    }

    /// A stored document is verified again immediately before every print: changed on disk, it is refused and
    /// the refusal is recorded for staff (the check both print paths call).
    @Test func documentChangedOnDiskIsNeverPrinted() throws {
        let server = try HostileDinas(mode: "ok")
        let kiosk = try TestKioskOn(server: server)
        let a = try kiosk.submit()
        let key = try Ed25519PrivateKey.generate()
        let pdf = Data("%PDF-1.4 kutipan akta kelahiran".utf8)
        let doc = try kiosk.store.storeDocument(
            a, documentID: "cccccccc-0000-4000-8000-000000000001", product: "akta", data: pdf, sha256: SHA256.hex(pdf),
            signature: try DocumentSignature.sign(document: pdf, applicationID: a, product: "akta", with: key), keyID: key.publicKey.keyID)
        #expect(try kiosk.store.verifyForPrint(documentID: doc.documentID, trusted: [key.publicKey], actor: "kiosk")
                == .verified(path: kiosk.store.path(of: doc)))
        // Untrusted key: refused.
        let other = try Ed25519PrivateKey.generate()
        guard case .refused = try kiosk.store.verifyForPrint(documentID: doc.documentID, trusted: [other.publicKey], actor: "kiosk") else {
            Issue.record("an untrusted key verified")
            return
        }
        // Same size, one byte changed on disk after it arrived.
        var changed = pdf
        changed[5] ^= 0x01
        try changed.write(to: URL(fileURLWithPath: kiosk.store.path(of: doc)))
        guard case .refused(let why) = try kiosk.store.verifyForPrint(documentID: doc.documentID, trusted: [key.publicKey], actor: "resident") else {
            Issue.record("a changed document verified")
            return
        }
        #expect(why.contains("SHA-256"))
        #expect(try kiosk.store.document(doc.documentID).printState == "print_failed")
        #expect(try kiosk.store.history(a).filter { $0.event == "print_refused" }.count == 2)
    }

    /// 409 forever, 204 without progress, 410 forever and a cursor that never ends: each pass ends by itself
    /// within its budget, with a bounded number of requests (the manifest with the NIK is not re-sent thousands
    /// of times).
    @Test func everyLoopEndsWithinItsBudget() async throws {
        let modes = ["conflict-forever", "noprogress", "expired-forever", "endless-cursor"]
        let servers = try modes.map { try HostileDinas(mode: $0) }
        let folders = try servers.map { try KioskFolder(token: $0.token) }
        let runs = try zip(servers, folders).map { try KioskctlRun($0.1.syncArgs($0.0)) }
        for (i, run) in runs.enumerated() {
            let o = try await run.wait(limit: 25)
            #expect(!o.killed && !o.trapped, "\(modes[i]) did not end by itself (\(o.seconds) s)")
            #expect(o.seconds < 15, "\(modes[i]) took \(o.seconds) s")
        }
        let stats = try servers.map { try $0.stats() }
        #expect(int(stats[0]["patches"]) <= 20, "409 forever: \(int(stats[0]["patches"])) PATCHes")
        #expect(int(stats[1]["patches"]) <= 20, "204 without progress: \(int(stats[1]["patches"])) PATCHes")
        #expect(int(stats[2]["manifests"]) <= 4, "410 forever: the manifest was sent \(int(stats[2]["manifests"])) times")
        #expect(int(stats[3]["event_pages"]) <= 25, "endless cursor: \(int(stats[3]["event_pages"])) pages")
        for folder in folders.prefix(3) {
            #expect(try folder.store().application(folder.ids[0].uuidString).state != .delivered)
        }
    }

    /// `--max-seconds 10` returns in about 10 s against a black hole and a slowloris Dinas (it took 280 s).
    @Test func maxSecondsHoldsAgainstBlackHoleAndSlowloris() async throws {
        let servers = try ["blackhole", "slowloris"].map { try HostileDinas(mode: $0) }
        let folders = try servers.map { try KioskFolder(token: $0.token, applications: 3) }
        let runs = try zip(servers, folders).map { try KioskctlRun($0.1.syncArgs($0.0, ["--max-seconds", "10", "--request-timeout", "30"])) }
        for (i, run) in runs.enumerated() {
            let o = try await run.wait(limit: 40)
            #expect(!o.killed && !o.trapped, "\(["blackhole", "slowloris"][i]) still running after 40 s")
            #expect(o.seconds < 15, "\(["blackhole", "slowloris"][i]): --max-seconds 10 took \(o.seconds) s")
        }
    }

    /// A 100 MB answer is cut at the cap: the read aborts (the Dinas could not push much past it) and the
    /// process's memory stays bounded (it cost 252 MB).
    @Test func responseBodiesAreCapped() async throws {
        let server = try HostileDinas(mode: "huge-body")
        let folder = try KioskFolder(token: server.token, size: 2_000)
        let o = try await KioskctlRun(folder.syncArgs(server)).wait(limit: 60)
        #expect(!o.killed && !o.trapped)
        let sent = int(try server.stats()["bytes_sent_huge"])
        #expect(sent < 24 << 20, "the kiosk read \(sent) bytes of a 100 MB answer")
        #expect(o.peakRSSKiB > 0 && o.peakRSSKiB < 120 * 1024, "peak RSS \(o.peakRSSKiB) KiB")
    }

    /// ESC/OSC in a reason or an error message never reaches the terminal: stripped where it enters the store,
    /// made visible where it is printed.
    @Test func dinasEscapesNeverReachTheTerminal() async throws {
        let folder = try KioskFolder(token: "placeholder", applications: 2, size: 2_000)
        let server = try HostileDinas(mode: "escape", appID: folder.ids[0])
        try Data("\(server.token)\n".utf8).write(to: URL(fileURLWithPath: "\(folder.dir)/token"))
        let sync = try await KioskctlRun(folder.syncArgs(server, ["--until-idle", "--max-seconds", "10"])).wait(limit: 30)
        #expect(!sync.killed && !sync.trapped)
        var outputs: [(String, Data)] = [("sync stderr", sync.err), ("sync stdout", sync.out)]
        for args in [["application", "show", folder.ids[0].uuidString], ["application", "show", folder.ids[1].uuidString],
                     ["queue", "list"]] {
            let r = try await KioskctlRun(["--data-dir", folder.dir] + args).wait(limit: 20)
            outputs.append((args.joined(separator: " "), r.out + r.err))
        }
        for (what, data) in outputs {
            #expect(!data.contains(0x1B), "\(what) carries ESC: \(String(decoding: data, as: UTF8.self).prefix(600))")
            #expect(!String(decoding: data, as: UTF8.self).unicodeScalars.contains { $0.value == 0x9B || $0.value == 0x07 }, "\(what)")
        }
        let show = String(decoding: outputs[3].1, as: UTF8.self)
        #expect(show.contains("Foto buram"), "\(show)")
        let list = String(decoding: outputs[4].1, as: UTF8.self)
        #expect(list.contains("ditolak"), "\(list)")
        let store = try folder.store()
        #expect(try store.application(folder.ids[1].uuidString).stateReason.map { SafeText.firstUnsafe(in: $0) == nil } == true)
        #expect(try store.queueList().allSatisfy { ($0.quarantineReason ?? "").unicodeScalars.allSatisfy { !SafeText.isUnsafe($0) } })
    }
}

/// An in-process kiosk against a hostile Dinas.
struct TestKioskOn {
    let dir: String
    let store: KioskStore
    let server: HostileDinas

    init(server: HostileDinas) throws {
        self.dir = try makeTempDir()
        self.store = try KioskStore.open(directory: self.dir, configuration: StoreConfiguration(minFreeBytes: 0)).0
        self.server = server
    }

    func submit() throws -> UUID {
        try self.store.submit(NewApplication(
            service: "birth", profile: "kota-kupang", applicant: testNIK, eventDate: CivilDate(year: 2024, month: 3, day: 10)!,
            contact: nil, attachments: [NewAttachment(requirement: "r", data: randomBytes(2_000), fileExtension: "jpg")])).id
    }

    func engine(trusted: [Ed25519PublicKey]) -> SyncEngine {
        var options = SyncOptions()
        options.backoff = Backoff(base: 0.05, cap: 0.5)
        options.quickRetryDelay = 0.01
        return SyncEngine(store: self.store,
                          client: DinasClient(endpoint: DinasEndpoint(baseURL: self.server.url, kioskID: "desa-01", token: self.server.token),
                                              requestTimeout: 10),
                          trustedKeys: trusted, configStore: nil, options: options)
    }
}
