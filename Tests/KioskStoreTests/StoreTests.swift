import Foundation
import KioskCore
import KioskSecurity
import KioskStore
import Testing

@Suite struct StoreSubmitTests {
    @Test func submitSpoolsFilesDurablyWithHashesAndPrivateModes() throws {
        let dir = try makeTempDir()
        let (store, report) = try KioskStore.open(directory: dir)
        #expect(report.migrated == Array(1...KioskStore.latestSchemaVersion))
        #expect(try KioskStore.open(directory: dir).1.migrated.isEmpty, "migrations run once")
        let a = bytes(300_000), b = bytes(1_234, seed: 9)
        let receipt = try store.submit(newApplication([
            NewAttachment(requirement: "surat-kelahiran", data: a, fileExtension: "jpg"),
            NewAttachment(requirement: "kk-orang-tua", data: b, fileExtension: "pdf"),
        ]))
        let app = try store.application(receipt.id.uuidString)
        #expect(app.state == .submitted)
        #expect(app.trackingCode == receipt.trackingCode)
        #expect(app.applicantNIKMasked == "************0003")
        #expect(app.attachments.map(\.sha256) == [SHA256.hex(a), SHA256.hex(b)])
        #expect(app.attachments.map(\.size) == [300_000, 1_234])
        #expect(app.totalBytes == 301_234)
        for attachment in app.attachments {
            #expect(try Data(contentsOf: URL(fileURLWithPath: store.path(of: attachment))) == (attachment.seq == 1 ? a : b))
            #expect(mode(store.path(of: attachment)) == 0o600)
        }
        #expect(mode(dir) == 0o700)
        #expect(mode("\(dir)/attachments") == 0o700)
        #expect(mode("\(dir)/attachments/\(receipt.id.uuidString.lowercased())") == 0o700)
        #expect(mode("\(dir)/kiosk.sqlite3") == 0o600)
        #expect(try sqlite3("\(dir)/kiosk.sqlite3", "PRAGMA journal_mode").out == "wal")
        #expect(try store.applicantNIK(of: receipt.id) == testNIK.digits)
        let history = try store.history(receipt.id)
        #expect(history.map(\.to) == [.submitted])
        #expect(history.first?.from == .draft)
    }

    @Test func submitFromFilesCopiesThem() throws {
        let dir = try makeTempDir()
        let src = try makeTempDir()
        try bytes(5_000).write(to: URL(fileURLWithPath: "\(src)/scan.JPG"))
        let (store, _) = try KioskStore.open(directory: dir)
        let r = try store.submit(newApplication([NewAttachment(requirement: "surat-kelahiran", path: "\(src)/scan.JPG")]))
        let app = try store.application(r.trackingCode.formatted.lowercased())
        #expect(app.attachments.first?.mediaType == "image/jpeg")
        #expect(app.attachments.first?.file.hasSuffix("/1.jpg") == true)
        #expect(FileManager.default.fileExists(atPath: "\(src)/scan.JPG"))
    }

    /// Every refusal leaves nothing behind: no rows, no files, no temp files.
    @Test func refusedSubmissionsStoreNothing() throws {
        let dir = try makeTempDir()
        let src = try makeTempDir()
        try bytes(2_000).write(to: URL(fileURLWithPath: "\(src)/big.jpg"))
        let small = StoreConfiguration(maxAttachmentBytes: 1_000, maxApplicationBytes: 1_500, minFreeBytes: 0, retentionDays: 1)
        let (store, _) = try KioskStore.open(directory: dir, configuration: small)
        #expect(throws: StoreError.self) { try store.submit(newApplication([NewAttachment(requirement: "a", path: "\(src)/none.jpg")])) }
        #expect { try store.submit(newApplication([NewAttachment(requirement: "a", path: "\(src)/big.jpg")])) } throws: {
            ($0 as? StoreError)?.code == "attachment_too_large"
        }
        #expect { try store.submit(newApplication([NewAttachment(requirement: "a", path: src)])) } throws: {
            ($0 as? StoreError)?.code == "attachment_not_regular"
        }
        #expect {
            try store.submit(newApplication([NewAttachment(requirement: "a", data: bytes(900), fileExtension: "jpg"),
                                             NewAttachment(requirement: "b", data: bytes(900), fileExtension: "jpg")]))
        } throws: { ($0 as? StoreError)?.code == "application_too_large" }
        // A missing second file after a good first one: the first must not survive either.
        #expect(throws: StoreError.self) {
            try store.submit(newApplication([NewAttachment(requirement: "a", data: bytes(10), fileExtension: "jpg"),
                                             NewAttachment(requirement: "b", path: "\(src)/gone.jpg")]))
        }
        #expect(throws: StoreError.self) { try store.submit(newApplication([])) }
        #expect(try store.queueStats().counts.values.reduce(0, +) == 0)
        #expect(files(in: "\(dir)/attachments") == [])
    }

    @Test func diskGuardRefusesBeforeTheDiskFills() throws {
        let dir = try makeTempDir()
        let (store, _) = try KioskStore.open(
            directory: dir, configuration: StoreConfiguration(minFreeBytes: Int.max / 2))
        #expect { try store.submit(newApplication([NewAttachment(requirement: "a", data: bytes(10), fileExtension: "jpg")])) } throws: {
            guard let e = $0 as? StoreError, case .diskLow = e else { return false }
            return e.message.id.contains("hampir penuh") && e.message.en?.contains("nearly full") == true
        }
        #expect(files(in: "\(dir)/attachments") == [])
    }
}

