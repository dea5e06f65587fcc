import Foundation
import KioskCLI
import KioskCore
import KioskSecurity
import KioskStore
import Synchronization
import Testing

/// kioskctl's printer, print, receipt and restock commands, in-process, against the real private cupsd.
extension RealPrinter {
@Suite(.timeLimit(.minutes(3))) struct PrinterCLITests {
    let t: TestPrinter
    let root: URL

    init() throws {
        self.t = try #require(TestPrinter.shared, "the test printer could not start")
        // kioskctl finds the scheduler the way any CUPS client does: CUPS_SERVER (the same private one for every test).
        setenv("CUPS_SERVER", self.t.server, 1)
        for action in ["online", "refill", "toner-ok", "accept", "resume"] { try self.t.ctl(action) }
        self.root = FileManager.default.temporaryDirectory.appendingPathComponent("kioskctl-printer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: self.root, withIntermediateDirectories: true)
    }

    struct Result { var status: Int32; var out: String; var err: String }

    func run(_ args: [String]) -> Result {
        let out = Mutex(""), err = Mutex("")
        let context = CLIContext(
            stdout: { s in out.withLock { $0 += s } }, stderr: { s in err.withLock { $0 += s } },
            environment: [:], currentDirectory: self.root.path, executablePath: nil, now: { Date() })
        let base = ["--data-dir", self.root.appendingPathComponent("data").path,
                    "--profiles-dir", packageRoot.appendingPathComponent("Kiosk/profiles").path]
        let status = KioskCtl.run(base + args, context: context)
        return Result(status: status, out: out.withLock { $0 }, err: err.withLock { $0 })
    }

    func json(_ r: Result) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any], "\(r.out) \(r.err)")
    }

    @Test func statusPrintAndPaperOut() throws {
        let ok = self.run(["printer", "status", "--json", "--printer", t.queue])
        #expect(ok.status == 0, "\(ok.err)")
        #expect(try json(ok)["state"] as? String == "idle")
        let pdf = try samplePDF()
        let printed = self.run(["print", pdf, "--wait", "--json"])
        #expect(printed.status == 0, "default destination, job completed: \(printed.err)")
        try t.ctl("media-empty")
        var reasons: [String] = []
        for _ in 0..<50 where !reasons.contains("media-empty") {
            reasons = (try json(self.run(["printer", "status", "--json"]))["reasons"] as? [String]) ?? []
            if !reasons.contains("media-empty") { Thread.sleep(forTimeInterval: 0.2) }
        }
        #expect(reasons.contains("media-empty"))
        let human = self.run(["printer", "status"])
        #expect(human.out.contains("Kertas printer habis"), "\(human.out)")
        let refused = self.run(["print", pdf, "--wait"])
        #expect(refused.status != 0)
        #expect(refused.err.contains("Kertas printer habis") && refused.err.contains("out of paper"), "\(refused.err)")
        try t.ctl("refill")
        let recovered = self.run(["printer", "recover", "--seconds", "10", "--interval", "0.5"])
        #expect(recovered.status == 0)
        #expect(self.run(["print", pdf, "--wait"]).status == 0)
        let missing = self.run(["print", pdf, "--printer", "no-such-queue"])
        #expect(missing.status != 0)
        #expect(self.run(["print", "/nonexistent.pdf", "--wait"]).status != 0)
    }

    @Test func applicationPrintRecordsEveryPrintAndRestockCountsPaper() throws {
        let restock = self.run(["restock", "paper", "--sheets", "50", "--json"])
        #expect(restock.status == 0, "\(restock.err)")
        #expect(try json(restock)["remaining"] as? Int == 50)
        #expect(self.run(["restock", "paper", "--sheets", "0"]).status == 65)
        // A ready application with a returned document, straight in the store the CLI uses.
        let (store, _) = try KioskStore.open(directory: self.root.appendingPathComponent("data").path)
        let nik = try NIK("5371011708950003", today: CivilDate(year: 2026, month: 11, day: 22)!)
        let receipt = try store.submit(NewApplication(
            id: UUID(), service: "birth", profile: "kota-kupang", applicant: nik,
            eventDate: CivilDate(year: 2024, month: 3, day: 10)!, contact: "081234567890", facts: [:],
            attachments: [NewAttachment(requirement: "surat-kelahiran", data: Data(repeating: 1, count: 100), fileExtension: "jpg")]))
        try store.markUploading(receipt.id)
        try store.markDelivered(receipt.id)
        _ = try store.applyDinasState(receipt.id, .ready, reason: nil)
        let pdf = try Data(contentsOf: URL(fileURLWithPath: try samplePDF("Kutipan Akta Kelahiran")))
        let dinasKey = try Ed25519PrivateKey.generate()
        let pub = self.root.appendingPathComponent("dinas.pub.pem").path
        try Data(try dinasKey.publicKey.pem().utf8).write(to: URL(fileURLWithPath: pub))
        let doc = try store.storeDocument(
            receipt.id, documentID: "0f1e2d3c-0000-4000-8000-000000000002", product: "akta-kelahiran", data: pdf,
            sha256: SHA256.hex(pdf),
            signature: try DocumentSignature.sign(document: pdf, applicationID: receipt.id, product: "akta-kelahiran", with: dinasKey),
            keyID: dinasKey.publicKey.keyID)
        let code = receipt.trackingCode.formatted

        // Issue 13: a file changed on disk after it arrived is refused before printing, and the refusal recorded.
        let original = try Data(contentsOf: URL(fileURLWithPath: store.path(of: doc)))
        var changed = original
        changed[changed.count / 2] ^= 0x20
        try changed.write(to: URL(fileURLWithPath: store.path(of: doc)))
        let refused = self.run(["application", "print", code, "--trusted-key", pub])
        #expect(refused.status != 0)
        #expect(refused.out.contains("NOT PRINTED"), "\(refused.out) \(refused.err)")
        #expect(try store.history(receipt.id).map(\.event).contains("print_refused"))
        #expect(try store.documents(receipt.id)[0].printCount == 0)
        try original.write(to: URL(fileURLWithPath: store.path(of: doc)))

        try t.ctl("media-empty")
        Thread.sleep(forTimeInterval: 0.5)
        let failed = self.run(["application", "print", code, "--trusted-key", pub])
        #expect(failed.status != 0)
        #expect(failed.out.contains("GAGAL CETAK") || failed.err.contains("gagal"), "\(failed.out) \(failed.err)")
        #expect(try store.documents(receipt.id)[0].printState == "print_failed")
        #expect(try store.application(code).state == .ready)

        try t.ctl("refill")
        Thread.sleep(forTimeInterval: 0.5)
        let ok = self.run(["application", "print", code, "--json", "--trusted-key", pub])
        #expect(ok.status == 0, "\(ok.out) \(ok.err)")
        #expect(try store.application(code).state == .printed)
        #expect(try store.documents(receipt.id)[0].printCount == 1)
        let paper = try store.paperStatus(lowThreshold: 20)
        #expect(paper.used >= 1 && paper.remaining == 50 - paper.used)
        let events = try store.history(receipt.id).map(\.event)
        #expect(events.contains("print_failed") && events.contains("print"))

        // The receipt for the same application: the code, no full NIK.
        let out = self.root.appendingPathComponent("receipt.pdf").path
        let render = self.run(["receipt", "render", "--application", code, "--out", out])
        #expect(render.status == 0, "\(render.err)")
        let text = try sh(["pdftotext", out, "-"]).out
        #expect(text.contains(code))
        #expect(!text.contains("5371011708950003"))
        #expect(self.run(["receipt", "render", "--application", "ZZZZ-ZZZZ", "--out", out]).status != 0)
    }
}
}
