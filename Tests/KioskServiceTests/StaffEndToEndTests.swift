import Foundation
import KioskCore
import KioskDevices
import KioskSecurity
import KioskService
import KioskTestSupport
import Testing

extension TouchScreen {
    /// The hidden staff gesture: a press on the title's left corner held for `seconds`, then released there.
    func longPressCorner(seconds: Double = 2.5) async throws {
        try self.tmux(["send-keys", "-t", "k", "-l", "\u{1B}[<0;1;1M"])
        try await Task.sleep(nanoseconds: UInt64(seconds * 1e9))
        try self.tmux(["send-keys", "-t", "k", "-l", "\u{1B}[<0;1;1m"])
        try await Task.sleep(nanoseconds: 150_000_000)
    }

    /// The PIN pad by touch, then "Masuk".
    func signIn(pin: String) async throws {
        try await self.longPressCorner()
        try await self.waitFor("PIN petugas")
        try await self.tapDigits(pin)
        try await self.tap("Masuk")
    }
}

/// Issue 17's proof on real parts: staff mode on kiosk-ui against kioskd (PIN checked against the bundle's PBKDF2
/// hashes), the reference endpoint and a private cupsd + ippeveprinter. At 80×24 and at 40×12.
@Suite(.serialized) struct StaffEndToEndTests {
    static let petugasPIN = "246810"
    static let teknisiPIN = "135790"

    /// A bundle listing two staff members, each PIN hashed with its own salt at 100 000 iterations.
    static func staffBundle(_ rig: KioskRig, version: Int) throws -> String {
        let entries: [[String: Any]] = [
            ["staff_id": "sari", "name": "Ibu Sari", "role": "petugas", "pin_hash": try PBKDF2.hashPIN(petugasPIN)],
            ["staff_id": "yohanes", "name": "Pak Yohanes", "role": "teknisi", "pin_hash": try PBKDF2.hashPIN(teknisiPIN)],
        ]
        let bundle = try signedBundle(rig.dinas.key, version: version, desa: "Desa Staf", kiosk: rig.kioskd.kioskID) { payload in
            var kiosk = payload["kiosk"] as? [String: Any] ?? [:]
            kiosk["staff_pins"] = entries
            payload["kiosk"] = kiosk
        }
        return String(decoding: bundle, as: UTF8.self)
    }