@Suite struct StoreLifecycleAndQueueTests {
    func submitted(_ store: KioskStore, _ n: Int) throws -> [UUID] {
        try (0..<n).map { i in
            try store.submit(newApplication([NewAttachment(requirement: "r", data: bytes(100 + i), fileExtension: "jpg")])).id
        }
    }

    @Test func illegalTransitionsAreRejectedAndLegalOnesAudited() throws {
        let clock = TestClock()
        let (store, _) = try KioskStore.open(directory: try makeTempDir(), now: clock.closure)
        let id = try submitted(store, 1)[0]
        #expect(throws: StoreError.self) { try store.transition(id, to: .printed, actor: "test") }
        #expect(throws: StoreError.self) { try store.transition(id, to: .ready, actor: "dinas") }
        try store.markUploading(id)
        clock.advance(seconds: 5)
        try store.markDelivered(id)
        try store.transition(id, to: .returnedForCorrection, actor: "dinas", reason: "foto KK buram")
        let app = try store.application(id.uuidString)
        #expect(app.state == .returnedForCorrection)
        #expect(app.stateReason == "foto KK buram")
        let trail = try store.history(id).filter { $0.event == "transition" }.map { "\($0.from!.rawValue)>\($0.to!.rawValue)" }
        #expect(trail == ["draft>submitted", "submitted>uploading", "uploading>delivered", "delivered>returned_for_correction"])
        #expect(throws: StoreError.self) { try store.transition(UUID(), to: .ready, actor: "x") }
    }

    @Test func auditLogIsAppendOnly() throws {
        let dir = try makeTempDir()
        let (store, _) = try KioskStore.open(directory: dir)
        _ = try submitted(store, 1)
        let update = try sqlite3("\(dir)/kiosk.sqlite3", "UPDATE audit_log SET actor = 'mallory'")
        #expect(update.status != 0)
        #expect(update.err.contains("append-only"))
        #expect(try sqlite3("\(dir)/kiosk.sqlite3", "DELETE FROM audit_log").err.contains("append-only"))
        #expect(try sqlite3("\(dir)/kiosk.sqlite3", "SELECT count(*) FROM audit_log").out == "1")
    }

    @Test func queueIsOldestFirstSkippingQuarantinedAndBackingOff() throws {
        let clock = TestClock()
        let dir = try makeTempDir()
        var (store, _) = try KioskStore.open(directory: dir, now: clock.closure)
        var ids: [UUID] = []
        for _ in 0..<4 {
            ids += try submitted(store, 1)
            clock.advance(seconds: 1)
        }
        #expect(try store.nextUploads().map(\.applicationID) == ids)
        try store.quarantine(ids[0], reason: "HTTP 422 data ditolak", actor: "kiosk")
        try store.markUploading(ids[1])
        try store.recordAttempt(ids[1], error: "connection reset", retryAt: clock.now.addingTimeInterval(60))
        #expect(try store.nextUploads().map(\.applicationID) == [ids[2], ids[3]])
        #expect(try store.application(ids[1].uuidString).state == .submitted)

        // The backoff is persisted: a reopened store still waits, then offers it again once due.
        store = try KioskStore.open(directory: dir, now: clock.closure).0
        #expect(try store.nextUploads().map(\.applicationID) == [ids[2], ids[3]])
        let stats = try store.queueStats()
        #expect(stats.counts["quarantined"] == 1)
        #expect(stats.counts["submitted"] == 3)
        #expect(stats.queueCounts["backing_off"] == 1)
        #expect(stats.oldestUndeliveredSeconds == 4)
        #expect(stats.bytesPending == 100 * 4)
        clock.advance(seconds: 61)
        #expect(try store.nextUploads().map(\.applicationID) == [ids[1], ids[2], ids[3]])
        #expect(try store.queueList(state: .submitted).first { $0.applicationID == ids[1] }?.attempts == 1)

        try store.requeue(ids[0], actor: "staff:ani")
        #expect(try store.nextUploads().map(\.applicationID) == ids)
        #expect(try store.history(ids[0]).last?.actor == "staff:ani")
        try store.markDelivered(ids[0])
        #expect(try store.nextUploads().map(\.applicationID) == Array(ids.dropFirst()))
        #expect(try store.queueStats().counts["delivered"] == 1)
        #expect(throws: StoreError.self) { try store.requeue(ids[0], actor: "staff") }
    }
}

