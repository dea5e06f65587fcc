import Foundation
import KioskCore
import Testing

/// The staff state machine on its own: events in, effects out (kioskd's half is StaffSocketTests).
@Suite struct StaffFlowTests {
    let today = d("2026-12-03")
    let sari = StaffIdentity(staffID: "sari", name: "Ibu Sari", role: .petugas)

    func session(staffEntry: Bool = true) throws -> KioskSession {
        KioskSession(profile: try loadProfile("kota-kupang"), today: self.today, now: 0, idleTimeout: 120,
                     staffTimeout: 60, staffEntry: staffEntry)
    }

    func type(_ s: String, into session: inout KioskSession, now: Double = 1) {
        for c in s { _ = session.handle(.staff(.key(c)), now: now) }
    }

    var staff: (KioskSession) -> StaffFlow? {
        { if case .staff(let f) = $0.screen { f } else { nil } }
    }

    @Test func thePINLeavesTheFlowWithItsRequestAndIsNotKept() throws {
        var s = try self.session()
        _ = s.handle(.openStaff, now: 1)
        self.type("24681", into: &s)
        #expect(self.staff(s)?.pin.text == "24681")
        self.type("0x", into: &s)
        let effects = s.handle(.staff(.submitPIN), now: 1)
        #expect(effects == [.flow(.staff(.unlock(pin: "246810")))])
        #expect(self.staff(s)?.pin.text == "")
        #expect(self.staff(s)?.isBusy == true)
        // Too short: refused in the flow, nothing sent.
        _ = s.handle(.staff(.unlocked(.success(.wrongPIN(attemptsLeft: 4)))), now: 2)
        #expect(self.staff(s)?.problem?.id.contains("Sisa 4") == true)
        self.type("12", into: &s)
        #expect(s.handle(.staff(.submitPIN), now: 3) == [])
        #expect(self.staff(s)?.problem?.id.contains("4–12 angka") == true)
    }

    @Test func aLockIsToldWithItsEndAndNothingOpens() throws {
        var s = try self.session()
        _ = s.handle(.openStaff, now: 1)
        self.type("1111", into: &s)
        _ = s.handle(.staff(.submitPIN), now: 1)
        // 2026-12-03 02:30 UTC is 10.30 WITA (Kota Kupang).
        let until = Date(timeIntervalSince1970: 1_796_265_000)
        _ = s.handle(.staff(.unlocked(.success(.locked(until: until)))), now: 2)
        let f = try #require(self.staff(s))
        #expect(f.step == .pin)
        #expect(f.identity == nil)
        #expect(f.problem?.id == "Masuk petugas dikunci sampai pukul 10:30 karena PIN salah 5 kali.")
        #expect(s.handle(.staff(.open(.queue)), now: 3) == [])
        #expect(self.staff(s)?.step == .pin)
    }

    @Test func noStaffEntryDuringAResidentSessionOrWithoutStaffPINs() throws {
        var s = try self.session()
        _ = s.handle(.open(.apply), now: 1)
        _ = s.handle(.openStaff, now: 2)
        #expect(self.staff(s) == nil)
        var none = try self.session(staffEntry: false)
        _ = none.handle(.openStaff, now: 1)
        #expect(none.screen == .home)
    }

    func unlocked(_ who: StaffIdentity? = nil) throws -> KioskSession {
        var s = try self.session()
        _ = s.handle(.openStaff, now: 1)
        self.type("246810", into: &s)
        _ = s.handle(.staff(.submitPIN), now: 1)
        let effects = s.handle(.staff(.unlocked(.success(.unlocked(who ?? self.sari, timeoutSeconds: 60)))), now: 2)
        #expect(effects == [.flow(.staff(.loadOverview))])
        return s
    }

    @Test func staffModeTimesOutAndTheRightsEndAtKioskd() throws {
        var s = try self.unlocked()
        #expect(s.tick(now: 30, today: self.today) == [])
        #expect(s.idlePhase(now: 45) == .warning(secondsLeft: 17))
        let effects = s.tick(now: 63, today: self.today)
        #expect(effects == [.wiped(discardScans: []), .flow(.staff(.lock))])
        #expect(s.screen == .home)
    }

    @Test func keluarLocksAndOnlyATechnicianSeesTheTechnicianSection() throws {
        var s = try self.unlocked()
        #expect(self.staff(s)?.sections.contains(.technician) == false)
        #expect(s.handle(.staff(.open(.technician)), now: 3) == [])
        #expect(s.handle(.back, now: 4) == [.flow(.staff(.lock))])
        #expect(s.screen == .home)
        var t = try self.unlocked(StaffIdentity(staffID: "tek", name: "Pak Teknisi", role: .teknisi))
        #expect(t.handle(.staff(.open(.technician)), now: 3) == [.flow(.staff(.loadOverview))])
        #expect(t.handle(.staff(.rollback), now: 4) == [.flow(.staff(.rollback))])
    }

