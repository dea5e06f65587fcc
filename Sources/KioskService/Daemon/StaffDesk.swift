#if canImport(Glibc)
import Glibc
#endif
import Foundation
import KioskCore
import KioskDevices
import KioskSecurity
import KioskStore

/// Staff mode's use cases (issue 17), once: the touchscreen (after a PIN unlock on its connection) and kioskctl
/// (`kioskctl staff …`, a `kiosk-staff` member) reach them through the same `staff.*` methods. Every failure is a
/// `ControlError` in both languages; `actor` is who the audit names (`petugas:sari:uid=1000`,
/// `staff:user=budi:uid=1001`).
struct StaffDesk: Sendable {
    let kiosk: Kioskd

    private var store: KioskStore { self.kiosk.store }
    private var offset: UTCOffset { self.kiosk.config.live.current.profile.conventions.utcOffset }

    /// Local midnight of today in the profile's UTC offset.
    var startOfToday: Date { self.offset.instant(self.offset.civilDate(of: Date())) }

    private static func stored<T: Sendable>(_ body: @escaping @Sendable () throws(StoreError) -> T) async throws(ControlError) -> T {
        do throws(StoreError) {
            return try await StoreWork.run(body)
        } catch {
            throw ControlError(store: error)
        }
    }

    // MARK: Entry

    /// Checks a PIN against every staff PIN of the bundle in force (PBKDF2, off the cooperative pool), counting
    /// wrong ones towards the kiosk-wide lockout, which refuses attempts unchecked while it lasts.
    func unlock(pin: String, actor: String) async throws(ControlError) -> StaffUnlock {
        guard StaffEntry.pinLength.contains(pin.utf8.count), pin.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else {
            throw .badParams("pin must be \(StaffEntry.pinLength.lowerBound)…\(StaffEntry.pinLength.upperBound) digits", field: "pin")
        }
        let pins = self.kiosk.config.live.current.kiosk?.staffPins ?? []
        guard !pins.isEmpty else {
            throw ControlError("no_staff", id: "Belum ada PIN petugas di konfigurasi kios ini.",
                               en: "This kiosk's configuration has no staff PINs yet.")
        }
        let store = self.store
        let locked = try await Self.stored { () throws(StoreError) in try store.staffLockedUntil() }
        var match: KioskSettings.StaffPIN?
        if locked == nil {
            match = await StoreWork.run { () -> KioskSettings.StaffPIN? in
                pins.first { PBKDF2.verifyPIN(pin, against: $0.pinHash) }
            }
        }
        let staffID = match?.staffID
        let result = try await Self.stored { () throws(StoreError) in try store.recordStaffAttempt(staffID: staffID, actor: actor) }
        switch result {
        case .accepted:
            guard let match else { return .wrongPIN(attemptsLeft: StaffEntry.maxAttempts) }
            let timeout = self.kiosk.config.live.current.kiosk?.staffTimeout ?? StaffEntry.defaultTimeoutSeconds
            return .unlocked(StaffIdentity(staffID: match.staffID, name: match.name, role: match.role), timeoutSeconds: timeout)
        case .wrong(let left): return .wrongPIN(attemptsLeft: left)
        case .locked(let until): return .locked(until: until)
        }
    }

    /// "Panggil petugas": records the call (a repeat within `StaffEntry.callRepeatSeconds` of an unseen one is the
    /// same call) and runs `staff_call_command` in the background.
    func call(screen: String, actor: String) async throws(ControlError) -> StaffCallAnswer {
        guard (1...64).contains(screen.utf8.count), screen.utf8.allSatisfy({ (0x20...0x7e).contains($0) }) else {
            throw .badParams("screen must be 1…64 printable ASCII characters", field: "screen")
        }
        let store = self.store
        let recorded = try await Self.stored { () throws(StoreError) in try store.recordStaffCall(screen: screen, actor: actor) }
        if recorded, let argv = self.kiosk.settings.staffCallCommand {
            Self.ring(argv, screen: screen, log: self.kiosk.log)
        }
        return StaffCallAnswer(recorded: recorded, bell: self.kiosk.config.live.current.kiosk?.staffCallBell ?? true)
    }

