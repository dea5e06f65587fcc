import Foundation
import KioskCore
import KioskStore
import Testing

/// What the store refuses to open, and which attachments it refuses to take.
@Suite struct SpoolSafetyTests {
    /// A store with two submitted applications; returns its directory and the spool's files.
    func populated() throws -> (dir: String, files: [String: Data]) {
        let dir = try makeTempDir()
        let (store, _) = try KioskStore.open(directory: dir)
        for seed in [UInt8(1), 2] {
            _ = try store.submit(newApplication([NewAttachment(requirement: "r", data: bytes(300, seed: seed), fileExtension: "jpg")]))
        }
        var contents: [String: Data] = [:]
        for f in files(in: "\(dir)/attachments") {
            contents[f] = try Data(contentsOf: URL(fileURLWithPath: "\(dir)/attachments/\(f)"))
        }
        return (dir, contents)
    }

    @Test(arguments: ["deleted", "truncated"]) func aNewDatabaseNextToAFullSpoolIsRefusedAndNothingIsDeleted(_ how: String) throws {
        let (dir, before) = try self.populated()
        #expect(before.count == 2)
        let db = "\(dir)/kiosk.sqlite3"
        if how == "deleted" {
            for suffix in ["", "-wal", "-shm"] { unlink(db + suffix) }
        } else {
            #expect(truncate(db, 0) == 0)
        }
        for _ in 0..<2 {  // refused every time, not only the first
            #expect { _ = try KioskStore.open(directory: dir) } throws: { error in
                guard let e = error as? StoreError, e.code == "database_missing" else { return false }
                let text = e.message.bilingual
                return text.contains("backup") && text.contains("cadangan") && text.contains("store check")
            }
        }
        var after: [String: Data] = [:]
        for f in files(in: "\(dir)/attachments") {
            after[f] = try Data(contentsOf: URL(fileURLWithPath: "\(dir)/attachments/\(f)"))
        }
        #expect(after == before)
        #expect(!FileManager.default.fileExists(atPath: "\(dir)/quarantine"))
    }

    @Test func aNewDatabaseWithAnEmptySpoolOpens() throws {
        let dir = try makeTempDir()
        _ = try KioskStore.open(directory: dir)
        for suffix in ["", "-wal", "-shm"] { unlink("\(dir)/kiosk.sqlite3" + suffix) }
        let (store, report) = try KioskStore.open(directory: dir)
        #expect(report.migrated == Array(1...KioskStore.latestSchemaVersion))
        #expect(try store.check().ok)
    }

    /// A submission that crashed after spooling but before its commit leaves its marker: those files are provably
    /// the store's own and are removed, not quarantined.
    @Test func filesOfASubmissionThatCrashedBeforeItsCommitAreRemoved() throws {
        let dir = try makeTempDir()
        var (store, _) = try KioskStore.open(directory: dir)
        let crashed = UUID().uuidString.lowercased()
        try FileManager.default.createDirectory(atPath: "\(dir)/attachments/\(crashed)", withIntermediateDirectories: false)
        try bytes(40).write(to: URL(fileURLWithPath: "\(dir)/attachments/\(crashed)/1.jpg"))
        FileManager.default.createFile(atPath: "\(dir)/attachments/.tmp/\(crashed).intent", contents: nil)
        let report: OpenReport
        (store, report) = try KioskStore.open(directory: dir)
        #expect(report.orphansRemoved == ["\(crashed)/1.jpg"])
        #expect(report.quarantined.isEmpty)
        #expect(files(in: "\(dir)/attachments").isEmpty)
        #expect(try store.check().ok)
    }

    /// A retry of the same application id after its writer crashed before the commit (marker of a dead pid, no row)
    /// succeeds without waiting for a sweep; a live writer's marker, or a committed row, keeps the refusal and the
    /// committed files.
    @Test func aCrashedWritersMarkerDoesNotBlockTheRetryButACommittedRowDoes() throws {
        let dir = try makeTempDir()
        let (store, _) = try KioskStore.open(directory: dir)
        let dead = Process()
        dead.executableURL = URL(fileURLWithPath: "/bin/true")
        try dead.run()
        dead.waitUntilExit()
        func leaveMarker(_ id: UUID, pid: Int32, leftover: Bool) throws {
            let folder = id.uuidString.lowercased()
            if leftover {
                try FileManager.default.createDirectory(atPath: "\(dir)/attachments/\(folder)", withIntermediateDirectories: false)
                try bytes(40, seed: 9).write(to: URL(fileURLWithPath: "\(dir)/attachments/\(folder)/1.jpg"))
            }
            FileManager.default.createFile(atPath: "\(dir)/attachments/.tmp/\(folder).intent", contents: Data("\(pid)\n".utf8))
        }
        let retried = UUID()
        try leaveMarker(retried, pid: dead.processIdentifier, leftover: true)
        let receipt = try store.submit(newApplication([NewAttachment(requirement: "r", data: bytes(300, seed: 3), fileExtension: "jpg")], id: retried))
        let app = try store.application(retried.uuidString)
        #expect(app.trackingCode == receipt.trackingCode)
        #expect(try Data(contentsOf: URL(fileURLWithPath: store.path(of: app.attachments[0]))) == bytes(300, seed: 3))

        let live = UUID()
        try leaveMarker(live, pid: getpid(), leftover: false)
        #expect { _ = try store.submit(newApplication([NewAttachment(requirement: "r", data: bytes(30), fileExtension: "jpg")], id: live)) }
            throws: { ($0 as? StoreError)?.code == "already_submitted" }

        try leaveMarker(retried, pid: dead.processIdentifier, leftover: false)
        #expect { _ = try store.submit(newApplication([NewAttachment(requirement: "r", data: bytes(30), fileExtension: "jpg")], id: retried)) }
            throws: { ($0 as? StoreError)?.code == "already_submitted" }
        #expect(try Data(contentsOf: URL(fileURLWithPath: store.path(of: app.attachments[0]))) == bytes(300, seed: 3))
    }

    /// Two sweeps in the same second by the same process never share a quarantine folder (a rename there would
    /// replace the first orphan with the second).
    @Test func quarantinesOfTheSamePathNeverReplaceEachOther() throws {
        let dir = try makeTempDir()
        _ = try KioskStore.open(directory: dir)
        var folders: [String] = []
        for seed in [UInt8(1), 2] {
            try bytes(50, seed: seed).write(to: URL(fileURLWithPath: "\(dir)/attachments/stray.bin"))
            let (_, report) = try KioskStore.open(directory: dir)
            #expect(report.quarantined == ["stray.bin"])
            folders.append(try #require(report.quarantineDirectory))
        }
        #expect(folders[0] != folders[1])
        #expect(try Data(contentsOf: URL(fileURLWithPath: "\(folders[0])/attachments/stray.bin")) == bytes(50, seed: 1))
        #expect(try Data(contentsOf: URL(fileURLWithPath: "\(folders[1])/attachments/stray.bin")) == bytes(50, seed: 2))
    }

    func refusal(_ path: String, _ store: KioskStore) -> StoreError? {
        do {
            _ = try store.submit(newApplication([NewAttachment(requirement: "r", path: path)]))
            return nil
        } catch {
            return error
        }
    }

    @Test func onlyRegularNonEmptyFilesAreAccepted() throws {
        let dir = try makeTempDir()
        let src = try makeTempDir()
        let (store, _) = try KioskStore.open(directory: dir, configuration: StoreConfiguration(minFreeBytes: 0))
        let secret = "\(src)/secret.txt"
        try Data("not for the Dinas".utf8).write(to: URL(fileURLWithPath: secret))
        try FileManager.default.createSymbolicLink(atPath: "\(src)/link.jpg", withDestinationPath: secret)
        try FileManager.default.createSymbolicLink(atPath: "\(src)/shadow.jpg", withDestinationPath: "/etc/shadow")
        #expect(mkfifo("\(src)/pipe.jpg", 0o600) == 0)
        FileManager.default.createFile(atPath: "\(src)/empty.jpg", contents: Data())
        let cases: [(String, String, String)] = [
            ("\(src)/link.jpg", "attachment_not_regular", "symbolic link"),
            ("\(src)/shadow.jpg", "attachment_not_regular", "symbolic link"),
            ("/proc/self/status", "attachment_not_regular", "pseudo-file"),
            (src, "attachment_not_regular", "folder"),
            ("\(src)/pipe.jpg", "attachment_not_regular", "pipe (FIFO)"),
            ("/dev/null", "attachment_not_regular", "device"),
            ("\(src)/empty.jpg", "attachment_empty", "empty"),
            ("\(src)/none.jpg", "attachment_missing", "does not exist"),
        ]
        var messages = Set<String>()
        for (path, code, words) in cases {
            let error = self.refusal(path, store)
            #expect(error?.code == code, "\(path): \(String(describing: error))")
            #expect(error?.message.en?.contains(words) == true, "\(path): \(String(describing: error))")
            #expect(error?.isBadInput == true)
            if let error { messages.insert(error.message.en ?? "") }
        }
        // Each kind says what it is: no two refusals share a message (the old code said "Is a directory" for all).
        #expect(messages.count == cases.count)
        #expect { try store.submit(newApplication([NewAttachment(requirement: "r", data: Data(), fileExtension: "jpg")])) } throws: {
            ($0 as? StoreError)?.code == "attachment_empty"
        }
        #expect(files(in: "\(dir)/attachments").isEmpty)
        #expect(try store.queueStats().counts.values.reduce(0, +) == 0)
        // A regular file next to them is fine.
        #expect(self.refusal(secret, store) == nil)
    }

    @Test func theAttachmentCountIsCapped() throws {
        let dir = try makeTempDir()
        let (store, _) = try KioskStore.open(directory: dir, configuration: StoreConfiguration(minFreeBytes: 0, maxAttachments: 3))
        let four = (0..<4).map { NewAttachment(requirement: "r", data: bytes(10, seed: UInt8($0)), fileExtension: "jpg") }
        #expect { try store.submit(newApplication(four)) } throws: {
            guard let e = $0 as? StoreError, e.code == "too_many_attachments" else { return false }
            return e.message.en?.contains("at most 3") == true
        }
        #expect(files(in: "\(dir)/attachments").isEmpty)
        _ = try store.submit(newApplication(Array(four.prefix(3))))
        // The limit comes from the local config's "store" section.
        let decoded = try KioskJSON.decoder().decode(StoreConfiguration.self, from: Data(#"{"max_attachments": 5}"#.utf8))
        #expect(decoded.maxAttachments == 5)
        #expect(StoreConfiguration().maxAttachments == 32)
    }

    @Test func checkReportsWrongModes() throws {
        let dir = try makeTempDir()
        let (store, _) = try KioskStore.open(directory: dir)
        let id = try store.submit(newApplication([NewAttachment(requirement: "r", data: bytes(30), fileExtension: "jpg")])).id
        #expect(try store.check().ok)
        let key = id.uuidString.lowercased()
        #expect(chmod("\(dir)/attachments/\(key)/1.jpg", 0o644) == 0)
        #expect(chmod("\(dir)/attachments/\(key)", 0o755) == 0)
        let check = try store.check()
        #expect(!check.ok)
        #expect(check.problems.contains { $0.file == "attachments/\(key)/1.jpg" && $0.issue == "mode 644 != 600" })
        #expect(check.problems.contains { $0.file == "attachments/\(key)" && $0.issue == "mode 755 != 700" })
    }

    @Test func residentTextWithControlsIsRefusedByTheStore() throws {
        let dir = try makeTempDir()
        let (store, _) = try KioskStore.open(directory: dir)
        let attachment = [NewAttachment(requirement: "r", data: bytes(30), fileExtension: "jpg")]
        var withEscape = newApplication(attachment)
        withEscape.contact = "0812\u{1B}[2J"
        var withBidi = newApplication(attachment)
        withBidi.facts = ["citizenship": .string("w\u{202E}ni")]
        var withZeroWidth = newApplication(attachment)
        withZeroWidth.facts = ["citi\u{200B}zenship": .string("wni")]
        for (app, field) in [(withEscape, "contact"), (withBidi, "facts.citizenship"), (withZeroWidth, "facts")] {
            #expect { try store.submit(app) } throws: {
                guard case .unsafeText(let f) = $0 as? StoreError else { return false }
                return f == field
            }
        }
        #expect(files(in: "\(dir)/attachments").isEmpty)
    }

    @Test func theSameApplicationIdCannotOverwriteAnAcknowledgedOne() throws {
        let dir = try makeTempDir()
        let (store, _) = try KioskStore.open(directory: dir)
        let id = UUID()
        _ = try store.submit(newApplication([NewAttachment(requirement: "r", data: bytes(30, seed: 1), fileExtension: "jpg")], id: id))
        #expect {
            try store.submit(newApplication([NewAttachment(requirement: "r", data: bytes(30, seed: 2), fileExtension: "jpg")], id: id))
        } throws: { ($0 as? StoreError)?.code == "already_submitted" }
        let app = try store.application(id.uuidString)
        #expect(try Data(contentsOf: URL(fileURLWithPath: store.path(of: app.attachments[0]))) == bytes(30, seed: 1))
        #expect(try store.check().ok)
    }

    @Test func complaintTextWithControlsIsRefused() throws {
        let (store, _) = try KioskStore.open(directory: try makeTempDir())
        #expect { try store.fileComplaint(category: "kios", body: "macet\u{1B}[2J", contact: nil, language: "id") } throws: {
            guard case .unsafeText("body") = $0 as? StoreError else { return false }
            return true
        }
        #expect { try store.fileComplaint(category: "kios", body: "macet", contact: "08\u{202E}12", language: "id") } throws: {
            guard case .unsafeText("contact") = $0 as? StoreError else { return false }
            return true
        }
        // Line breaks are fine in a complaint's body.
        _ = try store.fileComplaint(category: "kios", body: "Printer macet.\nSejak pagi.", contact: nil, language: "id")
        #expect(try store.unsentComplaints().count == 1)
    }
}