    @Test func restockTakesTheTypedSheetsAndRetryOnlyAHeldApplication() throws {
        var s = try self.unlocked()
        _ = s.handle(.staff(.open(.paper)), now: 3)
        #expect(s.handle(.staff(.restock), now: 3) == [])
        self.type("0500", into: &s, now: 4)
        #expect(s.handle(.staff(.restock), now: 4) == [.flow(.staff(.restock(sheets: 500)))])
        // Busy: a second tap does nothing until kioskd answers.
        #expect(s.handle(.staff(.testPrint), now: 4) == [])
        let after = s.handle(.staff(.done(.success(LocalizedText("ok", "ok")))), now: 5)
        #expect(after == [.flow(.staff(.loadOverview))])
        #expect(s.handle(.staff(.testPrint), now: 6) == [.flow(.staff(.testPrint))])

        _ = s.handle(.back, now: 7)
        _ = s.handle(.staff(.open(.queue)), now: 8)
        let held = StaffApplicationRow(id: UUID(), trackingCode: "7HJK-2MNP", service: "kk", state: .quarantined,
                                       nikMasked: "5371********0011", submittedAt: Date(), reason: "rusak")
        _ = s.handle(.staff(.queueLoaded(.success(StaffFlow.Queue(today: [], held: [held])))), now: 9)
        #expect(s.handle(.staff(.retry(UUID())), now: 10) == [])
        #expect(s.handle(.staff(.retry(held.id)), now: 10) == [.flow(.staff(.retry(held.id)))])
    }

    @Test func anAssistedApplicationCarriesTheStaffIDAndEndsStaffModeWhenDone() throws {
        var s = try self.unlocked()
        _ = s.handle(.staff(.assist), now: 3)
        #expect(s.assisting == self.sari)
        guard case .apply(let f) = s.screen else { Issue.record("not applying: \(s.screen)"); return }
        #expect(f.assistedBy == self.sari)
        // Leaving the application (Beranda) ends staff mode too.
        let effects = s.handle(.home, now: 4)
        #expect(effects.contains(.flow(.staff(.lock))))
        #expect(s.assisting == nil)
    }

    @Test func callStaffIsOfferedOnResidentScreensAndToldCalmly() throws {
        var s = try self.session()
        #expect(s.handle(.callStaff(screen: "home"), now: 1) == [.flow(.callStaff(screen: "home"))])
        _ = s.handle(.staffCalled(.success(StaffCallAnswer(recorded: true, bell: true))), now: 2)
        #expect(s.callNotice?.id.hasPrefix("Petugas sudah dipanggil") == true)
        _ = s.tick(now: 70, today: self.today)
        #expect(s.callNotice == nil)
        _ = s.handle(.openStaff, now: 71)
        #expect(s.handle(.callStaff(screen: "staff"), now: 72) == [])
    }

    @Test func whatNeedsActionComesMostUrgentFirst() {
        let now = Date(timeIntervalSince1970: 1_796_265_000)
        var o = StaffOverview(
            devices: [.init(kind: "printer", health: .fault, detail: LocalizedText("Kertas macet", "Paper jam")),
                      .init(kind: "card_reader", health: .absent, detail: LocalizedText("Tidak terpasang", "Not connected"))],
            paperSheets: 12, paperLow: true, toner: ["black": 5, "cyan": 60],
            link: .init(configured: true, lastContact: now.addingTimeInterval(-3 * 3600)),
            queue: ["quarantined": 2, "delivered": 9], oldestUndelivered: now.addingTimeInterval(-3 * 86_400),
            configVersion: 7, configProblem: nil, diskFreeBytes: 300 << 20, openCalls: 1)
        let lines = o.attention(now: now).map(\.id)
        #expect(lines == [
            "Printer: Kertas macet",
            "2 permohonan tertahan: lihat alasannya di Antrean permohonan.",
            "Tidak ada kontak dengan Dinas selama 3 jam.",
            "Ada permohonan yang belum terkirim sejak 3 hari.",
            "1 warga memanggil petugas.",
            "Kertas hampir habis (sisa sekitar 12 lembar).",
            "Tinta/toner black hampir habis (5%).",
            "Pembaca kartu: Tidak terpasang",
            "Ruang disk tinggal 300 MiB.",
        ])
        o = StaffOverview(devices: [.init(kind: "printer", health: .ok, detail: LocalizedText("Siap", "Ready"))],
                          paperSheets: 400, paperLow: false, toner: [:], link: .init(configured: true, lastContact: now),
                          queue: ["delivered": 3], oldestUndelivered: nil, configVersion: 7, configProblem: nil,
                          diskFreeBytes: 20 << 30, openCalls: 0)
        #expect(o.attention(now: now).isEmpty)
    }
}