    /// Runs the configured call command on a thread of its own, killed after 5 s; the reply never waits for it.
    static func ring(_ argv: [String], screen: String, log: KioskLog, watchdog: Double = 5) {
        Thread.detachNewThread {
            let child: ChildProcess
            do {
                child = try ChildProcess.spawn(argv, environment: ["KIOSK_CALL_SCREEN": screen, "PATH": "/usr/bin:/bin"],
                                               stdout: .null, stderr: .null)
            } catch {
                log.warning("staff", "staff_call_command could not start: \(error)")
                return
            }
            let deadline = Date().addingTimeInterval(watchdog)
            while Date() < deadline {
                if let status = child.poll() {
                    if status != 0 { log.warning("staff", "staff_call_command exited \(status)") }
                    return
                }
                usleep(50_000)
            }
            child.kill(SIGKILL)
            child.wait()
            log.warning("staff", "staff_call_command ran over \(Int(watchdog)) s and was killed")
        }
    }

    // MARK: Status

    func overview() async throws(ControlError) -> StaffOverview {
        let status = await self.kiosk.status()
        let since = self.startOfToday
        let store = self.store
        let (calls, counts) = try await Self.stored { () throws(StoreError) in
            (try store.openStaffCalls(since: since), try store.queueStats().counts)
        }
        let printer = status.devices.printer
        var toner: [String: Int] = [:]
        for m in printer.markers { toner[m.name] = m.level ?? -1 }
        let paper = status.paper.flatMap { $0.loaded > 0 ? $0 : nil }
        return StaffOverview(
            devices: [Self.printerHealth(printer),
                      Self.presence("scanner", status.devices.scanner, LocalizedText("Pemindai", "Scanner")),
                      Self.presence("card_reader", status.devices.cardReader, LocalizedText("Pembaca kartu", "Card reader"))],
            paperSheets: paper?.remaining, paperLow: paper?.low ?? false, toner: toner,
            link: .init(configured: status.dinas != nil, lastContact: status.sync?.lastSuccess,
                        lastError: status.sync?.lastError.map { SafeText.visible(String($0.prefix(200))) },
                        nextAttempt: status.sync?.nextAttempt),
            queue: counts,
            oldestUndelivered: status.queue?.oldestUndeliveredSeconds.map { Date().addingTimeInterval(-Double($0)) },
            configVersion: status.config.version,
            configProblem: status.config.refused.map { SafeText.visible(String($0.prefix(300))) },
            diskFreeBytes: status.diskFreeBytes, openCalls: calls)
    }

    static func printerHealth(_ p: DeviceSupervisor.Report.PrinterReport) -> StaffOverview.Device {
        let name = p.queue.map { "\(p.kind) \(SafeText.visible($0))" } ?? p.kind
        if p.kind == "absent" {
            return .init(kind: "printer", health: .absent, detail: LocalizedText("Printer tidak terpasang", "No printer connected"))
        }
        if p.reasons.contains("media-empty") || p.reasons.contains("media-needed") {
            return .init(kind: "printer", health: .fault, detail: LocalizedText("Kertas habis", "Out of paper"))
        }
        if let problem = p.problem {
            let text = SafeText.visible(String(problem.prefix(120)))
            return .init(kind: "printer", health: .fault, detail: LocalizedText("Bermasalah: \(text)", "Problem: \(text)"))
        }
        if p.state == "stopped" {
            return .init(kind: "printer", health: .fault, detail: LocalizedText(
                "Antrean berhenti; tekan Lanjutkan printer", "Queue paused; press Resume printer"))
        }
        if p.reasons.contains(where: { ["toner-low", "marker-supply-low", "media-low"].contains($0) }) {
            return .init(kind: "printer", health: .warning, detail: LocalizedText(
                "Siap, tetapi tinta/kertas hampir habis (\(name))", "Ready, but toner/paper is low (\(name))"))
        }
        return .init(kind: "printer", health: .ok, detail: LocalizedText("Siap (\(name))", "Ready (\(name))"))
    }

    static func presence(_ kind: String, _ p: DeviceSupervisor.Report.Presence, _ label: LocalizedText) -> StaffOverview.Device {
        p.present
            ? .init(kind: kind, health: .ok, detail: LocalizedText("\(label.id) siap", "\(label.en ?? label.id) ready"))
            : .init(kind: kind, health: .absent, detail: LocalizedText("\(label.id) tidak terpasang", "\(label.en ?? label.id) not connected"))
    }