@Suite struct StoreRetentionAndRecoveryTests {
    @Test func purgeAfterRetentionKeepsHashesAndAudit() throws {
        let clock = TestClock()
        let dir = try makeTempDir()
        let (store, _) = try KioskStore.open(directory: dir, configuration: StoreConfiguration(minFreeBytes: 0, retentionDays: 7),
                                             now: clock.closure)
        let keep = try store.submit(newApplication([NewAttachment(requirement: "r", data: bytes(50), fileExtension: "jpg")])).id
        let gone = try store.submit(newApplication([NewAttachment(requirement: "r", data: bytes(60), fileExtension: "jpg")])).id
        try store.markDelivered(gone)
        clock.advance(seconds: 6 * 86_400)
        #expect(try store.purgeExpired() == [])
        clock.advance(seconds: 86_400)
        #expect(try store.purgeExpired() == [gone])
        let purged = try store.application(gone.uuidString)
        #expect(purged.purgedAt != nil)
        #expect(purged.attachments.allSatisfy { $0.purged && $0.sha256.count == 64 })
        #expect(!FileManager.default.fileExists(atPath: "\(dir)/attachments/\(gone.uuidString.lowercased())"))
        #expect(try store.applicantNIK(of: gone) == nil)
        #expect(try store.history(gone).last?.event == "purge")
        #expect(try store.application(keep.uuidString).attachments.allSatisfy { !$0.purged })
        #expect(try store.check().ok)
        #expect(try store.purgeExpired() == [])
    }

    /// The sweep removes only what is provably the store's own (a partial temp file); a file no row references
    /// is moved to DATA/quarantine/<time>/…, never unlinked.
    @Test func sweepRemovesTempFilesQuarantinesOrphansAndReportsMissingFiles() throws {
        let dir = try makeTempDir()
        var (store, _) = try KioskStore.open(directory: dir)
        let id = try store.submit(newApplication([NewAttachment(requirement: "r", data: bytes(50), fileExtension: "jpg"),
                                                  NewAttachment(requirement: "s", data: bytes(70), fileExtension: "jpg")])).id
        let key = id.uuidString.lowercased()
        let folder = "\(dir)/attachments/\(key)"
        // Leftovers: a half-written temp file, a file with no row, a folder with no application.
        try bytes(10).write(to: URL(fileURLWithPath: "\(dir)/attachments/.tmp/x.part"))
        try bytes(11, seed: 9).write(to: URL(fileURLWithPath: "\(folder)/9.jpg"))
        try FileManager.default.createDirectory(atPath: "\(dir)/attachments/stray", withIntermediateDirectories: true)
        try bytes(12, seed: 3).write(to: URL(fileURLWithPath: "\(dir)/attachments/stray/1.jpg"))
        try FileManager.default.removeItem(atPath: "\(folder)/2.jpg")
        let report: OpenReport
        (store, report) = try KioskStore.open(directory: dir)
        #expect(report.orphansRemoved == [".tmp/x.part"])
        #expect(report.quarantined == ["\(key)/9.jpg", "stray/1.jpg"])
        #expect(report.missingFiles == ["\(key)/2.jpg"])
        #expect(files(in: "\(dir)/attachments") == ["\(key)/1.jpg"])
        // The quarantined files are intact, byte for byte, in a private folder.
        let quarantine = try #require(report.quarantineDirectory)
        #expect(quarantine.hasPrefix("\(dir)/quarantine/"))
        #expect(files(in: quarantine) == ["attachments/\(key)/9.jpg", "attachments/stray/1.jpg"])
        #expect(try Data(contentsOf: URL(fileURLWithPath: "\(quarantine)/attachments/\(key)/9.jpg")) == bytes(11, seed: 9))
        #expect(try Data(contentsOf: URL(fileURLWithPath: "\(quarantine)/attachments/stray/1.jpg")) == bytes(12, seed: 3))
        #expect(mode("\(dir)/quarantine") == 0o700 && mode(quarantine) == 0o700 && mode("\(quarantine)/attachments/stray") == 0o700)
        let check = try store.check()
        #expect(!check.ok)
        #expect(check.problems.map(\.issue) == ["missing file"])
    }

