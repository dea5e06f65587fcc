import Foundation
import KioskCore

/// Staff mode over the control socket (`resident.staff.*`, `staff.*`, `technician.*`, Kiosk/CONTROL.md). The PIN
/// unlock raises the rights of kiosk-ui's own connection; kioskd keeps the lockout and the timeout. Everything
/// kioskd answers is bounded before it reaches the screen.
extension RemoteKioskServices: StaffServices {
    /// The most rows a staff list shows.
    static let maxRows = 500

    private static func bounded(_ s: String, _ n: Int) -> String { SafeText.visible(String(s.prefix(n))) }

    private static func clean(_ r: StaffApplicationRow) -> StaffApplicationRow {
        var r = r
        r.trackingCode = bounded(r.trackingCode, 16)
        r.service = bounded(r.service, 64)
        r.nikMasked = bounded(r.nikMasked, 24)
        r.reason = r.reason.map { bounded($0, 300) }
        r.assistedBy = r.assistedBy.map { bounded($0, 64) }
        return r
    }

    public func unlockStaff(pin: String) async throws(ServiceFailure) -> StaffUnlock {
        let value = try await self.call("resident.staff.unlock", .object(["pin": .string(pin)]), timeout: 60)
        switch value["result"]?.stringValue {
        case "unlocked":
            guard let staff = value["staff"], var who = try? self.decode(staff, StaffIdentity.self) else { break }
            who.staffID = Self.bounded(who.staffID, 64)
            who.name = Self.bounded(who.name, 100)
            let timeout = value["timeout_seconds"]?.intValue ?? StaffEntry.defaultTimeoutSeconds
            return .unlocked(who, timeoutSeconds: min(3600, max(30, timeout)))
        case "wrong_pin":
            let left = value["attempts_left"]?.intValue ?? 0
            return .wrongPIN(attemptsLeft: min(StaffEntry.maxAttempts, max(0, left)))
        case "locked":
            guard let until = value["until"]?.stringValue.flatMap(KioskJSON.date) else { break }
            return .locked(until: until)
        default:
            break
        }
        throw ServiceFailure("bad_reply", LocalizedText("Jawaban layanan kios tidak dikenali.", "The kiosk service's answer is not understood."))
    }

    public func lockStaff() async {
        _ = try? await self.call("resident.staff.lock", timeout: 10)
    }

    public func callStaff(screen: String) async throws(ServiceFailure) -> StaffCallAnswer {
        let shown = String(screen.unicodeScalars.filter { (0x21...0x7e).contains($0.value) }.prefix(64))
        let value = try await self.call("resident.staff.call", .object(["screen": .string(shown.isEmpty ? "-" : shown)]), timeout: 30)
        return try self.decode(value, StaffCallAnswer.self)
    }

    public func overview() async throws(ServiceFailure) -> StaffOverview {
        var o = try self.decode(try await self.call("staff.overview", timeout: 30), StaffOverview.self)
        o.devices = Array(o.devices.prefix(16))
        o.link.lastError = o.link.lastError.map { Self.bounded($0, 200) }
        o.configProblem = o.configProblem.map { Self.bounded($0, 300) }
        // Names cut to 40 characters may collide: the first wins (never a trap).
        o.toner = Dictionary(o.toner.prefix(8).map { (Self.bounded($0.key, 40), $0.value) }, uniquingKeysWith: { a, _ in a })
        return o
    }

    public func restockPaper(sheets: Int) async throws(ServiceFailure) -> StaffOverview {
        _ = try await self.call("staff.restock", .object(["sheets": .number(Double(sheets))]))
        return try await self.overview()
    }

    public func printTestPage() async throws(ServiceFailure) -> LocalizedText? {
        let value = try await self.call("staff.printer.test", timeout: 600)
        if value["printed"]?.boolValue == true { return nil }
        if let p = value["problem"], p != .null, let problem = try? self.decode(p, LocalizedText.self) { return problem }
        return LocalizedText("Halaman uji tidak tercetak.", "The test page did not print.")
    }

    public func resumePrinter() async throws(ServiceFailure) {
        _ = try await self.call("staff.printer.resume", timeout: 60)
    }

    public func testScan() async throws(ServiceFailure) -> ScanSummary {
        try self.decode(try await self.call("staff.scanner.test", timeout: 900), ResidentWire.Scan.self).summary
    }

    public func redetectDevices() async throws(ServiceFailure) -> [String] {
        let value = try await self.call("staff.devices.redetect", timeout: 60)
        let list = try self.decode(value["devices"] ?? .array([]), [String].self)
        return list.prefix(32).map { Self.bounded($0, 120) }
    }

    public func todaysApplications() async throws(ServiceFailure) -> [StaffApplicationRow] {
        try self.decode(try await self.call("staff.applications.today"), [StaffApplicationRow].self).prefix(Self.maxRows).map(Self.clean)
    }

    public func quarantined() async throws(ServiceFailure) -> [StaffApplicationRow] {
        try self.decode(try await self.call("staff.queue.quarantined"), [StaffApplicationRow].self).prefix(Self.maxRows).map(Self.clean)
    }

    public func retry(_ id: UUID) async throws(ServiceFailure) {
        _ = try await self.call("staff.queue.retry", .object(["key": .string(id.uuidString.lowercased())]))
    }

    public func syncNow() async throws(ServiceFailure) {
        _ = try await self.call("staff.sync.now")
    }

    public func todaysComplaints() async throws(ServiceFailure) -> [StaffComplaintRow] {
        try self.decode(try await self.call("staff.complaints.today"), [StaffComplaintRow].self).prefix(Self.maxRows).map {
            var c = $0
            c.reference = Self.bounded(c.reference, 32)
            c.summary = Self.bounded(c.summary, 120)
            return c
        }
    }

    public func todaysCalls() async throws(ServiceFailure) -> [StaffCallRow] {
        try self.decode(try await self.call("staff.calls.today"), [StaffCallRow].self).prefix(Self.maxRows).map {
            StaffCallRow(at: $0.at, screen: Self.bounded($0.screen, 64))
        }
    }

    public func documents(trackingCode: String) async throws(ServiceFailure) -> [StaffDocumentRow] {
        try self.decode(try await self.call("staff.documents", .object(["tracking_code": .string(trackingCode)])),
                        [StaffDocumentRow].self).prefix(64).map {
            StaffDocumentRow(id: Self.bounded($0.id, 128), title: Self.bounded($0.title, 120), prints: max(0, $0.prints))
        }
    }

    public func reprint(documentID: String, reason: String) async throws(ServiceFailure) -> PrintReport {
        let value = try await self.call("staff.document.reprint", .object([
            "document_id": .string(documentID), "reason": .string(reason),
        ]), timeout: 3700)
        return try self.decode(value, ResidentWire.Printed.self).report
    }

    public func rollbackConfig() async throws(ServiceFailure) -> Int {
        let value = try await self.call("technician.config.rollback", timeout: 60)
        guard let to = value["to"]?.intValue else {
            throw ServiceFailure("bad_reply", LocalizedText("Jawaban layanan kios tidak dikenali.", "The kiosk service's answer is not understood."))
        }
        return to
    }
}