    // MARK: Devices

    /// Resumes the kiosk's paused printer queue (CUPS Resume-Printer through the printer layer).
    func resumePrinter(actor: String) async throws(ControlError) {
        guard let printer = self.kiosk.devices.printer else {
            throw ControlError("printer_unavailable", id: "Printer tidak terpasang.", en: "No printer connected.", exit: 69)
        }
        do throws(PrinterError) {
            try await printer.resume()
        } catch {
            throw ControlError("printer_error", error.message, exit: 1)
        }
        let store = self.store
        _ = try? await Self.stored { () throws(StoreError) in
            try store.recordEvent(nil, event: "printer_resumed", actor: actor, detail: nil)
        }
    }

    /// A scan to check the scanner: its summary and preview; the pages are deleted at once.
    func testScan(owner: Int) async throws(ControlError) -> ScanSummary {
        let useCases = self.kiosk.useCases
        let summary: ScanSummary
        do throws(ServiceFailure) {
            summary = try await useCases.scan(requirement: "staff-test-scan", expectedPages: 1, owner: owner)
        } catch {
            throw ControlError(error.code, error.message)
        }
        await useCases.discardScan(summary.token, owner: owner)
        return summary
    }

    // MARK: Lists

    func todaysApplications() async throws(ControlError) -> [StaffApplicationRow] {
        let (store, since) = (self.store, self.startOfToday)
        return try await Self.stored { () throws(StoreError) in try store.staffApplications(submittedSince: since) }
    }

    func quarantined() async throws(ControlError) -> [StaffApplicationRow] {
        let store = self.store
        return try await Self.stored { () throws(StoreError) in try store.staffQuarantined() }
    }

    /// Today's complaints, each text on one line, cleaned of control characters and cut to about 80 characters.
    func todaysComplaints() async throws(ControlError) -> [StaffComplaintRow] {
        let (store, since) = (self.store, self.startOfToday)
        return try await Self.stored { () throws(StoreError) in try store.complaints(filedSince: since) }.map { c in
            StaffComplaintRow(reference: c.reference, filedAt: c.createdAt, summary: Self.summary(c.body), answered: c.answer != nil)
        }
    }

    static func summary(_ text: String, length: Int = 80) -> String {
        let flat = SafeText.visible(text.split(whereSeparator: \.isNewline).joined(separator: " "))
            .split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
        return flat.count <= length ? flat : String(flat.prefix(length - 1)) + "…"
    }

    /// Today's calls; listing them marks them seen.
    func todaysCalls() async throws(ControlError) -> [StaffCallRow] {
        let (store, since) = (self.store, self.startOfToday)
        return try await Self.stored { () throws(StoreError) in try store.staffCalls(since: since, markSeen: true) }
    }

    // MARK: Documents

    func documents(trackingCode: String) async throws(ControlError) -> [StaffDocumentRow] {
        let store = self.store
        let profile = self.kiosk.config.live.current.profile
        let (app, docs) = try await Self.stored { () throws(StoreError) in
            let app = try store.application(trackingCode)
            return (app, try store.documents(app.id))
        }
        let products = profile.service(app.service)?.products ?? []
        return docs.map { d in
            StaffDocumentRow(id: d.documentID, title: products.first { $0.id == d.product }?.name.id ?? d.product, prints: d.printCount)
        }
    }

    /// A reprint beyond the resident limit, audited with the staff member and the reason (1…200 characters, no
    /// control characters) before it prints.
    func reprint(documentID: String, reason: String, actor: String,
                 progress: @escaping @Sendable (Double) -> Void) async throws(ControlError) -> PrintReport {
        guard (1...200).contains(reason.count), SafeText.firstUnsafe(in: reason) == nil,
              reason.contains(where: { !$0.isWhitespace })
        else {
            throw .badParams("reason must be 1…200 characters without control characters", field: "reason")
        }
        let store = self.store
        _ = try await Self.stored { () throws(StoreError) in
            let doc = try store.document(documentID)
            try store.recordEvent(doc.applicationID, event: "staff_reprint", actor: actor, detail: "\(documentID): \(reason)")
        }
        do throws(ServiceFailure) {
            return try await self.kiosk.useCases.printDocument(documentID, actor: actor, limited: false, progress: progress)
        } catch {
            throw ControlError(error.code, error.message)
        }
    }
}