    @Test(arguments: [(80, 24), (40, 12)])
    func restockTestPrintRetryAndAnAssistedApplication(size: (Int, Int)) async throws {
        let rig = try await KioskRig(width: size.0, height: size.1)
        let k = rig.ui!
        try await step("home screen", timeout: 20) { try await k.waitFor("Ajukan Permohonan", timeout: 20) }
        _ = try rig.staff("technician.config.apply", .object(["bundle": .string(try Self.staffBundle(rig, version: 7))]))
        try await k.waitFor("Desa Staf", timeout: 15)

        // A resident calls for help from the home screen.
        try await step("call staff", timeout: 20) {
            try await k.tap(size.0 >= 60 ? "Panggil petugas" : "Petugas")
            try await k.waitFor("Petugas sudah dipanggil")
        }

        // A wrong PIN is told with the tries left; the right one opens the staff menu.
        try await step("sign in", timeout: 30) {
            try await k.signIn(pin: "111111")
            try await k.waitFor("PIN salah. Sisa 4")
            try await k.tapDigits(Self.petugasPIN)
            try await k.tap("Masuk")
            try await k.waitFor("Petugas: Ibu Sari", timeout: 15)
        }
        #expect(!k.text.contains(Self.petugasPIN))

        // Assisted mode while the Dinas refuses applications: the application is stored with the staff id, and the
        // kiosk quarantines it when the Dinas answers with a permanent refusal.
        try rig.dinas.setFaults(["refuse_applications": true])
        let code: String = try await step("assisted application by touch", timeout: 150) {
            try await k.tap("Bantu warga mengajukan")
            try await k.waitFor("Dibantu oleh Ibu Sari")
            try await k.beginBirthApplication(nik: EndToEndTests.applicant, fromHome: false)
            return try await k.finishBirthApplication()
        }
        let app = try rig.application(code)
        #expect(app["assisted_by"]?.stringValue == "sari", "the application records who helped: \(app)")
        let history = try #require(try rig.staff("staff.application.show", .object(["key": .string(code)]))["history"]?
            .decode([AuditEntryView].self))
        #expect(history.contains { $0.event == "assisted" && $0.actor.hasPrefix("petugas:sari") },
                "the audit trail names the staff member: \(history.map { "\($0.event) \($0.actor)" })")
        try await step("receipt printed", timeout: 30) {
            let end = Date().addingTimeInterval(30)
            while rig.printedFiles < 1, Date() < end { try await Task.sleep(nanoseconds: 100_000_000) }
            #expect(rig.printedFiles == 1)
            // The receipt the printer received says who helped.
            let out = "\(rig.printerDir)/ipp/out"
            let file = try #require(try FileManager.default.contentsOfDirectory(atPath: out).first)
            let text = try ChildProcess.run(["pdftotext", "\(out)/\(file)", "-"]).output
            #expect(text.contains("Dibantu oleh: Ibu Sari (Petugas desa)"), "receipt text: \(text)")
            #expect(!text.contains(EndToEndTests.applicant), "no NIK on the receipt")
        }
        try await k.tap("Selesai")
        try await k.waitFor("Ajukan Permohonan")
        // The assisted application ended staff mode: the socket refuses staff calls from the UI's role again
        // (proven in StaffSocketTests); here the UI is back at the resident home screen.
        try await step("quarantined by the Dinas's refusal", timeout: 60) {
            let end = Date().addingTimeInterval(60)
            while try rig.application(code)["state"]?.stringValue != "quarantined", Date() < end {
                try await Task.sleep(nanoseconds: 200_000_000)
            }
            #expect(try rig.application(code)["state"]?.stringValue == "quarantined")
        }
        try rig.dinas.setFaults(["refuse_applications": false])

        // Staff retry it from the queue screen; it reaches the Dinas.
        try await step("retry from the queue", timeout: 90) {
            try await k.signIn(pin: Self.petugasPIN)
            try await k.waitFor("Petugas: Ibu Sari", timeout: 15)
            try await k.tap("Antrean permohonan")
            try await k.waitFor("Alasan", timeout: 15)
            try await k.tap("Coba kirim lagi \(code)")
            try await k.waitFor("Dimasukkan lagi", timeout: 15)
            let end = Date().addingTimeInterval(60)
            let far: Set<String> = ["delivered", "in_review", "ready"]
            while try !far.contains(rig.application(code)["state"]?.stringValue ?? ""), Date() < end {
                try await Task.sleep(nanoseconds: 200_000_000)
            }
            #expect(far.contains(try rig.application(code)["state"]?.stringValue ?? ""))
            try await k.tap("Kembali")
        }

        // Paper: a restock is recorded, and the test page really prints.
        let before = try rig.staff("staff.overview").decode(StaffOverview.self).paperSheets ?? 0
        try await step("restock and test print", timeout: 90) {
            try await k.tap("Kertas & printer")
            try await k.waitFor("Kertas dimuat")
            try await k.tapDigits("500")
            try await k.tap("Catat")
            try await k.waitFor("Tercatat: 500 lembar", timeout: 15)
            try await k.tap("Cetak halaman uji")
            try await k.waitFor("Halaman uji tercetak", timeout: 60)
        }
        let after = try rig.staff("staff.overview").decode(StaffOverview.self).paperSheets ?? 0
        // A restock says how many sheets the tray holds now; receipts and test pages count against it like documents.
        #expect(before == 100 - 1, "100 loaded, the receipt printed on one")
        #expect(after == 500 - 1, "500 loaded, then the test page: \(before) → \(after)")
        #expect(rig.printedFiles == 2, "the receipt and the test page")

        // The call of the day is on the staff screen; Keluar goes home at once.
        try await step("calls and sign out", timeout: 30) {
            try await k.tap("Kembali")
            try await k.tap("Panggilan & pengaduan")
            try await k.waitFor("dari layar home", timeout: 15)
            try await k.tap("Kembali")
            try await k.tap("Keluar")
            try await k.waitFor("Ajukan Permohonan")
        }
        #expect(!k.text.contains("Petugas:"))
    }
}
