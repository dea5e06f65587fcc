import Foundation
import KioskCore
@testable import KioskStore
import Testing

/// Issue 17, the store half: migration 5, the kiosk-wide PIN lockout, "Panggil petugas" calls and the assisting
/// staff member of an application — on real SQLite files, reopened where persistence is the point.
@Suite struct StaffStoreTests {
    func open(_ dir: String, clock: TestClock) throws -> KioskStore {
        try KioskStore.open(directory: dir, configuration: StoreConfiguration(minFreeBytes: 0), now: clock.closure).0
    }

    @Test func theLockoutCountsLocksAndSurvivesAReopen() throws {
        let dir = try makeTempDir()
        let clock = TestClock()
        var store = try self.open(dir, clock: clock)
        for left in [4, 3, 2, 1] {
            #expect(try store.recordStaffAttempt(staffID: nil, actor: "resident:uid=1") == .wrong(attemptsLeft: left))
        }
        let until = clock.now.addingTimeInterval(Double(StaffEntry.lockoutSeconds))
        #expect(try store.recordStaffAttempt(staffID: nil, actor: "resident:uid=1") == .locked(until: until))
        // Reopened (kioskd restarted): still locked, and a right PIN counts nothing.
        store = try self.open(dir, clock: clock)
        #expect(try store.staffLockedUntil() == until)
        #expect(try store.recordStaffAttempt(staffID: "sari", actor: "resident:uid=1") == .locked(until: until))
        clock.advance(seconds: Double(StaffEntry.lockoutSeconds) + 1)
        #expect(try store.staffLockedUntil() == nil)
        #expect(try store.recordStaffAttempt(staffID: nil, actor: "resident:uid=1") == .wrong(attemptsLeft: 4))
        #expect(try store.recordStaffAttempt(staffID: "sari", actor: "resident:uid=1") == .accepted)
        #expect(try store.staffEntryState() == StaffEntryState(failures: 0, lockedUntil: nil), "a success resets the count")
        let events = try store.kioskAudit(limit: 50).map(\.event)
        #expect(events.filter { $0 == "staff_unlock_failed" }.count == 6)
        #expect(events.contains("staff_unlock_refused") && events.contains("staff_unlock"))
    }

    @Test func callsAreRecordedOnceAndListingMarksThemSeen() throws {
        let dir = try makeTempDir()
        let clock = TestClock()
        let store = try self.open(dir, clock: clock)
        let morning = clock.now.addingTimeInterval(-3600)
        #expect(try store.recordStaffCall(screen: "home", actor: "resident"))
        clock.advance(seconds: 30)
        #expect(try store.recordStaffCall(screen: "apply", actor: "resident") == false, "the same call")
        #expect(try store.openStaffCalls(since: morning) == 1)
        #expect(try self.open(dir, clock: clock).openStaffCalls(since: morning) == 1, "kept across a reopen")
        #expect(try store.staffCalls(since: morning, markSeen: true).map(\.screen) == ["home"])
        #expect(try store.openStaffCalls(since: morning) == 0)
        clock.advance(seconds: 10)
        #expect(try store.recordStaffCall(screen: "apply", actor: "resident"), "a new call once the last was seen")
        clock.advance(seconds: StaffEntry.callRepeatSeconds + 1)
        #expect(try store.recordStaffCall(screen: "status", actor: "resident"), "and after two minutes")
        #expect(try store.staffCalls(since: morning, markSeen: false).map(\.screen) == ["home", "apply", "status"])
        #expect(throws: StoreError.self) { try store.recordStaffCall(screen: "a\u{1B}[2J", actor: "resident") }
    }

    @Test func theAssistingStaffMemberIsStoredListedAndInTheHistory() throws {
        let dir = try makeTempDir()
        let clock = TestClock()
        let store = try self.open(dir, clock: clock)
        var app = newApplication([NewAttachment(requirement: "surat-kelahiran", data: bytes(500), fileExtension: "jpg")])
        app.assistedBy = "sari"
        let receipt = try store.submit(app, actor: "petugas:sari:uid=1000")
        #expect(try store.application(receipt.id.uuidString).assistedBy == "sari")
        let history = try store.history(receipt.id)
        #expect(history.contains { $0.event == "assisted" && $0.actor == "petugas:sari:uid=1000" && $0.detail == "assisted by sari" })
        let today = try store.staffApplications(submittedSince: clock.now.addingTimeInterval(-60))
        #expect(today.map(\.assistedBy) == ["sari"])
        #expect(today.first?.nikMasked == testNIK.masked && today.first?.trackingCode == receipt.trackingCode.formatted)
        #expect(try store.staffApplications(submittedSince: clock.now.addingTimeInterval(60)).isEmpty)
        try store.quarantine(receipt.id, reason: "berkas rusak", actor: "staff")
        #expect(try store.staffQuarantined().map(\.reason) == ["berkas rusak"])
    }

    @Test func migrationFiveKeepsAVersionFourDatabase() throws {
        let dir = try makeTempDir()
        let db = "\(dir)/kiosk.sqlite3"
        for m in Migrations.all where m.version <= 4 {
            let r = try sqlite3(db, "BEGIN; \(m.sql) PRAGMA user_version = \(m.version); COMMIT;")
            #expect(r.status == 0, "\(r.err)")
        }
        let (store, report) = try KioskStore.open(directory: dir, configuration: StoreConfiguration(minFreeBytes: 0))
        #expect(report.migrated == [5])
        #expect(store.schemaVersion == 5)
        #expect(try store.staffEntryState() == StaffEntryState(failures: 0, lockedUntil: nil))
        #expect(try sqlite3(db, "SELECT count(*) FROM pragma_table_info('applications') WHERE name = 'assisted_by'").out == "1")
    }
}