    @Test func checkDetectsCorruptedAttachment() throws {
        let dir = try makeTempDir()
        let (store, _) = try KioskStore.open(directory: dir)
        let id = try store.submit(newApplication([NewAttachment(requirement: "r", data: bytes(500), fileExtension: "jpg")])).id
        #expect(try store.check().ok)
        let path = "\(dir)/attachments/\(id.uuidString.lowercased())/1.jpg"
        var data = try Data(contentsOf: URL(fileURLWithPath: path))
        data[10] ^= 0xff
        try data.write(to: URL(fileURLWithPath: path))
        #expect(try store.check().problems.map(\.issue) == ["sha256 mismatch"])
    }

    @Test func newerSchemaIsRefusedAndStoredDataUntouched() throws {
        let dir = try makeTempDir()
        do {
            let (store, _) = try KioskStore.open(directory: dir)
            _ = try store.submit(newApplication([NewAttachment(requirement: "r", data: bytes(5), fileExtension: "jpg")]))
            #expect(store.schemaVersion == KioskStore.latestSchemaVersion)
        }
        #expect(try sqlite3("\(dir)/kiosk.sqlite3", "PRAGMA user_version = 99").status == 0)
        #expect { try KioskStore.open(directory: dir) } throws: {
            guard case StoreError.schemaTooNew(99, let supported) = $0 else { return false }
            return supported == KioskStore.latestSchemaVersion
        }
        #expect(try sqlite3("\(dir)/kiosk.sqlite3", "SELECT count(*) FROM applications").out == "1")
        #expect(files(in: "\(dir)/attachments").count == 1)
    }
}

@Suite struct TrackingCodeTests {
    @Test func generatedCodesParseAndAvoidLookAlikes() throws {
        var g = SystemRandomNumberGenerator()
        for _ in 0..<2_000 {
            let code = TrackingCode(using: &g)
            #expect(code.raw.count == 8)
            #expect(!code.raw.contains { "0O1IL".contains($0) })
            #expect(try TrackingCode(code.formatted.lowercased()) == code)
            #expect(try TrackingCode(code.raw) == code)
        }
    }

    @Test func everySingleMistypedCharacterIsCaught() throws {
        var g = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let code = TrackingCode(using: &g)
            for i in 0..<8 {
                for c in TrackingCode.alphabet where c != Array(code.raw)[i] {
                    var chars = Array(code.raw)
                    chars[i] = c
                    #expect(throws: TrackingCodeError.checkFailed) { try TrackingCode(String(chars)) }
                }
            }
        }
    }

    @Test func rejectsLookAlikesAndWrongLengthWithReasons() {
        #expect(throws: TrackingCodeError.invalidCharacter("O")) { try TrackingCode("ABCD-EFGO") }
        #expect(throws: TrackingCodeError.invalidCharacter("1")) { try TrackingCode("1BCD-EFGH") }
        #expect(throws: TrackingCodeError.wrongLength(5)) { try TrackingCode("ABC-DE") }
    }
}

@Suite struct LifecycleTests {
    @Test func onlyTheDocumentedTransitionsAreAllowed() {
        #expect(ApplicationLifecycle.canTransition(from: .submitted, to: .uploading))
        #expect(ApplicationLifecycle.canTransition(from: .quarantined, to: .submitted))
        #expect(ApplicationLifecycle.canTransition(from: .ready, to: .printed))
        #expect(!ApplicationLifecycle.canTransition(from: .submitted, to: .delivered))
        #expect(!ApplicationLifecycle.canTransition(from: .collected, to: .ready))
        #expect(!ApplicationLifecycle.canTransition(from: .rejected, to: .submitted))
        #expect(throws: LifecycleError(from: .draft, to: .printed)) { try ApplicationLifecycle.check(from: .draft, to: .printed) }
        for state in ApplicationState.allCases { #expect(ApplicationLifecycle.transitions[state] != nil, "\(state)") }
    }
}
